# %% [markdown]
"""Mini-batch sizes: batch vs mini-batch vs stochastic gradient descent, for the same epochs.

One epoch is one pass over the m training examples, cut into mini-batches of batch_size:
batch_size = m is batch gradient descent (one step per epoch, each on all the data), 1 is
stochastic gradient descent (m steps per epoch, each on one example), 64 sits in between. Same
network, same learning rate, same number of epochs. Batch GD's cost curve is smooth but makes
few steps; SGD's is the noisiest and, one example at a time, loses the speed of vectorization;
mini-batches take many steps per epoch and still compute each one on a matrix. (With m = 1024 a
step costs about the same whatever its size, so batch GD only loses by taking few steps; with
millions of examples each of its steps is also a pass over all of them.)
"""
# %%
from __future__ import annotations

import time

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, pyplot, save
from tinygrad_course import nn


# %%
def full_cost(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The cost on the whole training set (what every method is trying to lower)."""
    with tc.no_grad():
        return nn.F.binary_cross_entropy_with_logits(model(tc.Tensor(X)), tc.Tensor(y)).item()


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 0.05) -> dict:
    out = output_dir("07_minibatch", out)
    epochs = epochs or (4 if quick else 20)
    m = 256 if quick else 1024
    X, labels = tc.data.make_moons(m, noise=0.2, seed=seed)
    y = labels.reshape(-1, 1).astype(np.float32)
    methods = {"batch (size m)": m, "mini-batch (size 64)": 64, "stochastic (size 1)": 1}

    findings: dict = {"m": m, "epochs": epochs, "lr": lr, "methods": {}}
    for name, batch_size in methods.items():
        tc.manual_seed(seed)  # the same initial weights and the same shuffles for every method
        model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                              nn.Linear(8, 1))
        optimizer = tc.optim.SGD(model.parameters(), lr=lr)
        costs, epoch_costs, seconds = [], [full_cost(model, X, y)], []
        for _ in range(epochs):
            start = time.perf_counter()
            for X_batch, y_batch in tc.data.minibatches(X, y, batch_size):
                optimizer.zero_grad()
                cost = nn.F.binary_cross_entropy_with_logits(model(tc.Tensor(X_batch)),
                                                             tc.Tensor(y_batch))
                cost.backward()
                optimizer.step()
                costs.append(cost.item())
            seconds.append(time.perf_counter() - start)
            epoch_costs.append(full_cost(model, X, y))
        late = np.asarray(costs[len(costs) // 2:])
        with tc.no_grad():
            accuracy = nn.F.accuracy(model(tc.Tensor(X)), labels, threshold=0.0)
        findings["methods"][name] = {
            "batch_size": batch_size, "iterations": len(costs), "costs": costs,
            "epoch_costs": epoch_costs, "final_cost": epoch_costs[-1], "train_accuracy": accuracy,
            "seconds_per_epoch": float(np.median(seconds)),
            "seconds_per_step": float(np.sum(seconds) / len(costs)),
            "elapsed": np.concatenate([[0.0], np.cumsum(seconds)]).tolist(),
            # How much the cost jumps from one iteration to the next, late in training.
            "noise": float(np.std(np.diff(late))) if late.size > 1 else 0.0}

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    for ax, (name, r) in zip(axes, findings["methods"].items()):
        steps = np.arange(1, r["iterations"] + 1)
        ax.plot(steps, r["costs"], lw=0.5 if r["batch_size"] == 1 else 1, label="cost of each step")
        if r["batch_size"] < m:
            # The trend under the noise: an exponentially weighted average over ~50 steps.
            ax.plot(steps, tc.ewa.ewa_series(r["costs"], 0.98, bias_correction=True), c="k",
                    lw=1.5, label="its average (EWA, beta = 0.98)")
            ax.legend(fontsize=8, loc="upper right")
        ax.set(xlabel="iteration (one mini-batch step)", ylabel="cost of the mini-batch",
               title=f"{name}: {r['iterations']} steps")
    fig.suptitle(f"Cost per iteration, {epochs} epochs over m = {m} examples, lr = {lr:g}")
    save(fig, out / "minibatch_costs.png")

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    names = list(findings["methods"])
    for name in names:
        r = findings["methods"][name]
        left.plot(r["epoch_costs"], marker="o", ms=3, label=name)
        middle.plot(r["elapsed"][1:], r["epoch_costs"][1:], marker="o", ms=3, label=name)
    left.set(xlabel="epoch", ylabel="cost on the whole training set",
             title="Progress per epoch (same data seen)")
    left.legend(fontsize=9)
    middle.set(xscale="log", xlabel="training time (s, log scale)",
               ylabel="cost on the whole training set", title="Progress per second")
    right.bar(names, [findings["methods"][n]["seconds_per_epoch"] * 1000 for n in names],
              color=["tab:blue", "tab:orange", "tab:green"])
    right.set(yscale="log", ylabel="milliseconds per epoch (log scale)",
              title="Time per epoch: one example at a time is slow")
    save(fig, out / "minibatch_epochs.png")
    findings["plots"] = ["minibatch_costs.png", "minibatch_epochs.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    print(f"{f['epochs']} epochs over m = {f['m']} examples, lr = {f['lr']:g}")
    for name, r in f["methods"].items():
        print(f"{name:>21}: {r['iterations']:6d} steps, cost {r['final_cost']:.3f}, train accuracy "
              f"{r['train_accuracy']:.2f}, {r['seconds_per_epoch'] * 1000:7.1f} ms per epoch, "
              f"{r['seconds_per_step'] * 1000:.2f} ms per step, "
              f"step-to-step noise {r['noise']:.3f}")
    print("batch: smooth but few steps; stochastic: many noisy steps, slow epochs; mini-batch: "
          "many steps at matrix speed")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
