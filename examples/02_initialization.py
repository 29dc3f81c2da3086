# %% [markdown]
"""Initialization: zeros vs large random vs He on the circles data, the course's 3-layer network.

LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID (2 -> 10 -> 5 -> 1), trained by plain
batch gradient descent. Zeros never break the symmetry: every hidden unit computes the same
thing, gets the same gradient, so they all stay identical and the network is no better than a
coin (50%). W = randn * 10 starts with huge logits, so the first cost is enormous and training
crawls out of saturation. He (randn * sqrt(2 / n[l-1])) fits the circles well.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, probabilities, pyplot, save
from tinygrad_course import nn

# name -> (Linear's init, scale of init="random"), the course's three choices.
INITS = {"zeros": ("zeros", 0.0), "large random (randn * 10)": ("random", 10.0), "he": ("he", 0.0)}


# %%
def three_layer_net(init: str, scale: float) -> nn.Sequential:
    """The course's model: 2 -> 10 -> 5 -> 1, ReLU hidden layers, one logit out."""
    return nn.Sequential(
        nn.Linear(2, 10, init=init, scale=scale), nn.ReLU(),
        nn.Linear(10, 5, init=init, scale=scale), nn.ReLU(),
        nn.Linear(5, 1, init=init, scale=scale))


# %%
def hidden_units_identical(model: nn.Sequential) -> bool:
    """Whether, in every hidden layer, all units have the same incoming weights and bias."""
    hidden = [m for m in model if isinstance(m, nn.Linear)][:-1]
    return all(np.all(m.weight.data == m.weight.data[0]) and np.all(m.bias.data == m.bias.data[0])
               for m in hidden)


# %%
def train(model: nn.Module, X: tc.Tensor, y: tc.Tensor, iterations: int, lr: float) -> list[float]:
    """Batch gradient descent, the course's loop: forward, cost, backward, update."""
    optimizer = tc.optim.SGD(model.parameters(), lr=lr)
    costs = []
    for _ in range(iterations):
        optimizer.zero_grad()
        cost = nn.F.binary_cross_entropy_with_logits(model(X), y)
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
    return costs


# %%
def run(out=None, seed: int = 0, quick: bool = False, iterations: int | None = None,
        lr: float | None = None) -> dict:
    out = output_dir("02_initialization", out)
    # Quick: fewer steps, so a larger step size to get as far.
    iterations = iterations or (2000 if quick else 15000)
    lr = lr or (0.05 if quick else 0.01)
    # The course's data: sklearn's circles (outer radius 1, inner 0.8), 300 to train, 100 to test,
    # half of each class in each.
    X, y = tc.data.make_circles(400, noise=0.05, factor=0.8, seed=seed)
    (X_train, y_train), (X_dev, y_dev), _ = tc.data.train_dev_test_split(
        X, y, dev=100, test=0, seed=seed, stratify=True)
    Xt, yt = tc.Tensor(X_train), tc.Tensor(y_train.reshape(-1, 1).astype(np.float32))

    findings: dict = {"iterations": iterations, "lr": lr, "inits": {}}
    costs, models = {}, {}
    for name, (init, scale) in INITS.items():
        tc.manual_seed(seed)
        model = three_layer_net(init, scale)
        costs[name] = train(model, Xt, yt, iterations, lr)
        with tc.no_grad():
            train_acc = nn.F.accuracy(model(Xt), y_train, threshold=0.0)
            dev_acc = nn.F.accuracy(model(tc.Tensor(X_dev)), y_dev, threshold=0.0)
        findings["inits"][name] = {
            "first_cost": costs[name][0], "final_cost": costs[name][-1],
            "train_accuracy": train_acc, "dev_accuracy": dev_acc,
            "hidden_units_identical": hidden_units_identical(model)}
        models[name] = model

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    tc.viz.plot_costs(costs, ax=ax, logy=True, ylabel="cost (log scale)",
                      title=f"Cost during training (gradient descent, lr = {lr:g})")
    save(fig, out / "init_costs.png")

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), layout="constrained")
    for ax, (name, model) in zip(axes, models.items()):
        acc = findings["inits"][name]["train_accuracy"]
        tc.viz.plot_decision_boundary(probabilities(model), X_train, y_train, ax=ax, margin=0.3,
                                      title=f"{name}: train accuracy {acc:.0%}")
    fig.suptitle("Decision boundaries after training, by initialization")
    save(fig, out / "init_boundaries.png")
    findings["plots"] = ["init_costs.png", "init_boundaries.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    print(f"{f['iterations']} iterations of gradient descent, lr = {f['lr']:g}")
    for name, r in f["inits"].items():
        print(f"{name:>26}: cost {r['first_cost']:9.4g} -> {r['final_cost']:.4f}, "
              f"train accuracy {r['train_accuracy']:.2f}, dev accuracy {r['dev_accuracy']:.2f}"
              + (", the hidden units stay identical" if r["hidden_units_identical"] else ""))
    print("zeros: symmetry never breaks, so the network is a coin toss; randn * 10: a huge first "
          "cost and slow progress; He: fits the circles")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
