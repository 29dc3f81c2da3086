"""draw_graph: nodes, edges, labels, kinds and colours of known graphs, read back from the DOT."""
import re

import graphviz
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.viz import draw_graph
from tinygrad_course.viz.style import STYLES


def mlp_params():
    return {"layers.0.weight": tc.randn(5, 3, requires_grad=True),
            "layers.0.bias": tc.zeros(5, requires_grad=True),
            "layers.2.weight": tc.randn(1, 5, requires_grad=True),
            "layers.2.bias": tc.zeros(1, requires_grad=True)}


def mlp_forward(X, p):
    h = tc.linear(X, p["layers.0.weight"], p["layers.0.bias"]).relu()
    return tc.linear(h, p["layers.2.weight"], p["layers.2.bias"])


def test_two_layer_mlp_has_one_node_per_tensor_and_op_and_data_flow_edges(parse_dot):
    p = mlp_params()
    X = tc.randn(4, 3)
    out = mlp_forward(X, p)
    dot = parse_dot(draw_graph(out, params=p).source)
    assert dot.kinds() == {"input": 1, "parameter": 4, "op": 3, "intermediate": 2, "output": 1}
    assert len(dot.graph_edges()) == 3 + 1 + 1 + 1 + 3 + 1
    lin0, lin1 = dot.by_label("linear")
    (relu,) = dot.by_label("relu")
    (w0,) = dot.by_label("layers.0.weight")
    (b2,) = dot.by_label("layers.2.bias")
    (x,) = [k for k in dot.graph_nodes() if dot.kind(k) == "input"]
    assert dot.inputs_of(lin0) == [x, w0, dot.by_label("layers.0.bias")[0]]
    assert dot.inputs_of(lin1)[1:] == [dot.by_label("layers.2.weight")[0], b2]
    (h_pre,) = dot.outputs_of(lin0)
    assert dot.outputs_of(h_pre) == [relu]
    assert dot.nodes[h_pre]["label"] == "(4, 5) float32"
    assert dot.nodes[w0]["label"] == "layers.0.weight\n(5, 3) float32"
    (y,) = dot.outputs_of(lin1)
    assert dot.kind(y) == "output" and dot.nodes[y]["label"] == "(4, 1) float32"


def legend_of(source: str) -> str:
    """The graph's own label (the legend), or "" when there is none."""
    m = re.search(r"^\tlabel=(<.*>) labeljust=l labelloc=b$", source, flags=re.M)
    return m.group(1) if m else ""


def test_each_kind_has_its_own_colour_and_the_legend_is_one_line_under_the_figure(parse_dot):
    p = mlp_params()
    out = mlp_forward(tc.randn(4, 3), p) * np.full((4, 1), 0.5, np.float32)
    source = draw_graph(out, params=p).source
    fills = {kind: style["fillcolor"] for kind, (_, style) in STYLES.items()}
    assert len(set(fills.values())) == len(fills)
    legend = legend_of(source)
    assert legend.count("<TR>") == 1 and not any(k.startswith("legend") for k in parse_dot(source).nodes)
    cells = re.findall(r'<TD BGCOLOR="([^"]+)"[^>]*>(?:<B>)?(\w+)', legend)
    assert cells == [(fills[k], name) for k, name in [
        ("input", "input"), ("parameter", "parameter"), ("intermediate", "tensor"),
        ("output", "output"), ("constant", "constant"), ("op", "op")]]
    assert legend_of(draw_graph(out, params=p, legend=False).source) == ""


def test_shared_weight_is_one_node_with_two_out_edges(parse_dot):
    W = tc.randn(3, 3, requires_grad=True)
    x1, x2 = tc.randn(2, 3), tc.randn(2, 3)
    out = (x1 @ W).sum() + (x2 @ W).sum()
    dot = parse_dot(draw_graph(out, params={"shared.weight": W}).source)
    (w,) = dot.by_label("shared.weight")
    targets = dot.outputs_of(w)
    assert len(targets) == 2 and all(dot.nodes[t]["label"] == "matmul" for t in targets)
    assert dot.kinds() == {"input": 2, "parameter": 1, "op": 5, "intermediate": 4, "output": 1}


def test_tensor_used_twice_by_one_op_gives_two_edges_between_the_same_nodes(parse_dot):
    x = tc.randn(3, requires_grad=True)
    dot = parse_dot(draw_graph(x * x, legend=False).source)
    (mul,) = dot.by_label("mul")
    assert dot.inputs_of(mul) == ["n0", "n0"]


def test_scalar_constants_and_settings_go_into_the_op_label_and_arrays_are_nodes(parse_dot):
    x = tc.randn(2, 3, requires_grad=True)
    out = (x * 2.5).clip(1e-7, 1 - 1e-7).sum(axis=1, keepdims=True) + np.array([[1.0], [2.0]])
    dot = parse_dot(draw_graph(out, legend=False).source)
    assert dot.kinds()["constant"] == 1
    (mul,) = [k for k, v in dot.graph_nodes().items() if v["label"].startswith("mul")]
    assert dot.nodes[mul]["label"] == "mul\ny=2.5" and len(dot.inputs_of(mul)) == 1
    (clip,) = [k for k, v in dot.graph_nodes().items() if v["label"].startswith("clip")]
    assert dot.nodes[clip]["label"] == "clip\nlo=1e-7\nhi=0.9999999"
    (add,) = dot.by_label("add")
    assert [dot.nodes[s]["label"] for s in dot.inputs_of(add) if dot.kind(s) == "constant"] \
        == ["(2, 1) float64"]
    (s,) = [k for k, v in dot.graph_nodes().items() if v["label"].startswith("sum")]
    assert dot.nodes[s]["label"] == "sum\naxis=1\nkeepdims=True"


def test_getitem_and_reshape_show_their_index_and_shape(parse_dot):
    x = tc.randn(4, 6, requires_grad=True)
    out = x[1:3, ::2].reshape(3, 2)
    dot = parse_dot(draw_graph(out, legend=False).source)
    labels = {v["label"] for v in dot.graph_nodes().values()}
    assert "getitem\nindex=(1:3, ::2)" in labels
    assert "reshape\nshape=(3, 2)" in labels


def test_names_from_tensor_name_slot_and_parameter_names_win(parse_dot):
    X = tc.randn(2, 3)
    X.name = "X"
    W = tc.randn(3, 1, requires_grad=True)
    W.name = "ignored"
    out = X @ W
    out.name = "z"
    dot = parse_dot(draw_graph(out, params=[("W", W)], legend=False).source)
    assert dot.by_label("X") and dot.by_label("W") and dot.by_label("z")
    assert not dot.by_label("ignored")


def test_show_values_prints_small_tensors_only(parse_dot):
    a = tc.tensor([1.0, 2.0], requires_grad=True)
    big = tc.ones(100, requires_grad=True)
    out = a.sum() + big.sum()
    dot = parse_dot(draw_graph(out, show_values=True, legend=False).source)
    labels = [v["label"] for v in dot.graph_nodes().values()]
    assert "(2,) float32\n[1., 2.]" in labels
    assert "(100,) float32" in labels


def test_several_outputs_are_all_outputs(parse_dot):
    x = tc.randn(3, requires_grad=True)
    y = x.exp()
    z = y.sum()
    dot = parse_dot(draw_graph([y, z], legend=False).source)
    assert dot.kinds() == {"parameter": 1, "op": 2, "output": 2}


def test_leaf_alone_is_one_output_node(parse_dot):
    dot = parse_dot(draw_graph(tc.randn(2), legend=False).source)
    assert dot.kinds() == {"output": 1} and dot.edges == []


def test_tensor_method_is_draw_graph():
    x = tc.randn(3, requires_grad=True)
    y = x.tanh().sum()
    assert y.draw_graph(rankdir="TB").source == draw_graph(y, rankdir="TB").source
    assert "rankdir=TB" in y.draw_graph(rankdir="TB").source


def test_returns_a_digraph_with_notebook_display():
    g = draw_graph(tc.randn(2, requires_grad=True).exp())
    assert isinstance(g, graphviz.Digraph)
    assert callable(g._repr_mimebundle_)


def test_same_graph_built_twice_gives_identical_dot():
    def build():
        tc.manual_seed(1)
        p = mlp_params()
        return draw_graph(mlp_forward(tc.randn(4, 3), p).sigmoid().mean(), params=p).source
    first = build()
    assert first == build()
    assert re.findall(r"\bn\d+\b", first)[:3] == ["n0", "n1", "n2"]


def test_backward_graph_of_create_graph_gradient_draws_the_backward_ops(parse_dot):
    x = tc.randn(4, 3)
    W = tc.randn(3, 2, requires_grad=True)
    loss = (x @ W).sigmoid().sum()
    (gW,) = tc.grad(loss, [W], create_graph=True)
    dot = parse_dot(draw_graph(gW, params={"W": W}, legend=False).source)
    ops = {v["label"].split("\n")[0] for k, v in dot.graph_nodes().items() if dot.kind(k) == "op"}
    assert {"matmul", "sigmoid", "mul"} <= ops
    assert len(ops) > 3
    (out,) = [k for k in dot.graph_nodes() if dot.kind(k) == "output"]
    assert dot.nodes[out]["label"] == "(3, 2) float32"
    assert dot.by_label("W")


def test_max_nodes_keeps_those_nearest_the_output_and_notes_the_rest(parse_dot):
    x = tc.randn(3, requires_grad=True)
    y = x
    for _ in range(50):
        y = y.tanh()
    dot = parse_dot(draw_graph(y, max_nodes=10).source)
    nodes = dot.graph_nodes()
    assert len(nodes) == 10
    assert sorted(int(k[1:]) for k in nodes) == list(range(91, 101))
    note = dot.nodes["note"]["label"]
    assert note.startswith("91 of 101 nodes not shown (45 ops, 46 tensors")
    assert "max_nodes=10" in note and "max_nodes=None" in note
    assert [(s, d, a) for s, d, a in dot.edges if s == "note"] == [("note", "n91", {"style": "dashed"})]
    assert ">note<" in legend_of(draw_graph(y, max_nodes=10).source)


def test_max_nodes_not_reached_draws_everything_without_note(parse_dot):
    x = tc.randn(3, requires_grad=True)
    dot = parse_dot(draw_graph(x.exp(), max_nodes=3).source)
    assert len(dot.graph_nodes()) == 3 and "note" not in dot.nodes


@pytest.mark.parametrize("kw, match", [
    ({"rankdir": "XY"}, "rankdir"),
    ({"max_nodes": 0}, "max_nodes"),
    ({"depth": -1}, "depth"),
    ({"depth": 1}, "needs model"),
])
def test_bad_options_raise(kw, match):
    x = tc.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match=match):
        draw_graph(x.exp(), **kw)


def test_bad_output_and_params_raise():
    with pytest.raises(TypeError, match="expected a Tensor"):
        draw_graph(np.ones(3))
    with pytest.raises(ValueError, match="empty list"):
        draw_graph([])
    x = tc.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="not parameters"):
        draw_graph(x.exp(), params=[x])
    with pytest.raises(TypeError, match="'w' is a ndarray"):
        draw_graph(x.exp(), params={"w": np.ones(2)})


def test_twenty_thousand_op_chain_draws_without_recursion(parse_dot):
    x = tc.randn(2, requires_grad=True)
    y = x
    for i in range(20_000):
        y = y * 1.5 if i % 2 else y.tanh()
    src = draw_graph(y, legend=False).source
    assert src.count(" [label=") == 20_000 + 20_001  # the 1.5s are in the mul labels
    assert " -> n40000" in src


_UNARY = ["exp", "tanh", "sigmoid", "relu"]


@given(st.lists(st.tuples(st.sampled_from(["add", "mul", "scale"] + _UNARY),
                          st.integers(0, 100), st.integers(0, 100)), min_size=1, max_size=12))
def test_random_graphs_count_nodes_and_edges_in_topological_order(program):
    tc.manual_seed(0)
    ts = [tc.randn(2, requires_grad=True), tc.randn(2)]
    n_const = 0
    for op, i, j in program:
        a, b = ts[i % len(ts)], ts[j % len(ts)]
        if op == "add":
            ts.append(a + b)
        elif op == "mul":
            ts.append(a * b)
        elif op == "scale":
            ts.append(a * 0.5)
        else:
            ts.append(getattr(a, op)())
    out = ts[-1]
    src = draw_graph(out, legend=False).source
    seen, stack, n_ops, n_edges, n_const = set(), [out], 0, 0, 0
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is not None:
            n_ops += 1
            n_edges += 1 + sum(isinstance(v, tc.Tensor) or np.ndim(v) > 0 for v in t.grad_fn.inputs)
            n_const += sum(isinstance(v, np.ndarray) and v.ndim > 0 for v in t.grad_fn.inputs)
            stack.extend(v for v in t.grad_fn.inputs if isinstance(v, tc.Tensor))
    ids = re.findall(r"^\t(n\d+) \[", src, flags=re.M)
    assert len(ids) == len(seen) + n_ops + n_const
    assert ids == [f"n{k}" for k in range(len(ids))]
    edges = re.findall(r"^\tn(\d+) -> n(\d+)$", src, flags=re.M)
    assert len(edges) == n_edges
    assert all(int(s) < int(d) for s, d in edges)


# ---- module clusters (nn) ------------------------------------------------------------------

class MLP(nn.Module):
    """layers (a Sequential) and one op of its own, so the root cluster holds something."""

    def __init__(self, *layers):
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x).sigmoid()


def test_nn_two_layer_mlp_is_boxed_per_module_with_dotted_names(parse_dot):
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    X = tc.randn(4, 3)
    dot = parse_dot(draw_graph(model(X), model=model).source)
    assert dot.kinds() == {"input": 1, "parameter": 4, "op": 3, "intermediate": 2, "output": 1}
    assert len(dot.graph_edges()) == 10
    assert {k: (v["label"], v["parent"]) for k, v in dot.clusters.items()} == {
        "cluster_module:": ("Sequential", None),
        "cluster_module:0": ("0: Linear", "cluster_module:"),
        "cluster_module:1": ("1: ReLU", "cluster_module:"),
        "cluster_module:2": ("2: Linear", "cluster_module:")}
    for name, cluster in (("0.weight", "0"), ("0.bias", "0"), ("2.weight", "2"), ("2.bias", "2")):
        (node,) = dot.by_label(name)
        assert dot.nodes[node]["cluster"] == f"cluster_module:{cluster}"
    (relu,) = dot.by_label("relu")
    assert dot.nodes[relu]["cluster"] == "cluster_module:1"
    (x,) = [k for k in dot.graph_nodes() if dot.kind(k) == "input"]
    assert dot.nodes[x]["cluster"] is None


def test_model_given_as_params_names_and_clusters_alike():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    out = model(tc.randn(4, 3))
    assert draw_graph(out, params=model).source == draw_graph(out, model=model).source
    assert draw_graph(out, params=model.named_parameters()).source.count("cluster_module") == 0


def test_nn_batchnorm_model_draws_the_fused_op_with_its_parameters_and_running_averages(parse_dot):
    model = MLP(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    out = model(tc.randn(8, 3))
    dot = parse_dot(draw_graph(out, model=model).source)
    (bn,) = dot.by_label("batch_norm")
    assert dot.nodes[bn]["label"] == "batch_norm\nmomentum=0.9\neps=1e-5\ntraining=True"
    assert dot.nodes[bn]["cluster"] == "cluster_module:layers.1"
    assert dot.clusters["cluster_module:layers.1"]["label"] == "layers.1: BatchNorm1d"
    labels = [dot.nodes[s]["label"] for s in dot.inputs_of(bn)]
    assert labels == ["(8, 4) float32", "layers.1.gamma\n(4,) float32", "layers.1.beta\n(4,) float32",
                      "layers.1.running_mean\n(4,) float32", "layers.1.running_var\n(4,) float32"]
    assert [dot.kind(s) for s in dot.inputs_of(bn)] == ["intermediate", "parameter", "parameter"] + \
        ["constant"] * 2
    assert all(dot.nodes[s]["cluster"] == "cluster_module:layers.1" for s in dot.inputs_of(bn)[1:])
    assert dot.kinds() == {"input": 1, "parameter": 5, "constant": 2, "op": 5, "intermediate": 4,
                           "output": 1}
    (sig,) = dot.by_label("sigmoid")
    assert dot.nodes[sig]["cluster"] == "cluster_module:"
    model.eval()
    dot = parse_dot(draw_graph(model(tc.randn(1, 3)), model=model).source)
    assert dot.by_label("batch_norm") and dot.nodes[dot.by_label("batch_norm")[0]]["label"] \
        == "batch_norm\nmomentum=0.9\neps=1e-5\ntraining=False"


def test_depth_collapses_deeper_modules_into_one_node_keeping_edges_in_and_out(parse_dot):
    model = MLP(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    X = tc.randn(2, 3)
    loss = (model(X) * 2.0).sum()
    dot = parse_dot(draw_graph(loss, model=model, depth=1).source)
    mods = {v["label"].split("\n")[0]: k for k, v in dot.graph_nodes().items()
            if dot.kind(k) == "module"}
    assert sorted(mods) == ["layers.0", "layers.1", "layers.2"]
    assert dot.nodes[mods["layers.0"]]["label"] == "layers.0\nLinear\n1 op"
    assert all(dot.nodes[m]["cluster"] == "cluster_module:layers" for m in mods.values())
    assert not dot.by_label("layers.0.weight") and not dot.by_label("linear")
    (x,) = [k for k in dot.graph_nodes() if dot.kind(k) == "input"]
    assert dot.outputs_of(x) == [mods["layers.0"]]
    (h0,) = dot.outputs_of(mods["layers.0"])
    assert dot.nodes[h0]["label"] == "(2, 4) float32" and dot.outputs_of(h0) == [mods["layers.1"]]
    (h2,) = dot.outputs_of(mods["layers.2"])
    assert dot.outputs_of(h2) == dot.by_label("sigmoid")
    assert "cluster_module:layers.0" not in dot.clusters

    dot0 = parse_dot(draw_graph(loss, model=model, depth=0).source)
    (layers,) = [k for k in dot0.graph_nodes() if dot0.kind(k) == "module"]
    assert dot0.nodes[layers]["label"] == "layers\nSequential\n3 ops"
    assert dot0.inputs_of(layers) == [x]
    assert dot0.kinds() == {"input": 1, "module": 1, "intermediate": 3, "op": 3, "output": 1}
    assert draw_graph(loss, model=model, depth=2).source == draw_graph(loss, model=model).source


def test_depth_keeps_a_twenty_layer_network_small(parse_dot):
    layers = []
    for _ in range(20):
        layers += [nn.Linear(8, 8), nn.Tanh()]
    model = MLP(*layers)
    out = model(tc.randn(2, 8))
    full = parse_dot(draw_graph(out, model=model).source)
    short = parse_dot(draw_graph(out, model=model, depth=0).source)
    assert len(full.graph_nodes()) == 1 + 40 + 40 + 40 + 2
    assert len(short.graph_nodes()) == 1 + 1 + 1 + 2


def test_backward_graph_of_a_model_gradient_draws(parse_dot):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    loss = model(tc.randn(5, 3)).sum()
    grads = tc.grad(loss, list(model.parameters()), create_graph=True)
    dot = parse_dot(draw_graph(grads, model=model, legend=False).source)
    assert sum(dot.kind(k) == "output" for k in dot.graph_nodes()) == 4
    assert dot.by_label("0.weight") and dot.by_label("2.weight")
    ops = {v["label"].split("\n")[0] for k, v in dot.graph_nodes().items() if dot.kind(k) == "op"}
    assert {"tanh", "linear", "matmul"} <= ops


def test_module_called_twice_gets_a_cluster_per_call_so_no_edge_runs_back(parse_dot):
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)  # the same layer again after the ReLU
    dot = parse_dot(draw_graph(model(tc.randn(2, 3)).sum(), model=model).source)
    first, second = (k for k, v in dot.graph_nodes().items() if v["label"] == "linear")
    assert dot.nodes[first]["cluster"] == "cluster_module:0"
    assert dot.nodes[second]["cluster"] == "cluster_module:0~2"
    assert dot.clusters["cluster_module:0~2"] == {"label": "0: Linear, call 2", "parent": "cluster_module:"}
    (relu,) = dot.by_label("relu")
    assert dot.nodes[dot.outputs_of(relu)[0]]["cluster"] == "cluster_module:1"
    # every edge into a call's cluster comes from outside it or from its own nodes: the ReLU's
    # output enters call 2, nothing re-enters call 1
    into_first = [s for s, d, _ in dot.edges if dot.nodes[d]["cluster"] == "cluster_module:0"
                  and dot.nodes[s]["cluster"] not in ("cluster_module:0", None)]
    assert into_first == []
    collapsed = parse_dot(draw_graph(model(tc.randn(2, 3)).sum(), model=model, depth=0).source)
    labels = sorted(v["label"] for k, v in collapsed.graph_nodes().items() if collapsed.kind(k) == "module")
    assert labels == ["0\nLinear\n1 op", "0\ncall 2\nLinear\n1 op", "1\nReLU\n1 op"]
    assert collapsed.kinds().get("parameter", 0) == 0  # the shared weights stay inside the modules


def test_a_module_applied_twice_in_a_row_is_one_call(parse_dot):
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, lin)
    dot = parse_dot(draw_graph(model(tc.randn(2, 3)), model=model).source)
    assert [k for k in dot.clusters if "~" in k] == []


def test_size_dpi_and_fontsize_are_graph_attributes():
    x = tc.randn(2, requires_grad=True)
    source = draw_graph(x.exp(), size=(9, 6), dpi=150, fontsize=12).source
    assert '\tsize="9,6"' in source and "\tdpi=150" in source
    assert "node [fontname=Helvetica fontsize=12]" in source
    assert '\tsize="7,"' in draw_graph(x.exp(), size="7,").source
    assert "\tsize=" not in draw_graph(x.exp()).source and "dpi=" not in draw_graph(x.exp()).source
