# %% [markdown]
"""Vanishing and exploding gradients in a deep network, per layer, at initialization.

A 12-layer fully connected network (11 hidden layers of 32 units) on the moons data, one forward
and backward pass, three ways:
- sigmoid with Xavier init: each layer multiplies the gradient by sigmoid' <= 1/4 on the way
  back, so the first layer's gradient is many orders of magnitude smaller than the last's
  (vanishing: the early layers barely learn);
- ReLU with He init (Var W = 2 / n[l-1]): each layer keeps the signal's size, so the first and
  last layers' gradients are comparable;
- ReLU with W = randn (std 1, four times He's 0.25 here): each layer multiplies activations and
  gradients by about 4, so everything is astronomically large (exploding).
The per-layer norms are plotted on a log scale and the gradient flow is drawn as a graph whose
layers are coloured by log10 of their gradient's norm.
"""
# %%
from __future__ import annotations

import numpy as np

import tinygrad_course as tc
from _common import output_dir, parser, pyplot, save, save_graph
from tinygrad_course import nn

# key -> (label, activation, Linear's init, scale of init="random")
SETUPS = {
    "sigmoid_xavier": ("sigmoid, Xavier init", nn.Sigmoid, "xavier", 0.0),
    "relu_he": ("ReLU, He init", nn.ReLU, "he", 0.0),
    "relu_randn": ("ReLU, W = randn (std 1)", nn.ReLU, "random", 1.0),
}


# %%
def deep_net(depth: int, width: int, activation: type[nn.Module], init: str,
             scale: float) -> nn.Sequential:
    """2 -> width -> ... -> width -> 1: `depth` Linear layers named layer1..layerN."""
    layers, n_in = {}, 2
    for i in range(1, depth):
        layers[f"layer{i}"] = nn.Linear(n_in, width, init=init, scale=scale)
        layers[f"act{i}"] = activation()
        n_in = width
    layers[f"layer{depth}"] = nn.Linear(n_in, 1, init=init, scale=scale)
    return nn.Sequential(layers)


# %%
def run(out=None, seed: int = 0, quick: bool = False, depth: int = 12, width: int = 32) -> dict:
    out = output_dir("05_vanishing_exploding", out)
    X, y = tc.data.make_moons(128 if quick else 512, noise=0.2, seed=seed)
    Xt, yt = tc.Tensor(X), tc.Tensor(y.reshape(-1, 1).astype(np.float32))

    findings: dict = {"depth": depth, "width": width, "setups": {}, "graphs": []}
    norms = {}
    for key, (label, activation, init, scale) in SETUPS.items():
        tc.manual_seed(seed)
        model = deep_net(depth, width, activation, init, scale)
        loss = nn.F.binary_cross_entropy_with_logits(model(Xt), yt)
        loss.backward()
        norms[label] = tc.viz.gradient_norms(model, per="layer")
        first, last = norms[label]["layer1"], norms[label][f"layer{depth}"]
        findings["setups"][key] = {"label": label, "loss": loss.item(), "norms": dict(norms[label]),
                                   "first": first, "last": last, "first_over_last": first / last}
        # Top to bottom, so a notebook shows the 12 layers at a readable size.
        graph = tc.viz.draw_graph(loss, model=model, grad_flow=True, depth=0, rankdir="TB")
        findings["graphs"] += save_graph(graph, out / f"grad_flow_{key}")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    tc.viz.plot_gradient_norms(norms, ax=ax, title=f"Gradient norm per layer at initialization "
                                                   f"({depth} layers, input side on the left)")
    ax.set_ylabel("||dW, db|| of the layer (log scale)")
    save(fig, out / "gradient_norms.png")
    findings["plots"] = ["gradient_norms.png"]
    findings["out"] = str(out)
    return findings


# %%
def main(argv=None) -> None:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    f = run(args.out, args.seed, args.quick)
    print(f"{f['depth']} layers of width {f['width']}, gradient norms at initialization:")
    for r in f["setups"].values():
        print(f"{r['label']:>24}: layer1 {r['first']:.2e}, layer{f['depth']} {r['last']:.2e}, "
              f"first / last = {r['first_over_last']:.1e}, cost {r['loss']:.3g}")
    s = f["setups"]
    vanished = 1 / s["sigmoid_xavier"]["first_over_last"]
    exploded = s["relu_randn"]["first"] / s["relu_he"]["first"]
    print(f"sigmoid: the first layer's gradient is {vanished:.0e} times smaller than the last's "
          f"(vanishing); ReLU + He: comparable; W = randn: every layer's gradient is "
          f"{exploded:.0e} times He's (exploding)")
    print(f"plots and graphs in {f['out']}: {', '.join(f['plots'] + f['graphs'])}")


# %%
if __name__ == "__main__":
    main()
