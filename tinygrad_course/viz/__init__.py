"""Pictures of what a model computes: computation graphs (graphviz), gradient flow, learning curves.

`draw_graph(loss, model=model)` returns a `graphviz.Digraph` (it displays inline in Jupyter;
`.source` is the DOT text); `render(graph, "graph.svg")` draws it with the `dot` program.
The matplotlib plots (`plot_costs`, `plot_decision_boundary`, `plot_confusion_matrix`,
`plot_gradient_norms`, `plot_search`) need the
optional `plot` extra and import matplotlib only when called.
"""
from .curves import (plot_confusion_matrix, plot_costs, plot_decision_boundary,
                     plot_gradient_norms)
from .gradients import GRAD_RANGE, grad_colour, grad_norm, grad_position, gradient_norms
from .graph import draw_graph
from .render import GraphvizNotFoundError, render
from .search import plot_search

__all__ = ["draw_graph", "render", "GraphvizNotFoundError", "gradient_norms", "grad_norm",
           "grad_colour", "grad_position", "GRAD_RANGE", "plot_costs", "plot_decision_boundary",
           "plot_confusion_matrix", "plot_gradient_norms", "plot_search"]
