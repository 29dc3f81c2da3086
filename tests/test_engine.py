"""The backward engine: accumulation, retain_graph, freed graphs, tc.grad, higher order,
grad mode (context managers, decorators, nesting, threads), custom Functions, deep graphs."""
import threading

import numpy as np
import pytest

import tinygrad_course as tc
from tinygrad_course.backward import graph_nodes


def f64(*values, requires_grad=True):
    return tc.tensor(np.array(values, dtype=np.float64), requires_grad=requires_grad)


# ---- backward and accumulation ----------------------------------------------------------
def test_gradients_accumulate_across_uses_of_a_tensor():
    x = f64(3.0)
    (x * x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0])


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = f64(1.0, 2.0)
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [7.0, 7.0])
    x.zero_grad()
    assert x.grad is None
    (x * 4).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_only_leaves_keep_grad_unless_retain_grad():
    x = f64(1.0, 2.0)
    h = x * 2
    k = x * 3
    k.retain_grad()
    (h * k).sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad.data, h.data)
    assert not h.is_leaf and x.is_leaf


def test_backward_with_an_explicit_gradient():
    x = f64(1.0, 2.0)
    (x * x).backward(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0])


def test_a_leaf_reached_directly_and_through_shared_nodes_gets_every_contribution():
    # add's backward hands the same array to both inputs: the leaf's .grad must not be it.
    x = f64(0.0, 1.0)
    ((x * 2.0) + (x * 1.0 + x)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])
    w = f64(1.0)
    h = w * 3.0
    (h + w + h + w * h).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [3 + 1 + 3 + 6.0])


def test_backward_from_a_leaf_sets_its_grad():
    x = f64(1.0, 2.0)
    x.backward(tc.tensor(np.array([3.0, 4.0])))
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_inputs_that_do_not_require_grad_get_no_grad():
    x, c = f64(1.0), f64(2.0, requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None


# ---- retain_graph and freed graphs ------------------------------------------------------
def test_backward_twice_through_a_freed_graph_raises_a_clear_error():
    x = f64(1.0, 2.0)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_which_accumulates():
    x = f64(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_a_new_graph_from_the_same_leaves_works_after_free():
    x = f64(2.0)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [8.0])


# ---- tc.grad ----------------------------------------------------------------------------
def test_grad_returns_gradients_without_touching_dot_grad():
    x, y = f64(1.0, 2.0), f64(3.0)
    gx, gy = tc.grad((x * y).sum(), [x, y])
    np.testing.assert_array_equal(gx.data, [3.0, 3.0])
    np.testing.assert_array_equal(gy.data, [3.0])
    assert x.grad is None and y.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x = f64(1.0, 2.0)
    (g,) = tc.grad([x * 2, x * x], [x], grad_outputs=[np.array([1.0, 1.0]), np.array([1.0, -1.0])])
    np.testing.assert_array_equal(g.data, [2 + 2.0, 2 - 4.0])


def test_grad_of_an_intermediate_tensor():
    x = f64(1.0, 2.0)
    h = x * 3
    (gh,) = tc.grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh.data, 2 * h.data)


def test_grad_allow_unused_gives_none_and_otherwise_raises():
    x, unused = f64(1.0), f64(2.0)
    out = (x * 2).sum()
    assert tc.grad(out, [x, unused], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match="not used.*allow_unused=True"):
        tc.grad((x * 2).sum(), [x, unused])


def test_grad_of_an_input_without_requires_grad_is_an_error():
    x = f64(1.0, requires_grad=False)
    with pytest.raises(RuntimeError, match="requires_grad"):
        tc.grad(x * 2, [x])


# ---- higher order -----------------------------------------------------------------------
def numeric_derivative(f, x: np.ndarray, eps=1e-6) -> np.ndarray:
    """Centered differences of a vector-valued f of an array, column per element of x."""
    out = []
    for k in range(x.size):
        d = np.zeros_like(x)
        d.reshape(-1)[k] = eps
        out.append((f(x + d) - f(x - d)) / (2 * eps))
    return np.stack(out, axis=-1)


def test_second_derivative_of_cube_is_6x():
    x = f64(-1.5, 0.5, 2.0)
    (g,) = tc.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data ** 2)
    (gg,) = tc.grad(g.sum(), x)
    np.testing.assert_allclose(gg.data, 6 * x.data)


def test_second_derivative_of_tanh_against_numerical_differences_of_the_gradient():
    x = f64(-1.0, 0.3, 2.0)
    (g,) = tc.grad(tc.tanh(x).sum(), x, create_graph=True)
    (gg,) = tc.grad(g.sum(), x)
    num = np.diag(numeric_derivative(lambda a: 1 - np.tanh(a) ** 2, x.data))
    np.testing.assert_allclose(gg.data, num, rtol=1e-6)
    np.testing.assert_allclose(gg.data, -2 * np.tanh(x.data) * (1 - np.tanh(x.data) ** 2), rtol=1e-10)


def test_second_derivatives_pass_gradgradcheck():
    x = f64(0.3, -0.7, 1.2, 0.1)
    m = tc.tensor(np.arange(8.0).reshape(2, 4) / 8)
    tc.gradgradcheck(lambda x: x ** 3, [x])
    tc.gradgradcheck(tc.tanh, [x])
    tc.gradgradcheck(lambda x: tc.softmax(x.reshape(2, 2) * m[:, :2], axis=1), [x])
    tc.gradgradcheck(lambda x: tc.log_softmax(x.reshape(2, 2), axis=0), [x])
    tc.gradgradcheck(lambda x: tc.sigmoid(x) * tc.exp(x) / (1 + x * x), [x])
    tc.gradgradcheck(lambda x: (m @ x).var() + tc.logsumexp(x), [x])


def mlp_loss(params, x, y):
    w1, b1, w2, b2 = params
    h = tc.tanh(tc.linear(x, w1, b1))
    return ((tc.linear(h, w2, b2) - y) ** 2).mean()


def test_mlp_hessian_vector_product_matches_numerical_differences_of_the_gradient():
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    values = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    x, y = tc.tensor(rng.standard_normal((5, 3))), tc.tensor(rng.standard_normal((5, 2)))

    def gradient(vals):
        ps = [tc.tensor(v, requires_grad=True) for v in vals]
        return tc.grad(mlp_loss(ps, x, y), ps, create_graph=True), ps

    gs, ps = gradient(values)
    gv = sum((g * tc.tensor(v)).sum() for g, v in zip(gs, vs))
    hv = tc.grad(gv, ps)
    eps = 1e-6
    plus, _ = gradient([p + eps * v for p, v in zip(values, vs)])
    minus, _ = gradient([p - eps * v for p, v in zip(values, vs)])
    for h, gp, gm in zip(hv, plus, minus):
        np.testing.assert_allclose(h.data, (gp.data - gm.data) / (2 * eps), rtol=1e-5, atol=1e-8)


def test_create_graph_gradient_is_a_graph_and_plain_gradient_is_not():
    x = f64(1.0, 2.0)
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    y = f64(1.0, 2.0)
    (y ** 2).sum().backward()
    assert not y.grad.requires_grad


# ---- grad mode --------------------------------------------------------------------------
def test_no_grad_records_nothing_and_enable_grad_nests_inside():
    x = f64(1.0)
    with tc.no_grad():
        assert not tc.is_grad_enabled()
        y = x * 2
        with tc.enable_grad():
            assert tc.is_grad_enabled()
            z = x * 2
        assert not tc.is_grad_enabled()
    assert tc.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_nests_and_restores_on_exception():
    with tc.no_grad():
        with tc.no_grad():
            pass
        assert not tc.is_grad_enabled()
    with pytest.raises(KeyError):
        with tc.no_grad():
            raise KeyError
    assert tc.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    @tc.no_grad()
    def frozen(x):
        return x * 2, inner(x)

    @tc.enable_grad()
    def inner(x):
        return x * 3

    a, b = frozen(f64(1.0))
    assert not a.requires_grad and b.requires_grad
    assert frozen.__name__ == "frozen"
    assert tc.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def worker():
        entered.wait()
        seen["enabled"] = tc.is_grad_enabled()
        seen["records"] = (f64(1.0) * 2).requires_grad
        release.set()

    t = threading.Thread(target=worker)
    t.start()
    with tc.no_grad():
        entered.set()
        release.wait()
    t.join()
    assert seen == {"enabled": True, "records": True}


def test_no_grad_in_a_thread_does_not_leak_to_the_main_thread():
    flag = {}

    def worker():
        with tc.no_grad():
            flag["inside"] = tc.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert flag["inside"] is False and tc.is_grad_enabled()


# ---- custom Functions -------------------------------------------------------------------
class SmoothAbs(tc.Function):
    """sqrt(x^2 + 1); derivative x / sqrt(x^2 + 1), from the saved input and output."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x * x + 1)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g * x / out


class ScaledAdd(tc.Function):
    """a + k b with a non-tensor keyword; records which inputs need a gradient."""

    @staticmethod
    def forward(ctx, a, b, k=1.0):
        ctx.k = k
        ctx.seen_needs = tuple(ctx.needs_input_grad)
        return a + k * b

    @staticmethod
    def backward(ctx, g):
        return g, ctx.k * g


def test_custom_function_gradient_and_second_derivative():
    x = f64(0.5, -2.0)
    tc.gradcheck(SmoothAbs.apply, [x])
    tc.gradgradcheck(SmoothAbs.apply, [x])
    y = SmoothAbs.apply(x)
    assert type(y.grad_fn).name == "smoothabs" and y.grad_fn.inputs == (x,)


def test_custom_function_needs_input_grad_and_broadcasting_undone_by_the_engine():
    a, b = f64(1.0, 2.0, 3.0), f64(5.0, requires_grad=False)
    out = ScaledAdd.apply(a, b, k=2.0)
    assert out.grad_fn.seen_needs == (True, False)
    b.requires_grad_()
    out = ScaledAdd.apply(a, b, k=2.0)
    out.sum().backward()
    np.testing.assert_array_equal(b.grad.data, [6.0])


def test_custom_function_under_no_grad_records_nothing():
    with tc.no_grad():
        assert SmoothAbs.apply(f64(1.0)).grad_fn is None


def test_a_backward_returning_a_wrongly_shaped_gradient_is_caught():
    class Bad(tc.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, g):
            return np.ones((7, 7))

    with pytest.raises(RuntimeError, match=r"Bad.*\(7, 7\).*\(3,\)"):
        Bad.apply(f64(1.0, 2.0, 3.0)).backward()


# ---- order and depth --------------------------------------------------------------------
def test_graph_nodes_puts_users_before_inputs_and_is_deterministic():
    x = f64(1.0)
    a = x * 2
    b = a + x
    c = b * a
    order = graph_nodes([c])
    assert order == [c.grad_fn, b.grad_fn, a.grad_fn]
    assert graph_nodes([c]) == order


class Traced(tc.Function):
    """identity that notes when its backward runs (in `ran`)."""

    ran: list = []

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        Traced.ran.append(ctx)
        return g


def test_backward_runs_the_nodes_in_graph_nodes_order():
    # tc.jit replays a step's backward in graph_nodes' order, so eager must run the same one.
    x = f64(1.0, 2.0)
    a = Traced.apply(x)
    b, c = Traced.apply(a), Traced.apply(x)
    d = Traced.apply(b + c + a)
    unused = Traced.apply(a)  # noqa: F841 - a branch no gradient reaches: never run
    order = [n for n in graph_nodes([d]) if isinstance(n, Traced)]
    Traced.ran.clear()
    d.sum().backward()
    assert Traced.ran == order


def test_backward_is_bitwise_deterministic():
    def run():
        tc.manual_seed(1)
        x = tc.randn(50, dtype=np.float64, requires_grad=True)
        ys = [tc.tanh(x * k) for k in range(1, 20)]
        sum(y.sum() for y in ys).backward()
        return x.grad.data.copy()

    assert np.array_equal(run(), run())


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    x = tc.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y = y + x
    y.backward()
    assert x.grad.item() == 2.0


def test_a_0d_leaf_used_twice_accumulates_across_two_backward_calls():
    x = tc.tensor(np.float64(0.5), requires_grad=True)
    h = x * 1.0
    h += x
    h.backward(retain_graph=True)
    h.backward()
    assert isinstance(x.grad.data, np.ndarray) and x.grad.shape == ()
    assert x.grad.item() == 4.0


def test_a_leaf_gradient_shared_with_a_pending_node_is_not_corrupted():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    (x * 2 + (x * 1 + x)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_the_seed_of_loss_backward_is_never_handed_out_as_a_grad():
    x = tc.Tensor(np.float32(2.0), requires_grad=True)
    h = x + 0.0
    h.retain_grad()
    h.backward()
    x.backward()  # a leaf as its own root
    for t in (x, h):
        assert t.grad.data.flags.writeable
        t.grad.data += 1  # must not change the next backward's seed
    y = tc.Tensor(np.float32(3.0), requires_grad=True)
    (y * 1.0).backward()
    assert y.grad.item() == 1.0
    assert x.grad.item() == 3.0  # 1 from h + 1 from x itself + the 1 added above
    assert h.grad.item() == 2.0


def test_grad_mode_off_in_one_thread_leaves_recording_on_in_the_others():
    x = tc.Tensor(np.ones(3), requires_grad=True)
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with tc.no_grad():
            inside.set()
            release.wait(5)
    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    inside.wait(5)
    try:
        assert (x * 2).requires_grad  # this thread still records
        with tc.no_grad():
            assert not (x * 2).requires_grad
            with tc.enable_grad():
                assert (x * 2).requires_grad
    finally:
        release.set()
        worker.join()
    with pytest.raises(KeyError):
        with tc.no_grad():
            raise KeyError
    assert (x * 2).requires_grad
