# %% [markdown]
"""Batch normalization: a deep network with and without BatchNorm1d at a large learning rate,
and what changes between training and evaluation.

Both networks have four hidden layers of 32 ReLU units and train on the spirals (3 classes) with
mini-batch gradient descent at lr = 1. The plain network's activations and gradients swing from
layer to layer at that rate and it ends near chance; with batch norm every layer's inputs are
normalized over the mini-batch (z_norm = (z - mu) / sqrt(var + eps), then gamma * z_norm + beta),
so the same rate trains well. Linear layers before a BatchNorm1d have no bias: batch norm
subtracts the mean, and its beta takes the bias's place.

Train mode normalizes with the mini-batch's own mean and variance, so an example's output depends
on its batch mates. Eval mode uses the running averages (exponentially weighted over the training
batches), so predicting one example at a time gives what the whole batch gives.
"""
# %%
from __future__ import annotations

import copy

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.data import Normalizer, make_spirals, train_dev_test_split
from _common import output_dir, parser, pyplot, save, save_graph


# %%
def deep_net(batch_norm: bool, width: int = 32, depth: int = 4, n_classes: int = 3) -> nn.Sequential:
    """2 -> width x depth -> n_classes logits; each hidden layer Linear [-> BatchNorm1d] -> ReLU."""
    layers, n_in = [], 2
    for _ in range(depth):
        layers.append(nn.Linear(n_in, width, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(nn.ReLU())
        n_in = width
    layers.append(nn.Linear(n_in, n_classes))
    return nn.Sequential(*layers)


# %%
def logits(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with tc.no_grad():
        return model(tc.Tensor(X)).numpy()


# %%
def train_vs_eval(model: nn.Module, X: np.ndarray) -> dict:
    """What batch norm does in each mode, measured on a trained model."""
    probe = X[:8]
    # Train mode: the same 8 examples next to two different sets of batch mates. (On a copy:
    # a forward pass in train mode also moves the running averages.)
    trainer = copy.deepcopy(model).train()
    alone = logits(trainer, probe)
    with_others = logits(trainer, np.concatenate([probe, X[8:64]]))[:8]
    try:
        logits(trainer, probe[:1])
        refused = ""
    except ValueError as exc:
        refused = str(exc)

    # Eval mode: the running averages, the same for every batch.
    model.eval()
    batch = logits(model, X)
    one_by_one = np.concatenate([logits(model, X[i:i + 1]) for i in range(len(X))])

    # The first batch norm's running mean against the mean of its input over all these examples.
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d))
    z = logits(model[0], X)
    running_gap = np.abs(bn.running_mean.numpy() - z.mean(axis=0)) / z.std(axis=0)
    return {"train_mode_batch_dependence": float(np.abs(alone - with_others).max()),
            "eval_one_by_one_vs_batch": float(np.abs(batch - one_by_one).max()),
            "train_mode_single_example_error": refused,
            "running_mean_gap_in_stds": float(running_gap.max())}


# %%
def layer_graphs(model: nn.Module, X: np.ndarray, out) -> list[str]:
    """The first hidden layer (Linear -> BatchNorm1d -> ReLU) on 8 examples, drawn in train mode
    and in eval mode: one fused batch_norm op with momentum and eps in its label, gamma and beta
    its parameters, the running averages it reads (and, in train mode, updates) as constants."""
    # A copy: a forward pass in train mode moves the running averages.
    layer = copy.deepcopy(nn.Sequential(model[0], model[1], model[2]))
    files = []
    for mode in ("train", "eval"):
        layer.train(mode == "train")
        graph = tc.viz.draw_graph(layer(tc.Tensor(X[:8])), model=layer, size=(9, 5))
        files += save_graph(graph, out / f"batchnorm_layer_{mode}")
    return files


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 1.0) -> dict:
    out = output_dir("12_batchnorm", out)
    epochs = epochs or (40 if quick else 100)
    X, y = make_spirals(600, noise=0.2, seed=seed)
    (X_train, y_train), (X_dev, y_dev), _ = train_dev_test_split(X, y, dev=0.2, test=0, seed=seed,
                                                                 stratify=True)
    normalizer = Normalizer().fit(X_train)
    train, dev = (normalizer.transform(X_train), y_train), (normalizer.transform(X_dev), y_dev)

    models, histories = {}, {}
    for name, batch_norm in (("plain", False), ("batch norm", True)):
        tc.manual_seed(seed)
        models[name] = deep_net(batch_norm)
        histories[name] = tc.fit(models[name], nn.F.cross_entropy,
                                 optim.SGD(models[name].parameters(), lr=lr), train, epochs, dev=dev,
                                 metrics={"accuracy": nn.F.accuracy}, batch_size=64, seed=seed,
                                 progress=False)
    modes = train_vs_eval(models["batch norm"], dev[0])
    graphs = layer_graphs(models["batch norm"], dev[0], out)

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, h), colour in zip(histories.items(), ("tab:red", "tab:blue")):
        ax.plot(np.arange(1, epochs + 1), h.train["cost"], c=colour, label=f"{name}, train")
        ax.plot(np.arange(1, epochs + 1), h.dev["cost"], "--", c=colour, label=f"{name}, dev")
    ax.set(xlabel="epoch", ylabel="cost (log scale)", yscale="log",
           title=f"4 hidden layers, mini-batch GD at lr = {lr:g}")
    ax.legend()
    fig.tight_layout()
    save(fig, out / "batchnorm_costs.png")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (name, model) in zip(axes, models.items()):
        model.eval()
        tc.viz.plot_decision_boundary(lambda g, m=model: logits(m, normalizer.transform(g)),
                                      X_dev, y_dev, ax=ax, margin=0.2,
                                      title=f"{name}: dev accuracy {histories[name].dev['accuracy'][-1]:.1%}")
    fig.suptitle("Decision boundaries (eval mode) on the dev set")
    fig.tight_layout()
    save(fig, out / "batchnorm_boundaries.png")
    return {"train_accuracy": {k: h.train["accuracy"][-1] for k, h in histories.items()},
            "dev_accuracy": {k: h.dev["accuracy"][-1] for k, h in histories.items()},
            "final_cost": {k: h.train["cost"][-1] for k, h in histories.items()},
            # Single epochs are noisy at this rate: where the cost sits over the second half.
            "late_cost": {k: float(np.mean(h.train["cost"][epochs // 2:])) for k, h in histories.items()},
            **modes, "lr": lr, "epochs": epochs,
            "plots": ["batchnorm_costs.png", "batchnorm_boundaries.png"], "graphs": graphs,
            "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per network (default 100)")
    p.add_argument("--lr", type=float, default=1.0)
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs, args.lr)
    print(f"spirals, 4 hidden layers, mini-batch GD at lr = {f['lr']:g}, {f['epochs']} epochs:")
    for name in f["train_accuracy"]:
        print(f"  {name:<10} train accuracy {f['train_accuracy'][name]:.3f}, dev accuracy "
              f"{f['dev_accuracy'][name]:.3f}, final cost {f['final_cost'][name]:.3f}, mean cost over "
              f"the second half {f['late_cost'][name]:.3f}")
    print(f"train mode: the same examples in another batch change their logits by up to "
          f"{f['train_mode_batch_dependence']:.3f} (batch statistics)")
    print(f"  and one example alone is refused: {f['train_mode_single_example_error'].split(';')[0]}")
    print(f"eval mode: one example at a time vs the whole batch differ by "
          f"{f['eval_one_by_one_vs_batch']:.1e} (running averages)")
    print(f"the first running mean is within {f['running_mean_gap_in_stds']:.2f} standard "
          "deviations of the mean over the dev set")
    print(f"plots and one layer's graph in train and eval mode in {f['out']}: "
          f"{', '.join(f['plots'] + f['graphs'])}")


# %%
if __name__ == "__main__":
    main()
