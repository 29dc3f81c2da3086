# %% [markdown]
"""Softmax regression: more than two classes, softmax + cross-entropy, and the confusion matrix.

Softmax regression is a linear layer z = W x + b with one score per class and
softmax(z)_j = exp(z_j) / sum_k exp(z_k) turning the scores into probabilities; the cost is the
cross-entropy -1/m sum_i log softmax(z_i)_{y_i} (`nn.F.cross_entropy` fuses the two, stably).
On four overlapping Gaussian blobs it does well, and the confusion matrix (rows: true class,
columns: predicted class) shows where the errors are: between neighbouring blobs, hardly ever
across. Its boundaries are straight lines, so on the spirals it fails; one hidden layer of ReLUs
under the same softmax output fixes that. The training loop is written by hand.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.data import make_blobs, make_spirals, minibatches, train_dev_test_split
from _common import output_dir, parser, pyplot, save


# %%
def train(model: nn.Module, X: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int) -> list:
    """Adam on mini-batches of 32 with the softmax cross-entropy cost; the cost per epoch."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    shuffle = np.random.default_rng(seed)
    costs = []
    for _ in range(epochs):
        total = 0.0
        for X_batch, y_batch in minibatches(X, y, 32, seed=shuffle):
            optimizer.zero_grad()
            cost = nn.F.cross_entropy(model(tc.Tensor(X_batch)), y_batch)  # integer labels
            cost.backward()
            optimizer.step()
            total += cost.item() * len(X_batch)
        costs.append(total / len(X))
    return costs


# %%
def scores(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with tc.no_grad():
        return model(tc.Tensor(X)).numpy()


# %%
def confusion_table(counts: np.ndarray) -> str:
    """The confusion matrix as text: true classes down, predicted classes across."""
    k = len(counts)
    lines = ["true \\ predicted " + "".join(f"{j:>6}" for j in range(k))]
    lines += [f"{i:>17}" + "".join(f"{c:>6}" for c in row) for i, row in enumerate(counts)]
    return "\n".join(lines)


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 0.05) -> dict:
    out = output_dir("13_softmax_regression", out)
    epochs = epochs or (60 if quick else 200)
    tc.manual_seed(seed)

    # Four blobs around a circle: neighbours overlap, opposite blobs do not.
    X, y = make_blobs(800, noise=0.9, centers=4, seed=seed)
    (X_train, y_train), (X_dev, y_dev), _ = train_dev_test_split(X, y, dev=0.25, test=0, seed=seed,
                                                                 stratify=True)
    softmax_regression = nn.Linear(2, 4)
    blob_costs = train(softmax_regression, X_train, y_train, epochs, lr, seed)
    dev_scores = scores(softmax_regression, X_dev)
    probabilities = tc.tensor(dev_scores).softmax(axis=1).numpy()
    counts = nn.F.confusion_matrix(dev_scores, y_dev)
    neighbours = sum(counts[i, (i + d) % 4] for i in range(4) for d in (1, 3))
    opposite = sum(counts[i, (i + 2) % 4] for i in range(4))

    # The spirals: straight boundaries are not enough; a hidden layer is.
    Xs, ys = make_spirals(300, noise=0.2, seed=seed)
    linear = nn.Linear(2, 3)
    hidden = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 3))
    train(linear, Xs, ys, epochs, lr, seed)
    train(hidden, Xs, ys, epochs, lr, seed)
    spiral_accuracy = {"softmax regression": nn.F.accuracy(scores(linear, Xs), ys),
                       "one hidden layer": nn.F.accuracy(scores(hidden, Xs), ys)}

    plt = pyplot()
    fig, (ax_regions, ax_counts) = plt.subplots(1, 2, figsize=(11, 4.5))
    dev_accuracy = nn.F.accuracy(dev_scores, y_dev)
    tc.viz.plot_decision_boundary(lambda g: scores(softmax_regression, g), X_dev, y_dev,
                                  ax=ax_regions, margin=0.5,
                                  title=f"Softmax regression regions, dev accuracy {dev_accuracy:.1%}")
    tc.viz.plot_confusion_matrix(counts, ax=ax_counts, title="Confusion matrix on the dev set")
    fig.tight_layout()
    save(fig, out / "softmax_blobs.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (name, model) in zip(axes, (("softmax regression", linear), ("one hidden layer", hidden))):
        tc.viz.plot_decision_boundary(lambda g, m=model: scores(m, g), Xs, ys, ax=ax, margin=0.2,
                                      title=f"{name}: accuracy {spiral_accuracy[name]:.1%}")
    fig.suptitle("Spirals: softmax output on a linear layer vs on a hidden layer (training set)")
    fig.tight_layout()
    save(fig, out / "softmax_spirals.png")
    return {"dev_accuracy": dev_accuracy, "train_accuracy":
            nn.F.accuracy(scores(softmax_regression, X_train), y_train),
            "confusion_matrix": counts, "neighbour_errors": int(neighbours),
            "opposite_errors": int(opposite),
            "probability_row_sums": probabilities.sum(axis=1), "costs": blob_costs,
            "spiral_accuracy": spiral_accuracy, "epochs": epochs,
            "plots": ["softmax_blobs.png", "softmax_spirals.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per model (default 200)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam's learning rate")
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs, args.lr)
    print(f"softmax regression on four blobs: train accuracy {f['train_accuracy']:.3f}, dev "
          f"accuracy {f['dev_accuracy']:.3f}; cost {f['costs'][0]:.3f} -> {f['costs'][-1]:.3f}")
    print("confusion matrix on the dev set:")
    print(confusion_table(f["confusion_matrix"]))
    print(f"errors between neighbouring blobs: {f['neighbour_errors']}, between opposite blobs: "
          f"{f['opposite_errors']}")
    sums = f["probability_row_sums"]
    print(f"softmax probabilities sum to 1 for every example (from {sums.min():.6f} to {sums.max():.6f})")
    acc = f["spiral_accuracy"]
    print(f"spirals: softmax regression {acc['softmax regression']:.3f} (straight boundaries), "
          f"with one hidden layer {acc['one hidden layer']:.3f}")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
