"""Checkpoints: `save(obj, path)` / `load(path)` as `.npz`, without pickle.

`obj` is a nest of dicts, lists and tuples holding arrays, Tensors, numbers, strings and None, such
as `{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}`. Each array is
stored under its path of keys joined by "/" (`model/0.weight`), so `np.load` shows it plainly;
a JSON manifest records the nesting and the Python scalars, so `load` rebuilds the same structure
bit for bit. Files are read with `allow_pickle=False` (loading a checkpoint never runs code) and
written to a temporary file that replaces the old one only when complete (os.replace), so a crash
mid-save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from .tensor import Tensor

MANIFEST_KEY = "__tinygrad_course_manifest__"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint, or an object that cannot be saved without pickle."""


class StateDictError(KeyError, ValueError):
    """A `load_state_dict` given an incomplete state: a missing entry or hyperparameter, named at
    load time. A KeyError (a key is missing) and a ValueError (a bad value), to catch as either."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check_state_keys(owner: str, state, keys, where: str = "the state") -> None:
    """Raise StateDictError naming the first of `keys` missing from `state` (a dict)."""
    if not isinstance(state, dict):
        raise TypeError(f"{owner}.load_state_dict: {where} must be a dict (what state_dict() "
                        f"returns), got {type(state).__name__}")
    for key in keys:
        if key not in state:
            raise StateDictError(f"{owner}.load_state_dict: {where} has no {key!r}; pass the whole "
                                 f"dict that {owner}.state_dict() returned")


def _store(arr: np.ndarray, key: str, arrays: dict) -> str:
    if arr.dtype.hasobject:
        raise TypeError(f"save: {key or 'the object'!r} is an array of Python objects (dtype "
                        f"{arr.dtype}), which only pickle could store; convert it to numbers")
    key = key or "array"
    unique, n = key, 1
    while unique in arrays or unique == MANIFEST_KEY:
        unique, n = f"{key}~{n}", n + 1
    arrays[unique] = arr
    return unique


def _encode(obj: Any, key: str, arrays: dict) -> dict:
    if isinstance(obj, Tensor):
        return {"tensor": _store(obj.data, key, arrays), "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        return {"array": _store(obj, key, arrays)}
    if isinstance(obj, np.generic):
        return {"numpy_scalar": _store(np.asarray(obj), key, arrays)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, bool) or not isinstance(k, (str, int)):
                raise TypeError(f"save: the key {k!r} under {key or 'the top level'!r} is a "
                                f"{type(k).__name__}; keys must be str or int")
            items.append([k, _encode(v, f"{key}/{k}" if key else str(k), arrays)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, f"{key}/{i}" if key else str(i), arrays) for i, v in enumerate(obj)]}
    hint = " (save its state_dict() instead)" if hasattr(obj, "state_dict") else ""
    raise TypeError(f"save: cannot store {key or 'the object'!r} of type {type(obj).__name__}"
                    f"{hint}; a checkpoint holds dicts, lists, tuples, arrays, Tensors, numbers, "
                    "strings and None")


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` (dicts/lists/tuples of arrays, Tensors, numbers, strings, None) to `path` as
    .npz, atomically: the previous file at `path` stays intact unless the new one is complete."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays)
    manifest = json.dumps({"format": FORMAT_VERSION, "tree": tree})
    arrays[MANIFEST_KEY] = np.array(manifest)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            # What np.savez does, but with allow_pickle=False on write too and any key allowed.
            with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in arrays.items():
                    with zf.open(key + ".npy", "w", force_zip64=True) as member:
                        npy_format.write_array(member, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, os.stat(path).st_mode & 0o777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _decode(node: dict, files) -> Any:
    (kind, body), *_ = node.items()
    if kind == "value":
        return body
    if kind == "array":
        return files[body]
    if kind == "tensor":
        arr = files[body]
        return Tensor._wrap(arr, requires_grad=bool(node["requires_grad"]) and arr.dtype.kind == "f")
    if kind == "numpy_scalar":
        return files[body][()]
    if kind == "dict":
        return {k: _decode(v, files) for k, v in body}
    if kind == "list":
        return [_decode(v, files) for v in body]
    if kind == "tuple":
        return tuple(_decode(v, files) for v in body)
    raise CheckpointError(f"load: unknown entry {kind!r} in the checkpoint's manifest")


def _why_unreadable(e: Exception) -> str:
    """NumPy's reason in our words: never its advice to unpickle the file."""
    if isinstance(e, EOFError):
        return "the file is empty or cut short"
    if "pickle" in str(e):
        return ("it is not NumPy data, or holds pickled Python objects, which a checkpoint never "
                "loads")
    return str(e)


def load(path: str | os.PathLike) -> Any:
    """Read what `save` wrote (arrays come back as ndarrays, Tensors as Tensors, the nesting and
    scalars as they were). A plain .npz without a manifest comes back as a dict of arrays.
    Never unpickles anything."""
    path = os.fspath(path)
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            return npz
        with npz:
            files = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"load: {path!r} is not a readable .npz checkpoint "
                              f"({_why_unreadable(e)})") from None
    if MANIFEST_KEY not in files:
        return files
    manifest = json.loads(str(files.pop(MANIFEST_KEY)))
    if manifest.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"load: {path!r} has checkpoint format {manifest.get('format')!r}; "
                              f"this version reads format {FORMAT_VERSION}")
    return _decode(manifest["tree"], files)
