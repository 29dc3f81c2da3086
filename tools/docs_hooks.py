"""MkDocs hooks: the API reference pages, written at build time from the package's public API
(tools/public_api.py), and the list of course notebooks (made by tools/build_notebooks.py).

Nothing here is committed output: a new op exported from `tinygrad_course.ops.__all__`, a new
layer in `nn.__all__` or a new public submodule appears on the next build.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from pathlib import Path

from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_plain import plain  # noqa: E402
from public_api import PACKAGE, defined_here, public_modules, public_names  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "docs" / "notebooks"


def _first_line(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    return plain(doc.strip().splitlines()[0]) if doc.strip() else ""


def _page(module_name: str) -> str:
    return f"api/{module_name}.md"


def _path_of(obj) -> str | None:
    """Where the object is defined (griffe finds it there), or None for lambdas and the like."""
    qual = getattr(obj, "__qualname__", "")
    if "<" in qual:
        return None
    return f"{obj.__module__}.{qual}"


def _module_page(module_name: str, modules: list[str]) -> str:
    module = importlib.import_module(module_name)
    lines = [f"# `{module_name}`", "", inspect.getdoc(module) or "", ""]
    groups: dict[str, list[tuple[str, object]]] = {}
    submodules, constants, elsewhere = [], [], []
    for name in public_names(module_name):
        obj = getattr(module, name, None)
        if isinstance(obj, types.ModuleType):
            submodules.append((name, obj))
        elif defined_here(obj) and _path_of(obj) and obj.__module__ in modules \
                and obj.__module__ != module_name:
            elsewhere.append((name, obj))  # documented on its own module's page
        elif defined_here(obj) and _path_of(obj):
            groups.setdefault(obj.__module__, []).append((name, obj))
        elif obj is not None and not callable(obj):
            constants.append((name, obj))
    if submodules:
        lines += ["## Submodules", ""]
        for name, sub in submodules:
            link = f"[`{sub.__name__}`]({sub.__name__}.md)" if sub.__name__ in modules else f"`{sub.__name__}`"
            lines.append(f"- `{name}`: {link}: {_first_line(sub)}")
        lines.append("")
    for where, objs in groups.items():
        if len(groups) > 1:
            doc = _first_line(importlib.import_module(where))
            lines += [f"## From `{where.removeprefix(PACKAGE + '.')}`", "", doc, ""]
        for name, obj in objs:
            lines += [f"::: {_path_of(obj)}", ""]
            if obj is getattr(importlib.import_module(PACKAGE), "Tensor", None):
                lines += _tensor_methods(obj)
    if elsewhere:
        lines += ["## Also here", "", "Exported here too, documented on their own module's page:", ""]
        for name, obj in elsewhere:
            anchor = f"{obj.__module__}.{obj.__qualname__}"
            lines.append(f"- [`{name}`]({obj.__module__}.md#{anchor}): {_first_line(obj)}")
        lines.append("")
    if constants:
        lines += ["## Constants", "", "| name | value |", "|---|---|"]
        for name, value in constants:
            text = repr(value).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{name}` | `{text[:80] + ('...' if len(text) > 80 else '')}` |")
        lines.append("")
    return "\n".join(lines)


def _tensor_methods(tensor_cls: type) -> list[str]:
    """A table of the Tensor methods that ops install (x.exp() is tc.exp(x)), with their line."""
    rows = []
    for name, attr in sorted(vars(tensor_cls).items()):
        fn = attr.fget if isinstance(attr, property) else attr
        if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ == tensor_cls.__module__:
            continue
        rows.append(f"| `x.{name}` | `{fn.__module__.removeprefix(PACKAGE + '.')}` | "
                    f"{_first_line(attr).replace('|', '/')} |")
    if not rows:
        return []
    return ["#### Tensor methods installed by the ops", "",
            "Each is the function of the same name with the tensor as its first argument.", "",
            "| method | defined in | what it is |", "|---|---|---|", *rows, ""]


def _api_index(modules: list[str]) -> str:
    lines = ["# API reference", "",
             "Every public module, written from its `__all__` at build time. "
             "`import tinygrad_course as tc`; the ops are `tc.<name>` and Tensor methods.", "",
             "| module | what it holds |", "|---|---|"]
    for m in modules:
        lines.append(f"| [`{m}`]({m}.md) | {_first_line(importlib.import_module(m))} |")
    return "\n".join(lines) + "\n"


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def _notebook_title(path: Path) -> str:
    import json
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source", "")).strip().lstrip("#").strip()
            return f"{path.stem[:2]} {text.splitlines()[0].split(':')[0]}"
    return path.stem


def _notebooks_index() -> str:
    lines = ["# Notebooks", "",
             "The course's examples (`examples/NN_*.py`, in jupytext's percent format) as Jupyter "
             "notebooks, executed headless with the examples' quick settings (`--quick`) when the "
             "site is built. Open one in Jupyter with `jupytext --to ipynb examples/02_initialization.py` "
             "or build them all with `.venv/bin/python tools/build_notebooks.py` "
             "(they land in `docs/notebooks/`).", ""]
    found = _notebooks()
    if not found:
        lines.append("The notebooks were not built for this site: run `./run.sh docs`.")
    for p in found:
        lines.append(f"- [{_notebook_title(p)}]({p.name})")
    return "\n".join(lines) + "\n"


def _readme_section(title: str) -> str:
    """The README's section `## title` (its body, up to the next `## `): one source for both."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"## {title}\n", 1)[1]
    # The README links docs/x.md from the repository's root; the site's pages sit in docs/.
    return body.split("\n## ", 1)[0].strip().replace("](docs/", "](")


def _course_page() -> str:
    """The README's course table with each example linked to its executed notebook."""
    table = _readme_section("The course, feature by feature").split("\n\n")[0]
    built = {p.stem for p in _notebooks()}

    def link(match: re.Match) -> str:
        number, stem = match.group(1), match.group(2)
        if stem in built:
            return f"[notebook {number}](notebooks/{stem}.ipynb)"
        return f"`examples/{stem}.py`"
    table = re.sub(r"\[(\d+)\]\(examples/([\w]+)\.py\)", link, table)
    return ("# Course map\n\nEach topic of the course, the API that does it, and the notebook "
            "that shows it (the example `examples/NN_*.py`, executed).\n\n" + table + "\n")


def _benchmarks_page() -> str:
    body = _readme_section("Speed")
    return "# Benchmarks\n\n" + body + "\n"


def on_config(config, **kwargs):
    """Expand the nav's API reference and Notebooks entries into one page each."""
    modules = public_modules()
    api = ["api/index.md"] + [{m: _page(m)} for m in modules]
    nbs = ["notebooks/index.md"] + [{_notebook_title(p): f"notebooks/{p.name}"} for p in _notebooks()]
    nav = []
    for entry in config["nav"]:
        (title, target), = entry.items()
        nav.append({title: api if target == "api/index.md" else nbs if target == "notebooks/index.md"
                    else target})
    config["nav"] = nav
    return config


def on_files(files, config, **kwargs):
    """Add the generated API pages and the notebooks index to the site's files."""
    modules = public_modules()
    files.append(File.generated(config, "api/index.md", content=_api_index(modules)))
    for m in modules:
        files.append(File.generated(config, _page(m), content=_module_page(m, modules)))
    files.append(File.generated(config, "course.md", content=_course_page()))
    files.append(File.generated(config, "benchmarks.md", content=_benchmarks_page()))
    if files.get_file_from_path("notebooks/index.md") is None:
        files.append(File.generated(config, "notebooks/index.md", content=_notebooks_index()))
    return files
