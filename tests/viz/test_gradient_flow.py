"""Gradient norms as numbers and as colours: vanishing in a deep sigmoid net, exploding with large init."""
import math
import re
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course.viz import GRAD_RANGE, draw_graph, grad_colour, grad_position, gradient_norms
from tinygrad_course.viz.gradients import ZERO_COLOUR, colour_bar, font_colour


def deep_net(act, scale, layers=10, width=16, loss="square", retain=False):
    """`layers` linear layers of `width` (weights randn * scale, zero biases) with `act` between."""
    params, hidden = {}, []
    h = tc.randn(32, width)
    for i in range(layers):
        W = (tc.randn(width, width) * scale).requires_grad_()
        b = tc.zeros(width, requires_grad=True)
        params[f"layers.{i}.weight"], params[f"layers.{i}.bias"] = W, b
        h = tc.linear(h, W, b)
        if act:
            h = getattr(h, act)()
        if retain:
            hidden.append(h.retain_grad())
    out = (h * h).mean() if loss == "square" else h.sum()
    out.backward()
    return params, hidden, out


def test_gradient_norms_are_the_l2_norms_in_parameter_order():
    params, _, _ = deep_net("relu", 0.3, layers=3, width=4)
    norms = gradient_norms(params)
    assert isinstance(norms, OrderedDict) and list(norms) == list(params)
    for name, t in params.items():
        assert norms[name] == pytest.approx(np.linalg.norm(t.grad.data.astype(np.float64).ravel()),
                                            rel=1e-12)


def test_per_layer_norm_is_the_root_of_summed_squares_of_its_parameters():
    params, _, _ = deep_net("tanh", 0.5, layers=3, width=4)
    by_param = gradient_norms(params)
    by_layer = gradient_norms(params, per="layer")
    assert list(by_layer) == ["layers.0", "layers.1", "layers.2"]
    for i in range(3):
        w, b = by_param[f"layers.{i}.weight"], by_param[f"layers.{i}.bias"]
        assert by_layer[f"layers.{i}"] == pytest.approx(math.sqrt(w * w + b * b), rel=1e-12)


def test_parameters_without_gradient_are_left_out_and_a_name_without_module_is_its_own_layer():
    W = tc.randn(3, requires_grad=True)
    frozen = tc.randn(3, requires_grad=True)
    (W * 2.0).sum().backward()
    params = {"W": W, "frozen": frozen}
    assert list(gradient_norms(params)) == ["W"]
    assert gradient_norms(params, per="layer") == OrderedDict(W=pytest.approx(2 * math.sqrt(3)))


def test_gradient_norms_before_backward_and_bad_per_raise():
    with pytest.raises(RuntimeError, match=r"call loss.backward\(\) first"):
        gradient_norms({"W": tc.randn(2, requires_grad=True)})
    with pytest.raises(ValueError, match="per must be"):
        gradient_norms({}, per="module")


def test_deep_sigmoid_with_small_init_vanishes_layer_by_layer():
    tc.manual_seed(0)
    params, _, _ = deep_net("sigmoid", 0.01)
    norms = list(gradient_norms(params, per="layer").values())
    assert norms[0] < 1e-12 * norms[-1]
    assert all(a < b for a, b in zip(norms, norms[1:]))


def test_large_init_linear_net_explodes_towards_the_input_and_he_init_does_not():
    tc.manual_seed(0)
    _, hidden, _ = deep_net(None, 3.0, loss="sum", retain=True)
    g = [np.linalg.norm(h.grad.data) for h in hidden]
    assert g[0] > 1e8 * g[-1]
    assert all(a > b for a, b in zip(g, g[1:]))
    tc.manual_seed(0)
    _, hidden, _ = deep_net("relu", math.sqrt(2 / 16), loss="sum", retain=True)
    g = [np.linalg.norm(h.grad.data) for h in hidden]
    assert max(g) / min(g) < 1e3


def test_grad_flow_fills_parameters_by_their_norm_on_the_fixed_scale(parse_dot):
    tc.manual_seed(0)
    params, _, loss = deep_net("sigmoid", 0.01)
    dot = parse_dot(draw_graph(loss, params=params, grad_flow=True).source)
    norms = gradient_norms(params)
    for name in ("layers.0.weight", "layers.9.weight", "layers.9.bias"):
        (node,) = dot.by_label(name)
        assert dot.nodes[node]["fillcolor"] == grad_colour(norms[name])
        assert f"|grad| = {norms[name]:.2e}" in dot.nodes[node]["label"].split("\n")
        assert dot.kind(node) == "parameter"
    (first,) = dot.by_label("layers.0.weight")
    (last,) = dot.by_label("layers.9.weight")
    assert dot.nodes[first]["fillcolor"] == grad_colour(10.0 ** GRAD_RANGE[0])
    assert dot.nodes[first]["fontcolor"] == "white"
    assert grad_position(norms["layers.9.weight"]) > 0.5 > grad_position(norms["layers.4.weight"])


def test_grad_flow_colours_retained_intermediates_only(parse_dot):
    x = tc.randn(4, 3)
    W = tc.randn(3, 2, requires_grad=True)
    z = (x @ W).retain_grad()
    a = z.sigmoid()
    loss = a.sum()
    loss.backward()
    dot = parse_dot(draw_graph(loss, params={"W": W}, grad_flow=True, legend=False).source)
    (mm,) = dot.by_label("matmul")
    (z_node,) = dot.outputs_of(mm)
    assert dot.nodes[z_node]["fillcolor"] == grad_colour(np.linalg.norm(z.grad.data.astype(np.float64)))
    (sig,) = dot.by_label("sigmoid")
    (a_node,) = dot.outputs_of(sig)
    assert dot.nodes[a_node]["fillcolor"] == "#ffffff" and "|grad|" not in dot.nodes[a_node]["label"]


def test_grad_flow_legend_has_the_colour_bar_from_1e_minus_8_to_1e2(parse_dot):
    W = tc.randn(2, requires_grad=True)
    loss = W.sum()
    loss.backward()
    src = draw_graph(loss, params={"W": W}, grad_flow=True).source
    (bar,) = re.findall(r"^\tlabel=(<.*>) labeljust=l labelloc=b$", src, flags=re.M)
    cells = [f"1e{e}" for e in range(-8, 3)]
    assert all(f">{c}<" in bar for c in cells)
    assert f'BGCOLOR="{grad_colour(1e-8)}"' in bar and f'BGCOLOR="{ZERO_COLOUR}"' in bar
    assert "|grad|" not in draw_graph(loss, params={"W": W}).source


def test_show_grads_prints_norm_and_small_gradients(parse_dot):
    W = tc.tensor([1.0, -2.0], requires_grad=True)
    loss = (W * 3.0).sum()
    loss.backward()
    dot = parse_dot(draw_graph(loss, params={"W": W}, show_grads=True, legend=False).source)
    (w,) = dot.by_label("W")
    assert dot.nodes[w]["label"].split("\n") == ["W", "(2,) float32", f"|grad| = {math.sqrt(18):.2e}",
                                                 "grad:", "[3., 3.]"]
    assert dot.nodes[w]["fillcolor"] == "#b6d7a8"


def test_grad_colour_ends_zero_and_non_finite():
    lo, hi = GRAD_RANGE
    assert grad_colour(10.0 ** lo) == grad_colour(1e-30) == "#30123b"
    assert grad_colour(10.0 ** hi) == grad_colour(1e30) == grad_colour(math.inf) == "#7a0503"
    assert grad_colour(math.nan) == "#7a0503"
    assert grad_colour(0.0) == ZERO_COLOUR
    assert grad_colour(1e-3, grad_range=(-3, 0)) == "#30123b"


def test_grad_position_is_the_log_scale_and_bad_input_raises():
    assert grad_position(10.0 ** -3) == pytest.approx(0.5)
    assert grad_position(1e-2, grad_range=(-4, 0)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="must be > 0"):
        grad_position(0.0)
    with pytest.raises(ValueError, match="low < high"):
        grad_position(1.0, grad_range=(2, 2))


@given(st.floats(1e-12, 1e6), st.floats(1e-12, 1e6))
def test_grad_position_is_monotone(a, b):
    a, b = min(a, b), max(a, b)
    assert grad_position(a) <= grad_position(b)


def test_colour_bar_and_font_colour():
    assert colour_bar((-1, 1)).count("<TD BGCOLOR") == 4
    assert font_colour("#000000") == "white" and font_colour("#ffffff") == "black"
    assert font_colour(grad_colour(1e2)) == "white" and font_colour(grad_colour(1e-2)) == "black"


def test_nn_sigmoid_net_per_layer_norms_and_collapsed_layers_coloured_by_them(parse_dot):
    from tinygrad_course import nn
    layers = []
    for _ in range(10):
        layers += [nn.Linear(16, 16, init="random", scale=0.01), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    loss = nn.F.mse_loss(model(tc.randn(32, 16)), tc.ones(32, 16))
    loss.backward()
    per_layer = gradient_norms(model, per="layer")
    assert list(per_layer) == [str(i) for i in range(0, 20, 2)]
    assert per_layer["0"] < 1e-12 * per_layer["18"]
    dot = parse_dot(draw_graph(loss, model=model, grad_flow=True, depth=0).source)
    for path in ("0", "18"):
        (node,) = dot.by_label(path)
        assert dot.kind(node) == "module"
        assert dot.nodes[node]["fillcolor"] == grad_colour(per_layer[path])
        assert dot.nodes[node]["label"].endswith(f"|grad| = {per_layer[path]:.2e}")
    (sig,) = dot.by_label("1")
    assert dot.nodes[sig]["label"] == "1\nSigmoid\n1 op"
