"""What every example shares: its command line, its output folder, and matplotlib set up to
write files (no screen needed); in a notebook, figures also show inline.

The examples are also Jupyter notebooks (jupytext's percent format: `# %%` starts a cell).
In a notebook the command line is `EXAMPLE_ARGS` from the environment (e.g. "--quick"), since
the kernel's own argv is not the example's."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path


def in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (an IPython kernel, not a terminal)."""
    ip = sys.modules.get("IPython")
    shell = ip.get_ipython() if ip is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class _Parser(argparse.ArgumentParser):
    def parse_args(self, args=None, namespace=None):
        if args is None and in_notebook():
            args = shlex.split(os.environ.get("EXAMPLE_ARGS", ""))
        return super().parse_args(args, namespace)


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments every example takes: --out (folder for plots), --seed, --quick."""
    p = _Parser(description=description)
    p.add_argument("--out", default=None, help="folder for plots (default: examples/out/<example>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="small settings, for tests and a first look")
    return p


def output_dir(example: str, out: str | os.PathLike | None = None) -> Path:
    """The folder an example writes to: `out`, or examples/out/<example> (its name, as
    "02_initialization": a notebook has no __file__); created."""
    path = Path(out) if out is not None else Path(__file__).resolve().parent / "out" / Path(example).stem
    path.mkdir(parents=True, exist_ok=True)
    return path


def pyplot():
    """matplotlib.pyplot with a file-only backend, or a clear message when the extra is missing."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("this example plots with matplotlib: pip install 'tinygrad-course[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path: str | os.PathLike, dpi: int = 100) -> None:
    """Write `fig` to `path` as PNG, show it inline when in a notebook, and close it."""
    fig.savefig(path, dpi=dpi)
    if in_notebook():
        from IPython.display import Image, display
        display(Image(filename=str(path)))
    import matplotlib.pyplot as plt
    plt.close(fig)


def show_graph(graph) -> None:
    """Show a graphviz graph inline when in a notebook (SVG drawn by `dot`, or its DOT text)."""
    if in_notebook():
        from IPython.display import display
        display(graph)


def save_graph(graph, stem: str | os.PathLike) -> list[str]:
    """Write `graph` as stem.svg and stem.png drawn by graphviz's `dot` (without `dot`: the DOT
    source, stem.dot), show it inline when in a notebook, and return the file names written."""
    import tinygrad_course as tc
    stem = Path(stem)
    show_graph(graph)
    try:
        return [tc.viz.render(graph, stem.with_suffix(f".{fmt}")).name for fmt in ("svg", "png")]
    except tc.viz.GraphvizNotFoundError:
        return [stem.with_suffix(".dot").name]


def probabilities(model):
    """grid -> P(y = 1) from a binary classifier's logit, computed without a graph: the
    `predict` that tc.viz.plot_decision_boundary takes (put the model in eval() first)."""
    import tinygrad_course as tc

    def predict(grid):
        with tc.no_grad():
            return model(tc.Tensor(grid)).sigmoid().numpy()
    return predict
