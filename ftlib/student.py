"""Student copies of the lessons: solutions replaced by stubs (``make student``).

The notebooks in ``lessons/`` are the instructor version.  Solutions are marked in code
cells (docs/AUTHORING.md)::

    def step(theta, grad, lr):
        # BEGIN SOLUTION
        return theta - lr * grad
        # END SOLUTION
    ex.update_rule.check(step)

    answer = 0.25  # SOLUTION
    ex.some_value.check(answer)

In the student copy the block becomes ``raise NotImplementedError("Exercise: your code
here — call ex.update_rule.hint() for a hint")`` at the block's indentation, and the marked
line becomes ``answer = ...  # YOUR ANSWER``; the checker then prints "not answered yet".
Every output is cleared (students run the copy themselves), and nbval's ``# NBVAL_...`` marker lines
are dropped.

Copies are written to ``student/`` with a record of what was generated
(``student/.generated.json``, sha256 per file).  A copy whose content differs from what was
generated has been edited by someone: it is never overwritten unless ``force=True``, and
even then the old file is kept as ``NAME.backup-N.ipynb`` (a new N each time: no version is lost).  ``lessons/`` is only read.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import nbformat

__all__ = ["StudentCopyError", "make_student_source", "make_student_notebook", "write_student_copies",
           "RECORD"]

RECORD = ".generated.json"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\b")
# `name = value  # SOLUTION` (the first "=" that is an assignment, not ==, <=, >=, !=)
VALUE_LINE = re.compile(r"^(?P<lhs>[ \t]*[^=#<>!(]*?[^=#<>!(\s])\s*=(?!=)\s*(?P<value>.*?)\s*#\s*SOLUTION\s*$")
CHECK_CALL = re.compile(r"([A-Za-z_][\w.]*)\.check\s*\(")
# a comment that mentions "solution" at all must be one of the three exact markers, or the copy is refused:
# a near miss ("# begin solution", "# SOLUTION (note)") would otherwise leak the answer into the student copy
MENTIONS_SOLUTION = re.compile(r"#.*\bsolutions?\b", re.IGNORECASE)
EXACT_MARKER = re.compile(r"#\s*(BEGIN SOLUTION|END SOLUTION|SOLUTION)\s*$")
TEST_MARKER = re.compile(r"^# NBVAL_[A-Z_]+[ \t]*\n?", re.M)  # nbval's cell markers (docs/AUTHORING.md)
STUB = 'raise NotImplementedError("Exercise: your code here — call {handle}.hint() for a hint")'
ANSWER = "...  # YOUR ANSWER"


class StudentCopyError(ValueError):
    """A solution marker is malformed (for example a BEGIN SOLUTION without END SOLUTION)."""


def _handle(source: str) -> str:
    """The exercise a cell checks (``ex.update_rule`` in ``ex.update_rule.check(step)``)."""
    found = CHECK_CALL.findall(source)
    return found[-1] if found else "the exercise's"


def _check_marker(line: str, index: int, where: str) -> None:
    mention = MENTIONS_SOLUTION.search(line)
    if mention and not EXACT_MARKER.search(line[mention.start():]):
        raise StudentCopyError(f"{where}: line {index + 1} looks like a solution marker but is not one of "
                               f"'# BEGIN SOLUTION', '# END SOLUTION' or 'x = value  # SOLUTION' (upper case, "
                               f"nothing after it): {line.strip()!r}. Fix it, or the solution would leak into "
                               "the student copy (no copy was written).")


def make_student_source(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace the solutions in one code cell's source; return (new source, number replaced)."""
    handle = _handle(source)
    stub = STUB.format(handle=handle) if handle != "the exercise's" else \
        'raise NotImplementedError("Exercise: your code here — call the exercise\'s .hint() for a hint")'
    out: list[str] = []
    replaced = 0
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        _check_marker(line, i, where)
        begin = BEGIN.match(line)
        if begin:
            j = i + 1
            while j < len(lines) and not END.match(lines[j]):
                if BEGIN.match(lines[j]):
                    raise StudentCopyError(f"{where}: nested BEGIN SOLUTION (line {j + 1})")
                j += 1
            if j == len(lines):
                raise StudentCopyError(f"{where}: BEGIN SOLUTION on line {i + 1} has no END SOLUTION")
            out.append(begin.group("indent") + stub)
            replaced += 1
            i = j + 1
            continue
        if END.match(line):
            raise StudentCopyError(f"{where}: END SOLUTION on line {i + 1} without BEGIN SOLUTION")
        if re.search(r"#\s*SOLUTION\s*$", line):
            m = VALUE_LINE.match(line)
            if not m:
                raise StudentCopyError(f"{where}: line {i + 1} is marked '# SOLUTION' but is not "
                                       f"'name = value  # SOLUTION': {line.strip()!r}")
            out.append(f"{m.group('lhs')} = {ANSWER}")
            replaced += 1
        else:
            out.append(line)
        i += 1
    return "\n".join(out), replaced


def make_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> tuple[nbformat.NotebookNode, int]:
    """A student copy of a notebook (the argument is not modified); returns (copy, stubs made)."""
    import nbformat  # a dependency of Jupyter (and of the test extra), imported only when needed

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    total = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, n = make_student_source(cell.source, where=f"{name} cell {index}")
        cell.source = TEST_MARKER.sub("", cell.source)  # the course's test markers mean nothing to a learner
        total += n
        cell.outputs = []
        cell.execution_count = None
    nb.metadata.pop("widgets", None)
    return nb, total


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class CopyResult:
    lesson: str
    status: str  # "written", "unchanged", "kept-edited", "overwritten-edited"
    stubs: int
    path: Path


def backup_path(target: Path) -> Path:
    """The first free ``NAME.backup-N.ipynb`` beside ``target``: every edited version is kept, none replaced."""
    n = 1
    while (candidate := target.with_name(f"{target.stem}.backup-{n}{target.suffix}")).exists():
        n += 1
    return candidate


def _refuse_lesson_folders(lessons: list[Path], out_dir: Path) -> None:
    out = out_dir.resolve()
    for lesson in lessons:
        folder = Path(lesson).resolve().parent
        if out == folder:
            raise StudentCopyError(f"the output folder {out_dir} is the folder of the lessons themselves, "
                                   f"{folder}: the student copies would replace the instructor's lessons. "
                                   "Choose another folder, e.g. --out student (nothing was written).")


def write_student_copies(lessons: list[Path], out_dir: Path, *, force: bool = False) -> list[CopyResult]:
    """Write a student copy of every lesson into ``out_dir`` (see the module docstring)."""
    import nbformat

    from ftlib.checkpoint import atomic_write_bytes

    out_dir = Path(out_dir)
    _refuse_lesson_folders(lessons, out_dir)
    copies = []
    for lesson in lessons:  # every copy is made before anything is written: a malformed marker writes nothing
        lesson = Path(lesson)
        copy, stubs = make_student_notebook(nbformat.read(lesson, as_version=4), lesson.name)
        copies.append((lesson, (nbformat.writes(copy) + "\n").encode(), stubs))
    out_dir.mkdir(parents=True, exist_ok=True)
    record_path = out_dir / RECORD
    record: dict[str, str] = json.loads(record_path.read_text()) if record_path.exists() else {}
    results = []
    for lesson, data, stubs in copies:
        target = out_dir / lesson.name
        status = "written"
        if target.exists():
            current = _sha256(target.read_bytes())
            if current == _sha256(data):
                status = "unchanged"
            elif record.get(lesson.name) != current:  # edited since generated (or never generated)
                if not force:
                    results.append(CopyResult(lesson.name, "kept-edited", stubs, target))
                    continue
                backup = backup_path(target)
                shutil.copy2(target, backup)
                status = "overwritten-edited"
        if status != "unchanged":
            atomic_write_bytes(target, data, overwrite=True)
        record[lesson.name] = _sha256(data)
        results.append(CopyResult(lesson.name, status, stubs, target))
        atomic_write_bytes(record_path, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode(), overwrite=True)
    return results
