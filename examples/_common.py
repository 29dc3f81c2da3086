"""What every example shares: its command line, its output folder, and matplotlib set up to
write files (no screen needed)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments every example takes: --out (folder for plots), --seed, --quick."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", default=None, help="folder for plots (default: examples/out/<example>)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="small settings, for tests and a first look")
    return p


def output_dir(example_file: str, out: str | os.PathLike | None = None) -> Path:
    """The folder an example writes to: `out`, or examples/out/<example name>; created."""
    path = Path(out) if out is not None else Path(example_file).resolve().parent / "out" / Path(example_file).stem
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


def probabilities(model):
    """grid -> P(y = 1) from a binary classifier's logit, computed without a graph: the
    `predict` that tc.viz.plot_decision_boundary takes (put the model in eval() first)."""
    import tinygrad_course as tc

    def predict(grid):
        with tc.no_grad():
            return model(tc.Tensor(grid)).sigmoid().numpy()
    return predict
