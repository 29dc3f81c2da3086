# %% [markdown]
"""Hyperparameter search: random trials on a log scale, coarse to fine.

The lecture's advice, with `tinygrad_course.tuning`: try random values, not a grid (every trial
then tries a new value of each hyperparameter, including the one that turns out to matter); sample
the learning rate on a log scale (r uniform in [-4, 0], lr = 10**r: as many trials between 0.0001
and 0.001 as between 0.1 and 1); sample momentum's beta through 1 - beta on a log scale (0.9 to
0.999 averages over 10 to 1000 steps, and the last stretch near 1 matters most); then zoom in on
the region of the best trials and sample again. The tuned model is a small ReLU network trained
with momentum on the moons data; trials are ranked by their dev cost.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim, tuning
from tinygrad_course.data import make_moons, train_dev_test_split
from _common import output_dir, parser, pyplot, save

SPACE = {"lr": tuning.log_uniform(1e-4, 1.0), "beta": tuning.one_minus_log_uniform(0.9, 0.999)}


# %%
class Trainer:
    """train_fn(params, seed) for the search: a fresh network trained with those hyperparameters,
    returning its dev cost and accuracy (and train accuracy)."""

    def __init__(self, epochs: int, data_seed: int):
        X, y = make_moons(400, noise=0.25, seed=data_seed)
        y = y.reshape(-1, 1).astype(np.float32)
        self.train, self.dev, _ = train_dev_test_split(X, y, dev=0.25, test=0, seed=data_seed)
        self.epochs = epochs

    def __call__(self, params: dict, seed: int) -> dict:
        tc.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                              nn.Linear(8, 1))
        opt = optim.Momentum(model.parameters(), lr=params["lr"], beta=params["beta"])
        loss = nn.F.binary_cross_entropy_with_logits
        tc.fit(model, loss, opt, self.train, self.epochs, batch_size=64, seed=seed, progress=False)
        with tc.no_grad():
            dev_out = model(tc.Tensor(self.dev[0]))
            train_out = model(tc.Tensor(self.train[0]))
            dev_cost = loss(dev_out, tc.Tensor(self.dev[1])).item()
        return {"dev_cost": dev_cost if np.isfinite(dev_cost) else 1e3,
                "dev_accuracy": nn.F.accuracy(dev_out, self.dev[1], threshold=0.0),
                "train_accuracy": nn.F.accuracy(train_out, self.train[1], threshold=0.0)}


# %%
def log_width(values) -> float:
    """How many decades the values span."""
    logs = np.log10(np.asarray(values, dtype=np.float64))
    return float(logs.max() - logs.min())


# %%
def run(out=None, seed: int = 0, quick: bool = False, trials: int | None = None,
        rounds: int | None = None, epochs: int | None = None) -> dict:
    out = output_dir("11_hyperparameter_search", out)
    trials = trials or (10 if quick else 20)
    rounds = rounds or (2 if quick else 3)
    epochs = epochs or (50 if quick else 150)
    results = tuning.coarse_to_fine(Trainer(epochs, data_seed=seed), SPACE, n_trials=trials,
                                    rounds=rounds, top=3, seed=seed, metric="dev_cost", mode="min")
    by_round = [[t for t in results if t.round == r] for r in range(rounds)]
    lr_ranges = [(s["lr"].low, s["lr"].high) for s in results.spaces]
    beta_ranges = [(s["beta"].low, s["beta"].high) for s in results.spaces]

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, (name, value) in zip(axes, (("the learning rate", lambda p: p["lr"]),
                                        ("1 - beta", lambda p: 1 - p["beta"]))):
        for r, trials_r in enumerate(by_round):
            ax.scatter([value(t.params) for t in trials_r], [t.metrics["dev_cost"] for t in trials_r],
                       s=30, alpha=0.8, label=f"round {r + 1}")
        best = results.best
        ax.scatter([value(best.params)], [best.metrics["dev_cost"]], marker="*", s=250, c="gold",
                   edgecolors="k", label="best", zorder=3)
        ax.set(xscale="log", xlabel=f"{name.removeprefix('the ')} (log scale)",
               title=f"dev cost against {name}")
    axes[0].set_ylabel("dev cost")
    axes[0].legend()
    fig.suptitle(f"Random search, coarse to fine: {rounds} rounds of {trials} trials, "
                 f"{epochs} epochs each")
    fig.tight_layout()
    save(fig, out / "hyperparameter_search.png")
    return {"table": results.table(top=10), "best": {**results.best.params, **results.best.metrics},
            "lr_ranges": lr_ranges, "beta_ranges": beta_ranges,
            "first_round_lr_decades": log_width([t.params["lr"] for t in by_round[0]]),
            "median_dev_cost_by_round": [float(np.median([t.metrics["dev_cost"] for t in r]))
                                         for r in by_round],
            "n_trials": len(results), "records": results.to_records(),
            "plots": ["hyperparameter_search.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=None, help="trials per round (default 20)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per trial (default 150)")
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.trials, args.rounds, args.epochs)
    print(f"{f['n_trials']} trials, the 10 best by dev cost:")
    print(f["table"])
    for r, ((lr_lo, lr_hi), (b_lo, b_hi), median) in enumerate(
            zip(f["lr_ranges"], f["beta_ranges"], f["median_dev_cost_by_round"])):
        print(f"round {r + 1}: lr in [{lr_lo:.2g}, {lr_hi:.2g}], beta in [{b_lo:.4g}, {b_hi:.4g}]; "
              f"median dev cost {median:.3f}")
    best = f["best"]
    print(f"best: lr = {best['lr']:.3g}, beta = {best['beta']:.4g} (averaging ~{1 / (1 - best['beta']):.0f} "
          f"steps): dev cost {best['dev_cost']:.3f}, dev accuracy {best['dev_accuracy']:.3f}")
    print(f"the first round's learning rates span {f['first_round_lr_decades']:.1f} decades "
          "(log scale); each later round samples near the best trials")
    print(f"plot in {f['out']}")


# %%
if __name__ == "__main__":
    main()
