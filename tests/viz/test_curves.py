"""The matplotlib plots: cost curves, decision boundaries, per-layer gradient norms."""
import numpy as np
import pytest
from matplotlib.figure import Figure

import tinygrad_course as tc
from tinygrad_course.viz import plot_costs, plot_decision_boundary, plot_gradient_norms


def test_plot_costs_draws_one_line_at_the_recorded_iterations(tmp_path):
    costs = [0.69, 0.5, 0.3, 0.2]
    fig = plot_costs(costs, every=100, path=tmp_path / "cost.png")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 100, 200, 300])
    np.testing.assert_allclose(line.get_ydata(), costs)
    assert ax.get_xlabel() == "iterations (per 100)" and ax.get_ylabel() == "cost"
    assert (tmp_path / "cost.png").read_bytes().startswith(b"\x89PNG")


def test_plot_costs_mapping_draws_a_labelled_line_per_series_and_takes_tensors():
    fig = plot_costs({"train": [tc.tensor(1.0), tc.tensor(0.5)], "dev": [1.2, 0.9, 0.8]},
                     logy=True, title="costs")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["train", "dev"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "dev"]
    assert ax.get_yscale() == "log" and ax.get_title() == "costs"
    assert ax.get_xlabel() == "iterations"


def test_plot_costs_draws_on_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_costs([1.0, 0.5], ax=ax) is fig
    assert len(ax.get_lines()) == 1


@pytest.mark.parametrize("history, kw, error, match", [
    ([], {}, ValueError, "empty"),
    ({}, {}, ValueError, "empty"),
    (["a", "b"], {}, TypeError, "sequence of numbers"),
    ([1.0], {"every": 0}, ValueError, "every must be"),
])
def test_plot_costs_bad_input_raises(history, kw, error, match):
    with pytest.raises(error, match=match):
        plot_costs(history, **kw)


def test_decision_boundary_colours_the_plane_by_the_prediction(tmp_path):
    X = np.array([[-1.0, 0.0], [1.0, 1.0], [2.0, -1.0]], dtype=np.float32)
    y = np.array([0, 1, 1])
    calls = []

    def predict(points):
        calls.append(points)
        return tc.tensor((points[:, :1] > 0.5).astype(np.float32))

    fig = plot_decision_boundary(predict, X, y, resolution=50, margin=0.5, path=tmp_path / "b.png")
    (grid,) = calls
    assert grid.shape == (2500, 2) and grid.dtype == np.float32
    np.testing.assert_allclose(grid.min(axis=0), [-1.5, -1.5])
    np.testing.assert_allclose(grid.max(axis=0), [2.5, 1.5])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), X)
    assert ax.get_xlim() == pytest.approx((-1.5, 2.5))
    assert (tmp_path / "b.png").exists()


def test_decision_boundary_thresholds_probabilities_and_argmaxes_scores():
    from tinygrad_course.viz.curves import _class_labels
    np.testing.assert_array_equal(_class_labels(np.array([[0.2], [0.7]]), 2), [0, 1])
    np.testing.assert_array_equal(_class_labels(np.array([[0.1, 0.5, 0.4], [3, 1, 2]]), 2), [1, 0])
    np.testing.assert_array_equal(_class_labels(np.array([2, 0]), 2), [2, 0])


def test_decision_boundary_bad_shapes_raise():
    X = np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"shape \(m, 2\).*X\.T"):
        plot_decision_boundary(lambda p: p[:, 0], X, np.zeros(5))
    with pytest.raises(ValueError, match="3 points but 2 labels"):
        plot_decision_boundary(lambda p: p[:, 0], np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="predict returned 1 values"):
        plot_decision_boundary(lambda p: np.zeros(1), np.zeros((3, 2)), np.zeros(3))


def test_plot_confusion_matrix_writes_each_count_with_truth_in_rows(tmp_path):
    from tinygrad_course.viz import plot_confusion_matrix
    counts = np.array([[5, 1], [0, 7]])
    fig = plot_confusion_matrix(counts, ["red", "blue"], path=tmp_path / "cm.png", title="dev")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "7"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["red", "blue"]
    assert ax.get_ylabel() == "true class" and ax.get_xlabel() == "predicted class"
    assert (tmp_path / "cm.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"square \(k, k\) matrix, got shape \(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="1 class names for 2 classes"):
        plot_confusion_matrix(counts, ["red"])


def test_plot_gradient_norms_log_scale_one_line_per_run():
    runs = {"sigmoid": {"layers.0": 1e-9, "layers.1": 1e-4, "layers.2": 1e-1},
            "relu + He": {"layers.0": 0.02, "layers.1": 0.03, "layers.2": 0.05}}
    fig = plot_gradient_norms(runs)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["sigmoid", "relu + He"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layers.0", "layers.1", "layers.2"]
    single = plot_gradient_norms(runs["sigmoid"]).axes[0]
    np.testing.assert_allclose(single.get_lines()[0].get_ydata(), [1e-9, 1e-4, 1e-1])
    assert single.get_legend() is None


def test_plot_gradient_norms_bad_input_raises():
    with pytest.raises(ValueError, match="no norms"):
        plot_gradient_norms({})
    with pytest.raises(ValueError, match="must be > 0"):
        plot_gradient_norms({"a": 0.0})


def test_importing_viz_does_not_import_matplotlib():
    import subprocess
    import sys
    code = ("import sys, tinygrad_course as tc; tc.viz.draw_graph(tc.randn(2, requires_grad=True).exp()); "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_names_the_plot_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"tinygrad-course\[plot\]"):
        plot_costs([1.0])
