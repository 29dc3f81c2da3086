# %% [markdown]
"""Learning-rate decay: the schedules of tinygrad_course.optim, and what they do to training.

Mini-batch gradient descent with a large learning rate makes quick progress, then bounces around
the minimum: each mini-batch pulls the weights its own way. Slowly lowering the rate lets the
steps shrink as training converges (the lecture's picture). Lowered too fast, as inverse time
decay every epoch does (the course's `update_lr`: lr0 / (1 + epoch)), training freezes long
before the minimum; that is why the course then applies it only every `time_interval` epochs.
The network is a small 2 -> 16 -> 8 -> 1 ReLU net on the moons data, trained with `tc.fit`, which
steps the schedule after each epoch.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.data import make_moons
from _common import output_dir, parser, pyplot, save


# %%
def schedules(epochs: int) -> dict:
    """name -> function(optimizer) -> schedule (None: the constant rate), for `epochs` epochs."""
    return {
        "constant (no decay)": lambda opt: None,
        "inverse time, every epoch": lambda opt: optim.InverseTimeDecay(opt, decay_rate=1.0),
        "inverse time, every epochs/5": lambda opt: optim.ScheduledInverseTimeDecay(
            opt, decay_rate=1.0, time_interval=epochs // 5),
        "exponential": lambda opt: optim.ExponentialDecay(opt, base=0.01 ** (1 / epochs)),
        "inverse sqrt": lambda opt: optim.InverseSqrtDecay(opt, k=1.0),
        "staircase": lambda opt: optim.StaircaseDecay(opt, step_size=epochs // 4, factor=0.3),
        "manual": lambda opt: optim.ManualSchedule(
            opt, {epochs // 2: opt.lr / 10, 3 * epochs // 4: opt.lr / 100}),
    }


# %%
def three_layer_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 1))


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None,
        lr: float = 2.0) -> dict:
    out = output_dir("10_lr_decay", out)
    epochs = epochs or (300 if quick else 1000)
    X, labels = make_moons(300, noise=0.2, seed=3)
    y = labels.reshape(-1, 1).astype(np.float32)

    lrs, costs, accuracy, late, wobble = {}, {}, {}, {}, {}
    for name, make_schedule in schedules(epochs).items():
        tc.manual_seed(seed)  # the same initial weights for every schedule
        model = three_layer_net()
        optimizer = optim.SGD(model.parameters(), lr=lr)
        schedule = make_schedule(optimizer)
        history = tc.fit(model, nn.F.binary_cross_entropy_with_logits, optimizer, (X, y), epochs,
                         schedule=schedule, batch_size=64, seed=seed, progress=False,
                         metrics={"accuracy": lambda z, t: nn.F.accuracy(z, t, threshold=0.0)})
        lrs[name] = history.lrs
        costs[name] = history.train["cost"]  # the whole training set's cost after each epoch
        accuracy[name] = history.train["accuracy"][-1]
        # Where the cost sits over the last fifth of training, and how much it still moves there.
        late[name] = float(np.mean(costs[name][-epochs // 5:]))
        wobble[name] = float(np.std(costs[name][-epochs // 5:]))

    plt = pyplot()
    colour = {name: f"C{i}" for i, name in enumerate(lrs)}  # the same colour in both plots
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, series in lrs.items():
        ax.plot(np.arange(epochs), series, c=colour[name], label=name)
    ax.set(xlabel="epoch", ylabel="learning rate (log scale)", yscale="log",
           title=f"Learning-rate schedules from lr0 = {lr:g} over {epochs} epochs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out / "lr_schedules.png")

    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    for name in reversed(costs):  # the constant rate last, on top: its bouncing is the point
        ax.plot(np.arange(1, epochs + 1), costs[name], c=colour[name], lw=1.2,
                label=f"{name}: {costs[name][-1]:.3f}")
    ax.set(xlabel="epoch", ylabel="training cost after the epoch (log scale)", yscale="log",
           title=f"Mini-batch gradient descent, lr0 = {lr:g}, batches of 64")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], fontsize=8, title="schedule: final cost",
              title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    save(fig, out / "lr_decay_training.png")
    return {"final_cost": {k: v[-1] for k, v in costs.items()}, "accuracy": accuracy,
            "late_cost": late, "wobble": wobble, "lrs": lrs, "epochs": epochs, "lr0": lr,
            "plots": ["lr_schedules.png", "lr_decay_training.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per schedule (default 1000)")
    p.add_argument("--lr", type=float, default=2.0, help="lr0, the starting learning rate")
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs, args.lr)
    print(f"mini-batch gradient descent on moons, lr0 = {f['lr0']:g}, {f['epochs']} epochs:")
    for name in f["final_cost"]:
        print(f"  {name:<30} final cost {f['final_cost'][name]:.4f}, accuracy "
              f"{f['accuracy'][name]:.3f}; last fifth: mean cost {f['late_cost'][name]:.4f}, "
              f"moving by {f['wobble'][name]:.4f} (std); last lr {f['lrs'][name][-1]:.2g}")
    gradual = [k for k in f["wobble"] if k not in ("constant (no decay)", "inverse time, every epoch")]
    print(f"without decay the cost keeps bouncing (std {f['wobble']['constant (no decay)']:.4f} over "
          f"the last fifth, at most {max(f['wobble'][k] for k in gradual):.4f} with a gradual "
          "decay); inverse time decay every epoch shrinks the rate so fast that training stalls "
          f"(mean cost {f['late_cost']['inverse time, every epoch']:.3f} against at most "
          f"{max(f['late_cost'][k] for k in gradual):.3f})")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
