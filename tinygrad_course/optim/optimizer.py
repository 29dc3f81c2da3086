"""The optimizer base class: the parameters, the learning rate, the course's L2 weight decay and
per-parameter state; subclasses write only the update rule."""
from __future__ import annotations

import math
from typing import Callable, ClassVar, Iterable

import numpy as np

from ..autograd import bump_version
from ..autograd import no_grad
from ..nn.functional import is_weight
from ..serialization import StateDictError, check_state_keys
from ..tensor import Tensor

_RULES = {
    "nonneg": (lambda x: x >= 0.0, ">= 0"),
    "positive": (lambda x: x > 0.0, "> 0"),
    "beta": (lambda x: 0.0 <= x < 1.0, "in [0, 1)"),
    "fraction": (lambda x: 0.0 < x <= 1.0, "in (0, 1]"),
}


def check_hyperparameter(owner: str, name: str, value, rule: str = "nonneg") -> float:
    """`value` as a Python float, or an error naming `owner`, the hyperparameter and the value.

    `rule` is "nonneg" (>= 0), "positive" (> 0), "beta" (in [0, 1)) or "fraction" (in (0, 1]);
    the value must be finite.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    x = float(value)
    holds, words = _RULES[rule]
    if not (math.isfinite(x) and holds(x)):
        raise ValueError(f"{owner}: {name} must be finite and {words}, got {value!r}")
    return x


def _param_list(owner: str, params) -> list[Tensor]:
    if isinstance(params, Tensor):
        raise TypeError(f"{owner}: params must be an iterable of Tensors, got a single Tensor; "
                        "wrap it in a list")
    if hasattr(params, "parameters") and callable(params.parameters):
        raise TypeError(f"{owner}: got a model ({type(params).__name__}); "
                        "pass model.parameters()")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{owner}: params must be an iterable of Tensors, got "
                        f"{type(params).__name__}") from None
    if not params:
        raise ValueError(f"{owner}: got an empty parameter list (did the model build its layers?)")
    seen = set()
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: params[{i}] is {type(p).__name__}, not a Tensor")
        if p.dtype.kind != "f":
            raise TypeError(f"{owner}: params[{i}] has dtype {p.dtype}; only floating tensors "
                            "can be optimized")
        if id(p) in seen:
            raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) appears more than once; "
                             "it would be updated twice per step")
        seen.add(id(p))
    return params


class Optimizer:
    """Gradient-based optimizer over `params`: `zero_grad()`, then `loss.backward()`, then `step()`.

    `weight_decay` is the course's L2 regularization written into the gradient,
    dW += weight_decay * W, so `weight_decay = lambd / m` gives exactly the update of adding
    lambd / (2m) * sum ||W||^2 to the cost. It applies to the parameters `decay_filter` accepts:
    by default `nn.functional.is_weight` (ndim >= 2), the same weights `l2_penalty` penalizes,
    not biases nor batch norm's gamma and beta (PyTorch decays every parameter; pass
    `decay_filter=lambda p: True` for that).
    A parameter whose `.grad` is None is skipped (no update, no state change).

    Steps run under `no_grad`, write `p.data` in place (float32 stays float32) with preallocated
    scratch arrays, and bump each changed parameter's version counter. If a parameter changes
    dtype (`Module.to`), its state and scratch follow at the next step. A float16 parameter is
    updated as mixed-precision training does (PyTorch's AMP, apex's master weights): its state,
    the update and a master copy of it are float32, rounded to float16 after each step.
    """

    #: hyperparameter name -> validation rule; subclasses add theirs (all saved in state_dict).
    hyperparameter_rules: ClassVar[dict[str, str]] = {"weight_decay": "nonneg"}
    #: what a parameter's state holds once it has been stepped (load_state_dict checks them).
    state_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Tensor], lr: float, weight_decay: float = 0.0,
                 decay_filter: Callable[[Tensor], bool] = is_weight):
        owner = type(self).__name__
        self.params = _param_list(owner, params)
        self.lr = lr
        self.weight_decay = check_hyperparameter(owner, "weight_decay", weight_decay)
        self._decays = [bool(decay_filter(p)) for p in self.params]
        self.state: list[dict] = [{} for _ in self.params]
        self._tmp: list[np.ndarray | None] = [None] * len(self.params)
        self._decayed_grad: list[np.ndarray | None] = [None] * len(self.params)
        self._master: list[np.ndarray | None] = [None] * len(self.params)

    @property
    def lr(self) -> float:
        """The learning rate alpha (schedules set it between epochs)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_hyperparameter(type(self).__name__, "lr", value)

    def _set_hyperparameters(self, **values) -> None:
        owner = type(self).__name__
        for name, value in values.items():
            setattr(self, name, check_hyperparameter(owner, name, value,
                                                     self.hyperparameter_rules[name]))

    def zero_grad(self) -> None:
        """Forget the gradients (set `.grad` to None) before the next backward."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        wd, update, states, tmps = self.weight_decay, self._update, self.state, self._tmp
        with no_grad():
            for i, p in enumerate(self.params):
                grad = p.grad
                if grad is None:
                    continue
                w, g, tmp = p.data, grad.data, tmps[i]
                if tmp is None or (tmp.dtype is not w.dtype and tmp.dtype != w.dtype):
                    if w.dtype.itemsize < 4:
                        w, g, tmp = self._float32_master(i, w, g)
                    else:
                        tmp = self._buffers_for(i, w)
                if wd and self._decays[i]:
                    g = self._add_weight_decay(i, w, g, wd)
                update(w, g, states[i], tmp)
                if w is not p.data:
                    np.copyto(p.data, w, casting="same_kind")
                bump_version(p)

    def _buffers_for(self, i: int, w: np.ndarray) -> np.ndarray:
        # First step, or the parameter changed dtype (Module.to): scratch and state follow it.
        self._decayed_grad[i] = None
        self.state[i] = {k: (v.astype(w.dtype) if isinstance(v, np.ndarray) else v)
                         for k, v in self.state[i].items()}
        tmp = self._tmp[i] = np.empty_like(w)
        return tmp

    def _float32_master(self, i: int, w: np.ndarray, g: np.ndarray) -> tuple:
        # float16 (mixed precision's master weights): the state, the update and a copy of the
        # weights stay float32, or eps = 1e-8 underflows to 0 and sqrt(s) + eps divides by 0.
        master = self._master[i]
        if (master is None or master.shape != w.shape
                or not np.array_equal(master.astype(w.dtype), w)):  # first step, or w was set
            master = self._master[i] = w.astype(np.float32)
        tmp = self._tmp[i]
        if tmp is None or tmp.dtype != np.float32:
            tmp = self._buffers_for(i, master)
        return master, g.astype(np.float32), tmp

    def _add_weight_decay(self, i: int, w: np.ndarray, g: np.ndarray, wd: float) -> np.ndarray:
        # Into a buffer of its own: p.grad stays what backward computed.
        buf = self._decayed_grad[i]
        if buf is None:
            buf = self._decayed_grad[i] = np.empty_like(w)
        np.multiply(w, wd, out=buf)
        buf += g
        return buf

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict, tmp: np.ndarray) -> None:
        """Change `w` in place from gradient `g`; `state` is this parameter's, `tmp` a free array
        shaped like `w` (`g` must not be written: it may be the parameter's `.grad`)."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, float]:
        """lr and the other hyperparameters by name."""
        return {"lr": self.lr, **{k: getattr(self, k) for k in self.hyperparameter_rules}}

    def state_dict(self) -> dict:
        """Hyperparameters and per-parameter state (copied), in the order of `params`."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "state": [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                      for s in self.state],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict()` returned, for the same kind of optimizer and parameters."""
        owner = type(self).__name__
        check_state_keys(owner, state_dict, ("optimizer", "hyperparameters", "state"))
        if state_dict["optimizer"] != owner:
            raise ValueError(f"{owner}.load_state_dict: the state is from "
                             f"{state_dict['optimizer']!r}, not {owner}")
        states = state_dict["state"]
        if len(states) != len(self.params):
            raise ValueError(f"{owner}.load_state_dict: the state has {len(states)} parameters, "
                             f"this optimizer has {len(self.params)}")
        hyper = dict(state_dict["hyperparameters"])
        names = ("lr", *self.hyperparameter_rules)
        check_state_keys(owner, hyper, names, "state['hyperparameters']")
        unknown = sorted(set(hyper) - set(names))
        if unknown:
            raise StateDictError(f"{owner}.load_state_dict: unknown hyperparameter "
                                 f"{unknown[0]!r}; {owner} has {', '.join(names)}")
        for i, s in enumerate(states):
            if s:  # an empty state is a parameter not stepped yet
                check_state_keys(owner, s, self.state_keys, f"state['state'][{i}]")
        loaded = []
        for i, (p, s) in enumerate(zip(self.params, states)):
            entry = {}
            for k, v in s.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ValueError(f"{owner}.load_state_dict: state {k!r} of params[{i}] "
                                         f"has shape {v.shape}, the parameter has {p.shape}")
                    v = v.astype(np.promote_types(p.dtype, np.float32), copy=True)
                entry[k] = v
            loaded.append(entry)
        self.lr = hyper.pop("lr")
        self._set_hyperparameters(**hyper)
        self.state = loaded

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"
