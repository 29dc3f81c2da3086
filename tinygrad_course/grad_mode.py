"""Grad mode: whether ops record the graph, per thread (`no_grad`, `enable_grad`)."""
from __future__ import annotations

import functools
import threading
from typing import Callable


class _GradMode(threading.local):
    enabled = True


_mode = _GradMode()
# How many threads have grad mode off right now. While it is 0 (no no_grad block open anywhere,
# the usual case while a model trains) every thread's mode is on, and ops skip the thread-local
# lookup; a thread's own mode only changes in its own program order, so the count is never
# stale for the thread reading it.
_threads_off = [0]
_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return _mode.enabled


def _set_enabled(enabled: bool) -> None:
    if _mode.enabled != enabled:
        with _lock:
            _threads_off[0] += -1 if enabled else 1
        _mode.enabled = enabled


class _SetGradMode:
    _target = True

    def __init__(self) -> None:
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(_mode.enabled)
        _set_enabled(self._target)

    def __exit__(self, *exc) -> None:
        _set_enabled(self._prev.pop())

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
