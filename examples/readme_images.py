"""The README's pictures: a small model's computation graph, and gradient flow through a deep
sigmoid network (vanishing) next to the same depth with ReLU + He (healthy).

    python examples/readme_images.py [--out docs/images]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn
from tinygrad_course.data import make_moons
from tinygrad_course.viz import draw_graph, render

from _common import parser


def small_model_graph(out: Path) -> Path:
    """A 2 -> 4 -> 1 classifier with BatchNorm, one forward, drawn by module (before backward,
    which lets go of the arrays, the running averages' names with them)."""
    tc.manual_seed(0)
    X, y = make_moons(n_samples=8, seed=0)
    model = nn.Sequential(nn.Linear(2, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))
    loss = nn.F.binary_cross_entropy_with_logits(model(tc.tensor(X)), tc.tensor(y[:, None].astype(np.float32)))
    return render(draw_graph(loss, model=model, rankdir="LR"), out / "model_graph.png")


def deep_net(activation: str, depth: int = 6, width: int = 16) -> nn.Sequential:
    act, init = (nn.Sigmoid, "xavier") if activation == "sigmoid" else (nn.ReLU, "he")
    layers = [nn.Linear(2, width, init=init), act()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width, init=init), act()]
    layers.append(nn.Linear(width, 1, init=init))
    return nn.Sequential(*layers)


def gradient_flow(out: Path, activation: str) -> Path:
    """Parameters coloured by log10 of their gradient's norm after one backward pass."""
    tc.manual_seed(0)
    X, y = make_moons(n_samples=64, seed=0)
    model = deep_net(activation)
    loss = nn.F.binary_cross_entropy_with_logits(model(tc.tensor(X)), tc.tensor(y[:, None].astype(np.float32)))
    loss.backward()
    graph = draw_graph(loss, model=model, grad_flow=True, depth=0, rankdir="LR")
    return render(graph, out / f"gradient_flow_{activation}.png")


def gradient_norm_plot(out: Path) -> Path:
    """Per-layer gradient norms (log scale) of a 12-layer net: sigmoid vanishes, ReLU + He does not."""
    from _common import pyplot
    from tinygrad_course.viz import gradient_norms

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    X, y = make_moons(n_samples=64, seed=0)
    for activation in ("sigmoid", "relu"):
        tc.manual_seed(0)
        model = deep_net(activation, depth=12)
        loss = nn.F.binary_cross_entropy_with_logits(model(tc.tensor(X)), tc.tensor(y[:, None].astype(np.float32)))
        loss.backward()
        norms = gradient_norms(model, per="layer")
        label = "sigmoid, Xavier init" if activation == "sigmoid" else "ReLU, He init"
        ax.semilogy(range(1, len(norms) + 1), list(norms.values()), marker="o", label=label)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("||dJ/dW|| of the layer")
    ax.set_title("Gradient norms by layer after one backward pass")
    ax.legend()
    fig.tight_layout()
    path = out / "gradient_norms.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None) -> None:
    p = parser(__doc__)
    p.set_defaults(out=str(Path(__file__).resolve().parent.parent / "docs" / "images"))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in (small_model_graph(out), gradient_flow(out, "sigmoid"), gradient_norm_plot(out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
