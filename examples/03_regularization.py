# %% [markdown]
"""Regularization: none vs L2 vs dropout on the football data, a network big enough to overfit.

The course's 2 -> 20 -> 3 -> 1 ReLU network, trained by batch gradient descent (lr 0.3, 30000
steps; with --quick Adam, which gets there in a tenth of the steps). Where should the goalkeeper
kick? Positions above a wavy frontier belong to one team, but a tenth of the labels are flipped,
so the best possible dev accuracy is about 90%. Unregularized, the network bends its boundary
around those noisy points: high train accuracy, a large train/dev gap. L2 (cost + lambd / (2m)
sum ||W||^2, lambd = 0.7) keeps the weights small and the boundary smooth; dropout (keep_prob =
0.86 on both hidden layers) stops units from relying on each other. Both shrink the gap and do
better on the dev set.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, probabilities, pyplot, save
from tinygrad_course import nn

METHODS = {"no regularization": {}, "L2 (lambd = 0.7)": {"lambd": 0.7},
           "dropout (keep_prob = 0.86)": {"keep_prob": 0.86}}
# name -> (optimizer, learning rate)
OPTIMIZERS = {"gradient descent": (tc.optim.SGD, 0.3), "Adam": (tc.optim.Adam, 0.01)}


# %%
def football_net(keep_prob: float = 1.0) -> nn.Sequential:
    """2 -> 20 -> 3 -> 1, ReLU hidden layers, dropout after each (the identity at keep_prob 1)."""
    return nn.Sequential(nn.Linear(2, 20), nn.ReLU(), nn.Dropout(keep_prob),
                         nn.Linear(20, 3), nn.ReLU(), nn.Dropout(keep_prob),
                         nn.Linear(3, 1))


# %%
def regularized_cost(model: nn.Module, lambd: float, m: int):
    """The course's cost: cross-entropy + lambd / (2m) * sum_l ||W[l]||^2 (no term at lambd = 0)."""
    def cost(logits: tc.Tensor, y: tc.Tensor) -> tc.Tensor:
        J = nn.F.binary_cross_entropy_with_logits(logits, y)
        return J + nn.F.l2_penalty(model, lambd, m) if lambd else J
    return cost


# %%
def run(out=None, seed: int = 0, quick: bool = False, iterations: int | None = None,
        optimizer: str | None = None) -> dict:
    out = output_dir("03_regularization", out)
    optimizer = optimizer or ("Adam" if quick else "gradient descent")
    iterations = iterations or (3000 if quick else 30000)
    Optimizer, lr = OPTIMIZERS[optimizer]
    # The course's 211 positions to train on; 1000 on the dev set (the course has 200) so that
    # the dev accuracy, and the gap, are measured to about a point.
    X, y = tc.data.make_football(1211, noise=0.1, seed=seed)
    (X_train, y_train), (X_dev, y_dev), _ = tc.data.train_dev_test_split(X, y, dev=1000, test=0,
                                                                          seed=seed)
    m = len(X_train)
    targets = y_train.reshape(-1, 1).astype(np.float32)

    findings: dict = {"iterations": iterations, "optimizer": optimizer, "lr": lr, "methods": {}}
    models = {}
    for name, setting in METHODS.items():
        tc.manual_seed(seed)
        model = football_net(setting.get("keep_prob", 1.0))
        cost = regularized_cost(model, setting.get("lambd", 0.0), m)
        # One batch of all m examples, in order: each epoch is one step on the whole set.
        history = tc.fit(model, cost, Optimizer(model.parameters(), lr=lr), (X_train, targets),
                         epochs=iterations, batch_size=m, shuffle=False, progress=False)
        model.eval()
        with tc.no_grad():
            train_acc = nn.F.accuracy(model(tc.Tensor(X_train)), y_train, threshold=0.0)
            dev_acc = nn.F.accuracy(model(tc.Tensor(X_dev)), y_dev, threshold=0.0)
        findings["methods"][name] = {
            "train_accuracy": train_acc, "dev_accuracy": dev_acc, "gap": train_acc - dev_acc,
            "final_cost": history.costs[-1],
            "sum_squared_weights": float(sum((w.data.astype(np.float64) ** 2).sum()
                                             for w in nn.F.penalized_weights(model)))}
        models[name] = model

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), layout="constrained")
    frontier = np.linspace(-0.75, 0.75, 200)
    for ax, (name, model) in zip(axes, models.items()):
        r = findings["methods"][name]
        tc.viz.plot_decision_boundary(probabilities(model), X_train, y_train, ax=ax, margin=0.1,
                                      title=f"{name}\ntrain {r['train_accuracy']:.1%}, "
                                            f"dev {r['dev_accuracy']:.1%}")
        ax.plot(frontier, tc.data.football_boundary(frontier), "k--", lw=1.5, label="true frontier")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Decision boundaries on the football training set (10% of labels flipped)")
    save(fig, out / "reg_boundaries.png")

    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    names = list(METHODS)
    x = np.arange(len(names))
    train = [findings["methods"][n]["train_accuracy"] for n in names]
    dev = [findings["methods"][n]["dev_accuracy"] for n in names]
    ax.bar(x - 0.2, train, 0.4, label="train")
    ax.bar(x + 0.2, dev, 0.4, label="dev")
    for i, n in enumerate(names):
        ax.annotate(f"gap {findings['methods'][n]['gap']:.1%}", (i, max(train[i], dev[i]) + 0.01),
                    ha="center", fontsize=9)
    ax.axhline(0.9, color="k", ls=":", lw=1, label="best possible (10% labels flipped)")
    ax.set_xticks(x, names, fontsize=9)
    ax.set(ylim=(0.7, 1.06), ylabel="accuracy", title="Train vs dev accuracy: the gap shrinks")
    ax.legend(loc="upper center", ncol=3, fontsize=8)
    save(fig, out / "reg_accuracies.png")
    findings["plots"] = ["reg_boundaries.png", "reg_accuracies.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    print(f"{f['iterations']} iterations of {f['optimizer']} on the whole training set, "
          f"lr = {f['lr']:g}")
    for name, r in f["methods"].items():
        print(f"{name:>27}: train {r['train_accuracy']:.1%}, dev {r['dev_accuracy']:.1%}, "
              f"gap {r['gap']:+.1%}, sum of squared weights {r['sum_squared_weights']:.1f}")
    print("regularization trades a little train accuracy for a smaller train/dev gap and a "
          "smoother boundary")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
