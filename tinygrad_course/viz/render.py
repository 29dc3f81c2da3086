"""Render a graph to SVG, PNG or PDF with graphviz's `dot` program, or say how to get it."""
from __future__ import annotations

import os
from pathlib import Path

import graphviz

FORMATS = ("svg", "png", "pdf")


class GraphvizNotFoundError(RuntimeError):
    """The `dot` program is not installed (or not on PATH); the DOT source was written instead."""


def render(graph: graphviz.Digraph, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write `graph` drawn by `dot` to `path` (format from `format`, else from the suffix)."""
    path = Path(path)
    fmt = format or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS} (given or as the suffix of "
                         f"{str(path)!r}), got {fmt!r}; for DOT text use graph.save('graph.dot')")
    if path.suffix.lower() == ".dot":
        raise ValueError(f"render: {str(path)!r} would be the image, but .dot is DOT source; "
                         "use graph.save(path) for the source or another suffix for the image")
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        dot_path.parent.mkdir(parents=True, exist_ok=True)
        dot_path.write_text(graph.source, encoding="utf-8")
        raise GraphvizNotFoundError(
            f"render: graphviz's `dot` program was not found on PATH, so {str(path)!r} was not "
            f"drawn. Install it with `apt-get install graphviz` (Debian/Ubuntu) or "
            f"`brew install graphviz` (macOS), then render again. The DOT source was written "
            f"to {str(dot_path)!r}: `dot -T{fmt} {dot_path} -o {path}` draws it.") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
