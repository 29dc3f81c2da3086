"""The engine stays small and plain: at most 450 lines of code in its four files, and no source
generated at run time anywhere in the package (a learner must be able to step through it)."""
import ast
import io
import pathlib
import tokenize

import tinygrad_course

PACKAGE = pathlib.Path(tinygrad_course.__file__).parent
ENGINE = ["tensor.py", "autograd.py", "inplace.py", "backward.py"]
BUDGET = 450


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in docstrings)
    return len(lines)


def test_code_lines_counts_code_only():
    src = '"""doc\nmore"""\n\n# comment\nx = 1  # trailing\ny = (\n    2)\n\ndef f():\n    """doc"""\n    return x\n'
    assert code_lines(src) == 5


def test_the_engine_is_at_most_450_lines_of_code_in_four_files():
    counts = {f: code_lines((PACKAGE / f).read_text()) for f in ENGINE}
    assert sum(counts.values()) <= BUDGET, f"engine is {sum(counts.values())} lines: {counts}"


def test_no_source_is_generated_at_run_time():
    banned = {"exec", "compile", "eval"}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in banned, f"{path.name}:{node.lineno} calls {node.func.id}"
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert "linecache" not in names, f"{path.name}:{node.lineno} imports linecache"
            if isinstance(node, ast.Attribute):
                assert node.attr != "__code__", f"{path.name}:{node.lineno} touches __code__"


def test_engine_files_import_only_lower_floors():
    # tensor <- inplace <- autograd <- backward: nothing in the engine imports ops, nn or viz.
    order = ["tensor", "inplace", "autograd", "backward"]
    for i, name in enumerate(order):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                module = (node.module or "").split(".")[0]
                assert module not in order[i:] and module in order + ["dtypes"], \
                    f"{name}.py imports .{module}"


def test_the_function_docstring_example_runs_and_is_right():
    import textwrap

    import numpy as np
    import tinygrad_course as tc
    doc = tc.Function.__doc__
    code = textwrap.dedent(doc[doc.rindex("\n", 0, doc.index("class Cube")) + 1:])
    scope = {"tc": tc, "np": np}
    exec(compile(code, "<Function docstring>", "exec"), scope)  # the example, as a user pastes it
    np.testing.assert_allclose(scope["x"].grad.data, [3.0, 12.0])
