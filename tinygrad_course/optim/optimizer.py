"""The optimizer base class: the parameters, the learning rate, the course's L2 weight decay and
per-parameter state; subclasses write only the update rule."""
from __future__ import annotations

import math
import sys
from itertools import repeat
from operator import attrgetter, is_, itemgetter
from typing import Callable, ClassVar, Iterable

import numpy as np

from ..autograd import bump_version
from ..autograd import no_grad
from ..jit import replayed
from ..lowering import GradHome
from ..nn.functional import is_weight
from ..serialization import StateDictError, check_state_keys
from ..tensor import Tensor

_DATA, _GRAD, _SHAPE, _DTYPE = map(attrgetter, ("data", "grad", "shape", "dtype"))

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


def _as_groups(owner: str, params) -> list[dict]:
    """`params` as parameter groups: a list of dicts as given, or one group of the Tensors."""
    if isinstance(params, dict):
        return [params]
    if not isinstance(params, Tensor) and not hasattr(params, "parameters"):
        try:
            params = list(params)
        except TypeError:
            pass
    if isinstance(params, list) and params and all(isinstance(g, dict) for g in params):
        return params
    return [{"params": _param_list(owner, params)}]


class Optimizer:
    """Gradient-based optimizer over `params`: `zero_grad()`, then `loss.backward()`, then `step()`.

    `params` is an iterable of Tensors, or of dicts (parameter groups, as in PyTorch:
    `Adam([{"params": a, "lr": 0.1}, {"params": b}], lr=0.01)`): each group holds its
    "params" and its own value of every hyperparameter, the constructor's where it gives none.
    `param_groups` is that list of dicts; a user or a schedule reads and sets a group's "lr" (or
    any hyperparameter) there, and every step uses it. `opt.lr` (and `opt.beta1`, ...) reads the
    first group's value and sets every group's.

    `weight_decay` is the course's L2 regularization written into the gradient,
    dW += weight_decay * W, so `weight_decay = lambd / m` gives exactly the update of adding
    lambd / (2m) * sum ||W||^2 to the cost. It applies to the parameters `decay_filter` accepts:
    by default `nn.functional.is_weight` (ndim >= 2), the same weights `l2_penalty` penalizes,
    not biases nor batch norm's gamma and beta (PyTorch decays every parameter; pass
    `decay_filter=lambda p: True` for that).
    A parameter whose `.grad` is None is skipped (no update, no state change).

    Steps run under `no_grad`, write `p.data` in place (float32 stays float32) with preallocated
    scratch arrays, and bump each changed parameter's version counter. With `foreach=True` (the
    default but for SGD, whose update is one call per parameter anyway) the update runs once per
    group over flat buffers, as PyTorch's foreach optimizers do: each parameter's `state` entries
    are views into them, and the weights come out bit for bit as with `foreach=False`. A
    parameter whose array nothing else holds moves into the flat weights too (`p.data` becomes
    a view of them, so the update subtracts once for the group; a weakref to the old array dies);
    one you hold is written where it is. If a parameter changes dtype (`Module.to`), its state
    and scratch follow at the next step. A float16 parameter is updated as mixed-precision
    training does (PyTorch's AMP, apex's master weights): its state,
    the update and a master copy of it are float32, rounded to float16 after each step.
    """

    #: hyperparameter name -> validation rule; subclasses add theirs (all saved in state_dict).
    hyperparameter_rules: ClassVar[dict[str, str]] = {"lr": "nonneg", "weight_decay": "nonneg"}
    #: what a parameter's state holds once it has been stepped (load_state_dict checks them).
    state_keys: ClassVar[tuple[str, ...]] = ()
    #: the hyperparameter that plays momentum (OneCycleLR cycles it), None without one.
    momentum_key: ClassVar[str | None] = None
    #: `foreach` when the constructor is not told: fuse unless the update is a single call.
    foreach_default: ClassVar[bool] = True
    #: the most elements a bucket's flat buffers hold (a larger parameter steps alone). Larger
    #: buffers leave the CPU's cache, and the per-parameter update, whose arrays stay in it, is
    #: faster: 4 parameters of 2**16 floats take 520 us per-parameter, 630 us fused (Adam).
    foreach_bucket_size: ClassVar[int] = 1 << 16

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float,
                 weight_decay: float = 0.0, decay_filter: Callable[[Tensor], bool] = is_weight,
                 *, foreach: bool | None = None, **hyperparameters):
        owner = type(self).__name__
        #: the constructor's hyperparameters: what a group that gives no value of its own uses.
        self.defaults = self._checked({"lr": lr, "weight_decay": weight_decay, **hyperparameters})
        self._decay_filter = decay_filter
        self.param_groups: list[dict] = []
        self.state: list[dict] = []
        self._decays: list[bool] = []
        self._tmp: list[np.ndarray | None] = []
        self._decayed_grad: list[np.ndarray | None] = []
        self._master: list[np.ndarray | None] = []
        #: update each group's parameters together over flat buffers (PyTorch's foreach).
        self.foreach = type(self).foreach_default if foreach is None else bool(foreach)
        self._plans: list[_Plan | None] = []  # per group: its buckets, built at a step
        self._homes: dict[int, tuple] = {}  # id(p) -> (p, GradHome): see grad_homes
        self._order: list[list[Tensor]] = []  # each group's parameters, as `state` follows them
        self._set_aside: dict[int, tuple] = {}  # id(p) -> (p, its entries): one taken out of a group
        for group in _as_groups(owner, params):
            self.add_param_group(group)

    def _checked(self, values: dict, where: str = "") -> dict:
        owner = type(self).__name__ + where
        return {name: check_hyperparameter(owner, name, value, self.hyperparameter_rules[name])
                for name, value in values.items()}

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with "params" and any hyperparameters, the
        constructor's for the others), as in PyTorch; e.g. layers unfrozen during fine-tuning."""
        owner = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{owner}.add_param_group: a parameter group is a dict with a "
                            f"'params' entry, e.g. {{'params': layer.parameters(), 'lr': 0.1}}; "
                            f"got {type(param_group).__name__}")
        self._follow_params()  # (a parameter taken out of a group just before: see there)
        where = "" if not self.param_groups else f" param_groups[{len(self.param_groups)}]"
        params = param_group["params"]
        params = _param_list(owner + where, [params] if isinstance(params, Tensor) else params)
        seen = {id(p) for p in self.params}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"{owner}: params[{i}] (shape {p.shape}) of the new group is "
                                 "already in another parameter group; a parameter belongs to "
                                 "one group only")
        hyper = {name: param_group.get(name, default) for name, default in self.defaults.items()}
        group = {"params": params, **{k: v for k, v in param_group.items() if k != "params"},
                 **self._checked(hyper, where)}
        self.param_groups.append(group)
        self._order.append(list(params))
        for p in params:
            for values, value in zip(self._lists(), self._entries_of(p)):
                values.append(value)

    def _lists(self) -> tuple:
        """The per-parameter lists, in the order of `params`: state, whether weight decay
        applies, and the scratch, decayed-gradient and float16 master buffers."""
        return self.state, self._decays, self._tmp, self._decayed_grad, self._master

    def _new_entries(self, p: Tensor, state: dict | None = None, master=None) -> list:
        """A parameter's entries in `_lists()`, without scratch buffers (made at its next step)."""
        return [{} if state is None else state, bool(self._decay_filter(p)), None, None, master]

    def _entries_of(self, p: Tensor) -> list:
        """A parameter's entries in `_lists()`: those set aside when it was taken out of a group
        (PyTorch keeps state[p] too: an unfrozen layer resumes its moments), else new ones."""
        aside, entries = self._set_aside.pop(id(p), (None, None))
        return entries if aside is p else self._new_entries(p)

    def _follow_params(self) -> None:
        """After a group's "params" list was changed in place (a parameter removed, added or
        moved): each parameter's state follows it, as PyTorch's (keyed by the tensor) does; one
        taken out is set aside for when it comes back. The lists kept in the order of `params`
        were wrong until now: another parameter's moments, or a NumPy broadcast error."""
        if len(self._order) == len(self.param_groups) and all(
                len(g["params"]) == len(kept) and all(map(is_, g["params"], kept))
                for g, kept in zip(self.param_groups, self._order)):
            return
        order = [list(g["params"]) for g in self.param_groups]
        everyone = [p for kept in order for p in kept]
        if len({id(p) for p in everyone}) < len(everyone):
            twice = next(p for i, p in enumerate(everyone) if any(q is p for q in everyone[:i]))
            raise ValueError(f"{type(self).__name__}: a parameter (shape {twice.shape}) is in the "
                             "parameter groups twice (added to a group's params list in place); "
                             "a parameter belongs to one group, once: remove the second one")
        lists, present = self._lists(), {id(p) for p in everyone}
        before = [p for kept in self._order for p in kept]
        was = {id(p): (p, [values[i] for values in lists]) for i, p in enumerate(before)}
        for key, (p, (state, _, _, _, master)) in was.items():
            if key not in present and (state or master is not None):
                # its own copy of the state (views would keep the old buckets' flat buffers
                # alive), and no scratch buffers
                state = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}
                self._set_aside[key] = (p, self._new_entries(p, state, master))
        self._order = order
        for values in lists:
            values.clear()
        for p in everyone:
            entries = was[id(p)][1] if id(p) in was else self._entries_of(p)
            for values, value in zip(lists, entries):
                values.append(value)
        self._plans = []  # (their buckets hold positions in those lists)
        self._drop_homes(present)

    def _drop_homes(self, present: set) -> None:
        """Retire the gradient homes of parameters no longer in a group (tc.jit's kernels write
        new arrays for them); one set aside keeps its home, to write the buckets' again on its
        return, the others are forgotten (nothing keeps the parameter alive)."""
        for key, (p, home) in list(self._homes.items()):
            if key not in present:
                home.retire()
                if key not in self._set_aside:
                    del self._homes[key]

    def __getstate__(self) -> dict:
        # A copy (deepcopy, pickle) makes its fused plans again: copied, the parameters' arrays
        # would no longer be views of the copied flat buffers. What was set aside is keyed by
        # id, which a copy changes: it travels as a list.
        return {**self.__dict__, "_plans": [], "_homes": {},
                "_set_aside": list(self._set_aside.values())}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._set_aside = {id(p): (p, entries) for p, entries in state.get("_set_aside", ())}
        if "_order" not in state:  # (pickled before groups were followed: as they are now)
            self._order = [list(g["params"]) for g in self.param_groups]

    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group after group (the order of `state` and of state_dict)."""
        return [p for group in self.param_groups for p in group["params"]]

    def __getattr__(self, name: str):
        # opt.lr, opt.beta1, ...: the first group's value (every group's when they agree).
        rules = type(self).hyperparameter_rules
        groups = self.__dict__.get("param_groups")
        if name in rules and groups:
            return groups[0][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in type(self).hyperparameter_rules and "param_groups" in self.__dict__:
            value = check_hyperparameter(type(self).__name__, name, value,
                                         self.hyperparameter_rules[name])
            for group in self.param_groups:
                group[name] = value
            return
        object.__setattr__(self, name, value)

    @replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward: `.grad = None` (PyTorch's default), or
        with set_to_none=False a gradient of zeros (the parameter is then stepped with it)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = Tensor._wrap(np.zeros_like(p.grad.data))

    def grad_homes(self) -> dict[int, tuple[Tensor, GradHome]]:
        """Where tc.jit's replay kernels may write the gradient of each parameter the fused step
        updates, id(p) -> (p, its home): a view of its bucket's flat gradient buffer, so that the
        step gathers nothing (the kernels write there only while no one else holds it)."""
        for plan in self._plans:
            for b in plan.buckets if plan is not None else ():
                if b.homes is None:
                    self._house(b)
        return dict(self._homes)

    def _house(self, b: "_Bucket") -> None:
        """Point the homes of the bucket's parameters (made now if they have none) at its
        gradient views: fresh ones, never handed out. A home outlives its bucket, so the kernels
        it is bound into follow its parameter into the next plan's buckets."""
        homes = []
        for p in b.params:
            entry = self._homes.get(id(p))
            if entry is None or entry[0] is not p:
                entry = self._homes[id(p)] = (p, GradHome())
            homes.append(entry[1])
        GradHome.move(homes, b.grad_views)
        b.homes = homes

    @replayed
    def step(self) -> None:
        """One update of every parameter that has a gradient, with its group's hyperparameters.

        With `foreach` (the default, except SGD) each group's parameters of one dtype are
        updated together over flat buffers (`_Bucket`); a parameter the fused update cannot
        take this step (no gradient, float16, a gradient of another dtype) goes through
        `_step_one`, with the same formula and the same result bit for bit."""
        self._follow_params()
        states, start = self.state, 0
        with no_grad():
            for gi, group in enumerate(self.param_groups):
                params = group["params"]
                rest = range(start, start + len(params))
                if self.foreach:
                    plan = self._plans[gi] if gi < len(self._plans) else None
                    grads = None if plan is None else plan.holds(params, start, states)
                    if grads is None:
                        plan = self._plan(gi, group, start)
                        grads = [list(map(_DATA, map(_GRAD, b.params))) for b in plan.buckets]
                    for bucket, g in zip(plan.buckets, grads):
                        self._step_bucket(bucket, g, group)
                    rest = plan.rest
                for i in rest:
                    self._step_one(i, params[i - start], group)
                start += len(params)

    def _step_one(self, i: int, p: Tensor, group: dict) -> None:
        """The per-parameter path: update parameter number `i` alone."""
        grad = p.grad
        if grad is None:
            return
        w, g, tmp = p.data, grad.data, self._tmp[i]
        if g.shape != w.shape:  # NumPy would broadcast it into the update, silently
            raise ValueError(f"{type(self).__name__}.step: params[{i}] has shape {w.shape} but "
                             f"its .grad has shape {g.shape}; a gradient has its parameter's shape")
        if tmp is None or (tmp.dtype is not w.dtype and tmp.dtype != w.dtype) or tmp.shape != w.shape:
            if w.dtype.itemsize < 4:
                w, g, tmp = self._float32_master(i, w, g)
            else:
                tmp = self._buffers_for(i, w)
        if group["weight_decay"] and self._decays[i]:
            buf = self._decayed_grad[i]
            if buf is None:
                buf = self._decayed_grad[i] = np.empty_like(w)
            g = self._weight_decay(w, g, group, out=buf)
        self._update(g, self.state[i], tmp, group)
        w -= tmp
        if w is not p.data:
            np.copyto(p.data, w, casting="same_kind")
        bump_version(p)

    def _plan(self, gi: int, group: dict, start: int) -> "_Plan":
        """Sort group `gi`'s parameters into buckets (same dtype and step count, a gradient of
        that dtype: updated together) and the rest (stepped one by one), and remember it."""
        keyed: dict[tuple, list[list[int]]] = {}  # key -> its buckets' parameter numbers
        filled: dict[tuple, int] = {}  # key -> elements in its last bucket
        rest = []
        for i, p in enumerate(group["params"], start):
            if p.grad is None:
                continue
            key = self._bucket_key(i, p)
            if key is None:
                rest.append(i)
                continue
            if key not in keyed or filled[key] + p.data.size > self.foreach_bucket_size:
                keyed.setdefault(key, []).append([])  # the first bucket, or the last is full
                filled[key] = 0
            keyed[key][-1].append(i)
            filled[key] += p.data.size
        params = group["params"]
        buckets = [_Bucket(self, [params[i - start] for i in idx], idx)
                   for chunks in keyed.values() for idx in chunks]
        # The homes bound into tc.jit's kernels (grad_homes) move to the new buckets' views; a
        # parameter stepped alone now, or skipped, writes none until it is fused again.
        housed = set()
        for b in buckets:
            if any(id(p) in self._homes for p in b.params):
                self._house(b)
                housed.update(map(id, b.params))
        for p in params:
            if id(p) in self._homes and id(p) not in housed:
                self._homes[id(p)][1].retire()
        skipped = tuple(i for i, p in enumerate(params, start) if p.grad is None)
        plan = _Plan(params, start, buckets, rest, skipped)
        while len(self._plans) <= gi:
            self._plans.append(None)
        self._plans[gi] = plan
        return plan

    def _bucket_key(self, i: int, p: Tensor) -> tuple | None:
        """What parameters updated together share (dtype, step count, state entries), or None
        for one stepped alone: float16 master weights, a gradient a copy to the flat buffers
        would cast, or large enough to step alone."""
        w, g, s, tmp = p.data, p.grad.data, self.state[i], self._tmp[i]
        # (the per-parameter path casts the state to w's dtype when the scratch is not yet)
        keeps_state = tmp is not None and tmp.dtype == w.dtype
        if (w.dtype.itemsize < 4 or g.dtype != w.dtype or g.shape != w.shape
                or w.size > self.foreach_bucket_size
                or keeps_state and any(isinstance(v, np.ndarray) and v.dtype != w.dtype
                                       for v in s.values())
                or any(isinstance(v, np.ndarray) and v.shape != w.shape for v in s.values())):
            return None
        scalars = sorted((k, v) for k, v in s.items() if not isinstance(v, np.ndarray))
        arrays = sorted(k for k, v in s.items() if isinstance(v, np.ndarray))
        return w.dtype.str, tuple(scalars), tuple(arrays)

    def _step_bucket(self, b: "_Bucket", grads: list, group: dict) -> None:
        """The fused path: gather the bucket's gradients (decayed where the filter says) into
        one flat buffer, run `_update` once over the flat arrays, subtract the result from the
        weights (their flat buffer at once, or each parameter's own `p.data`) and bump versions.
        Gradients that tc.jit's kernels wrote into the flat buffer (`grad_homes`) are there
        already: no gather, and the decayed ones go to a buffer of their own (`.grad` stays)."""
        homed = list(map(is_, grads, b.grad_views))  # (each in place, or not)
        decay = group["weight_decay"] and True in b.decays
        if decay and True in homed:  # the views are .grad: the decayed gradients go elsewhere
            if b.decayed is None:
                d = np.empty_like(b.grad)
                b.decayed = d, b._views(d)
            flat, views = b.decayed
        else:  # (the gather or the decay below writes every view: none may be held outside)
            if False in homed:
                b.let_go_if_held(homed)
            flat, views = b.grad, b.grad_views
        if decay:
            for w, g, gv, decays in zip(b.ws, grads, views, b.decays):
                d = self._weight_decay(w, g, group, out=gv) if decays else g
                if d is not gv:
                    np.copyto(gv, d)
        elif False in homed:  # every gradient into the flat buffer in one call
            np.concatenate(grads, axis=None, out=flat)
        self._update(flat, b.state, b.tmp, group)
        if b.w is not None:
            b.w -= b.tmp
        else:
            for w, tv in zip(b.ws, b.tmp_views):
                w -= tv
        bump_version(*b.params)
        b.share_state(self.state)

    def _buffers_for(self, i: int, w: np.ndarray) -> np.ndarray:
        # First step, or the parameter changed dtype (Module.to): scratch and state follow it.
        for k, v in self.state[i].items():
            if isinstance(v, np.ndarray) and v.shape != w.shape:
                raise ValueError(f"{type(self).__name__}.step: params[{i}] has shape {w.shape} now, "
                                 f"but its state {k!r} was made for shape {v.shape} (its .data was "
                                 "replaced by an array of another shape); make a new optimizer for "
                                 "it, or take it out of its group and put a new tensor in")
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
        if tmp is None or tmp.dtype != np.float32 or tmp.shape != master.shape:
            tmp = self._buffers_for(i, master)
        return master, g.astype(np.float32), tmp

    def _weight_decay(self, w: np.ndarray, g: np.ndarray, group: dict,
                      out: np.ndarray) -> np.ndarray:
        """The course's L2: the gradient the update uses, g + weight_decay * w, written into
        `out` (p.grad stays what backward computed); AdamW decays `w` itself instead."""
        np.multiply(w, group["weight_decay"], out=out)
        out += g
        return out

    def _update(self, g: np.ndarray, state: dict, tmp: np.ndarray, group: dict) -> None:
        """Write into `tmp` what to subtract from the weights, from gradient `g` with the
        hyperparameters of `group`, and advance `state` (created here on the first step, like
        `tmp`). The caller does `w -= tmp`. The arrays are one parameter's, or a bucket's flat
        buffers (every parameter's, end to end): the formula is elementwise, so both give the
        same numbers. `g` must not be written: it may be the parameter's `.grad`."""
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, float]:
        """lr and the other hyperparameters by name (the first group's)."""
        return {k: self.param_groups[0][k] for k in self.hyperparameter_rules}

    def state_dict(self) -> dict:
        """The defaults, each group's hyperparameters (its "params" as positions in the flat
        order) and per-parameter state (copied), in the order of `params`."""
        self._follow_params()
        groups, start = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": dict(self.defaults),
            "param_groups": groups,
            "state": [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                      for s in self.state],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict()` returned, for the same kind of optimizer and parameters
        (grouped the same way); an incomplete state raises StateDictError naming the key."""
        self._follow_params()
        owner = type(self).__name__
        check_state_keys(owner, state_dict, ("optimizer", "hyperparameters", "param_groups",
                                             "state"))
        if state_dict["optimizer"] != owner:
            raise ValueError(f"{owner}.load_state_dict: the state is from "
                             f"{state_dict['optimizer']!r}, not {owner}")
        states, params = state_dict["state"], self.params
        if len(states) != len(params):
            raise ValueError(f"{owner}.load_state_dict: the state has {len(states)} parameters, "
                             f"this optimizer has {len(params)}")
        names = tuple(self.hyperparameter_rules)
        hyper = self._checked_names(state_dict["hyperparameters"], "state['hyperparameters']")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}.load_state_dict: the state has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            where = f"state['param_groups'][{i}]"
            check_state_keys(owner, saved, ("params", *names), where)
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{owner}.load_state_dict: {where} has {len(saved['params'])} "
                                 f"parameters, this optimizer's group has {len(group['params'])}")
            groups.append({**{k: v for k, v in saved.items() if k != "params"},
                           **self._checked({k: saved[k] for k in names}, f" {where}")})
        for i, s in enumerate(states):
            if s:  # an empty state is a parameter not stepped yet
                check_state_keys(owner, s, self.state_keys, f"state['state'][{i}]")
        loaded = []
        for i, (p, s) in enumerate(zip(params, states)):
            entry = {}
            for k, v in s.items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.shape:
                        raise ValueError(f"{owner}.load_state_dict: state {k!r} of params[{i}] "
                                         f"has shape {v.shape}, the parameter has {p.shape}")
                    v = v.astype(np.promote_types(p.dtype, np.float32), copy=True)
                entry[k] = v
            loaded.append(entry)
        self.defaults = hyper
        for group, values in zip(self.param_groups, groups):
            group.update(values)
        self.state = loaded
        self._set_aside.clear()  # (the loaded state replaces all of it, as PyTorch's does)
        self._drop_homes({id(p) for p in self.params})

    def _checked_names(self, hyper: dict, where: str) -> dict:
        """`hyper` with every hyperparameter of this optimizer and no other, validated."""
        owner, names = type(self).__name__, tuple(self.hyperparameter_rules)
        check_state_keys(owner, hyper, names, where)
        unknown = sorted(set(hyper) - set(names))
        if unknown:
            raise StateDictError(f"{owner}.load_state_dict: unknown hyperparameter "
                                 f"{unknown[0]!r}; {owner} has {', '.join(names)}")
        return self._checked(dict(hyper))

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v:g}" for k, v in self.hyperparameters().items())
        groups = "" if len(self.param_groups) == 1 else f" in {len(self.param_groups)} groups"
        return f"{type(self).__name__}({len(self.params)} parameters{groups}, {hyper})"


class _Bucket:
    """Parameters of one group with one dtype and the same step count, updated together: their
    state and scratch live end to end in flat buffers; `state[i][k]` of each parameter is a view
    of its slice (bound after the first step), so reading or writing `opt.state` sees the bucket.
    The bucket keeps `p.data` of each parameter (`ws`): it writes into them, and a parameter
    whose data was replaced (Module.to, a user's `p.data = ...`) ends the bucket. When no one
    else holds them, the weights move into one flat buffer `w` too, and `ws` are its views."""

    def __init__(self, opt: Optimizer, params: list[Tensor], indices: list[int]):
        self.params, self.indices = params, indices
        # Flat weights when no one but its tensor holds a parameter's array (the test of
        # ndarray.resize(refcheck=True)): the parameters become views of one buffer, so the
        # update subtracts once for all of them. An array held elsewhere keeps being written.
        movable = hasattr(sys, "getrefcount") and all(
            sys.getrefcount(p.data) <= 2 and p.data.base is None and p.data.flags.writeable
            for p in params)
        self.ws = [p.data for p in params]
        dtype = self.ws[0].dtype
        sizes = [w.size for w in self.ws]
        ends = np.cumsum(sizes).tolist()
        self.slices = [slice(end - n, end) for n, end in zip(sizes, ends)]
        self.shapes = [w.shape for w in self.ws]
        self.grad, self.tmp = np.empty(sum(sizes), dtype), np.empty(sum(sizes), dtype)
        self.grad_views, self.tmp_views = self._views(self.grad), self._views(self.tmp)
        self.homes: list[GradHome] | None = None  # set by Optimizer._house (see grad_homes)
        self.decayed: tuple | None = None  # (flat, views) for decayed gradients when .grad is used
        self.w = np.empty(sum(sizes), dtype) if movable and len(params) > 1 else None
        if self.w is not None:
            self.ws = self._views(self.w)
            for p, view in zip(params, self.ws):
                view[...] = p.data
                p.data = view
        self.decays = [opt._decays[i] for i in indices]
        # The flat state from each parameter's (cast to this dtype, as a dtype change casts it).
        first = opt.state[indices[0]]
        self.state = {}
        for k, v in first.items():
            if isinstance(v, np.ndarray):
                flat = self.state[k] = np.empty(sum(sizes), dtype)
                for view, i in zip(self._views(flat), indices):
                    np.copyto(view, opt.state[i][k], casting="same_kind")
            else:
                self.state[k] = v
        # state key -> what each parameter's state must still hold (None before the first step)
        self.bound: dict[str, list] | None = None
        if first:
            self.share_state(opt.state)
        for i, tv in zip(indices, self.tmp_views):
            opt._tmp[i], opt._decayed_grad[i] = tv, None

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [flat[s].reshape(shape) for s, shape in zip(self.slices, self.shapes)]

    def let_go_if_held(self, homed: list) -> None:
        """Before the flat gradient buffer is written: if a view of it that no kernel wrote in
        this step is held outside (a .grad kept from an earlier replay, or a slice of one), take
        a new buffer and point the homes at its views, so that what is held never changes."""
        if self.homes is None or all(home.free() for home, done in zip(self.homes, homed)
                                     if not done):
            return
        self.grad = np.empty_like(self.grad)
        self.grad_views = self._views(self.grad)
        GradHome.move(self.homes, self.grad_views)

    def share_state(self, states: list[dict]) -> None:
        """Point each parameter's state at its slice of the flat state (and copy the scalars,
        Adam's t) after a step."""
        flat = self.state
        if self.bound is None:  # the first step created the flat state: bind the views once
            self.bound = {k: self._views(v) for k, v in flat.items() if isinstance(v, np.ndarray)}
            for k, views in self.bound.items():
                for i, view in zip(self.indices, views):
                    states[i][k] = view
        for k, v in flat.items():
            if not isinstance(v, np.ndarray):  # (Momentum and RMSprop have none)
                self.bound[k] = [v] * len(self.indices)
                for i in self.indices:
                    states[i][k] = v

    def holds(self, states: list[dict]) -> list | None:
        """The gradients' arrays if this step can run fused (each parameter still has its data
        array, a gradient of its dtype and shape, and its state is still the bucket's views),
        else None. (Checked with map, in C: a deep model has many parameters, and this runs at
        every step; the group's list is checked by the plan.)"""
        if self.bound is None:  # a step that stopped half way: start again
            return None
        if not all(map(is_, map(_DATA, self.params), self.ws)):
            return None
        try:
            grads = list(map(_DATA, map(_GRAD, self.params)))
        except AttributeError:  # a parameter without a gradient (None has no .data)
            return None
        # of another dtype or shape: the per-parameter path (which checks it). (dtypes by
        # identity first: NumPy's builtin dtypes are singletons)
        dtype = self.grad.dtype
        if not all(map(is_, grads, self.grad_views)) and (  # (its own views: their shapes, its dtype)
                list(map(_SHAPE, grads)) != self.shapes or not (
                    all(map(is_, map(_DTYPE, grads), repeat(dtype)))
                    or all(g.dtype == dtype for g in grads))):
            return None
        mine = list(map(states.__getitem__, self.indices))
        try:
            for k, views in self.bound.items():
                if not all(map(is_, map(itemgetter(k), mine), views)):
                    return None
        except KeyError:  # an entry deleted
            return None
        return grads


class _Plan:
    """How one group steps: its buckets (fused), the parameters stepped one by one (`rest`),
    and those skipped (no gradient when the plan was made)."""

    def __init__(self, params: list[Tensor], start: int, buckets: list[_Bucket], rest: list[int],
                 skipped: tuple[int, ...]):
        self.params, self.start = params, start
        self.kept = list(params)  # (a copy: the group's list may be edited in place)
        self.buckets, self.rest, self.skipped = buckets, rest, skipped

    def holds(self, params: list[Tensor], start: int, states: list[dict]) -> list | None:
        """Each bucket's gradients if the plan still applies to this step, else None (then the
        optimizer makes a new one)."""
        if (params is not self.params or start != self.start or len(params) != len(self.kept)
                or not all(map(is_, params, self.kept))):
            return None
        if self.skipped and any(params[i - start].grad is not None for i in self.skipped):
            return None
        grads = []
        for b in self.buckets:
            g = b.holds(states)
            if g is None:
                return None
            grads.append(g)
        return grads
