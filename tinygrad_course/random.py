"""Randomness through a `Generator`: an explicit one, or the current thread's default.

Every random draw in the package (init, dropout masks, shuffling, datasets) comes from a
`Generator` passed as `generator=` (or `seed=`), else from `default_generator()`: the innermost
`use_generator` / `fork_rng` block of the current thread, else one process-wide generator that
`manual_seed` reseeds. So `tc.manual_seed(0)` makes a script reproducible, and a block run under
its own generator (a tuning trial on a thread pool) draws the same numbers whatever other threads do.
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import numpy as np

_ACCEPTED = ("an int >= 0, a numpy.random.SeedSequence, a numpy.random.Generator or a "
             "tc.Generator (None: fresh entropy from the OS)")


def _check_int_seed(seed, where: str, accepted: str = _ACCEPTED) -> int:
    """`seed` as an int >= 0; anything else raises naming `where`, `seed` and what is accepted."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{where}: seed must be an int, got {type(seed).__name__} ({seed!r}); "
                        f"seed accepts {accepted}")
    if seed < 0:
        raise ValueError(f"{where}: seed must be an int >= 0, got {seed!r}; seed accepts {accepted}")
    return int(seed)


def _numpy_generator(seed, where: str) -> np.random.Generator:
    """numpy's generator for `seed`; a bad seed raises naming `where` and `seed`."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, Generator):
        return seed.numpy
    return np.random.default_rng(_check_int_seed(seed, where))


class Generator:
    """A stream of random numbers: a numpy.random.Generator (PCG64) with PyTorch's seeding and
    state API (`manual_seed`, `get_state`/`set_state`). `Generator(seed)` takes an int >= 0, a
    SeedSequence, or a numpy Generator (wrapped, not copied: draws from either advance both)."""

    def __init__(self, seed: int | np.random.SeedSequence | np.random.Generator | None = None):
        self.numpy: np.random.Generator = _numpy_generator(seed, "Generator")

    def manual_seed(self, seed: int) -> Generator:
        """Restart this generator from `seed` (an int >= 0); returns self, as in PyTorch."""
        seed = _check_int_seed(seed, "manual_seed", "an int >= 0 (to draw from another "
                               "generator, use `with tc.use_generator(generator):`)")
        self.numpy = np.random.default_rng(seed)
        return self

    def get_state(self) -> dict:
        """A copy of the bit generator's state (a dict of plain ints, JSON-safe); `set_state` of it
        continues exactly from here."""
        return copy.deepcopy(self.numpy.bit_generator.state)

    def set_state(self, state: dict) -> Generator:
        """Continue from a state returned by `get_state`; returns self."""
        name = state.get("bit_generator") if isinstance(state, dict) else None
        bit_generator = getattr(np.random, name, None) if isinstance(name, str) else None
        if not (isinstance(bit_generator, type) and issubclass(bit_generator, np.random.BitGenerator)):
            raise ValueError(f"set_state: expected a state from Generator.get_state() (a dict "
                             f"with a 'bit_generator' name such as 'PCG64'), got {state!r:.200}")
        bits = bit_generator()
        try:
            bits.state = copy.deepcopy(state)
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"set_state: the {name} state is incomplete or corrupt ({exc})") from exc
        self.numpy = np.random.Generator(bits)
        return self

    def spawn(self, n: int) -> list[Generator]:
        """n independent child generators (numpy's SeedSequence spawning), e.g. one per worker."""
        return [Generator(g) for g in self.numpy.spawn(n)]

    def random(self, size=None, dtype=np.float64) -> np.ndarray:
        """Uniform samples in [0, 1)."""
        return self.numpy.random(size, dtype)

    def standard_normal(self, size=None, dtype=np.float64) -> np.ndarray:
        """Samples from N(0, 1)."""
        return self.numpy.standard_normal(size, dtype)

    def uniform(self, low=0.0, high=1.0, size=None) -> np.ndarray:
        """Uniform samples in [low, high)."""
        return self.numpy.uniform(low, high, size)

    def normal(self, loc=0.0, scale=1.0, size=None) -> np.ndarray:
        """Samples from N(loc, scale^2)."""
        return self.numpy.normal(loc, scale, size)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint: bool = False):
        """Random ints in [low, high) ([0, low) with one bound; [low, high] with endpoint=True)."""
        return self.numpy.integers(low, high, size, dtype, endpoint)

    def permutation(self, x) -> np.ndarray:
        """A shuffled copy of x, or of arange(x) for an int."""
        return self.numpy.permutation(x)

    def shuffle(self, x) -> None:
        """Shuffle x in place along its first axis."""
        self.numpy.shuffle(x)

    def choice(self, a, size=None, replace: bool = True, p: Sequence[float] | None = None) -> Any:
        """Samples from a (or arange(a)), with probabilities p (uniform when None)."""
        return self.numpy.choice(a, size, replace, p)

    def __repr__(self) -> str:
        return f"tc.Generator({type(self.numpy.bit_generator).__name__})"


_process_default = Generator()
_thread = threading.local()


def default_generator() -> Generator:
    """The generator random draws use when given none: this thread's innermost `use_generator` /
    `fork_rng`, else the process-wide one (PyTorch's torch.default_generator, but per thread)."""
    generator = getattr(_thread, "generator", None)
    return _process_default if generator is None else generator


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator (this thread's, inside `use_generator`/`fork_rng`; else the
    process-wide one), so every draw from here on is reproducible; returns it, as in PyTorch."""
    return default_generator().manual_seed(seed)


def get_rng_state() -> dict:
    """The default generator's state (see `Generator.get_state`); PyTorch's name."""
    return default_generator().get_state()


def set_rng_state(state: dict) -> None:
    """Continue the default generator from a state of `get_rng_state`; PyTorch's name."""
    default_generator().set_state(state)


def rng_from(seed: int | np.random.Generator | Generator | None = None, where: str = "rng_from", *,
             generator: Generator | None = None) -> Generator:
    """The Generator for a `seed=` / `generator=` pair of arguments: a tc.Generator as it is, a
    numpy one wrapped, an int a fresh one, neither the thread's default (`default_generator`)."""
    if generator is not None:
        if seed is not None:
            raise ValueError(f"{where}: pass seed or generator, not both (got seed={seed!r} and "
                             f"generator={generator!r})")
        if not isinstance(generator, (Generator, np.random.Generator)):
            raise TypeError(f"{where}: generator must be a tc.Generator, got "
                            f"{type(generator).__name__}; for an int write seed={generator!r}")
        seed = generator
    if seed is None:
        return default_generator()
    if isinstance(seed, Generator):
        return seed
    return Generator(_numpy_generator(seed, where))


get_rng = default_generator


@contextmanager
def use_generator(generator: Generator | np.random.Generator | int | None) -> Iterator[Generator]:
    """Inside the block, this thread's draws without an explicit generator come from `generator`
    (an int seeds a new one; None keeps the current default); other threads are not affected."""
    chosen = rng_from(generator, "use_generator")
    previous = getattr(_thread, "generator", None)
    _thread.generator = chosen
    try:
        yield chosen
    finally:
        _thread.generator = previous


@contextmanager
def fork_rng(seed: int | np.random.SeedSequence | None = None) -> Iterator[Generator]:
    """Run the block on a generator of its own, for this thread only: one seeded from `seed`, or
    (None) a copy of the current default, so the block's draws leave the outer stream where it was
    (PyTorch's torch.random.fork_rng, made thread-local)."""
    if seed is None:
        forked = Generator().set_state(default_generator().get_state())
    else:
        forked = Generator(_numpy_generator(seed, "fork_rng"))
    with use_generator(forked):
        yield forked
