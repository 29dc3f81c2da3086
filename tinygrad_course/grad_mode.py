"""Grad mode: whether ops record the graph, per thread (`no_grad`, `enable_grad`)."""
from __future__ import annotations

import functools
import threading
from typing import Callable


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _mode.enabled


class _SetGradMode:
    _target = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_mode.enabled)
        _mode.enabled = self._target

    def __exit__(self, *exc) -> None:
        _mode.enabled = self._prev.pop()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_SetGradMode):
    """Context manager and decorator: ops inside record no graph (evaluation, optimizer steps)."""

    _target = False


class enable_grad(_SetGradMode):
    """Context manager and decorator: turn graph recording back on inside `no_grad`."""

    _target = True
