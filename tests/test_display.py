"""What a notebook shows for the course's result objects: a one-line text repr (not a dataclass
dump) and, where a table helps, `_repr_html_` with the numbers in its cells."""
from html.parser import HTMLParser

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data.normalize import Normalizer
from tinygrad_course.nn import functional as F
from tinygrad_course.training import History
from tinygrad_course.tuning import Results, Trial


class _Cells(HTMLParser):
    """The text of every <th>/<td> cell, row by row, and the caption."""

    def __init__(self, html: str):
        super().__init__()
        self.rows, self.caption, self._in = [], "", None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self._in = tag
        elif tag == "caption":
            self._in = tag

    def handle_endtag(self, tag):
        if tag in ("td", "th", "caption"):
            self._in = None

    def handle_data(self, data):
        if self._in == "caption":
            self.caption += data
        elif self._in:
            self.rows[-1][-1] += data


def test_gradient_check_report_repr_is_one_line_and_its_table_has_a_row_per_parameter():
    rng = np.random.default_rng(0)
    X, y = tc.tensor(rng.standard_normal((6, 3)).astype(np.float32)), rng.integers(0, 2, 6)
    report = nn.check_gradients(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)),
                                F.cross_entropy, X, y)
    text = repr(report)
    assert "\n" not in text and text.startswith("GradientCheckReport(") and "passed" in text
    table = _Cells(report._repr_html_())
    assert table.rows[0] == ["parameter", "shape", "difference", "verdict"]
    assert [r[0] for r in table.rows[1:]] == [p.name for p in report.parameters]
    assert "passed" in table.caption


def test_history_repr_names_epochs_and_last_values_and_table_has_one_row_per_epoch():
    h = History(costs=[1.0, 0.8, 0.6, 0.5], epoch_costs=[0.9, 0.55], lrs=[0.1, 0.05],
                dev={"cost": [0.95, 0.6], "accuracy": [0.5, 0.75]})
    assert repr(h) == "History(2 epochs; 4 steps; last epoch's cost 0.55; dev: cost 0.6, accuracy 0.75)"
    table = _Cells(h._repr_html_())
    assert table.rows == [["epoch", "lr", "cost", "dev cost", "dev accuracy"],
                          ["1", "0.1", "0.9", "0.95", "0.5"], ["2", "0.05", "0.55", "0.6", "0.75"]]


def test_history_table_of_a_long_run_shows_its_first_and_last_epochs():
    n = 40
    h = History(epoch_costs=list(np.linspace(1, 0.1, n)), lrs=[0.1] * n)
    epochs = [r[0] for r in _Cells(h._repr_html_()).rows[1:]]
    assert epochs == ["1", "2", "3", "4", "5", "...", "36", "37", "38", "39", "40"]


def test_results_table_is_best_first_and_capped_at_twenty_rows():
    trials = [Trial(i, {"lr": 10.0 ** -i}, i, {"acc": i / 30}) for i in range(30)]
    results = Results(trials, "acc", "max")
    assert repr(results) == "Results(30 trials, best acc=0.9667 (trial 29))"
    html = results._repr_html_()
    rows = _Cells(html).rows
    assert rows[0] == ["rank", "trial", "lr", "acc"]
    assert len(rows) == 21 and rows[1][:2] == ["1", "29"]
    assert "10 more" in html


def test_normalizer_repr_shows_mu_and_sigma_and_says_when_it_is_not_fitted():
    unfitted = Normalizer()
    assert "not fitted" in repr(unfitted) and unfitted._repr_html_() is None
    X = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    n = Normalizer().fit(X)
    assert repr(n) == "Normalizer(axis=0, 2 features: mu [2, 10], sigma [1.63, 1])"
    assert _Cells(n._repr_html_()).rows == [["feature", "mu", "sigma"], ["0", "2", "1.633"],
                                            ["1", "10", "1"]]


def test_normalizer_names_image_features_by_their_index_without_the_examples_axis():
    n = Normalizer().fit(np.random.default_rng(0).random((4, 3, 3, 3)))
    rows = _Cells(n._repr_html_()).rows
    assert rows[1][0] == "(0, 0, 0)" and rows[-1][0] == "(2, 0, 1)" and len(rows) == 21


def test_table_cells_are_escaped():
    from tinygrad_course._display import html_table
    assert "&lt;b&gt;" in html_table(["<b>"], [["x"]])
