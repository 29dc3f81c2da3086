"""Engine review 2: silent wrong answers of the eager engine, each pinned by a test that failed
before its fix (an index or a constant array changed after the op moved the gradient; a gradient
under create_graph took another input's dtype), and cases checked to be right already."""
import gc
import tracemalloc

import numpy as np
import pytest

import tinygrad_course as tc


def leaf(values, dtype=np.float64) -> tc.Tensor:
    return tc.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ---- an index or a constant changed after the op: the gradient is the op's as computed ----------

def test_changing_an_index_tensor_after_getitem_keeps_the_gradient_of_the_gather_computed():
    x, i = leaf([1.0, 2.0]), tc.tensor([0, 0])
    y = x[i]
    i[0] = 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0])


def test_changing_an_ndarray_index_after_getitem_keeps_the_gradient():
    x, i = leaf([1.0, 2.0, 3.0]), np.array([2, 2])
    y = x[i, ]
    i[:] = 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 2.0])


def test_changing_a_list_index_after_getitem_keeps_the_gradient():
    x, i = leaf([1.0, 2.0, 3.0]), [1, 1]
    y = x[i]
    i[0] = 0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("op", ["gather", "take_along_axis"])
def test_changing_the_index_of_gather_after_the_op_keeps_the_gradient(op):
    x, i = leaf(np.arange(6.0).reshape(2, 3)), tc.tensor([[0], [1]])
    y = tc.gather(x, 1, i) if op == "gather" else tc.take_along_axis(x, i, 1)
    i[0, 0] = 2
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0, 0], [0, 1, 0]])


def test_changing_the_index_of_setitem_after_the_op_keeps_the_value_gradient():
    x, v, i = leaf([0.0, 0.0, 0.0]), leaf([5.0]), np.array([1])
    h = x * 1
    h[i] = v
    i[0] = 2
    (h * tc.tensor([1.0, 2.0, 3.0], dtype=np.float64)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_changing_the_condition_of_where_after_the_op_keeps_the_gradient():
    c, x = tc.tensor([True, False]), leaf([1.0, 2.0])
    y = tc.where(c, x, 0.0)
    c[0] = False
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])


@pytest.mark.parametrize("op", ["x * m", "m * x", "x / m", "x @ m"])
def test_changing_an_ndarray_operand_after_the_op_keeps_the_gradient(op):
    m = np.array([[2.0, 4.0]]) if op != "x @ m" else np.array([[2.0], [4.0]])
    x = leaf([[1.0, 1.0]])
    y = eval(op)
    m[...] = 1.0
    y.sum().backward()
    want = {"x * m": [[2, 4]], "m * x": [[2, 4]], "x / m": [[0.5, 0.25]], "x @ m": [[2, 4]]}[op]
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_changing_the_base_of_a_read_only_view_operand_after_the_op_keeps_the_gradient():
    # np.broadcast_to gives a read-only view: its base can still change under it
    x = leaf(np.ones(3))
    w = np.array([1.0, 2.0, 3.0])
    y = (x * np.broadcast_to(w, (2, 3))).sum()
    w[:] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0, 6.0])


def test_a_read_only_ndarray_operand_is_not_copied():
    m = np.array([2.0, 4.0])
    m.flags.writeable = False
    y = leaf([1.0, 1.0]) * m
    assert any(s is m for s in y._ctx.saved)


# ---- the dtype of a gradient is its tensor's, under create_graph too (PyTorch's rule) -----------

def test_create_graph_gradient_of_a_float32_input_mixed_with_float64_is_float32():
    x, w = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0])
    g, = tc.grad((x * w).sum(), [x], create_graph=True)
    (x * w).sum().backward(create_graph=True)
    assert g.dtype == x.grad.dtype == np.float32
    np.testing.assert_array_equal(g.numpy(), [3.0, 4.0])


def test_second_derivative_through_a_dtype_cast_of_the_gradient_is_right():
    x, w = leaf([1.0, 2.0], np.float32), leaf([3.0, 4.0])
    g, = tc.grad((x * x * w).sum(), [x], create_graph=True)  # 2 x w, in float32
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    assert w.grad.dtype == np.float64


def test_float16_and_float64_leaves_each_get_a_gradient_of_their_own_dtype():
    x, w = leaf([1.0, 2.0], np.float16), leaf([3.0, 4.0])
    (x * w).sum().backward()
    assert (x.grad.dtype, w.grad.dtype) == (np.float16, np.float64)


# ---- max pooling's indices: returned as the user's own, not held by a kept loss -----------------

def test_changing_the_indices_max_pool2d_returned_keeps_its_gradient():
    x = leaf(np.arange(16.0).reshape(1, 1, 4, 4))
    out, idx = tc.nn.functional.max_pool2d(x, 2, return_indices=True)
    idx -= 1
    out.sum().backward()
    want = np.zeros((4, 4))
    want[1::2, 1::2] = 1
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], want)


def _bytes_a_kept_loss_holds(make_loss) -> int:
    x = leaf(np.random.default_rng(0).standard_normal((4, 4, 32, 32)))
    gc.collect()
    tracemalloc.start()
    try:
        loss = make_loss(x * 1.0)
        loss.backward()
        x.grad = None
        gc.collect()
        with_loss = tracemalloc.get_traced_memory()[0]
        del loss
        gc.collect()
        return with_loss - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_a_loss_kept_after_backward_does_not_hold_max_pool2d_indices():
    # the input is 128 KiB, its window indices 32 KiB: what stays is the graph's small change
    assert _bytes_a_kept_loss_holds(lambda h: tc.nn.functional.max_pool2d(h, 2).sum()) < 16_000


@pytest.mark.parametrize("op", [lambda h: tc.sort(h, axis=-1)[0], lambda h: tc.topk(h, 16)[0],
                                lambda h: h.reshape(16, 1024)[np.arange(16).repeat(1024),
                                                              np.tile(np.arange(1024), 16)]])
def test_a_loss_kept_after_backward_does_not_hold_the_index_arrays_of_its_gathers(op):
    # sort and topk gather with an index as large as their input (128 KiB here): a kept loss
    # must not hold it through the node's arguments
    assert _bytes_a_kept_loss_holds(lambda h: op(h).sum()) < 16_000


def test_backward_lets_go_of_an_index_tuple_kept_on_a_node():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x[np.array([1, 0]), np.array([2, 2])]
    node = y._ctx
    y.sum().backward()
    assert node.index is None
