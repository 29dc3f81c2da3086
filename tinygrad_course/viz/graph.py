"""Draw everything a tensor depends on as a graphviz graph: ops, tensors, constants, modules.

Node ids come from graph order (inputs before users), never from `id()`, so the same graph
always gives the same DOT text. The walk is iterative: a graph 100,000 ops deep is fine.
"""
from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Sequence
from typing import Any

import graphviz
import numpy as np

from ..autograd import Function
from ..backward import FreedInput
from ..tensor import Tensor
from .gradients import GRAD_RANGE, font_colour, grad_colour, grad_norm
from .params import is_model, module_path, named_buffers, named_modules, named_parameters
from .style import CLUSTER_ATTRS, STYLES, legend as make_legend

_TENSOR_KINDS = ("input", "parameter", "intermediate", "output")
_RANKDIRS = ("LR", "TB", "RL", "BT")


def draw_graph(output: Tensor | Sequence[Tensor], params: Any = None, model: Any = None,
               rankdir: str = "LR", show_values: bool = False, show_grads: bool = False,
               grad_flow: bool = False, depth: int | None = None, max_nodes: int | None = None,
               legend: bool = True, grad_range: tuple[float, float] = GRAD_RANGE,
               max_values: int = 16, size: tuple[float, float] | str | None = None,
               dpi: float | None = None, fontsize: float = 10) -> graphviz.Digraph:
    """The computation graph of `output` (a tensor or a list of them) as a `graphviz.Digraph`.

    params: a model, a `named_parameters()` iterable or a dict name -> Tensor; names the parameters.
    model: groups ops into one cluster per module (taken from `params` when that is a model).
    show_values / show_grads: print values / gradients of tensors with at most `max_values` elements.
    grad_flow: fill tensors that have a `.grad` by log10 of its norm on the fixed `grad_range` scale.
    depth: draw modules deeper than `depth` (root = 0, `layers` = 1, `layers.0` = 2) as one node.
    max_nodes: keep the `max_nodes` nodes nearest the output; a note says what was left out.
    legend: one line of coloured cells under the figure naming the kinds drawn; False: none.
    size: (width, height) in inches the drawing is scaled down to fit (graphviz's `size`), e.g.
    (9, 6) for a notebook cell; dpi: pixels per inch of PNG output (graphviz's default 96);
    fontsize: of node labels, in points (cluster titles and the legend follow it).
    A module called twice (the same layer applied again later) gets one cluster per call,
    labelled "call 2", ..., so its second call does not pull edges back across the figure.
    """
    roots = _roots(output)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {_RANKDIRS}, got {rankdir!r}")
    for opt, value in (("depth", depth), ("max_nodes", max_nodes)):
        low = 0 if opt == "depth" else 1
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"draw_graph: {opt} must be None or an int >= {low}, got {value!r}")
    if model is None and is_model(params):
        model = params
    if params is None:
        params = model
    modules = named_modules(model)
    if depth is not None and model is None:
        raise ValueError("draw_graph: depth= collapses modules, so it needs model= (or a model as params=)")
    names: dict[int, str] = {}
    for name, t in named_parameters(params).items():
        names.setdefault(id(t), name)
    array_names: dict[int, str] = {}
    for name, b in named_buffers(model):
        names.setdefault(id(b), name)
        array_names.setdefault(id(b.data), name)
    g = _Elements(names, array_names, modules, show_values, show_grads, grad_flow or show_grads,
                  max_values)
    views: dict = {}  # after backward an op's output is its node: one stand-in per node
    g.build(_postorder(roots, views), {id(r) for r in roots}, views)
    g.split_calls()
    drawn, edges = g.collapse(depth)
    root_elems = [g.tensor_index[id(r)] for r in roots]
    hidden, note_edges = _cap(drawn, edges, root_elems, max_nodes)
    dot = _emit(g, drawn, edges, hidden, note_edges, max_nodes, rankdir, grad_flow, legend,
                grad_range, fontsize)
    if size is not None:
        dot.attr(size=size if isinstance(size, str) else ",".join(f"{float(v):g}" for v in size))
    if dpi is not None:
        dot.attr(dpi=f"{float(dpi):g}")
    return dot


def _roots(output) -> list[Tensor]:
    outs = list(output) if isinstance(output, (list, tuple)) else [output]
    if not outs:
        raise ValueError("draw_graph: got an empty list of outputs; give a Tensor or a list of them")
    seen: dict[int, Tensor] = {}
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"draw_graph: expected a Tensor (or a list of them), got {type(o).__name__}")
        seen.setdefault(id(o), o)
    return list(seen.values())


def _drawn(v, views: dict):
    """An input as drawn: a node that stands in for its freed output becomes a FreedInput with
    the output's shape and dtype (the same object each time, so the edges meet)."""
    if isinstance(v, Function):
        if id(v) not in views:
            views[id(v)] = FreedInput(v.out_shape, v.out_dtype, grad_fn=v)
        return views[id(v)]
    return v


def _postorder(roots: list[Tensor], views: dict) -> list[Tensor]:
    """Every tensor the roots depend on, leaves included, inputs before users, without recursion."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t.grad_fn
        if node is not None:
            for inp in reversed(node.inputs):
                inp = _drawn(inp, views)
                if isinstance(inp, (Tensor, FreedInput)) and id(inp) not in seen:
                    stack.append((inp, False))
    return order


@functools.lru_cache(maxsize=None)
def _arg_names(cls: type) -> tuple[tuple[str, ...], str | None]:
    # The names of forward's positional arguments after ctx, for labels like "axis=1".
    try:
        ps = list(inspect.signature(cls.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return (), None
    plain = tuple(p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    var = next((p.name for p in ps if p.kind is p.VAR_POSITIONAL), None)
    return plain, var


def _is_constant(v) -> bool:
    # Floating numbers and arrays are data (a constant node); ints, tuples, None, slices... are
    # the op's settings (axis, shape, index) and go into its label.
    return isinstance(v, (float, complex, np.inexact, np.ndarray))


def _short(v, limit: int = 40) -> str:
    if isinstance(v, slice):
        s = ":".join("" if x is None else str(x) for x in (v.start, v.stop))
        s = s + (f":{v.step}" if v.step is not None else "")
    elif v is Ellipsis:
        s = "..."
    elif isinstance(v, tuple):
        s = "(" + ", ".join(_short(x, limit) for x in v) + ("," if len(v) == 1 else "") + ")"
    elif isinstance(v, np.ndarray):
        s = f"array{v.shape} {v.dtype}"
    elif isinstance(v, type):
        s = v.__name__
    else:
        s = str(v)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def _number(v: float) -> str:
    # Short when that is exact (2.5, 1e-7), else enough digits to tell 1 - 1e-7 from 1.
    s = f"{v:.4g}"
    if float(s) != v:
        s = repr(v) if len(repr(v)) <= 12 else f"{v:.8g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), s)


def _value(v) -> str:
    """A scalar constant as a label shows it: 0.9, 1e-5, True."""
    v = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
    return _number(v) if isinstance(v, float) else str(v)


def _array_lines(a: np.ndarray) -> list[str]:
    return np.array2string(np.asarray(a), precision=4, separator=", ",
                           suppress_small=True).splitlines()


def _label(lines: list[str]) -> str:
    # Each line escaped (a backslash or <...> in a name stays literal), joined by DOT's \n.
    return "\\n".join(graphviz.escape(line) for line in lines)


class _Elements:
    """The graph as flat lists: element i has ids[i], kinds[i], labels[i], homes[i] (module path
    or None) and norms[i] (gradient norm or None); edges are (source, target) index pairs."""

    def __init__(self, names: dict[int, str], array_names: dict[int, str],
                 modules: list[tuple[str, Any]], show_values: bool, show_grads: bool,
                 want_norms: bool, max_values: int) -> None:
        self.names = names
        self.array_names = array_names
        self.modules = modules
        self.path_of = {}
        for path, m in modules:
            self.path_of.setdefault(id(m), path)
        self.paths = {p for p, _ in modules}
        self.show_values, self.show_grads = show_values, show_grads
        self.want_norms, self.max_values = want_norms, max_values
        self.ids: list[str] = []
        self.kinds: list[str] = []
        self.labels: list[str] = []
        self.homes: list[str | None] = []
        self.norms: list[float | None] = []
        self.edges: list[tuple[int, int]] = []
        self.tensor_index: dict[int, int] = {}

    def add(self, kind: str, label: str, home: str | None, norm: float | None = None,
            node_id: str | None = None) -> int:
        i = len(self.ids)
        self.ids.append(node_id or f"n{i}")
        self.kinds.append(kind)
        self.labels.append(label)
        self.homes.append(home)
        self.norms.append(norm)
        return i

    def build(self, order: list[Tensor], root_ids: set[int], views: dict) -> None:
        for t in order:
            ctx = t.grad_fn
            op = None
            if ctx is not None:
                home = self.path_of.get(id(getattr(ctx, "scope", None)))
                sources = []
                attrs = []
                plain, var = _arg_names(type(ctx))
                for j, v in enumerate(ctx.inputs):
                    v = _drawn(v, views)
                    if isinstance(v, (Tensor, FreedInput)):
                        sources.append(self.tensor_index[id(v)])
                        continue
                    arg = plain[j] if j < len(plain) else (var or f"arg{j}")
                    if _is_constant(v) and not self._is_scalar_setting(v):
                        sources.append(self._add_constant(v, arg, home))
                    elif _is_constant(v):
                        attrs.append(f"{arg}={_value(v)}")
                    elif v is not None:
                        attrs.append(f"{arg}={_short(v)}")
                op = self.add("op", _label([type(ctx).name, *attrs]), home)
                self.edges.extend((s, op) for s in sources)
                kind = "output" if id(t) in root_ids else "intermediate"
            else:
                name = self.names.get(id(t))
                home = module_path(name) if name is not None else None
                home = home if home in self.paths else None
                kind = ("output" if id(t) in root_ids else "parameter" if t.requires_grad else
                        "constant" if id(t.data) in self.array_names else "input")  # a buffer
            norm = grad_norm(t) if self.want_norms else None
            i = self.add(kind, self._tensor_label(t, norm), home, norm)
            self.tensor_index[id(t)] = i
            if op is not None:
                self.edges.append((op, i))

    def _tensor_label(self, t: Tensor, norm: float | None) -> str:
        name = self.names.get(id(t)) or t.name
        lines = [str(name)] if name else []
        lines.append(f"{tuple(t.shape)} {t.dtype}")
        if self.show_values and t.data is not None and t.data.size <= self.max_values:
            lines.extend(_array_lines(t.data))
        if norm is not None:
            lines.append(f"|grad| = {norm:.2e}")
        if self.show_grads and t.grad is not None and t.grad.data.size <= self.max_values:
            lines.extend(["grad:", *_array_lines(t.grad.data)])
        return _label(lines)

    def _is_scalar_setting(self, v) -> bool:
        # A lone number (momentum, eps, the 2.5 of x * 2.5) reads best in the op's label; arrays
        # and a module's buffers (BatchNorm's running mean) stay nodes of their own.
        return np.ndim(v) == 0 and not (isinstance(v, np.ndarray) and id(v) in self.array_names)

    def _add_constant(self, v, arg: str, home: str | None) -> int:
        # A buffer's array (BatchNorm's running mean) is named by its module path; a setting with
        # a telling name (eps, momentum, lo) by that name; a plain operand (x * 2.5) by its value.
        name = self.array_names.get(id(v)) if isinstance(v, np.ndarray) else None
        if name is not None:
            lines = [name]
            owner = module_path(name)
            home = owner if owner in self.paths else home
        else:
            lines = [arg] if len(arg) > 1 else []
        if isinstance(v, np.ndarray) and v.ndim > 0:
            lines.append(f"{v.shape} {v.dtype}")
            if self.show_values and v.size <= self.max_values:
                lines.extend(_array_lines(v))
        else:
            lines.append(_value(v))
        return self.add("constant", _label(lines), home)

    def split_calls(self, budget: int = 5_000_000) -> None:
        """Give each call of a module used more than once a cluster of its own ("layer~2" for
        its second call, "layer~2.act~2" for a child inside it). Call k of module M holds the
        ops that data from M's call k-1 reaches after leaving M: for each element, r = the
        highest call of M upstream, plus one when the path stepped out of M since. The root
        module is never split (all of the model's calls stay inside its one cluster)."""
        n = len(self.ids)
        paths = [p for p, _ in self.modules if p]
        if not paths or n * len(paths) > budget:  # drawing that many nodes is unreadable anyway
            return
        inputs: list[list[int]] = [[] for _ in range(n)]
        for s, d in self.edges:
            inputs[d].append(s)
        member = [k in ("op", "intermediate", "output") for k in self.kinds]
        calls: list[dict[str, int]] = [{} for _ in range(n)]
        for path in paths:
            inside = [member[i] and h is not None and (h == path or h.startswith(path + "."))
                      for i, h in enumerate(self.homes)]
            if sum(inside) < 2:
                continue
            r = [0] * n
            for i in range(n):  # elements are numbered inputs first
                best = max((r[s] + (inside[s] and not inside[i]) for s in inputs[i]), default=0)
                r[i] = max(1, best) if inside[i] else best
                if inside[i] and r[i] > 1:
                    calls[i][path] = r[i]
        extra: dict[str, list[str]] = {}
        for i, home in enumerate(self.homes):
            if not calls[i] or home is None:
                continue
            parts = home.split(".")
            qualified = ".".join(part + (f"~{calls[i][p]}" if p in calls[i] else "")
                                 for part, p in zip(parts, (".".join(parts[:j + 1])
                                                            for j in range(len(parts)))))
            self.homes[i] = qualified
            q_parts = qualified.split(".")
            for j in range(len(parts)):  # the cluster and every enclosing one must exist
                extra.setdefault(".".join(parts[:j + 1]), [])
                prefix = ".".join(q_parts[:j + 1])
                if prefix not in extra[".".join(parts[:j + 1])] and "~" in prefix:
                    extra[".".join(parts[:j + 1])].append(prefix)
        if not extra:
            return
        modules = []
        for path, mod in self.modules:
            modules.append((path, mod))
            modules.extend((q, mod) for q in sorted(extra.get(path, ())))
        self.modules = modules
        self.paths = {p for p, _ in modules}

    def collapse(self, depth: int | None) -> tuple[list[int], list[tuple[int, int]]]:
        """Replace modules deeper than `depth` by one node each; returns drawn elements and edges.

        A tensor made inside a collapsed module but used outside it (or an output) stays drawn,
        beside the module node, so the shapes crossing module boundaries remain visible."""
        n = len(self.ids)
        rep = list(range(n))
        if depth is None:
            return rep, list(self.edges)
        inside: list[str | None] = []
        for home in self.homes:
            parts = home.split(".") if home else []
            inside.append(".".join(parts[:depth + 1]) if len(parts) > depth else None)
        users: list[list[int]] = [[] for _ in range(n)]
        for s, d in self.edges:
            users[s].append(d)
        origin: dict[int, str] = {}
        for i in range(n):
            m = inside[i]
            if m is not None and self.kinds[i] in _TENSOR_KINDS and (
                    self.kinds[i] == "output" or any(
                        inside[u] is None or _unqualified(inside[u]) != _unqualified(m)
                        for u in users[i])):
                origin[i] = m
                inside[i] = None
                self.homes[i] = _parent_path(m, depth)
        module_elem: dict[str, int] = {}
        members: dict[str, list[int]] = {}
        for i in range(n):
            m = inside[i]
            if m is None:
                continue
            members.setdefault(m, []).append(i)
        classes = {p: type(mod).__name__ for p, mod in self.modules}
        for k, (m, idx) in enumerate(members.items()):
            n_ops = sum(self.kinds[i] == "op" for i in idx)
            pnorms = [self.norms[i] for i in idx if self.kinds[i] == "parameter"
                      and self.norms[i] is not None]
            norm = float(np.sqrt(sum(x * x for x in pnorms))) if pnorms else None
            lines = [*_display(m), classes.get(_unqualified(m), "?"),
                     f"{n_ops} op" + ("" if n_ops == 1 else "s")]
            if norm is not None:
                lines.append(f"|grad| = {norm:.2e}")
            label = _label(lines)
            e = self.add("module", label, _parent_path(m, depth), norm, node_id=f"m{k}")
            module_elem[m] = e
            for i in idx:
                rep[i] = e
        drawn = [i for i in range(len(self.ids)) if i >= n or rep[i] == i]
        # An edge between two drawn nodes stays as it is (x * x keeps its two arrows); edges
        # into or out of a module node are merged, one per pair of nodes.
        edges: list[tuple[int, int]] = []
        merged: set[tuple[int, int]] = set()
        module_path = {e: m for m, e in module_elem.items()}
        for s, d in self.edges:
            rs, rd = rep[s], rep[d]
            if rs == rd or (s in origin and module_elem.get(origin[s]) == rd):
                continue
            if rs in module_path and rd in module_path and \
                    _unqualified(module_path[rs]) == _unqualified(module_path[rd]):
                continue  # a later call's use of the module's own parameters
            if (rs, rd) != (s, d):
                if (rs, rd) in merged:
                    continue
                merged.add((rs, rd))
            edges.append((rs, rd))
        return drawn, edges


def _unqualified(path: str) -> str:
    """"layers~2.0~2" (a module's second call, see split_calls) -> "layers.0"."""
    return re.sub(r"~\d+", "", path)


def _display(path: str) -> list[str]:
    """A cluster's path as shown: ["layers.0"], or ["layers.0", "call 2"] for a later call."""
    last = re.search(r"~(\d+)$", path)
    return [_unqualified(path)] + ([f"call {last.group(1)}"] if last else [])


def _parent_path(path: str, depth: int) -> str:
    return ".".join(path.split(".")[:depth])


def _cap(drawn: list[int], edges: list[tuple[int, int]], roots: list[int],
         max_nodes: int | None) -> tuple[set[int], list[int]]:
    """The nodes beyond the `max_nodes` nearest the outputs (breadth first, walking edges
    backwards), and the kept nodes that lost an input to the cut."""
    if max_nodes is None or len(drawn) <= max_nodes:
        return set(), []
    preds: dict[int, list[int]] = {}
    for s, d in edges:
        preds.setdefault(d, []).append(s)
    kept: dict[int, None] = dict.fromkeys(roots[:max_nodes])
    frontier = list(kept)
    while frontier and len(kept) < max_nodes:
        nxt = []
        for d in frontier:
            for s in preds.get(d, ()):
                if s not in kept and len(kept) < max_nodes:
                    kept[s] = None
                    nxt.append(s)
        frontier = nxt
    hidden = {i for i in drawn if i not in kept}
    cut = [d for d in kept if any(s in hidden for s in preds.get(d, ()))]
    return hidden, cut


class Graph(graphviz.Digraph):
    """A `graphviz.Digraph` that, in a notebook without graphviz's `dot` program, shows its DOT
    text and how to install `dot` instead of a traceback."""

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": "graphviz's `dot` program was not found, so the graph is not "
                                  "drawn: install it with `apt-get install graphviz` (Debian/Ubuntu) "
                                  "or `brew install graphviz` (macOS). Its DOT source:\n\n"
                                  + self.source}


def _emit(g: _Elements, drawn: list[int], edges: list[tuple[int, int]], hidden: set[int],
          cut: list[int], max_nodes: int | None, rankdir: str, grad_flow: bool, legend: bool,
          grad_range: tuple[float, float], fontsize: float) -> graphviz.Digraph:
    dot = Graph(name="computation_graph")
    dot.attr(rankdir=rankdir, fontname="Helvetica", fontsize=f"{fontsize:g}")
    dot.attr("node", fontname="Helvetica", fontsize=f"{fontsize:g}")
    dot.attr("edge", arrowsize="0.7")
    by_home: dict[str | None, list[int]] = {}
    kinds_drawn: set[str] = set()
    for i in drawn:
        if i not in hidden:
            by_home.setdefault(g.homes[i], []).append(i)
            kinds_drawn.add(g.kinds[i])

    def add_nodes(graph: graphviz.Digraph, idx: list[int]) -> None:
        for i in idx:
            attrs = dict(STYLES[g.kinds[i]][1])
            norm = g.norms[i]
            if grad_flow and norm is not None:
                attrs["fillcolor"] = grad_colour(norm, grad_range)
                attrs["fontcolor"] = font_colour(attrs["fillcolor"])
            graph.node(g.ids[i], label=graphviz.nohtml(g.labels[i]), **attrs)

    add_nodes(dot, by_home.pop(None, []))
    for sub in _clusters(g.modules, by_home, add_nodes):
        dot.subgraph(sub)
    if hidden:
        n_ops = sum(g.kinds[i] == "op" for i in hidden)
        total = len(drawn)
        dot.node("note", label=_label([
            f"{len(hidden)} of {total} nodes not shown ({n_ops} ops, "
            f"{len(hidden) - n_ops} tensors/constants/modules): max_nodes={max_nodes}",
            "dashed arrows point at the nodes whose inputs were left out;",
            "pass max_nodes=None to draw everything"]), **STYLES["note"][1])
        for d in cut:
            dot.edge("note", g.ids[d], style="dashed")
        kinds_drawn.add("note")
    dot.edges((g.ids[s], g.ids[d]) for s, d in edges if s not in hidden and d not in hidden)
    if legend:
        kinds = [k for k in STYLES if k in kinds_drawn]
        dot.attr(label=make_legend(kinds, grad_range if grad_flow else None), labelloc="b",
                 labeljust="l")
    return dot


def _clusters(modules: list[tuple[str, Any]], by_home: dict[str, list[int]], add_nodes):
    """One nested "cluster_module:<path>" subgraph per module that holds drawn nodes, outermost
    first; each labelled with its path and class."""
    known = {p for p, _ in modules}

    def parent(path: str) -> str | None:
        while path:
            path = path.rpartition(".")[0]
            if path in known:
                return path
        return None

    needed: set[str] = set()
    for home in by_home:
        p: str | None = home
        while p is not None and p not in needed:
            needed.add(p)
            p = parent(p)
    built: dict[str, graphviz.Digraph] = {}
    children: dict[str | None, list[str]] = {}
    for path, _ in modules:
        if path in needed:
            children.setdefault(parent(path), []).append(path)
    for path, mod in reversed(modules):
        if path not in needed or path in built:
            continue
        sub = graphviz.Digraph(name=f"cluster_module:{path}")
        cls = type(mod).__name__
        shown = _display(path)
        label = f"{shown[0]}: {cls}" if path else cls
        sub.attr(label=graphviz.escape(label + (f", {shown[1]}" if len(shown) > 1 else "")),
                 **CLUSTER_ATTRS)
        add_nodes(sub, by_home.get(path, []))
        for child in children.get(path, []):
            sub.subgraph(built[child])
        built[path] = sub
    return [built[p] for p in children.get(None, [])]


Tensor.draw_graph = draw_graph  # t.draw_graph(**kwargs) once tc.viz is imported
