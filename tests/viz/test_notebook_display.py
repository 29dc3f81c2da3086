"""What a learner sees in a notebook: a graph without `dot` shows its DOT text and the install
hint (not a traceback)."""
import tinygrad_course as tc


def test_graph_without_dot_shows_its_source_and_how_to_install_dot(monkeypatch):
    x = tc.randn(3, requires_grad=True)
    graph = tc.viz.draw_graph((x * 2).sum())
    monkeypatch.setenv("PATH", "/nonexistent")
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    assert "apt-get install graphviz" in bundle["text/plain"]
    assert graph.source in bundle["text/plain"]
