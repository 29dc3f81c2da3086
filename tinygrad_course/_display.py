"""How results look in a notebook: a small HTML table for `_repr_html_`, every cell escaped."""
from __future__ import annotations

import html
from collections.abc import Sequence


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "",
               footer: str = "") -> str:
    """An HTML table with `caption` above and `footer` (a line of text) below; numbers are right
    aligned. Jupyter styles plain tables itself, so no CSS is needed."""
    def cell(tag: str, v: object) -> str:
        align = ' style="text-align:right"' if isinstance(v, (int, float)) or _numeric(v) else ""
        return f"<{tag}{align}>{html.escape(str(v))}</{tag}>"

    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    cap = f"<caption style=\"text-align:left\">{html.escape(caption)}</caption>" if caption else ""
    foot = f"<p>{html.escape(footer)}</p>" if footer else ""
    return f"<div><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{foot}</div>"


def _numeric(v: object) -> bool:
    try:
        float(str(v))
    except ValueError:
        return False
    return True
