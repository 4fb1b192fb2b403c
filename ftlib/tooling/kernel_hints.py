"""An IPython extension: a ``NameError`` in a notebook says which cell defines the missing name.

After a kernel restart (or on opening a lesson) the cells above have not run, and an exercise cell fails
with a bare ``NameError: name 'ex' is not defined``.  With this extension loaded the normal traceback is
followed by one sentence such as::

    `ex` is defined in code cell 14 of 00_welcome.ipynb (under “6. How exercises work”:
    `from ftlib.exercises import welcome as ex`), which has not run since the kernel started: run the
    cells above first (Run ▸ Run All Above Selected Cell).

``make lab`` starts its kernels with ``--ext=ftlib.tooling.kernel_hints``; elsewhere
``%load_ext ftlib.tooling.kernel_hints`` does the same.

How it finds the cell: jupyter_server puts the notebook's path in the kernel's environment
(``JPY_SESSION_NAME``; VS Code sets ``__vsc_ipynb_file__``).  The saved notebook is read (JSON) and each
code cell's top-level bindings are found with :mod:`ast` — assignments, imports, ``def``/``class``,
``for`` and ``with ... as`` targets — and the first cell above the running one that binds the name is
named.  If it ran in this kernel (its source is in the kernel's input history) the sentence asks whether
it failed instead.  Without a notebook path, or when the file cannot be read, a generic sentence points
to the setup cells near the top of the lesson.  No sentence is added for a ``NameError`` raised inside
library code (ftlib's, torch's: the missing name belongs to that module, not to the notebook) or for an
``UnboundLocalError``.

The hint is attached to the exception as a PEP 678 note, so it is part of the error output itself, right
under the usual traceback.  Finding it never raises (a broken hint must not hide the real error) and is
cheap: the parsed notebook is cached by file size and modification time.
"""
from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension", "hint_for", "defining_cells"]

RUN_ABOVE = "Run ▸ Run All Above Selected Cell"
GENERIC = ("`{name}` is not defined in this kernel. If the kernel was restarted (or the notebook was just "
           "opened), the cells above have not run yet: run the setup cells near the top of the lesson first "
           f"({RUN_ABOVE}).")
_NAME_IN_MESSAGE = re.compile(r"name '([^']+)' is not defined")


# --- the extension ---------------------------------------------------------------------------------------

def load_ipython_extension(ipython: Any) -> None:
    """Register the NameError handler (``%load_ext ftlib.tooling.kernel_hints`` or ``--ext=...``)."""
    ipython.set_custom_exc((NameError,), _handler)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the handler again (IPython's default: no custom exceptions)."""
    if tuple(getattr(ipython, "custom_exceptions", ())) == (NameError,):
        ipython.set_custom_exc((), None)


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    """Show the usual traceback, with the hint as a note under it."""
    try:
        hint = hint_for(shell, value, tb)
        if hint and hint not in (getattr(value, "__notes__", None) or []):
            if hasattr(value, "add_note"):
                value.add_note(hint)
            else:  # Python 3.10: IPython shows __notes__ all the same
                value.__notes__ = [*(getattr(value, "__notes__", None) or []), hint]
    except Exception:  # noqa: BLE001 - the real error matters more than the hint
        pass
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)


# --- the hint --------------------------------------------------------------------------------------------

def hint_for(shell: Any, value: BaseException, tb: Any = None) -> str | None:
    """The sentence to show under ``value`` (a NameError), or None.  Never raises."""
    try:
        return _hint_for(shell, value, tb)
    except Exception:  # noqa: BLE001
        return None


def _hint_for(shell: Any, value: BaseException, tb: Any) -> str | None:
    if isinstance(value, UnboundLocalError) or not isinstance(value, NameError):
        return None
    name = getattr(value, "name", None)
    if not name:
        found = _NAME_IN_MESSAGE.search(str(value))
        name = found.group(1) if found else None
    if not name or name in shell.user_ns:
        return None
    if tb is not None and not _raised_in_user_code(shell, tb):
        return None
    path = _notebook_path(shell)
    notebook = _parse_notebook(path) if path else None
    if notebook is None:
        return GENERIC.format(name=name)

    history = list(getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or [])
    current = _index_of(notebook.cells, history[-1]) if history else None
    ran_before = {source.strip() for source in history[:-1]}
    definers = [c for c in notebook.cells if name in c.bound]
    above = [c for c in definers if current is None or c.index < current]
    where = f"of {path.name}"
    if above:
        cell = above[0]
        said = f"`{name}` is defined in code cell {cell.number} {where} ({_place(cell, name)})"
        if cell.source.strip() in ran_before:
            return (f"{said}, which ran in this kernel but left `{name}` undefined: did it fail (or was `{name}` "
                    "deleted)? Run it again and read its output.")
        return f"{said}, which has not run since the kernel started: run the cells above first ({RUN_ABOVE})."
    if definers:
        cell = definers[0]
        if cell.index == current:
            return f"This cell uses `{name}` before the line that defines it ({_place(cell, name, section=False)})."
        return (f"`{name}` is first defined further down, in code cell {cell.number} {where} "
                f"({_place(cell, name)}): run the cells in order, top to bottom.")
    if notebook.complete:
        return f"No cell {where} defines `{name}`: check its spelling, or define it first."
    return GENERIC.format(name=name)


def _raised_in_user_code(shell: Any, tb: Any) -> bool:
    """Whether the innermost frame runs in the notebook's namespace (a cell, or a function a cell defined)."""
    while tb.tb_next is not None:
        tb = tb.tb_next
    namespace = tb.tb_frame.f_globals
    return namespace is shell.user_ns or namespace is getattr(shell, "user_global_ns", None)


def _place(cell: _Cell, name: str, section: bool = True) -> str:
    line = cell.lines.get(name, "")
    line = line if len(line) <= 80 else line[:77] + "..."
    parts = []
    if section and cell.section:
        parts.append(f"under “{cell.section}”")
    if line:
        parts.append(f"`{line}`")
    return ": ".join(parts)


def _index_of(cells: list[_Cell], source: str) -> int | None:
    wanted = source.strip()
    for cell in cells:
        if cell.source.strip() == wanted:
            return cell.index
    return None


# --- reading the notebook --------------------------------------------------------------------------------

def _notebook_path(shell: Any) -> Path | None:
    candidates = [shell.user_ns.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")]
    cwd = Path.cwd()
    for candidate in candidates:
        if not candidate or not str(candidate).endswith(".ipynb"):
            continue
        path = Path(candidate)
        tries = [path] if path.is_absolute() else \
            [cwd / path, cwd / path.name, *(parent / path for parent in cwd.parents)]
        for p in tries:
            if p.is_file():
                return p
    return None


@dataclass
class _Cell:
    index: int            # position among all cells of the notebook
    number: int           # 1-based position among the code cells
    source: str
    bound: set[str]       # names bound at top level
    lines: dict[str, str]  # name -> the (first) line that binds it
    section: str          # the nearest markdown heading above


@dataclass
class _Notebook:
    cells: list[_Cell]
    complete: bool        # every cell parsed and no `from x import *`: "no cell defines it" can be trusted


_CACHE: dict[tuple[str, int, int], _Notebook | None] = {}


def _parse_notebook(path: Path) -> _Notebook | None:
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in _CACHE:
            if len(_CACHE) > 16:
                _CACHE.clear()
            _CACHE[key] = _read(path)
        return _CACHE[key]
    except Exception:  # noqa: BLE001
        return None


def _read(path: Path) -> _Notebook | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw_cells = raw["cells"]
    except Exception:  # noqa: BLE001 - not a notebook we can read: the generic hint
        return None
    cells, complete, section, number = [], True, "", 0
    for index, cell in enumerate(raw_cells):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "markdown":
            headings = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
            section = headings[-1] if headings else section
            continue
        if cell.get("cell_type") != "code":
            continue
        number += 1
        bound, lines, ok = defining_cells_source(source)
        complete = complete and ok
        cells.append(_Cell(index, number, source, bound, lines, section))
    return _Notebook(cells, complete)


def defining_cells(notebook_path: str | os.PathLike, name: str) -> list[int]:
    """The 1-based code-cell numbers of ``notebook_path`` that bind ``name`` at top level (for tests and tools)."""
    notebook = _parse_notebook(Path(notebook_path))
    return [c.number for c in notebook.cells if name in c.bound] if notebook else []


def defining_cells_source(source: str) -> tuple[set[str], dict[str, str], bool]:
    """The names one cell binds at top level, the line binding each, and whether the answer is complete
    (the cell parsed, and has no star import)."""
    tree = _parse(source)
    if tree is None:
        return set(), {}, False
    source_lines = source.splitlines()
    bound: set[str] = set()
    lines: dict[str, str] = {}
    complete = True

    def bind(name: str, node: ast.AST) -> None:
        if name not in bound:
            bound.add(name)
            lineno = getattr(node, "lineno", 0)
            lines[name] = source_lines[lineno - 1].strip() if 0 < lineno <= len(source_lines) else ""

    def targets(target: ast.AST, stmt: ast.AST) -> None:
        if isinstance(target, ast.Name):
            bind(target.id, stmt)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                targets(element, stmt)
        elif isinstance(target, ast.Starred):
            targets(target.value, stmt)

    def walrus(node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr):
                targets(sub.target, sub)

    def visit(statements: list[ast.stmt]) -> None:
        nonlocal complete
        for stmt in statements:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    targets(target, stmt)
                walrus(stmt.value)
            elif isinstance(stmt, ast.AnnAssign):
                if stmt.value is not None:
                    targets(stmt.target, stmt)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    if alias.name == "*":
                        complete = False
                    else:
                        bind(alias.asname or alias.name.split(".")[0], stmt)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(stmt.name, stmt)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                targets(stmt.target, stmt)
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars, stmt)
                visit(stmt.body)
            elif isinstance(stmt, (ast.If, ast.While)):
                walrus(stmt.test)
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                visit(stmt.body)
                for handler in stmt.handlers:
                    visit(handler.body)
                visit(stmt.orelse)
                visit(stmt.finalbody)
            elif type(stmt).__name__ == "Match":
                for case in stmt.cases:
                    visit(case.body)
            elif isinstance(stmt, ast.Expr):
                walrus(stmt.value)

    visit(tree.body)
    return bound, lines, complete


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:  # IPython syntax (%magics, !shell): turn it into Python the way IPython does
        from IPython.core.inputtransformer2 import TransformerManager
        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001
        return None
