# %% [markdown]
"""Normalizing inputs: the same network on badly scaled features, with and without `Normalizer`.

The moons data with its second feature multiplied by 100 and shifted by 500 (think of a size in
centimetres next to a ratio). Unnormalized, the cost is a long narrow valley: steep along the
large feature, flat along the small one. Gradient descent must take tiny steps not to be thrown
off the steep walls, and then crawls along the flat floor. Normalized with the training set's
mean and standard deviation (x = (x - mu) / sigma, the same mu and sigma for the dev set), the
valley is round and a large learning rate works. Each version gets the best learning rate from
the same grid, so neither is handicapped by a bad choice.
"""
# %%
from __future__ import annotations

import math

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, pyplot, save
from tinygrad_course import nn

LEARNING_RATES = tuple(10.0 ** -k for k in range(7))  # 1, 0.1, ..., 1e-6


# %%
def badly_scaled(X: np.ndarray) -> np.ndarray:
    """x2 -> 100 * x2 + 500: one feature in the hundreds, the other around 1."""
    X = X.copy()
    X[:, 1] = 100.0 * X[:, 1] + 500.0
    return X


# %%
def train(X: np.ndarray, y: np.ndarray, lr: float, iterations: int, seed: int):
    """A 2 -> 16 -> 1 ReLU network (He init) after `iterations` steps of batch gradient descent;
    returns (model, per-iteration costs), or (model, None) if the cost blew up."""
    tc.manual_seed(seed)  # the same initial weights for every run
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            history = tc.fit(model, nn.F.binary_cross_entropy_with_logits,
                             tc.optim.SGD(model.parameters(), lr=lr), (X, y), epochs=iterations,
                             batch_size=len(X), shuffle=False, progress=False)
    except FloatingPointError:  # fit stops when the cost is no longer finite: diverged
        return model, None
    return model, history.costs


# %%
def run(out=None, seed: int = 0, quick: bool = False, iterations: int | None = None) -> dict:
    out = output_dir("04_input_normalization", out)
    iterations = iterations or (300 if quick else 2000)
    X, y = tc.data.make_moons(500, noise=0.2, seed=seed)
    (X_train, y_train), (X_dev, y_dev), _ = tc.data.train_dev_test_split(
        badly_scaled(X), y, dev=100, test=0, seed=seed, stratify=True)
    normalizer = tc.data.Normalizer().fit(X_train)  # mu and sigma from the training set only
    inputs = {"raw features": (X_train, X_dev),
              "normalized": (normalizer.transform(X_train), normalizer.transform(X_dev))}
    targets = y_train.reshape(-1, 1).astype(np.float32)

    findings: dict = {"iterations": iterations, "inputs": {},
                      "feature_std": {"raw features": X_train.std(axis=0).tolist(),
                                      "normalized": inputs["normalized"][0].std(axis=0).tolist()}}
    best_costs = {}
    for name, (Xtr, Xdv) in inputs.items():
        final, best = {}, None
        for lr in LEARNING_RATES:
            model, costs = train(Xtr, targets, lr, iterations, seed)
            final[lr] = costs[-1] if costs is not None else math.inf
            if best is None or final[lr] < final[best[0]]:
                best = (lr, model, costs)
        lr, model, costs = best
        with tc.no_grad():
            dev_acc = nn.F.accuracy(model(tc.Tensor(Xdv)), y_dev, threshold=0.0)
        findings["inputs"][name] = {"final_cost_by_lr": final, "best_lr": lr,
                                    "best_final_cost": final[lr], "dev_accuracy": dev_acc}
        best_costs[f"{name} (best lr = {lr:g})"] = costs

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    tc.viz.plot_costs(best_costs, ax=ax, logy=True, ylabel="cost (log scale)",
                      title="Cost during training, each with its best learning rate")
    save(fig, out / "norm_costs.png")

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name, r in findings["inputs"].items():
        lrs = list(r["final_cost_by_lr"])
        costs = [c if math.isfinite(c) else np.nan for c in r["final_cost_by_lr"].values()]
        ax.plot(lrs, costs, marker="o", label=name)
    ax.axhline(math.log(2), color="k", ls=":", lw=1, label="ln 2: no better than a coin")
    ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="cost after training",
           title=f"Final cost after {iterations} iterations, by learning rate")
    ax.legend(fontsize=9)
    save(fig, out / "norm_lr_sweep.png")
    findings["plots"] = ["norm_costs.png", "norm_lr_sweep.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    for name, std in f["feature_std"].items():
        print(f"{name}: feature standard deviations {std[0]:.3g} and {std[1]:.3g}")
    for name, r in f["inputs"].items():
        print(f"{name:>14}: best learning rate {r['best_lr']:g}, cost after {f['iterations']} "
              f"iterations {r['best_final_cost']:.4f}, dev accuracy {r['dev_accuracy']:.2f}")
    print("normalized inputs take a learning rate far larger and reach a far lower cost in the "
          "same number of steps")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
