# %% [markdown]
"""From PyTorch: the same small MLP written the PyTorch way and the course way, and each mapping.

A PyTorch user can write what they know: `dim=`/`keepdim=`, `x.size(0)`, `x.view(...)`,
`model.to("cpu")`, `nn.CrossEntropyLoss()`, `Adam(betas=...)`, parameter groups as dicts,
`optimizer.zero_grad()`, `StepLR` and a loop over a `DataLoader`. The course way writes the same
ideas with the course's names: `axis=`/`keepdims=`, `Dropout(keep_prob=)`, `beta1`/`beta2`, the L2
cost `lambd / (2m) * sum ||W||^2`, the learning-rate decay formulas (`StaircaseDecay`). Both
versions of a 64 -> 64 -> 10 MLP are trained on the 8x8 digits flattened, and reach the same
accuracy; a printed table checks each mapping as it runs.

Where PyTorch's spelling means something else here, the framework refuses it and says what to
write: `Dropout(p=0.2)` (PyTorch's p drops, the course's keep_prob keeps) and
`SGD(momentum=0.9)` (PyTorch's heavy ball v = mu v + dW against the course's average
v = beta v + (1 - beta) dW). The example runs each suggested fix and shows that it does what
PyTorch's spelling meant: the fixed Momentum takes the heavy ball's steps exactly.
"""
# %%
from __future__ import annotations

import warnings

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim
from tinygrad_course.data import minibatches
from _common import output_dir, parser, pyplot, save


# %% [markdown]
# ## The PyTorch way
# A Module subclass with a forward, PyTorch's tensor methods, a loss module, Adam with betas and
# two parameter groups, StepLR, and the loop over a DataLoader. The dropout layer is what the
# error for `nn.Dropout(p=p)` says to write (see below).

# %%
class TorchStyleMLP(nn.Module):
    def __init__(self, n_in: int = 64, n_hidden: int = 64, n_out: int = 10, p: float = 0.2):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.dropout = nn.Dropout(keep_prob=1 - p)  # nn.Dropout(p=p) raises and says this
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(self.dropout(nn.F.relu(self.fc1(x))))


def train_pytorch_way(X_train, y_train, epochs: int, seed: int) -> tuple[nn.Module, list]:
    """Adam(betas=), weight decay in a parameter group for the weights only, StepLR."""
    tc.manual_seed(seed)
    model = TorchStyleMLP().to("cpu")
    criterion = nn.CrossEntropyLoss()
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = optim.Adam([{"params": weights, "weight_decay": 1e-4},
                            {"params": biases, "weight_decay": 0.0}], lr=1e-2, betas=(0.9, 0.999))
    scheduler = optim.schedules.StepLR(optimizer, step_size=10, gamma=0.5)
    dataset = tc.data.TensorDataset(tc.from_numpy(X_train), tc.from_numpy(y_train))
    loader = tc.data.DataLoader(dataset, batch_size=32, shuffle=True)
    costs = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * xb.size(0)
        scheduler.step()
        costs.append(total / len(dataset))
    return model, costs


def accuracy_pytorch_way(model: nn.Module, X, y) -> float:
    model.eval()
    with tc.no_grad():
        pred = model(tc.from_numpy(X)).softmax(dim=1).argmax(dim=1)
    return (pred == tc.from_numpy(y)).float().mean().item()


# %% [markdown]
# ## The course way
# A Sequential, the images reshaped to rows of 64 features, the course's names, and the
# mini-batch loop with the L2 term in the cost.

# %%
def course_mlp(keep_prob: float = 0.8) -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(keep_prob=keep_prob),
                         nn.Linear(64, 10))


def train_course_way(X_train, y_train, epochs: int, seed: int, lambd: float = 1e-4 * 32):
    """Adam(beta1, beta2), cost + lambd/(2m) sum ||W||^2, lr halved every 10 epochs."""
    tc.manual_seed(seed)
    model = course_mlp()
    optimizer = optim.Adam(model.parameters(), lr=1e-2, beta1=0.9, beta2=0.999)
    schedule = optim.schedules.StaircaseDecay(optimizer, step_size=10, factor=0.5)
    X = X_train.reshape(len(X_train), -1)
    shuffle = tc.Generator(seed)
    costs = []
    for _ in range(epochs):
        total = 0.0
        for X_batch, y_batch in minibatches(X, y_train, 32, seed=shuffle):
            m = len(X_batch)
            optimizer.zero_grad()
            cost = nn.F.cross_entropy(model(tc.Tensor(X_batch)), y_batch) \
                + nn.F.l2_penalty(model, lambd, m)
            cost.backward()
            optimizer.step()
            total += cost.item() * m
        schedule.step()
        costs.append(total / len(X))
    return model, costs


def accuracy_course_way(model: nn.Module, X, y) -> float:
    model.eval()
    with tc.no_grad():
        return nn.F.accuracy(model(tc.Tensor(X.reshape(len(X), -1))), y)


# %% [markdown]
# ## Each mapping, checked
# Every row runs both spellings on the same inputs and compares what they give.

# %%
def _one_adam_step(make_optimizer, X, y, with_penalty: bool = False) -> np.ndarray:
    """The first layer's weights after one step from the same start (with the L2 cost term
    lambd/(2m) sum ||W||^2 for lambd = 1e-2 * m when `with_penalty`)."""
    tc.manual_seed(0)
    model = course_mlp(keep_prob=1.0)
    optimizer = make_optimizer(model)
    optimizer.zero_grad()
    cost = nn.F.cross_entropy(model(tc.Tensor(X.reshape(len(X), -1))), y)
    if with_penalty:
        cost = cost + nn.F.l2_penalty(model, 1e-2 * len(X), len(X))
    cost.backward()
    optimizer.step()
    return model[0].weight.numpy().copy()


def _lrs(schedule_class, epochs: int = 30, **kw) -> list:
    opt = optim.Adam([tc.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    schedule, lrs = schedule_class(opt, **kw), []
    for _ in range(epochs):
        lrs.append(opt.lr)
        schedule.step()
    return lrs


def mappings(X, y) -> list[tuple[str, str, str, bool]]:
    """(idea, PyTorch's spelling, the course's spelling, both give the same) for each row."""
    x = tc.from_numpy(X[:16])
    flat = x.view(x.size(0), -1)
    z, labels = course_mlp(keep_prob=1.0)(flat), tc.from_numpy(y[:16])
    model = course_mlp()
    model(flat).sum().backward()
    opt = optim.Adam(model.parameters(), lr=0.1)
    opt.zero_grad()
    X16, y16 = X[:16], y[:16]
    betas = _one_adam_step(lambda m: optim.Adam(m.parameters(), 1e-2, betas=(0.9, 0.999)), X16, y16)
    beta12 = _one_adam_step(lambda m: optim.Adam(m.parameters(), 1e-2, beta1=0.9, beta2=0.999),
                            X16, y16)
    groups = _one_adam_step(lambda m: optim.Adam([{"params": [m[0].weight, m[3].weight],
                                                   "weight_decay": 1e-2},
                                                  {"params": [m[0].bias, m[3].bias]}], lr=1e-2),
                            X16, y16)
    lambd = _one_adam_step(lambda m: optim.Adam(m.parameters(), 1e-2), X16, y16, with_penalty=True)
    rows = [
        ("sum along an axis", "x.sum(dim=1, keepdim=True)", "x.sum(axis=1, keepdims=True)",
         np.array_equal(flat.sum(dim=1, keepdim=True).numpy(),
                        flat.sum(axis=1, keepdims=True).numpy())),
        ("softmax over classes", "z.softmax(dim=1)", "z.softmax(axis=1)",
         np.array_equal(z.softmax(dim=1).numpy(), z.softmax(axis=1).numpy())),
        ("batch size", "x.size(0)", "x.shape[0] (m)", x.size(0) == x.shape[0] == 16),
        ("flatten the images", "x.view(x.size(0), -1)", "X.reshape(m, -1)",
         np.array_equal(flat.numpy(), X[:16].reshape(16, -1))),
        ("device", 'model.to("cpu")', "(nothing: NumPy on the CPU)", model.to("cpu") is model),
        ("cross-entropy cost", "nn.CrossEntropyLoss()(z, y)", "nn.F.cross_entropy(z, y)",
         nn.CrossEntropyLoss()(z, labels).item() == nn.F.cross_entropy(z, labels).item()),
        ("Adam's decay rates", "Adam(ps, lr, betas=(0.9, 0.999))",
         "Adam(ps, lr, beta1=0.9, beta2=0.999)",
         np.array_equal(betas, beta12)),
        ("L2 on the weights", 'Adam([{"params": weights, "weight_decay": wd}, {"params": biases}])',
         "cost + nn.F.l2_penalty(model, lambd, m), lambd = wd * m",
         np.allclose(groups, lambd, rtol=1e-5, atol=1e-7)),
        ("clear the gradients", "optimizer.zero_grad()", "optimizer.zero_grad()",
         all(p.grad is None for p in model.parameters())),
        ("step decay of the lr", "StepLR(opt, step_size=10, gamma=0.5)",
         "StaircaseDecay(opt, step_size=10, factor=0.5)",
         _lrs(optim.schedules.StepLR, step_size=10, gamma=0.5)
         == _lrs(optim.schedules.StaircaseDecay, step_size=10, factor=0.5)),
        ("accuracy", "(pred == y).float().mean().item()", "nn.F.accuracy(z, y)",
         (z.argmax(dim=1) == labels).float().mean().item() == nn.F.accuracy(z, labels)),
    ]
    return rows


def table(rows, headers=("idea", "PyTorch", "the course", "same")) -> str:
    """Rows of strings as a plain-text table."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# %% [markdown]
# ## Where the meaning differs: the error, and its fix at work

# %%
def suggested_fix(error: Exception) -> str:
    """The code an error message tells us to write (what follows its last "write ")."""
    return str(error).rsplit("write ", 1)[1]


def dropout_fix(seed: int) -> dict:
    """Dropout(p=0.2) raises; run its suggestion and measure the fraction of units it keeps."""
    try:
        nn.Dropout(p=0.2)
        raise AssertionError("Dropout(p=0.2) was accepted")
    except TypeError as exc:
        error, fix = str(exc), suggested_fix(exc)
    layer = eval(fix, {"Dropout": nn.Dropout})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.Dropout(0.2)  # positional: PyTorch's p, but here the first argument is keep_prob
    tc.manual_seed(seed)
    out = layer.train()(tc.Tensor(np.ones(100_000, dtype=np.float32))).numpy()
    return {"error": error, "fix": fix, "kept_fraction": float(np.mean(out != 0)),
            "kept_values": np.unique(out[out != 0]).tolist(),
            "positional_warning": str(caught[0].message) if caught else ""}


def heavy_ball(w0: np.ndarray, grad, lr: float, mu: float, steps: int) -> np.ndarray:
    """PyTorch's SGD(momentum=mu) written out: buf = mu * buf + g; w -= lr * buf; the path of w."""
    w, buf, path = w0.copy(), np.zeros_like(w0), [w0.copy()]
    for _ in range(steps):
        buf = mu * buf + grad(w)
        w = w - lr * buf
        path.append(w)
    return np.array(path)


def momentum_fix(steps: int = 40, lr: float = 0.02, mu: float = 0.9) -> dict:
    """SGD(momentum=mu) raises; its suggestion follows PyTorch's heavy ball on a quadratic."""
    A = np.array([[3.0, 0.5], [0.5, 1.0]])  # cost 1/2 w^T A w, gradient A w

    def course_path(make):
        w = tc.Tensor(np.array([2.0, -1.5]), requires_grad=True)
        optimizer, path = make([w]), [w.numpy().copy()]
        for _ in range(steps):
            optimizer.zero_grad()
            (0.5 * (w * (tc.Tensor(A) @ w)).sum()).backward()
            optimizer.step()
            path.append(w.numpy().copy())
        return np.array(path)

    try:
        optim.SGD([tc.Tensor(np.zeros(2), requires_grad=True)], lr=lr, momentum=mu)
        raise AssertionError("SGD(momentum=) was accepted")
    except TypeError as exc:
        error, fix = str(exc), suggested_fix(exc)
    fixed = course_path(lambda params: eval(fix, {"Momentum": optim.Momentum, "params": params}))
    same_lr = course_path(lambda params: optim.Momentum(params, lr=lr, beta=mu))
    torch_path = heavy_ball(np.array([2.0, -1.5]), lambda w: A @ w, lr, mu, steps)
    return {"error": error, "fix": fix, "torch_path": torch_path, "fixed_path": fixed,
            "same_lr_path": same_lr,
            "fixed_vs_torch": float(np.abs(fixed - torch_path).max()),
            "same_lr_vs_torch": float(np.abs(same_lr - torch_path).max())}


# %%
def run(out=None, seed: int = 0, quick: bool = False, epochs: int | None = None) -> dict:
    out = output_dir("15_from_pytorch", out)
    epochs = epochs or (10 if quick else 30)
    (X_train, y_train), (X_test, y_test) = tc.data.load_digits(split=(0.8, 0.2), seed=seed)

    torch_model, torch_costs = train_pytorch_way(X_train, y_train, epochs, seed)
    course_model, course_costs = train_course_way(X_train, y_train, epochs, seed)
    accuracy = {"PyTorch way": accuracy_pytorch_way(torch_model, X_test, y_test),
                "course way": accuracy_course_way(course_model, X_test, y_test)}
    rows = mappings(X_test, y_test)
    dropout, momentum = dropout_fix(seed), momentum_fix()

    plt = pyplot()
    fig, (ax_cost, ax_path) = plt.subplots(1, 2, figsize=(11, 4.5))
    ep = np.arange(1, epochs + 1)
    ax_cost.plot(ep, torch_costs, label=f"PyTorch way, test accuracy {accuracy['PyTorch way']:.1%}")
    ax_cost.plot(ep, course_costs, "--",
                 label=f"course way, test accuracy {accuracy['course way']:.1%}")
    ax_cost.set(xlabel="epoch", ylabel="training cost", yscale="log",
                title="The same MLP on the digits, written twice")
    ax_cost.legend()
    for key, style, label in (
            ("torch_path", dict(lw=5, alpha=0.35), "PyTorch SGD(lr, momentum=0.9)"),
            ("fixed_path", dict(marker="x", ms=3, lw=1), f"the suggested fix: {momentum['fix']}"),
            ("same_lr_path", dict(ls=":"), "Momentum(lr, beta=0.9): same lr, shorter steps")):
        path = momentum[key]
        ax_path.plot(path[:, 0], path[:, 1], label=label, **style)
    ax_path.set(xlabel="w1", ylabel="w2",
                title="Heavy ball vs the course's momentum, cost w^T A w / 2")
    ax_path.legend(fontsize=7)
    fig.tight_layout()
    save(fig, out / "from_pytorch.png")
    return {"accuracy": accuracy, "costs": {"PyTorch way": torch_costs, "course way": course_costs},
            "mappings": rows, "dropout": dropout, "momentum": momentum, "epochs": epochs,
            "plots": ["from_pytorch.png"], "out": str(out)}


# %%
def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None, help="epochs per version (default 30)")
    args = p.parse_args(argv)
    f = run(args.out, args.seed, args.quick, args.epochs)
    for name, acc in f["accuracy"].items():
        print(f"{name:<12} cost {f['costs'][name][0]:.3f} -> {f['costs'][name][-1]:.3f}, "
              f"test accuracy {acc:.3f}")
    print()
    print(table([(*row[:3], "yes" if row[3] else "NO") for row in f["mappings"]]))
    d, m = f["dropout"], f["momentum"]
    print(f"\nnn.Dropout(p=0.2) -> TypeError: {d['error']}")
    print(f"  the fix {d['fix']} keeps {d['kept_fraction']:.1%} of the units, scaled to "
          f"{d['kept_values'][0]:g} (PyTorch's p=0.2 drops 20%)")
    print(f"  and nn.Dropout(0.2) warns: {d['positional_warning']}")
    print(f"\noptim.SGD(params, lr=0.02, momentum=0.9) -> TypeError: {m['error']}")
    print(f"  the fix {m['fix']} follows PyTorch's heavy ball within {m['fixed_vs_torch']:.1e} "
          f"over {len(m['torch_path']) - 1} steps; Momentum at the same lr is off by "
          f"{m['same_lr_vs_torch']:.2f}")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
