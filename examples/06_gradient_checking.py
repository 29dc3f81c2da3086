# %% [markdown]
"""Gradient checking: backprop vs the numerical gradient, parameter by parameter.

For every parameter theta_i: gradapprox_i = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps),
then difference = ||grad - gradapprox|| / (||grad|| + ||gradapprox||): below 1e-7 backprop is
right, above 1e-3 it is almost certainly a bug. Here the middle layer of a 4 -> 5 -> 3 -> 1
network is a hand-written `tc.Function` (forward and backward of Z = X W^T + b). Written right,
the model passes; with the course's planted bug (dW twice too large), the report names exactly
that layer's weight. Gradient checking does not work with dropout on: the check refuses it.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, pyplot, save
from tinygrad_course import nn


# %%
class LinearFunction(tc.Function):
    """Z = X W^T + b; dX = dZ W, dW = dZ^T X, db = sum of dZ over the examples."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w.T + b

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, g.T @ x, g.sum(axis=0)


# %%
class BuggyLinearFunction(LinearFunction):
    """The same op with the course's planted bug: dW = 2 dZ^T X (a stray factor 2)."""

    @staticmethod
    def backward(ctx, g):
        dx, dw, db = LinearFunction.backward(ctx, g)
        return dx, 2 * dw, db


# %%
class CustomLinear(nn.Linear):
    """nn.Linear whose forward and backward are a hand-written Function."""

    def __init__(self, in_features: int, out_features: int, function: type[tc.Function]):
        super().__init__(in_features, out_features)
        self.function = function

    def forward(self, x):
        return self.function.apply(x, self.weight, self.bias)


# %%
def network(function: type[tc.Function], keep_prob: float = 1.0) -> nn.Sequential:
    """4 -> 5 -> 3 -> 1 with ReLUs; layer2 runs `function`; dropout after it at keep_prob < 1.

    The biases are random, as the course's check gets them. With b = 0, an example whose layer1
    ReLUs are all off gives layer2 exactly Z = 0: on relu2's kink, where J(b + eps) and
    J(b - eps) fall on different sides and the numerical gradient is wrong, not backprop.
    """
    model = nn.Sequential({"layer1": nn.Linear(4, 5), "relu1": nn.ReLU(),
                           "layer2": CustomLinear(5, 3, function), "relu2": nn.ReLU(),
                           "dropout": nn.Dropout(keep_prob), "layer3": nn.Linear(3, 1)})
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.bias, 0.5)
    return model


# %%
def run(out=None, seed: int = 0, quick: bool = False, m: int = 32) -> dict:
    out = output_dir("06_gradient_checking", out)
    tc.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 4))
    y = (rng.random((m, 1)) < 0.5).astype(np.float64)
    loss = nn.F.binary_cross_entropy_with_logits

    reports = {}
    for name, function in (("correct", LinearFunction), ("planted bug", BuggyLinearFunction)):
        tc.manual_seed(seed)  # the same weights for both models
        reports[name] = nn.check_gradients(network(function), loss, X, y)

    with_dropout = network(LinearFunction, keep_prob=0.86)
    try:
        nn.check_gradients(with_dropout, loss, X, y)
        dropout_message = None
    except RuntimeError as err:
        dropout_message = str(err)
    with_dropout.eval()  # dropout off: now the check is meaningful
    dropout_off = nn.check_gradients(with_dropout, loss, X, y)

    findings: dict = {"reports": {k: str(r) for k, r in reports.items()},
                      "dropout_refused": dropout_message,
                      "dropout_off_passed": dropout_off.passed}
    for name, r in reports.items():
        findings[name] = {"passed": r.passed, "difference": r.difference,
                          "suspects": [p.name for p in r.suspects],
                          "parameters": {p.name: p.difference for p in r.parameters}}

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    names = [p.name for p in reports["correct"].parameters]
    x = np.arange(len(names))
    for shift, (label, r) in zip((-0.2, 0.2), reports.items()):
        # A difference of exactly 0 has no place on a log scale: draw it at the axis floor.
        diffs = np.maximum([p.difference for p in r.parameters], 1e-12)
        ax.bar(x + shift, diffs, 0.4, label=f"{label} (overall {r.difference:.1e})")
    ax.axhline(reports["correct"].threshold, color="k", ls="--", lw=1, label="threshold 1e-7")
    ax.set_yscale("log")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set(ylim=(1e-12, 10), ylabel="||grad - gradapprox|| / (||grad|| + ||gradapprox||)",
           title="Gradient check per parameter: the bug shows up in layer2.weight only")
    ax.legend(fontsize=8, loc="upper left")
    save(fig, out / "gradcheck_differences.png")
    findings["plots"] = ["gradcheck_differences.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    for name, text in f["reports"].items():
        print(f"--- {name} backward ---\n{text}\n")
    print(f"the correct model {'passes' if f['correct']['passed'] else 'FAILS'}; the planted bug "
          f"is found in {', '.join(f['planted bug']['suspects']) or 'no parameter'}")
    print(f"with dropout on, the check refuses: {f['dropout_refused']}")
    print(f"with dropout off (eval mode) it {'passes' if f['dropout_off_passed'] else 'FAILS'}")
    print(f"plots in {f['out']}")


# %%
if __name__ == "__main__":
    main()
