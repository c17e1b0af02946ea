"""A submitted notebook's code: read safely, turned into plain Python, and which cells to run.

- `read_cells` reads the notebook as a regular file (no symlink, no FIFO, size-capped), drops
  its outputs, and caps the code that is left;
- `as_python` rewrites IPython syntax (`x = !ls`, `%timeit -o f(x)`, `%%time`) the way IPython
  itself does, into calls of get_ipython(), which the runner provides;
- `graded_cells` keeps the cells the graded answers depend on. A cell is graded when it binds
  a name that an answer (or another graded cell) uses: by assignment, import, def or class, a
  `global` in a function, an item or attribute assignment (`keys[0] = 1`, `np.allclose = ...`),
  or a bare call on it (`np.random.seed(0)`, `items.append(x)`, `shuffle(keys)`). A cell that
  cannot be analysed (dynamic names: exec, globals()...) is graded. The other cells (plots and
  ungraded experiments) are skipped while grading: a slow plot never costs points.
"""

from __future__ import annotations

import ast
import re
import symtable

import nbformat

from .readback import Unreadable, read_regular_file

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NOTEBOOK_CAP = 200 * 2**20  # bytes of the file, outputs included
CODE_CAP = 2 * 2**20        # characters of code, once the outputs are dropped
# Parsing costs memory per JSON container and per string, not per byte: 12 MB of "[]," is four
# million lists (about 600 MB in Python). Plots and printed arrays hold few of either; a
# notebook that holds more than these is refused before it is parsed.
CONTAINER_CAP = 1_000_000   # '[' and '{' in the file
STRING_CAP = 4_000_000      # '"' in the file (two per string, plus escaped ones)
VALUE_CAP = 4_000_000       # ',' in the file: a bound on the numbers and strings in its lists
DYNAMIC = {"exec", "eval", "globals", "locals", "vars", "setattr", "delattr", "__import__", "__builtins__",
           "get_ipython", "builtins"}


class InvalidNotebook(ValueError):
    """A submission that is not a readable notebook."""


def refuse_json_bombs(data: bytes) -> None:
    """InvalidNotebook for a file whose parsing would cost far more memory than its size: too
    many JSON containers, strings or list items (counted as bytes, before parsing)."""
    containers, quotes, commas = data.count(b"[") + data.count(b"{"), data.count(b'"'), data.count(b",")
    if containers > CONTAINER_CAP or quotes > STRING_CAP or commas > VALUE_CAP:
        raise InvalidNotebook(f"the notebook file holds {containers:,} JSON lists and objects, {quotes:,} quotes and "
                              f"{commas:,} commas: more than a notebook needs (at most {CONTAINER_CAP:,}, {STRING_CAP:,} "
                              f"and {VALUE_CAP:,}); clear its outputs and submit it again")


def read_cells(path) -> list[str]:
    """The code cells of a notebook file, or InvalidNotebook saying why they cannot be read."""
    try:
        data = read_regular_file(path, NOTEBOOK_CAP)
    except Unreadable as err:
        raise InvalidNotebook(f"the notebook file {err}") from None
    refuse_json_bombs(data)
    try:
        notebook = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
    except Exception as err:  # invalid JSON, an unknown nbformat, not a notebook at all
        raise InvalidNotebook(f"not a readable notebook: {str(err).splitlines()[0][:200] if str(err) else type(err).__name__}") from None
    if not isinstance(notebook.get("cells"), list):
        raise InvalidNotebook("the notebook has no list of cells")
    cells = []
    for cell in notebook.cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append("".join(map(str, source)) if isinstance(source, list) else str(source))
    if sum(map(len, cells)) > CODE_CAP:
        raise InvalidNotebook(f"the notebook's code cells hold more than {CODE_CAP // 2**20} MB of code")
    return cells


MAGIC_LINE = re.compile(r"^\s*(?:[\w.\[\], ]+=\s*)?[%!]")


def as_python(source: str) -> str:
    """IPython's own rewriting of magics and shell lines; the source itself where that fails.

    IPython re-reads the whole cell for every magic it rewrites (quadratic in their number), so
    a cell without a cell magic (%%) or line continuations is rewritten one magic line at a time.
    """
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # no IPython: shell and magic lines become comments
        return "\n".join(("pass  # " + l) if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())
    transform = TransformerManager().transform_cell
    lines = source.splitlines()
    try:
        if source.lstrip().startswith("%%") or any(l.endswith("\\") for l in lines):
            return transform(source)
        return "\n".join(_line_as_python(l, transform) if MAGIC_LINE.match(l) else l for l in lines) + "\n"
    except Exception:
        return source


def _line_as_python(line: str, transform) -> str:
    """One magic or shell line rewritten by IPython, at the line's own indentation."""
    indent = line[: len(line) - len(line.lstrip())]
    return "\n".join(indent + l for l in transform(line.lstrip()).rstrip("\n").splitlines())


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call, ast.Starred)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _mutated(tree: ast.Module) -> set[str]:
    """Names changed in place at the top level: item and attribute assignments, bare calls."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(statement):
            if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(_root_name(node))
            elif isinstance(node, ast.AugAssign):
                names.add(_root_name(node.target))
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            call = statement.value
            names.add(_root_name(call.func) if isinstance(call.func, ast.Attribute) else None)
            names.update(_root_name(a) for a in [*call.args, *(k.value for k in call.keywords)]
                         if isinstance(a, (ast.Name, ast.Attribute, ast.Subscript, ast.Starred)))
    return names - {None}


def _scopes(table):
    yield table
    for child in table.get_children():
        yield from _scopes(child)


def names_of(source: str) -> tuple[set[str], set[str], bool]:
    """(names the cell binds or changes, global names it uses, whether it must run anyway).
    A cell that cannot be analysed (dynamic names, magics, a syntax error) must run, and is
    taken to use every identifier in its text."""
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(), set(IDENTIFIER.findall(source)), True
    binds, uses = _mutated(tree), set()
    for scope in _scopes(table):
        top = scope.get_type() == "module"
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if top and (symbol.is_assigned() or symbol.is_imported()) or not top and symbol.is_declared_global() and symbol.is_assigned():
                binds.add(name)
            if symbol.is_referenced() and (top or symbol.is_global()):
                uses.add(name)
    if uses & DYNAMIC or any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree)):
        return binds, uses | set(IDENTIFIER.findall(source)), True
    return binds, uses, False


def graded_cells(sources: list[str], answer_names: set[str]) -> list[int]:
    """Indices of the cells the answers depend on (see the module's docstring), in order.

    A worklist over an index from each name to the cells that bind it: every cell and every
    name is handled once, so the time grows linearly with the notebook."""
    analysed = [names_of(s) for s in sources]
    binders: dict[str, list[int]] = {}
    for index, (binds, _, _) in enumerate(analysed):
        for name in binds:
            binders.setdefault(name, []).append(index)
    graded = {index for index, (_, _, must_run) in enumerate(analysed) if must_run}
    pending = list(answer_names) + [name for index in graded for name in analysed[index][1]]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for index in binders.get(name, ()):
            if index not in graded:
                graded.add(index)
                pending.extend(analysed[index][1])
    return sorted(graded)


def runnable(sources: list[str], answer_names: set[str]) -> list[tuple[int, str]]:
    """(cell number, plain Python) of each cell the grader runs."""
    python = [as_python(s) for s in sources]
    return [(index, python[index]) for index in graded_cells(python, answer_names)]
