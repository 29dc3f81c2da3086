"""PyTorch's spellings of Tensor conveniences: x.size() / x.size(dim), numel, view, swapdims,
expand, float()/double()/long()/int()/bool()/half(), to(dtype | "cpu"), cpu(), dim(),
contiguous(), and tc.cat, tc.is_tensor, tc.from_numpy and the dtype names (tc.float32, ...).

`x.size` stays NumPy's element count (an int) and is also callable as PyTorch's method: it is a
`Size`, an int that, called, gives the shape (`x.size()`) or one axis' length (`x.size(0)`).
The dtype names (tc.float32, tc.long, ...) live in `dtypes.py`.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _to_array
from .common import normalize_axis
from .elementwise import astype
from .shape import BroadcastTo, concatenate, reshape, swapaxes

class Size(int):
    """A tensor's element count (NumPy's `x.size`, an int) that is also PyTorch's `x.size()`:
    called without an argument it gives the shape, with one the length of that axis.

    One attribute cannot be both a property (NumPy) and a method (PyTorch) otherwise; a callable
    int keeps `x.size == 6`, `range(x.size)` and `x.size()[0]`, `x.size(-1)` all working.
    """

    def __new__(cls, shape: tuple) -> Size:
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = tuple(shape)
        return self

    def __call__(self, dim: int | None = None):
        if dim is None:
            return self.shape
        return self.shape[normalize_axis(dim, len(self.shape), "size")[0]] if self.shape else 1


def is_device(name) -> bool:
    """Whether `name` is meant as a device ("cpu", "cuda:0", ...): any string NumPy does not
    read as a dtype."""
    if not isinstance(name, str):
        return False
    try:
        np.dtype(name)
    except TypeError:
        return True
    return False


def check_device(device, where: str) -> None:
    """Accept the CPU (the only device: NumPy); any other device is an error saying so."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"{where}: there is no device {str(device)!r}; tinygrad_course runs on "
                         "the CPU with NumPy, so drop the .to(device) call (to('cpu') is accepted "
                         "and does nothing)")


def numel(x) -> int:
    """The number of elements (PyTorch's name for NumPy's x.size)."""
    return x.data.size


def view(x, *shape) -> Tensor:
    """PyTorch's name for reshape: x with a new shape (one entry may be -1)."""
    return reshape(x, *shape)


def swapdims(x, dim0: int, dim1: int) -> Tensor:
    """PyTorch's name for swapaxes: x with axes dim0 and dim1 exchanged."""
    return swapaxes(x, dim0, dim1)


def expand(x, *sizes) -> Tensor:
    """PyTorch's expand: x broadcast to `sizes`, where -1 keeps that axis' length (a view)."""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return BroadcastTo.apply(x, shape)


def cat(tensors, dim: int = 0) -> Tensor:
    """PyTorch's name for concatenate: tensors joined along axis `dim`."""
    return concatenate(tensors, dim=dim)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor over `array` itself, without a copy (torch.from_numpy): a change to one shows in
    the other. `tc.tensor(array)` copies instead."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}; use "
                        "tc.tensor(data) for lists and numbers")
    _to_array(np.empty(0, array.dtype))  # refuses the dtypes Tensor refuses (object, str, ...)
    return Tensor._wrap(array)


def to(x, *args, dtype=None, device=None, copy: bool = False) -> Tensor:
    """x converted to `dtype` (differentiable between floating dtypes), or x itself for the CPU:
    to(np.float64), to("cpu"), to("cpu", np.float64), to(device="cpu", dtype=...) as in PyTorch.
    Any other device is an error: everything runs on the CPU with NumPy."""
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif is_device(a):
            device = a
        else:
            dtype = a
    check_device(device, "Tensor.to")
    out = x if dtype is None else astype(x, dtype)
    return out.clone() if copy and out is x else out


def cpu(x) -> Tensor:
    """x itself: every tensor lives on the CPU (PyTorch's x.cpu())."""
    return x


def contiguous(x) -> Tensor:
    """x itself: PyTorch's memory-layout call, which NumPy-backed tensors do not need."""
    return x


def cuda(x, *args, **kwargs) -> Tensor:
    """There is no GPU here: always an error saying so."""
    check_device("cuda", "Tensor.cuda")


def _converter(dtype, name: str):
    def convert(x) -> Tensor:
        return astype(x, dtype)
    convert.__name__ = name
    convert.__doc__ = f"x converted to {np.dtype(dtype)} (PyTorch's x.{name}())."
    return convert


Tensor.size = property(lambda self: Size(self.data.shape),
                       doc="The element count (an int, as NumPy's); call it for PyTorch's shape: "
                           "x.size() is x.shape, x.size(d) is x.shape[d].")
Tensor.dim = lambda self: self.data.ndim
Tensor.dim.__doc__ = "The number of axes (PyTorch's x.dim(), NumPy's x.ndim)."
for _name, _dtype in (("float", np.float32), ("double", np.float64), ("half", np.float16),
                      ("long", np.int64), ("int", np.int32), ("bool", np.bool_)):
    setattr(Tensor, _name, _converter(_dtype, _name))
for _f in (numel, view, swapdims, expand, to, cpu, cuda, contiguous):
    setattr(Tensor, _f.__name__, _f)
