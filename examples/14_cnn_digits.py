# %% [markdown]
"""A small CNN on handwritten digits: the course's tools together, and a run killed and resumed.

The 8x8 digits of scikit-learn (1,797 images, `tc.data.load_digits()`, NCHW float32 in [0, 1]) are
split 70/15/15 into train, dev and test. The network is two blocks of
Conv2d (3x3, no bias) -> BatchNorm2d -> ReLU -> MaxPool2d(2), then Flatten -> Dropout -> Linear:
8x8 -> 4x4 -> 2x2 pixels, 16 then 32 channels, about 6,000 parameters. It trains with `fit`:
mini-batches of 32, AdamW (Adam plus decoupled weight decay), a cosine schedule from lr0 down to
nearly 0 (`optim.lr_scheduler.CosineAnnealingLR`), the gradients clipped to norm 1 before each step
(`tc.callbacks.GradientClipping`, i.e. `nn.utils.clip_grad_norm_`), and early stopping on the dev
cost that restores the best epoch's weights (`tc.callbacks.EarlyStopping`).

With `fit(..., checkpoint=path, resume=True)` every epoch ends with the model, optimizer,
schedule, random generator (shuffling and dropout masks), callbacks and history saved to one file,
atomically. A second run is killed in the middle of an epoch, then started again with a fresh
model and optimizer: it picks up from the last saved epoch and ends with weights bit-identical to
the run that was never interrupted.

Every run here passes `jit=True`: `fit` records each batch shape's step (zero_grad, forward,
backward) once with `tc.jit` and then replays the recorded kernels, skipping the engine's Python
bookkeeping. Dropout draws new masks and batch norm updates its running averages at every replay,
so a jitted run ends with weights bit-identical to an eager one, in less time.
"""
# %%
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.callbacks import Callback, EarlyStopping, GradientClipping
from _common import output_dir, parser, pyplot, save


# %%
def cnn(keep_prob: float = 0.8, channels: tuple[int, int] = (16, 32)) -> nn.Sequential:
    """(N, 1, 8, 8) digits -> 10 logits: two conv blocks, then dropout and a linear layer."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(keep_prob=keep_prob), nn.Linear(c2 * 2 * 2, 10))


# %%
class Killed(Exception):
    """What a crash (a kill, a power cut) looks like to the example."""


class KillAt(Callback):
    """Raise Killed after the optimizer step number `iteration` (0-based), mid-epoch."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def on_batch_end(self, iteration: int, cost: float) -> None:
        if iteration == self.iteration:
            raise Killed(f"killed after step {iteration}")


# %%
def train(train_set, dev_set, epochs: int, lr: float, seed: int, checkpoint=None,
          resume: bool = False, kill_at: int | None = None, jit: bool = True):
    """A fresh CNN trained by `fit` with the example's recipe; (model, history, callbacks)."""
    tc.manual_seed(seed)  # the initial weights
    model = cnn()
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=lr / 100)
    callbacks = [GradientClipping(max_norm=1.0),
                 EarlyStopping(monitor="dev_cost", patience=5, restore_best=True)]
    if kill_at is not None:
        callbacks.append(KillAt(kill_at))
    history = tc.fit(model, nn.F.cross_entropy, optimizer, train_set, epochs, schedule=schedule,
                     dev=dev_set, metrics={"accuracy": nn.F.accuracy}, callbacks=callbacks,
                     batch_size=32, seed=seed, progress=False, checkpoint=checkpoint,
                     resume=resume, jit=jit)
    return model, history, callbacks


# %%
def predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """Class predictions in eval mode (running batch-norm statistics, no dropout)."""
    model.eval()
    with tc.no_grad():
        return model(tc.Tensor(X)).numpy().argmax(axis=1)


# %%
def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """Whether two models' state_dicts (parameters and running averages) are bit-identical."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


# %%
def jit_demo(train_set, dev_set, lr: float, seed: int, epochs: int = 2) -> dict:
    """The same `epochs` trained eagerly and with `jit=True`: seconds each, and whether the
    weights end bit-identical."""
    seconds, models = {}, {}
    for jit in (False, True):
        start = time.perf_counter()
        models[jit], _, _ = train(train_set, dev_set, epochs, lr, seed, jit=jit)
        seconds[jit] = time.perf_counter() - start
    return {"eager_seconds": seconds[False], "jit_seconds": seconds[True],
            "jit_equals_eager": same_weights(models[False], models[True])}


# %%
def resume_demo(train_set, dev_set, epochs: int, lr: float, seed: int, reference: nn.Module,
                checkpoint: Path) -> dict:
    """Kill a run mid-epoch, resume it from its checkpoint with a fresh model and optimizer, and
    compare with the uninterrupted `reference`."""
    checkpoint.unlink(missing_ok=True)
    steps_per_epoch = int(np.ceil(len(train_set[0]) / 32))
    kill_epoch = epochs // 2
    kill_at = kill_epoch * steps_per_epoch + steps_per_epoch // 2
    try:
        train(train_set, dev_set, epochs, lr, seed, checkpoint=checkpoint, kill_at=kill_at)
        raise AssertionError("the run was not killed")
    except Killed as crash:
        message = str(crash)
    saved_epochs = int(tc.load(checkpoint)["epoch"])
    resumed, history, _ = train(train_set, dev_set, epochs, lr, seed, checkpoint=checkpoint,
                                resume=True)
    return {"killed": message, "kill_epoch": kill_epoch, "checkpoint_epochs": saved_epochs,
            "resumed_epochs": history.epochs, "resumed_equals_uninterrupted":
            same_weights(resumed, reference)}


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 3e-3) -> dict:
    out = output_dir("14_cnn_digits", out)
    epochs = epochs or (5 if quick else 30)
    train_set, dev_set, (X_test, y_test) = tc.data.load_digits(split=(0.7, 0.15, 0.15), seed=seed)

    start = time.perf_counter()
    model, history, (clipping, early_stopping) = train(train_set, dev_set, epochs, lr, seed)
    best_epoch = early_stopping.best_epoch + 1  # 1-based, as in the plots
    seconds = time.perf_counter() - start
    predicted = predict(model, X_test)
    test_accuracy = float(np.mean(predicted == y_test))
    wrong = np.flatnonzero(predicted != y_test)
    norms = np.array(clipping.norms)

    resume = resume_demo(train_set, dev_set, epochs, lr, seed, model, out / "cnn_checkpoint.npz")
    jitted = jit_demo(train_set, dev_set, lr, seed)

    plt = pyplot()
    fig, (ax_cost, ax_acc, ax_norm) = plt.subplots(1, 3, figsize=(15, 4.2))
    ep = np.arange(1, history.epochs + 1)
    ax_cost.plot(ep, history.epoch_costs, label="train (mini-batches, dropout on)")
    ax_cost.plot(ep, history.dev["cost"], label="dev")
    ax_cost.set(xlabel="epoch", ylabel="cross-entropy cost", yscale="log", title="Learning curve")
    ax_lr = ax_cost.twinx()
    ax_lr.plot(ep, history.lrs, ":", c="grey")
    ax_lr.set_ylabel("lr (cosine schedule, dotted)")
    for ax in (ax_cost, ax_acc):
        ax.axvline(best_epoch, c="g", lw=1, label=f"best dev cost (epoch {best_epoch}): kept")
        ax.axvline(resume["kill_epoch"] + 0.5, c="r", ls=":", lw=1, label="a second run killed here")
    ax_cost.legend(loc="lower left", fontsize=8)
    ax_acc.plot(ep, history.train["accuracy"], label="train")
    ax_acc.plot(ep, history.dev["accuracy"], label="dev")
    ax_acc.axhline(test_accuracy, ls="--", c="k", lw=1, label=f"test (best epoch) {test_accuracy:.1%}")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0.8, 1.005), title="Accuracy")
    ax_acc.legend(loc="lower right", fontsize=8)
    ax_norm.plot(norms, lw=0.7)
    ax_norm.axhline(clipping.max_norm, c="r", ls="--", label="max_norm: larger ones are scaled down")
    ax_norm.set(xlabel="step", ylabel="gradient norm before clipping", yscale="log",
                title=f"Gradient clipping: {np.mean(norms > clipping.max_norm):.0%} of steps clipped")
    ax_norm.legend()
    fig.tight_layout()
    save(fig, out / "cnn_learning_curve.png")

    shown = wrong[:10]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(1.5 * max(len(shown), 1) + 1, 2.2),
                             squeeze=False)
    for ax, i in zip(axes[0], shown):
        ax.imshow(X_test[i, 0], cmap="gray_r")
        ax.set_title(f"{y_test[i]} read as {predicted[i]}", fontsize=9)
    for ax in axes[0]:
        ax.axis("off")
    fig.suptitle(f"Misclassified test digits ({len(wrong)} of {len(y_test)}): true read as predicted")
    fig.tight_layout()
    save(fig, out / "cnn_misclassified.png")
    return {"test_accuracy": test_accuracy, "dev_accuracy": history.dev["accuracy"],
            "train_costs": history.epoch_costs, "epochs_run": history.epochs, "epochs": epochs,
            "stopped_early": history.stopped_early, "best_epoch": best_epoch, "seconds": seconds,
            "lrs": history.lrs, "grad_norms": norms, "max_norm": clipping.max_norm,
            "misclassified": len(wrong), "n_test": len(y_test),
            "parameters": nn.utils.count_parameters(model), **resume, **jitted,
            "plots": ["cnn_learning_curve.png", "cnn_misclassified.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="at most this many epochs (default 30)")
    p.add_argument("--lr", type=float, default=3e-3, help="AdamW's initial learning rate")
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs, args.lr)
    print(f"CNN with {f['parameters']} parameters, {f['epochs_run']} of {f['epochs']} epochs"
          f"{' (stopped early)' if f['stopped_early'] else ''} in {f['seconds']:.1f} s")
    print(f"  lr {f['lrs'][0]:.2g} -> {f['lrs'][-1]:.2g} (cosine); train cost "
          f"{f['train_costs'][0]:.3f} -> {f['train_costs'][-1]:.3f}; best dev accuracy "
          f"{max(f['dev_accuracy']):.3f}")
    print(f"  gradient norms {f['grad_norms'].min():.2f} .. {f['grad_norms'].max():.2f}; "
          f"{np.mean(f['grad_norms'] > f['max_norm']):.0%} of steps clipped to {f['max_norm']:g}")
    print(f"early stopping kept epoch {f['best_epoch']} (the best dev cost)")
    print(f"test accuracy {f['test_accuracy']:.3f} ({f['misclassified']} of {f['n_test']} wrong)")
    print(f"resume: {f['killed']}, mid-way through epoch {f['kill_epoch'] + 1}; the checkpoint held "
          f"{f['checkpoint_epochs']} finished epochs; resumed to {f['resumed_epochs']} epochs; "
          f"weights bit-identical to the uninterrupted run: {f['resumed_equals_uninterrupted']}")
    print(f"tc.jit: 2 epochs in {f['jit_seconds']:.2f} s instead of {f['eager_seconds']:.2f} s eager; "
          f"weights bit-identical: {f['jit_equals_eager']}")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
