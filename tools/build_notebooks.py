"""Make the course notebooks from examples/NN_*.py (jupytext's percent format, the one source of
truth) and execute them headless, failing on the first error cell.

    .venv/bin/python tools/build_notebooks.py [--no-execute] [--jobs 2] [--args "--quick"] [NAMES...]

Notebooks land in docs/notebooks/ (git-ignored; the docs site renders them with their outputs).
Each runs in a fresh kernel whose working directory is examples/ (so `from _common import ...`
works), with EXAMPLE_ARGS from --args (the examples' quick settings by default) and one BLAS
thread. Prints each notebook's time and the total.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
OUT = ROOT / "docs" / "notebooks"


def convert(script: Path):
    """The example as a notebook: its docstring the first markdown cell, titled."""
    import jupytext
    nb = jupytext.read(script, fmt="py:percent")
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is not None and not first.source.lstrip().startswith("#"):
        first.source = "# " + first.source.lstrip()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def execute(nb, name: str, args: str, timeout: int) -> None:
    """Run every cell in a fresh kernel in examples/; raise on the first error cell."""
    from nbclient import NotebookClient
    env = dict(os.environ, EXAMPLE_ARGS=args, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONPATH=str(EXAMPLES))
    for attempt in (1, 2):
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(EXAMPLES)}})
        try:
            client.execute(env=env)
            return
        except RuntimeError as e:
            # A kernel that dies before it answers (a loaded machine) is started once more; an
            # error in a cell (CellExecutionError, not a RuntimeError) fails at once.
            if attempt == 2 or "kernel_info" not in str(e):
                raise
            print(f"  {name}: the kernel did not start ({e}); starting another", flush=True)


def build(script: Path, run: bool, args: str, timeout: int) -> tuple[str, float]:
    import nbformat
    start = time.perf_counter()
    nb = convert(script)
    if run:
        execute(nb, script.stem, args, timeout)
    OUT.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, OUT / f"{script.stem}.ipynb")
    return script.stem, time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="examples to build (default: every examples/NN_*.py)")
    p.add_argument("--no-execute", action="store_true", help="convert only")
    p.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    p.add_argument("--args", default="--quick", help="the examples' command line (EXAMPLE_ARGS)")
    p.add_argument("--timeout", type=int, default=300, help="seconds a cell may take")
    a = p.parse_args(argv)
    scripts = sorted(EXAMPLES.glob("[0-9]*.py"))
    if a.names:
        scripts = [s for s in scripts if any(s.stem.startswith(n) for n in a.names)]
    if not scripts:
        print("build_notebooks: no example matched", file=sys.stderr)
        return 2
    for stale in OUT.glob("*.ipynb"):
        if not a.names:
            stale.unlink()
    start = time.perf_counter()
    failed = []
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        futures = {pool.submit(build, s, not a.no_execute, a.args, a.timeout): s for s in scripts}
        for fut, script in futures.items():
            try:
                name, seconds = fut.result()
                print(f"  {name}: {seconds:5.1f} s", flush=True)
            except Exception as e:  # noqa: BLE001 (report every failing notebook, then fail)
                failed.append(script.stem)
                print(f"  {script.stem}: FAILED\n{e}", file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    print(f"{len(scripts) - len(failed)} notebooks built"
          + ("" if a.no_execute else " and executed") + f" in {total:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
