"""plot_search: the dev metric against each hyperparameter on the scale it was sampled on."""
import pytest

from tinygrad_course import tuning
from tinygrad_course.tuning import Results, Trial
from tinygrad_course.viz import plot_search

pytest.importorskip("matplotlib")

SPACE = {"lr": tuning.log_uniform(1e-4, 1e-1), "beta": tuning.one_minus_log_uniform(0.9, 0.999),
         "keep_prob": tuning.uniform(0.5, 1.0), "act": tuning.choice(["relu", "tanh"]), "epochs": 5}


def results():
    params = [{"lr": 1e-3, "beta": 0.99, "keep_prob": 0.8, "act": "relu", "epochs": 5},
              {"lr": 3e-2, "beta": 0.9, "keep_prob": 0.6, "act": "tanh", "epochs": 5},
              {"lr": 1e-4, "beta": 0.999, "keep_prob": 1.0, "act": "relu", "epochs": 5}]
    trials = [Trial(i, p, i, {"dev_accuracy": acc}, round=int(i == 2))
              for i, (p, acc) in enumerate(zip(params, [0.9, 0.7, 0.6]))]
    return Results(trials, "dev_accuracy", "max", spaces=[SPACE])


def test_one_panel_per_sampled_hyperparameter_each_on_its_sampling_scale():
    fig = plot_search(results())
    axes = fig.axes
    assert [ax.get_xlabel().split(" (")[0] for ax in axes] == ["lr", "1 - beta", "keep_prob", "act"]
    assert [ax.get_xscale() for ax in axes] == ["log", "log", "linear", "linear"]
    assert axes[0].get_ylabel() == "dev_accuracy"
    lo, hi = axes[0].get_xlim()
    assert lo < 1e-4 and hi > 1e-1  # the whole searched range, as the lecture draws it
    assert [t.get_text() for t in axes[3].get_xticklabels()] == ["relu", "tanh"]


def test_beta_is_drawn_as_one_minus_beta_and_the_best_trial_is_starred():
    axes = plot_search(results()).axes
    round1, round2, best = axes[1].collections
    assert sorted(round1.get_offsets()[:, 0].round(6)) == [0.01, 0.1]
    assert round2.get_offsets()[:, 0].round(6).tolist() == [0.001]
    assert best.get_offsets().tolist() == [[pytest.approx(0.01), 0.9]]
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["round 1", "round 2", "best"]


def test_saves_to_path_and_refuses_an_empty_search(tmp_path):
    plot_search(results(), path=tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no trial has finished"):
        plot_search(Results([], "dev_accuracy", "max"))
