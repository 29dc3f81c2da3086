"""A griffe extension for the API reference: our docstrings are plain text with formulas, so
`x[i][j]` must not become a Markdown reference link (a broken cross-reference in a strict build).
Outside `code spans`, "][" is escaped."""
from __future__ import annotations

import re

from griffe import Extension

_CODE = re.compile(r"(`+)(.+?)\1", re.S)


def plain(text: str) -> str:
    """`text` with "][" escaped outside code spans."""
    out, last = [], 0
    for m in _CODE.finditer(text):
        out.append(text[last:m.start()].replace("][", "]\\["))
        out.append(m.group(0))
        last = m.end()
    out.append(text[last:].replace("][", "]\\["))
    return "".join(out)


class PlainDocstrings(Extension):
    """Escape "][" in every docstring griffe loads."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
