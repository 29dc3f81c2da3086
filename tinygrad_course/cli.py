"""The command line: `tinygrad-course demo | gradcheck | graph | tune` (or `python -m tinygrad_course`).

`demo` trains a small network on a built-in 2-D dataset, prints train/dev accuracy and the
bias/variance diagnosis, and writes the learning curve, the decision boundary, the confusion
matrix and the computation graph into an output folder.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

import tinygrad_course as tc
from tinygrad_course import nn, optim, tuning
from tinygrad_course.autograd import Function
from tinygrad_course.data import DATASETS, Normalizer, load_dataset, train_dev_test_split
from tinygrad_course.diagnostics import diagnose_model
from tinygrad_course.training import History, fit
from tinygrad_course.viz import GraphvizNotFoundError, draw_graph, render

PROG = "tinygrad-course"
OUTPUT_ROOT = Path("tinygrad_course_output")
GRAPH_FORMATS = ("svg", "png", "pdf", "dot")
INCOMPLETE = "INCOMPLETE"
PLOT_HINT = "pip install 'tinygrad-course[plot]'"
DOT_HINT = "install graphviz for the picture: apt-get install graphviz, or brew install graphviz"

DESCRIPTION = textwrap.fill("The course 'Improving Deep Neural Networks' on tinygrad_course: "
                            "train a network on a built-in dataset and see what it learned, check "
                            "its gradients, draw its computation graph, search its hyperparameters.")
EXAMPLES = [
    ("demo", "planar flower, 300 epochs: accuracy, diagnosis, plots, graph"),
    ("demo --dataset spirals --epochs 500 --out my_run", ""),
    ("gradcheck", "backprop vs numerical gradients on a small model"),
    ("gradcheck --plant-bug", "a wrong backward: the report points at it"),
    ("graph --format png", "the computation graph of one training step"),
    ("tune --trials 8 --rounds 2", "random search for lr, beta1 and the hidden size"),
]


def _epilog(prog: str) -> str:
    lines = ["examples:"]
    for args, what in EXAMPLES:
        lines.append(f"  {prog} {args}" + (f"\n      {what}" if what else ""))
    lines += ["", f"datasets: {', '.join(DATASETS)}",
              f"outputs go to ./{OUTPUT_ROOT}/<command> unless --out says otherwise"]
    return "\n".join(lines)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28)


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: `prog: error: what (see prog --help)`."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _bounded(kind: type, low: float, strict: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number of `kind` that is >= low (> low if strict)."""
    words = f"{'>' if strict else '>='} {low:g}"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}"
                                             f", got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    return parse


def _fraction(text: str) -> float:
    value = _bounded(float, 0.0)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"is an error rate in [0, 1], got {text}")
    return value


# ---- the data and the model every subcommand shares --------------------------------------------
@dataclass
class Problem:
    """A built-in dataset ready to train on: stratified train/dev/test splits of the inputs
    normalized with the training set's statistics, targets shaped for the loss."""

    name: str
    n_classes: int
    raw_train: tuple
    train: tuple
    dev: tuple
    test: tuple
    normalizer: Normalizer

    @property
    def sizes(self) -> str:
        return f"{len(self.train[0])} train / {len(self.dev[0])} dev / {len(self.test[0])} test"


def load_problem(name: str, seed: int, samples: int | None = None) -> Problem:
    """Dataset `name` (seeded), split 60/20/20 keeping the class balance, inputs normalized."""
    kw = {"seed": seed} if samples is None else {"seed": seed, "n_samples": samples}
    X, labels = load_dataset(name, **kw)
    n_classes = int(labels.max()) + 1
    train, dev, test = train_dev_test_split(X, labels, dev=0.2, test=0.2, seed=seed, stratify=True)
    normalizer = Normalizer().fit(train[0])

    def ready(split: tuple) -> tuple:
        Xs, ys = split
        # Two classes: one logit per example and float 0/1 targets of shape (m, 1);
        # more: one logit per class and integer labels, for softmax cross-entropy.
        return normalizer.transform(Xs), (ys.reshape(-1, 1).astype(np.float32) if n_classes == 2 else ys)

    return Problem(name, n_classes, train, ready(train), ready(dev), ready(test), normalizer)


class _DoubledGradient(Function):
    """y = x, dy/dx reported as 2: the planted backward bug of `gradcheck --plant-bug`."""

    name = "planted_bug"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return 2 * g


class BuggyLinear(nn.Linear):
    """A Linear layer whose backward doubles dW (the course's gradient-checking exercise plants
    bugs like this one); gradient checking finds it."""

    def forward(self, x):
        return tc.linear(x, _DoubledGradient.apply(self.weight), self.bias)


def build_model(n_classes: int, hidden: int = 16, n_features: int = 2,
                plant_bug: bool = False) -> nn.Sequential:
    """n_features -> hidden -> hidden -> logits (1 for two classes, else one per class), ReLU,
    He initialization. With plant_bug the middle layer's backward is wrong."""
    middle = (BuggyLinear if plant_bug else nn.Linear)(hidden, hidden)
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), middle, nn.ReLU(),
                         nn.Linear(hidden, 1 if n_classes == 2 else n_classes))


def loss_for(n_classes: int) -> Callable:
    """Logistic loss on one logit for two classes, softmax cross-entropy for more."""
    return nn.F.binary_cross_entropy_with_logits if n_classes == 2 else nn.F.cross_entropy


def accuracy(logits, target) -> float:
    """The fraction of examples whose class (argmax, or logit > 0 for one column) is right."""
    return nn.F.accuracy(logits, target, threshold=0.0)


def train(problem: Problem, model: nn.Module, epochs: int, lr: float, batch_size: int, seed: int,
          beta1: float = 0.9, progress: bool | None = False) -> History:
    """Adam on mini-batches, dev cost and accuracy recorded after every epoch."""
    opt = optim.Adam(model.parameters(), lr=lr, beta1=beta1)
    return fit(model, loss_for(problem.n_classes), opt, problem.train, epochs, dev=problem.dev,
               metrics={"accuracy": accuracy}, progress=progress, batch_size=batch_size, seed=seed)


def _predict(model: nn.Module, X: np.ndarray) -> np.ndarray:
    with tc.no_grad():
        return model(tc.Tensor(X)).numpy()


def _class_of(scores: np.ndarray) -> np.ndarray:
    return scores.argmax(axis=1) if scores.shape[1] > 1 else (scores[:, 0] > 0).astype(np.int64)


def write_graph(graph, path: Path) -> tuple[Path, str | None]:
    """`graph` drawn by `dot` at `path`, or its DOT source next to it and a one-line note."""
    if path.suffix == ".dot":
        path.write_text(graph.source, encoding="utf-8")
        return path, None
    try:
        return render(graph, path), None
    except GraphvizNotFoundError:
        note = f"graphviz's `dot` was not found, so the graph is DOT source; {DOT_HINT}"
        return path.with_suffix(".dot"), note


def step_graph(problem: Problem, model: nn.Module, batch: int = 4):
    """The graph of one training step's cost on `batch` examples, coloured by gradient norm."""
    X, y = (a[:batch] for a in problem.train)
    cost = loss_for(problem.n_classes)(model(tc.Tensor(X)), tc.Tensor(y))
    model.zero_grad()
    cost.backward()
    graph = draw_graph(cost, model=model, grad_flow=True)
    model.zero_grad()
    return graph


def _output_path(out: str | None, command: str) -> Path:
    return Path(out) if out is not None else OUTPUT_ROOT / command


def _output_dir(out: str | None, command: str) -> Path:
    path = _output_path(out, command)
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {str(path)!r} is a file; give a folder (it is created if needed)")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _staged(out: Path):
    """A temporary folder inside `out` to write into. On success its files move into `out`, each
    with os.replace (atomic), an INCOMPLETE file marking `out` while they move; on an error or
    Ctrl-C before that, the temporary folder goes and `out` keeps the previous run's files."""
    stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        yield stage
        marker = out / INCOMPLETE
        marker.write_text("A run was interrupted while moving its files here: they may be mixed "
                          "with an earlier run's. Run it again to replace them.\n", encoding="utf-8")
        for path in sorted(stage.iterdir()):
            os.replace(path, out / path.name)
        marker.unlink()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


# ---- demo -------------------------------------------------------------------------------------
def _plots(problem: Problem, model: nn.Module, history: History, out: Path) -> list[tuple[str, str]]:
    """The learning curve, decision boundary and confusion matrix as PNGs (needs matplotlib)."""
    from matplotlib.figure import Figure  # ImportError: the caller says how to get it

    fig = Figure(figsize=(10, 4), layout="constrained")
    cost_ax, acc_ax = fig.subplots(1, 2)
    tc.viz.plot_costs({"train": history.train["cost"], "dev": history.dev["cost"]}, ax=cost_ax,
                      xlabel="epoch", title="cost after each epoch")
    tc.viz.plot_costs({"train": history.train["accuracy"], "dev": history.dev["accuracy"]},
                      ax=acc_ax, xlabel="epoch", ylabel="accuracy", title="accuracy after each epoch")
    fig.suptitle(f"Learning curve: {problem.name}")
    fig.savefig(out / "learning_curve.png", dpi=100)

    X_raw, labels = problem.raw_train
    tc.viz.plot_decision_boundary(
        lambda grid: _class_of(_predict(model, problem.normalizer.transform(grid))), X_raw, labels,
        margin=0.5, title=f"Decision boundary on the training set ({problem.name})",
        path=out / "decision_boundary.png")

    counts = nn.F.confusion_matrix(_predict(model, problem.dev[0]), problem.dev[1], threshold=0.0)
    tc.viz.plot_confusion_matrix(counts, title="Confusion matrix on the dev set",
                                 path=out / "confusion_matrix.png")
    return [("learning_curve.png", "cost and accuracy per epoch, train and dev"),
            ("decision_boundary.png", "the classes the model assigns over the plane"),
            ("confusion_matrix.png", "dev examples by true (rows) and predicted (columns) class")]


def demo(args) -> int:
    """Train, report accuracy and diagnosis, write the plots, graph and weights."""
    tc.manual_seed(args.seed)
    problem = load_problem(args.dataset, args.seed, args.samples)
    model = build_model(problem.n_classes, args.hidden)
    out = _output_dir(args.out, "demo")
    n_out = 1 if problem.n_classes == 2 else problem.n_classes
    print(f"{problem.name}: {problem.n_classes} classes, {problem.sizes}; network 2 -> {args.hidden}"
          f" -> {args.hidden} -> {n_out}; Adam lr={args.lr:g}, {args.epochs} epochs of mini-batches "
          f"of {args.batch_size}")
    history = train(problem, model, args.epochs, args.lr, args.batch_size, args.seed,
                    progress=None if args.progress else False)
    model.eval()
    test_acc = accuracy(_predict(model, problem.test[0]), problem.test[1])
    print(f"train accuracy {history.train['accuracy'][-1]:.3f}   dev accuracy "
          f"{history.dev['accuracy'][-1]:.3f}   (test accuracy {test_acc:.3f}, held out)")
    diagnosis = diagnose_model(model, problem.train, problem.dev, bayes_error=args.bayes_error)
    print(f"diagnosis: {diagnosis}")

    written: list[tuple[str, str]] = []
    notes: list[str] = []
    with _staged(out) as stage:
        try:
            written += _plots(problem, model, history, stage)
        except ImportError:
            notes.append(f"no PNG plots: matplotlib is not installed ({PLOT_HINT})")
        path, note = write_graph(step_graph(problem, model), stage / "graph.svg")
        written.append((path.name, "the computation graph of one training step, coloured by gradient"))
        notes += [note] if note else []
        tc.save({"model": model.state_dict(), "normalizer": problem.normalizer.state_dict()},
                stage / "model.npz")
    written.append(("model.npz", "the trained weights and the input normalization (tc.load)"))
    print(f"wrote to {out}:")
    for name, what in written:
        print(f"  {name:<22} {what}")
    for note in notes:
        print(f"note: {note}")
    return 0


# ---- gradcheck, graph, tune -------------------------------------------------------------------
def gradcheck(args) -> int:
    """The course's gradient check of a small built-in model; exit status 1 when it fails."""
    tc.manual_seed(args.seed)
    problem = load_problem(args.dataset, args.seed)
    model = build_model(problem.n_classes, args.hidden, plant_bug=args.plant_bug)
    X, y = (a[:args.examples] for a in problem.train)
    report = nn.check_gradients(model, loss_for(problem.n_classes), X, y, eps=args.eps,
                                lambd=args.lambd)
    print(report)
    if args.plant_bug:
        print("(the bug was planted in '2.weight': its backward reports twice the true gradient)")
    return 0 if report.passed else 1


def graph(args) -> int:
    """Write the graph of one training step of a fresh model."""
    tc.manual_seed(args.seed)
    problem = load_problem(args.dataset, args.seed)
    model = build_model(problem.n_classes, args.hidden)
    out = _output_dir(args.out, "graph")
    path, note = write_graph(step_graph(problem, model), out / f"graph.{args.format}")
    print(f"wrote {path}: the computation graph of one training step of a {problem.name} "
          f"classifier, ops grouped by layer, tensors coloured by gradient norm")
    if note:
        print(f"note: {note}")
    return 0


def tune(args) -> int:
    """Coarse-to-fine random search over lr, beta1 and the hidden size; print the table."""
    problem = load_problem(args.dataset, args.seed)
    out = _output_dir(args.out, "tune")
    log = out / "trials.jsonl"
    if log.exists() and not args.resume:
        if not args.force:
            raise ValueError(f"{log} holds an earlier search's trials: --resume continues it, "
                             "--force deletes it and starts afresh")
        log.unlink()

    def trial(params: dict, seed: int) -> dict:
        tc.manual_seed(seed)
        model = build_model(problem.n_classes, params["hidden"])
        history = train(problem, model, args.epochs, params["lr"], args.batch_size, seed,
                        beta1=params["beta1"])
        return {"dev_accuracy": history.dev["accuracy"][-1],
                "train_accuracy": history.train["accuracy"][-1]}

    space = {"lr": tuning.log_uniform(1e-4, 1e-1), "beta1": tuning.one_minus_log_uniform(0.5, 0.999),
             "hidden": tuning.int_uniform(2, 32)}
    print(f"random search on {problem.name} ({problem.sizes}), {args.rounds} round(s) of "
          f"{args.trials} trials, {args.epochs} epochs each: lr on a log scale, beta1 on a log "
          "scale of 1 - beta1, hidden units uniform")
    print(dev_resolution(len(problem.dev[1])))
    settings = {f"--{name}": getattr(args, name.replace("-", "_"))
                for name in ("dataset", "seed", "epochs", "batch-size", "trials")}
    results = tuning.coarse_to_fine(trial, space, n_trials=args.trials, rounds=args.rounds,
                                    seed=args.seed, log=log, settings=settings)
    print(results.table(top=10))
    best = results.best
    print(f"best: trial {best.index}, dev accuracy {best.metrics['dev_accuracy']:.3f} with "
          + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in best.params.items()))
    for i, space_i in enumerate(results.spaces):
        print(f"round {i + 1} sampled " + ", ".join(f"{k} {v}" for k, v in space_i.items()))
    print(f"wrote {log} (every trial, one JSON line each; --resume continues an interrupted search)")
    try:
        tc.viz.plot_search(results, space, path=out / "search.png")
        print(f"wrote {out / 'search.png'} (dev accuracy against each hyperparameter, on the "
              "scale it is sampled on)")
    except ImportError:
        print("no plot of the search: it needs matplotlib (pip install 'tinygrad-course[plot]')")
    return 0


def dev_resolution(m: int) -> str:
    """How finely a dev set of `m` examples measures accuracy: one example is 100/m percent, so
    trials closer than that are not told apart."""
    return f"dev set: {m} examples, one example = {100 / m:.2g}% of dev accuracy"


# ---- the parser -------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, hidden: int | None) -> None:
    p.add_argument("--dataset", choices=list(DATASETS), default="planar_flower", metavar="NAME",
                   help=f"built-in 2-D dataset: {', '.join(DATASETS)} (default: %(default)s, the "
                   "course's flower)")
    p.add_argument("--seed", type=_bounded(int, 0), default=0, metavar="N",
                   help="seeds the data, the split, the initialization and the shuffling (default: 0)")
    if hidden is not None:
        p.add_argument("--hidden", type=_bounded(int, 1), default=hidden, metavar="N",
                       help="units in each of the two hidden layers (default: %(default)s)")


def _training(p: argparse.ArgumentParser, epochs: int) -> None:
    p.add_argument("--epochs", type=_bounded(int, 1), default=epochs, metavar="N",
                   help="passes over the training set (default: %(default)s)")
    p.add_argument("--batch-size", type=_bounded(int, 1), default=64, metavar="N",
                   help="mini-batch size (default: %(default)s)")


def _out(p: argparse.ArgumentParser, command: str) -> None:
    p.add_argument("--out", metavar="DIR", default=None,
                   help=f"output folder (default: ./{OUTPUT_ROOT / command})")


def make_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description=DESCRIPTION, epilog=_epilog(prog),
                     formatter_class=_formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {tc.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=textwrap.fill(description),
                              formatter_class=_formatter)

    p = command("demo", "train a network on a built-in dataset and write what it learned",
                "Train a 2-hidden-layer network with Adam on a built-in 2-D "
                "dataset; print train/dev accuracy and the bias/variance diagnosis; write "
                "the learning curve, decision boundary, confusion matrix, computation graph "
                "and weights into the output folder.")
    _common(p, hidden=16)
    _training(p, epochs=300)
    p.add_argument("--lr", type=_bounded(float, 0.0, strict=True), default=0.01,
                   help="Adam's learning rate (default: %(default)s)")
    p.add_argument("--samples", type=_bounded(int, 20), default=None, metavar="N",
                   help="examples to generate (default: the dataset's own)")
    p.add_argument("--bayes-error", type=_fraction, default=0.0, metavar="E",
                   help="the best achievable error (human level) for the diagnosis (default: 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar (it shows only with tqdm installed and a terminal)")
    _out(p, "demo")

    p = command("gradcheck", "check backprop against numerical gradients",
                "The course's gradient check on a small built-in model in "
                "float64: the overall difference ||grad - gradapprox|| / (||grad|| + "
                "||gradapprox||) and one per parameter. Exit status 1 if it fails.")
    _common(p, hidden=5)
    p.add_argument("--examples", type=_bounded(int, 1), default=16, metavar="N",
                   help="training examples in the cost (default: %(default)s)")
    p.add_argument("--lambd", type=_bounded(float, 0.0), default=0.0,
                   help="add the course's L2 term lambd / (2m) sum ||W||^2 (default: 0)")
    p.add_argument("--eps", type=_bounded(float, 0.0, strict=True), default=1e-7,
                   help="the step of the centered differences (default: %(default)g)")
    p.add_argument("--plant-bug", action="store_true",
                   help="use a layer whose backward doubles dW, to see the check catch it")

    p = command("graph", "write the computation graph of one training step",
                "Draw the graph of one training step's cost (ops grouped by "
                "layer, tensors coloured by gradient norm) with graphviz's `dot`; without "
                "`dot` (or with --format dot) the DOT source is written.")
    _common(p, hidden=4)
    p.add_argument("--format", choices=GRAPH_FORMATS, default="svg",
                   help="file format: %(choices)s (default: %(default)s)")
    _out(p, "graph")

    p = command("tune", "a short random search for the learning rate, beta1, hidden units",
                "Random search, coarse to fine: lr sampled on a log scale, "
                "Adam's beta1 on a log scale of 1 - beta1, each round zoomed on the best "
                "trials. Prints the results table; logs every trial to trials.jsonl.")
    _common(p, hidden=None)
    _training(p, epochs=40)
    p.add_argument("--trials", type=_bounded(int, 1), default=8, metavar="N",
                   help="trials per round (default: %(default)s)")
    p.add_argument("--rounds", type=_bounded(int, 1), default=2, metavar="N",
                   help="rounds, each zoomed on the best trials so far (default: %(default)s)")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="keep the trials already in the folder's log (same settings) and run "
                       "the rest")
    again.add_argument("--force", action="store_true",
                       help="delete the folder's earlier log and start afresh")
    _out(p, "tune")
    return parser


COMMANDS = {"demo": demo, "gradcheck": gradcheck, "graph": graph, "tune": tune}


def _kept(args) -> str:
    """What an interrupted command leaves behind, in a few words."""
    if args.command not in ("demo", "tune"):
        return "nothing was written"
    out = _output_path(args.out, args.command)
    if args.command == "tune":
        log = out / "trials.jsonl"
        done = len(log.read_bytes().splitlines()) if log.exists() else 0
        return f"{done} finished trial(s) kept in {log}; --resume runs the rest"
    if (out / INCOMPLETE).exists():
        return f"{out} is incomplete (see {out / INCOMPLETE}); run the demo again to replace it"
    return f"nothing was written; {out} is as it was"


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """Run the command line on `argv` (default: sys.argv[1:]); returns the exit status
    (130 after Ctrl-C, as a shell reports a program stopped by SIGINT)."""
    args = make_parser(prog).parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FloatingPointError, OSError) as exc:
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog} {args.command}: interrupted; {_kept(args)}", file=sys.stderr)
        return 130
