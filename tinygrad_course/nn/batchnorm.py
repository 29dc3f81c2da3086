"""Batch normalization over (batch, features), forward and backward fused into one graph node."""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd import Function, bump_version
from ..dtypes import get_default_dtype
from ..ewa import check_beta, ewa_update_
from ..jit import replayed
from ..ops.common import is_tensor
from ..tensor import Tensor
from .module import Module, Parameter


def _check_momentum(momentum: float, op: str) -> float:
    return check_beta(momentum, op, "momentum", " (it is the course's EWA beta, so PyTorch's "
                                                "momentum=0.1 is our 0.9)")


def _check_eps(eps: float, op: str) -> float:
    e = float(eps)
    if not e > 0:
        raise ValueError(f"{op}: eps (added to the variance before the square root) must be "
                         f"positive, got {eps!r}")
    return e


class BatchNormFunction(Function):
    """z_hat = (z - mu) / sqrt(var + eps); out = gamma * z_hat + beta (Ioffe & Szegedy, 2015).

    Training: mu, var are the mini-batch mean and biased variance over axis 0, and
    dz = gamma / (m sqrt(var + eps)) * (m g - sum(g) - z_hat * sum(g z_hat)),
    dgamma = sum(g z_hat), dbeta = sum(g). Eval: mu, var are the running averages (constants),
    so dz = g * gamma / sqrt(var + eps).
    Plain backward reuses z_hat from forward; under create_graph it is rebuilt from z with Tensor
    ops (a saved intermediate would be a constant there and lose the second-order terms).
    """

    name = "batch_norm"

    @staticmethod
    def forward(ctx, x, gamma, beta, running_mean, running_var, momentum, eps, training):
        ctx.eps, ctx.training = eps, training
        if training:
            mu = x.mean(axis=0)
            xc = x - mu
            out = np.multiply(xc, xc)  # the squared deviations; the buffer then holds the output
            var = out.mean(axis=0)
            inv_std = 1.0 / np.sqrt(var + eps)
            if running_mean is not None:
                # mu and var are not needed any more, so they serve as the EWA's scratch space.
                ewa_update_(running_mean, mu, momentum, scratch=mu)
                ewa_update_(running_var, var, momentum, scratch=var)
        else:
            # A copy: a later training step updates the running mean in place, and a
            # create_graph backward of this eval output must still see the mean it used.
            ctx.mean = running_mean.copy()
            inv_std = 1.0 / np.sqrt(running_var + eps)
            xc = x - running_mean
            out = np.empty_like(xc)
        xhat = np.multiply(xc, inv_std, out=xc)
        ctx.save_for_backward(x, gamma, xhat, inv_std)
        np.multiply(xhat, gamma, out=out)
        out += beta
        return out

    @staticmethod
    def backward(ctx, g):
        x, gamma, xhat, inv_std = ctx.saved
        nx, ng, nb = ctx.needs_input_grad[:3]
        if is_tensor(g):
            if ctx.training:
                xc = x - x.mean(axis=0)
                inv_std = ((xc * xc).mean(axis=0) + ctx.eps) ** -0.5
            else:
                xc = x - ctx.mean
            xhat = xc * inv_std
        dbeta = g.sum(axis=0)
        dgamma = (g * xhat).sum(axis=0)
        dx = None
        if nx:
            if ctx.training:
                m = x.shape[0]
                dx = (m * g - dbeta - xhat * dgamma) * (gamma * inv_std / m)
            else:
                dx = g * (gamma * inv_std)
        return (dx, dgamma if ng else None, dbeta if nb else None,
                None, None, None, None, None)


def batch_norm(x, running_mean, running_var, gamma, beta, training: bool = True,
               momentum: float = 0.9, eps: float = 1e-5):
    """Batch norm of x (m, n) over the batch axis; in training the running averages (arrays,
    updated in place) follow running = momentum * running + (1 - momentum) * batch_statistic,
    where `momentum` is the course's beta (PyTorch's momentum=0.1 is our 0.9)."""
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    # PyTorch's weight and bias default to None: normalize only (gamma 1, beta 0).
    gamma = 1.0 if gamma is None else gamma
    beta = 0.0 if beta is None else beta
    if not training and (rm is None or rv is None):
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    return BatchNormFunction.apply(x, gamma, beta, rm, rv, _check_momentum(momentum, "batch_norm"),
                                   _check_eps(eps, "batch_norm"), bool(training))


class BatchNorm1d(Module):
    """Batch norm for inputs of shape (batch, num_features), with learnable gamma (scale, starts
    at 1) and beta (shift, starts at 0).

    Training normalizes with the mini-batch mean and biased variance (1/m sum (z - mu)^2) and
    updates the running averages as the course's exponentially weighted averages:
    running = momentum * running + (1 - momentum) * batch_statistic. So `momentum` here is the
    course's beta: PyTorch's momentum=0.1 is our 0.9. The running variance stores the biased
    batch variance, as the course writes it (PyTorch stores the unbiased m/(m-1) one).
    eval() normalizes with the running averages, so one example at a time works at test time.

    The idiom is Linear(n_in, n, bias=False) -> BatchNorm1d(n): subtracting the batch mean
    cancels any bias b[l], and beta plays its part.
    """

    def __init__(self, num_features: int, momentum: float = 0.9, eps: float = 1e-5):
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        self.num_features = int(num_features)
        self.momentum = _check_momentum(momentum, type(self).__name__)
        if self.momentum < 0.5:
            # momentum=0.1 from a PyTorch habit would make the running averages follow each batch.
            warnings.warn(f"{type(self).__name__}(momentum={self.momentum}): momentum is the course's beta "
                          f"(running = beta * running + (1 - beta) * batch), so the running averages "
                          f"would mostly follow the last batch; PyTorch's momentum={self.momentum:g} "
                          f"is momentum={1 - self.momentum:g} here", UserWarning, stacklevel=2)
        self.eps = _check_eps(eps, type(self).__name__)
        dtype = get_default_dtype()
        self.gamma = Parameter(np.ones(self.num_features, dtype))
        self.beta = Parameter(np.zeros(self.num_features, dtype))
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_parameters(self, init: str | None = None, scale: float | None = None) -> None:
        """gamma = 1, beta = 0 and fresh running averages (any weight scheme is ignored here)."""
        with_data = ((self.gamma, 1), (self.beta, 0), (self.running_mean, 0),
                     (self.running_var, 1), (self.num_batches_tracked, 0))
        for t, v in with_data:
            t.data[...] = v
            bump_version(t)

    def forward(self, x):
        shape = x.shape
        if len(shape) != 2 or shape[1] != self.num_features:
            raise ValueError(f"{self._where()}: expected an input of shape (batch, "
                             f"{self.num_features}), got shape {tuple(shape)}")
        return self.normalize_rows(x)

    def normalize_rows(self, x):
        """Batch norm of x (m, num_features) over its rows, updating the running averages in
        training (BatchNorm2d normalizes its (N * H * W, C) view with it)."""
        if self.training and x.shape[0] < 2:
            raise ValueError(f"{self._where()}: in training mode the batch statistics need "
                             f"more than one example, got an input of shape {tuple(x.shape)}; "
                             "call .eval() to use the running averages for single examples")
        if x.dtype is not self.gamma.data.dtype:
            self._check_input_dtype(x, self.gamma)
        # The buffers go in as tensors, so a step replayed by tc.jit reads their current arrays.
        out = BatchNormFunction.apply(x, self.gamma, self.beta, self.running_mean,
                                      self.running_var, self.momentum, self.eps, self.training)
        if self.training:
            self._count_batch()
        return out

    @replayed
    def _count_batch(self) -> None:
        # The buffers were updated in place: anything that saved them for backward must know.
        # (@replayed: a step replayed by tc.jit counts its batches too.)
        self.num_batches_tracked.data += 1
        for t in (self.running_mean, self.running_var, self.num_batches_tracked):
            bump_version(t)

    @property
    def weight(self) -> Parameter:
        """PyTorch's name for gamma (the same Parameter)."""
        return self.gamma

    @property
    def bias(self) -> Parameter:
        """PyTorch's name for beta (the same Parameter)."""
        return self.beta

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, momentum={self.momentum}, eps={self.eps}"
