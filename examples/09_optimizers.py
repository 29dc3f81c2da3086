# %% [markdown]
"""Optimizers: gradient descent vs momentum vs RMSprop vs Adam on the moons data.

The course's experiment: the same 3-layer network (2 -> 5 -> 2 -> 1, ReLU, He initialization),
mini-batches of 64, the same small learning rate (0.0007) and the same number of epochs for each
optimizer. Gradient descent and momentum crawl at that rate; RMSprop and Adam scale each step by
the root of the averaged squared gradient, so their effective step is much larger and they
separate the moons. The loop is written by hand: zero_grad, forward, cost, backward, step.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.data import make_moons, minibatches
from _common import output_dir, parser, pyplot, save

OPTIMIZERS = {
    "gradient descent": lambda params, lr: optim.SGD(params, lr),
    "momentum": lambda params, lr: optim.Momentum(params, lr, beta=0.9),
    "RMSprop": lambda params, lr: optim.RMSprop(params, lr, beta=0.999),
    "Adam": lambda params, lr: optim.Adam(params, lr, beta1=0.9, beta2=0.999),
}


# %%
def three_layer_net() -> nn.Sequential:
    """The course's [2, 5, 2, 1] network; it outputs logits (the loss applies the sigmoid)."""
    return nn.Sequential(nn.Linear(2, 5, init="he"), nn.ReLU(), nn.Linear(5, 2, init="he"),
                         nn.ReLU(), nn.Linear(2, 1, init="he"))


# %%
def train(name: str, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, batch_size: int,
          seed: int) -> tuple[nn.Module, list[float]]:
    """Train a fresh network (same initialization for every optimizer) and return it with its
    cost per epoch."""
    tc.manual_seed(seed)
    model = three_layer_net()
    optimizer = OPTIMIZERS[name](model.parameters(), lr)
    shuffle = np.random.default_rng(seed)  # the same mini-batches for every optimizer
    costs = []
    for _ in range(epochs):
        total = 0.0
        for X_batch, y_batch in minibatches(X, y, batch_size, seed=shuffle):
            optimizer.zero_grad()
            cost = nn.F.binary_cross_entropy_with_logits(model(tc.Tensor(X_batch)), tc.Tensor(y_batch))
            cost.backward()
            optimizer.step()
            total += cost.item() * len(X_batch)
        costs.append(total / len(X))
    return model, costs


# %%
def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Class 1 where the logit is positive."""
    with tc.no_grad():
        return (model(tc.Tensor(X)).numpy() > 0).astype(np.int64).ravel()


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 0.0007, batch_size: int = 64) -> dict:
    out = output_dir("09_optimizers", out)
    epochs = epochs or (600 if quick else 3000)
    X, labels = make_moons(300, noise=0.2, seed=3)
    y = labels.reshape(-1, 1).astype(np.float32)

    models, costs, accuracy = {}, {}, {}
    for name in OPTIMIZERS:
        models[name], costs[name] = train(name, X, y, epochs, lr, batch_size, seed)
        accuracy[name] = float(np.mean(predict(models[name], X) == labels))

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, style in zip(OPTIMIZERS, ("-", "--", "-", "-")):
        ax.plot(np.arange(1, epochs + 1), costs[name], style, label=f"{name} ({accuracy[name]:.0%})")
    ax.set(xlabel="epoch", ylabel="cost (mean over the epoch's mini-batches)",
           title=f"Same net, same lr = {lr:g}, batches of {batch_size}")
    ax.legend()
    fig.tight_layout()
    save(fig, out / "optimizer_costs.png")

    fig, axes = plt.subplots(2, 2, figsize=(9, 8))
    for ax, name in zip(axes.ravel(), OPTIMIZERS):
        tc.viz.plot_decision_boundary(lambda grid, m=models[name]: predict(m, grid), X, labels,
                                      ax=ax, title=f"{name}: train accuracy {accuracy[name]:.1%}")
    fig.suptitle(f"Decision boundaries after {epochs} epochs at lr = {lr:g}")
    fig.tight_layout()
    save(fig, out / "optimizer_boundaries.png")
    return {"accuracy": accuracy, "final_cost": {k: v[-1] for k, v in costs.items()},
            "epochs": epochs, "lr": lr,
            "plots": ["optimizer_costs.png", "optimizer_boundaries.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per optimizer (default 3000)")
    p.add_argument("--lr", type=float, default=0.0007)
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs, args.lr)
    print(f"{f['epochs']} epochs at lr = {f['lr']:g}, mini-batches of 64:")
    for name, acc in f["accuracy"].items():
        print(f"  {name:<16} train accuracy {acc:.3f}, final cost {f['final_cost'][name]:.3f}")
    gap = f["accuracy"]["Adam"] - f["accuracy"]["gradient descent"]
    print(f"Adam is {gap:+.1%} ahead of plain gradient descent: at a small learning rate the "
          "adaptive steps of RMSprop and Adam get much further in the same number of epochs; "
          "momentum only averages the same small steps, so it stays with gradient descent")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
