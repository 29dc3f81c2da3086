"""Output: DOT text without `dot`, SVG/PNG/PDF with the real `dot`, and a helpful error without it."""
import xml.etree.ElementTree as ET

import pytest

import tinygrad_course as tc
from tinygrad_course.viz import GraphvizNotFoundError, draw_graph, render


@pytest.fixture
def mlp_graph():
    p = {"layers.0.weight": tc.randn(5, 3, requires_grad=True),
         "layers.0.bias": tc.zeros(5, requires_grad=True),
         "layers.2.weight": tc.randn(1, 5, requires_grad=True),
         "layers.2.bias": tc.zeros(1, requires_grad=True)}
    h = tc.linear(tc.randn(4, 3), p["layers.0.weight"], p["layers.0.bias"]).relu()
    loss = tc.linear(h, p["layers.2.weight"], p["layers.2.bias"]).sigmoid().mean()
    loss.backward()
    return draw_graph(loss, params=p, grad_flow=True)


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which no `dot` can be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_render_svg_with_dot_is_valid_svg_naming_the_parameters(mlp_graph, tmp_path):
    out = render(mlp_graph, tmp_path / "mlp.svg")
    assert out == tmp_path / "mlp.svg"
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for name in ("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"):
        assert name in texts
    assert "linear" in texts and "|grad| (log10 scale)" in texts
    assert not (tmp_path / "mlp.dot").exists()


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_png_and_pdf_by_format_argument(mlp_graph, tmp_path, fmt, magic):
    out = render(mlp_graph, tmp_path / "graph.img", format=fmt)
    assert out.read_bytes().startswith(magic)


def test_source_and_save_need_no_dot(mlp_graph, tmp_path, no_dot):
    path = mlp_graph.save(tmp_path / "graph.dot")
    text = (tmp_path / "graph.dot").read_text()
    assert path.endswith("graph.dot") and text == mlp_graph.source
    assert text.startswith("digraph computation_graph {")


def test_missing_dot_writes_the_source_and_says_how_to_install(mlp_graph, tmp_path, no_dot):
    target = tmp_path / "out" / "graph.svg"
    with pytest.raises(GraphvizNotFoundError) as info:
        render(mlp_graph, target)
    msg = str(info.value)
    dot_path = tmp_path / "out" / "graph.dot"
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert str(dot_path) in msg and "DOT source was written" in msg
    assert dot_path.read_text() == mlp_graph.source
    assert not target.exists()
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("path, fmt, match", [
    ("graph.gif", None, "format must be one of"),
    ("graph.svg", "jpeg", "format must be one of"),
    ("graph.dot", "svg", "DOT source"),
])
def test_bad_format_or_dot_suffix_raise(mlp_graph, tmp_path, path, fmt, match):
    with pytest.raises(ValueError, match=match):
        render(mlp_graph, tmp_path / path, format=fmt)


def test_notebook_display_is_graphviz_own_svg(mlp_graph):
    bundle = mlp_graph._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag == "{http://www.w3.org/2000/svg}svg"
