"""How each kind of graph node looks, and the legend that explains it."""
from __future__ import annotations

import graphviz

from .gradients import colour_bar

# kind -> (description, graphviz node attributes). Tensors are boxes, ops ellipses, constants
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

CLUSTER_ATTRS = {"style": "rounded,dashed", "color": "#999999",
                 "labeljust": "l", "labelloc": "t"}

# The legend's short name for each kind (the colour and the border tell them apart).
_LEGEND_NAMES = {"input": "input", "parameter": "parameter", "intermediate": "tensor",
                 "output": "output", "constant": "constant", "op": "op", "module": "module",
                 "note": "note"}


def legend(kinds: list[str], grad_range: tuple[float, float] | None) -> str:
    """The legend as one line of small coloured cells (an HTML-like graphviz label, drawn as the
    graph's label under the figure, out of the way): one cell per kind drawn, then the gradient
    colour bar when `grad_range` is given."""
    cells = []
    for kind in kinds:
        attrs = STYLES[kind][1]
        name = _LEGEND_NAMES[kind]
        text = f"<B>{name}</B>" if "bold" in attrs["style"] else name
        dashed = ' STYLE="dashed"' if "dashed" in attrs["style"] else ""
        cells.append(f'<TD BGCOLOR="{attrs["fillcolor"]}"{dashed}>{text}</TD>')
    if grad_range is not None:
        cells.append(f'<TD BORDER="0">{colour_bar(grad_range)[1:-1]}</TD>')
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="3" CELLPADDING="2">'
            f'<TR><TD BORDER="0">legend:</TD>{"".join(cells)}</TR></TABLE>>')
