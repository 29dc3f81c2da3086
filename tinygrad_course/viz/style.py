"""How each kind of graph node looks, and the legend that explains it."""
from __future__ import annotations

import graphviz

from .gradients import colour_bar

# kind -> (legend text, graphviz node attributes). Tensors are boxes, ops ellipses, constants
# dashed boxes, collapsed modules 3-D boxes; the fill colour tells tensor kinds apart.
STYLES: dict[str, tuple[str, dict[str, str]]] = {
    "input": ("input (data, no grad)",
              {"shape": "box", "style": "filled,rounded", "fillcolor": "#cfe2f3"}),
    "parameter": ("parameter (requires grad)",
                  {"shape": "box", "style": "filled,bold", "fillcolor": "#b6d7a8"}),
    "intermediate": ("intermediate tensor",
                     {"shape": "box", "style": "filled", "fillcolor": "#ffffff"}),
    "output": ("output", {"shape": "box", "style": "filled,bold", "fillcolor": "#f9cb9c",
                          "peripheries": "2"}),
    "constant": ("constant", {"shape": "box", "style": "filled,dashed", "fillcolor": "#eeeeee",
                              "fontsize": "9"}),
    "op": ("op", {"shape": "ellipse", "style": "filled", "fillcolor": "#fff2cc"}),
    "module": ("module (collapsed)",
               {"shape": "box3d", "style": "filled", "fillcolor": "#d9d2e9"}),
    "note": ("note", {"shape": "note", "style": "filled", "fillcolor": "#f4cccc"}),
}

CLUSTER_ATTRS = {"style": "rounded,dashed", "color": "#999999", "fontsize": "10",
                 "labeljust": "l"}


def legend(kinds: list[str], grad_range: tuple[float, float] | None) -> graphviz.Digraph:
    """The cluster "cluster_legend": one sample node per kind drawn, and the gradient colour
    bar when `grad_range` is given."""
    g = graphviz.Digraph(name="cluster_legend")
    g.attr(label="legend", style="rounded", color="#999999", fontsize="10")
    for kind in kinds:
        text, attrs = STYLES[kind]
        g.node(f"legend_{kind}", label=text, **attrs)
    if grad_range is not None:
        g.node("legend_grad", label=colour_bar(grad_range), shape="plaintext")
    return g
