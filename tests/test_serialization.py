import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.nn import functional as F
from tinygrad_course.serialization import CheckpointError


def _same(a, b):
    """Equal structure, types and bits."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, tc.Tensor):
        assert a.requires_grad == b.requires_grad
        _same(a.data, b.data)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    elif isinstance(a, float):
        assert np.float64(a).tobytes() == np.float64(b).tobytes()
    else:
        assert a == b


def test_nested_structure_round_trips_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    obj = {
        "model": {"0.weight": rng.standard_normal((3, 2)).astype(np.float32),
                  "0.bias": np.zeros(3, np.float32), "1.num_batches_tracked": np.array(7)},
        "optimizer": {"optimizer": "Adam", "hyperparameters": {"lr": 1e-3, "beta1": 0.9},
                      "state": [{"v": rng.standard_normal(3), "t": 4}, {}]},
        "epoch": 12, "best": float("inf"), "neg_zero": -0.0, "nan": float("nan"),
        "flag": True, "note": None, "shape": (2, 3), 5: "int key",
        "scalar": np.float32(2.5), "tensor": tc.randn(2, 2, requires_grad=True),
        "empty": np.zeros((0, 4)), "strided": rng.standard_normal((4, 6))[::2, ::3],
        "mask": np.array([True, False]), "big": 2 ** 70,
    }
    path = tmp_path / "ck.npz"
    tc.save(obj, path)
    back = tc.load(path)
    assert np.isnan(back.pop("nan")) and np.isnan(obj.pop("nan"))
    _same(obj, back)


@given(hnp.arrays(dtype=st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.int64,
                                         np.uint16, np.complex64]),
                  shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
def test_any_numeric_array_round_trips_exactly(tmp_path_factory, arr):
    path = tmp_path_factory.mktemp("ck") / "a.npz"
    tc.save({"a": arr}, path)
    _same({"a": arr}, tc.load(path))


def test_arrays_are_stored_under_readable_flattened_keys(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    tc.save({"model": model.state_dict(), "epoch": 3}, tmp_path / "ck.npz")
    with np.load(tmp_path / "ck.npz", allow_pickle=False) as f:
        keys = set(f.files)
        np.testing.assert_array_equal(f["model/0.weight"], model[0].weight.data)
    assert {"model/0.weight", "model/1.running_var", "model/1.num_batches_tracked"} <= keys


def test_a_model_round_trip_through_a_file_is_bit_exact(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    model(tc.randn(5, 2))
    tc.save(model.state_dict(), tmp_path / "m.npz")
    fresh = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    fresh.load_state_dict(tc.load(tmp_path / "m.npz"))
    _same(dict(model.state_dict()), dict(fresh.state_dict()))


def test_resuming_from_a_checkpoint_continues_exactly(tmp_path):
    X, y = tc.randn(16, 3), np.arange(16) % 2

    def make():
        tc.manual_seed(1)
        model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
        return model, optim.Adam(model.parameters(), lr=0.01)

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            F.cross_entropy(model(X), y).backward()
            opt.step()

    model, opt = make()
    train(model, opt, 6)
    straight = model.state_dict()

    model, opt = make()
    train(model, opt, 3)
    tc.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ck.npz")
    model, opt = make()
    ck = tc.load(tmp_path / "ck.npz")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    train(model, opt, 3)
    _same(dict(straight), dict(model.state_dict()))


def test_object_arrays_are_refused_because_they_need_pickle(tmp_path):
    with pytest.raises(TypeError, match=r"'w' is an array of Python objects .* only pickle"):
        tc.save({"w": np.array([{}, 1], dtype=object)}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


def test_loading_never_unpickles(tmp_path):
    np.savez(tmp_path / "evil.npz", payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="not a readable .npz checkpoint"):
        tc.load(tmp_path / "evil.npz")


def test_unsupported_objects_are_refused_with_a_hint(tmp_path):
    with pytest.raises(TypeError, match=r"'model' of type Linear \(save its state_dict\(\) instead\)"):
        tc.save({"model": nn.Linear(2, 2)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys must be str or int"):
        tc.save({(1, 2): 3}, tmp_path / "x.npz")


def test_a_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    tc.save({"w": np.arange(3.0)}, path)
    original = np.lib.format.write_array
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", crash_on_second)
    with pytest.raises(OSError, match="disk full"):
        tc.save({"w": np.zeros(3), "v": np.ones(3)}, path)
    monkeypatch.undo()
    _same(tc.load(path), {"w": np.arange(3.0)})
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary file left behind


def test_the_new_file_reaches_the_disk_before_it_replaces_the_old_one(tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), replace(a, b)))
    tc.save({"w": np.ones(2)}, tmp_path / "ck.npz")
    assert events == ["fsync", "replace"]


def test_saving_replaces_the_file_and_keeps_the_exact_path(tmp_path):
    path = tmp_path / "checkpoint.bin"
    tc.save({"a": 1}, path)
    tc.save({"a": 2}, path)
    assert tc.load(path) == {"a": 2} and os.listdir(tmp_path) == ["checkpoint.bin"]


def test_a_plain_npz_without_manifest_loads_as_a_dict_of_arrays(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.eye(2), b=np.zeros(2))
    back = tc.load(tmp_path / "plain.npz")
    assert set(back) == {"w", "b"}
    np.testing.assert_array_equal(back["w"], np.eye(2))


def test_loading_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(CheckpointError, match="junk.npz' is not a readable .npz checkpoint"):
        tc.load(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        tc.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("content, why", [(b"", "the file is empty"),
                                          (b"w,b\n1.0,2.0\n", "it is not NumPy data")])
def test_an_empty_or_text_file_raises_checkpoint_error_naming_the_path(tmp_path, content, why):
    (tmp_path / "ck.npz").write_bytes(content)
    with pytest.raises(CheckpointError, match=f"ck.npz' is not a readable .npz checkpoint \\({why}"
                       ) as info:
        tc.load(tmp_path / "ck.npz")
    assert "allow_pickle" not in str(info.value) and "pickle.load" not in str(info.value)


def test_a_top_level_array_or_list_round_trips(tmp_path):
    tc.save(np.arange(4), tmp_path / "a.npz")
    _same(tc.load(tmp_path / "a.npz"), np.arange(4))
    tc.save([np.ones(2), {"x": 1}], tmp_path / "l.npz")
    _same(tc.load(tmp_path / "l.npz"), [np.ones(2), {"x": 1}])


def test_keys_that_flatten_to_the_same_name_stay_apart(tmp_path):
    obj = {"a/b": np.zeros(1), "a": {"b": np.ones(1)}}
    tc.save(obj, tmp_path / "c.npz")
    _same(tc.load(tmp_path / "c.npz"), obj)
