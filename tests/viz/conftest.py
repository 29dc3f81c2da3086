"""A small DOT reader for the viz tests: nodes with attributes and cluster, edges, clusters."""
import re

import pytest

from tinygrad_course.viz.style import STYLES

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*>|[^\s\]]+)')
_NODE = re.compile(r'^\s*(\S+) \[(.*)\]$')
_EDGE = re.compile(r'^\s*(\S+) -> (\S+)(?: \[(.*)\])?$')
_SUB = re.compile(r'^\s*subgraph (\S+) \{$')


def _unquote(v: str) -> str:
    if v.startswith('"') and v.endswith('"'):
        return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])
    return v


def _attrs(text: str) -> dict:
    return {k: _unquote(v) for k, v in _ATTR.findall(text or "")}


class Dot:
    """nodes: id -> attrs (+ "cluster": innermost cluster or None); edges: [(src, dst, attrs)];
    clusters: name -> {"label", "parent"}."""

    def __init__(self, source: str) -> None:
        self.nodes, self.edges, self.clusters = {}, [], {}
        stack = []
        for line in source.splitlines():
            if m := _SUB.match(line):
                name = _unquote(m.group(1))
                self.clusters[name] = {"parent": stack[-1] if stack else None, "label": None}
                stack.append(name)
            elif line.strip() == "}":
                if stack:
                    stack.pop()
            elif m := _EDGE.match(line):
                self.edges.append((_unquote(m.group(1)), _unquote(m.group(2)), _attrs(m.group(3))))
            elif (m := _NODE.match(line)) and m.group(1) not in ("node", "edge", "graph"):
                node = _attrs(m.group(2))
                node["cluster"] = stack[-1] if stack else None
                self.nodes[_unquote(m.group(1))] = node
            elif stack and "label=" in line:
                self.clusters[stack[-1]]["label"] = _attrs(line).get("label")

    def graph_nodes(self) -> dict:
        """The drawn graph's nodes: no legend, no note."""
        return {k: v for k, v in self.nodes.items() if not k.startswith("legend_") and k != "note"}

    def graph_edges(self) -> list:
        return [(s, d) for s, d, _ in self.edges if s != "note"]

    def kind(self, node_id: str) -> str:
        """The kind whose style the node wears (shape and fill, or shape alone under grad_flow)."""
        n = {k: v for k, v in self.nodes[node_id].items() if k not in ("label", "cluster", "fontcolor")}
        for kind, (_, style) in STYLES.items():
            if n == style:
                return kind
        for kind, (_, style) in STYLES.items():
            if n.keys() == style.keys() and all(n[k] == v for k, v in style.items() if k != "fillcolor"):
                return kind
        raise AssertionError(f"node {node_id} wears no known style: {n}")

    def by_label(self, first_line: str) -> list:
        return [k for k, v in self.graph_nodes().items()
                if v.get("label", "").split("\n")[0] == first_line]

    def kinds(self) -> dict:
        out: dict = {}
        for k in self.graph_nodes():
            out[self.kind(k)] = out.get(self.kind(k), 0) + 1
        return out

    def inputs_of(self, node_id: str) -> list:
        return [s for s, d in self.graph_edges() if d == node_id]

    def outputs_of(self, node_id: str) -> list:
        return [d for s, d in self.graph_edges() if s == node_id]


@pytest.fixture
def parse_dot():
    return Dot
