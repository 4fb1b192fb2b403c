"""The learner's workspace: working copies of the lessons that are theirs alone (``make lab``, issue 12).

``lessons/`` is the course's tracked, instructor version.  ``make lab`` never opens it: it opens
``workspace/`` (git-ignored), where every lesson has a working copy made from it the way the student
copies are (solutions replaced by stubs, outputs cleared: ``ftlib/student.py``).  Because the learner
only ever writes into ``workspace/``, ``git pull`` always applies cleanly, and a course update reaches
the workspace on the next ``make lab`` by these rules:

* a copy whose cells (their type and source) are still exactly what was generated is the learner's
  only in name: it is replaced by the new version (its outputs go with it; the new code must be re-run
  anyway);
* a copy the learner changed (any cell's source, a cell added or removed) is **never** touched.  When
  the course has a new version of that lesson, it is written next to it as ``NAME.new.ipynb``, and the
  learner compares the two;
* a copy that is not a readable notebook (for example left with conflict markers) is not touched
  either; the course's version is written next to it the same way;
* a deleted copy is made again.

What was generated is recorded in ``workspace/.course-versions.json`` (a fingerprint of the cells per
lesson).  Every file is written atomically, so a kill at any moment leaves each notebook loadable.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RECORD", "SyncResult", "cells_fingerprint", "sync_workspace", "STATUS_TEXT"]

RECORD = ".course-versions.json"

STATUS_TEXT = {
    "created": "new working copy",
    "up-to-date": "up to date",
    "updated": "updated to the course's new version (you had not changed this copy)",
    "yours": "yours, kept as it is",
    "new-version": "KEPT as you left it. The course has a new version of this lesson: it is next to "
                   "yours as {new}. Compare the two and copy over what you want.",
    "unreadable": "KEPT, untouched: this file is not a readable notebook ({error}). The course's version "
                  "is next to it as {new}; fix or rename yours, or delete it and run make lab again.",
}


@dataclass
class SyncResult:
    """What happened to one lesson's working copy."""

    lesson: str
    status: str  # a key of STATUS_TEXT
    path: Path
    new_path: Path | None = None
    error: str = ""

    def message(self) -> str:
        new = self.new_path.name if self.new_path else ""
        return STATUS_TEXT[self.status].format(new=new, error=self.error)


def cells_fingerprint(nb: dict) -> str:
    """What the learner can change: the cells' types and sources (not outputs, counts or metadata)."""
    cells = [(c.get("cell_type"), _text(c.get("source", ""))) for c in nb.get("cells", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


def _read_fingerprint(path: Path) -> tuple[str | None, str]:
    """(fingerprint, "") for a readable notebook, (None, why not) otherwise."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            return None, "no list of cells in it"
        return cells_fingerprint(nb), ""
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read it: {exc}"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON at line {exc.lineno}, perhaps merge-conflict markers"


def _free_new_path(target: Path, recorded_new: str | None, fingerprint: str) -> Path:
    """``NAME.new.ipynb`` unless the learner has changed that file too; then ``NAME.new-2.ipynb``, …"""
    n = 1
    while True:
        suffix = ".new" if n == 1 else f".new-{n}"
        candidate = target.with_name(f"{target.stem}{suffix}{target.suffix}")
        if not candidate.exists():
            return candidate
        current, _ = _read_fingerprint(candidate)
        if current in (fingerprint, recorded_new):  # ours, unchanged since we wrote it: refresh it
            return candidate
        n += 1


def sync_workspace(lessons: list[Path], workspace: Path) -> list[SyncResult]:
    """Make or update the working copy of every lesson in ``workspace`` (rules: module docstring)."""
    import nbformat

    from ftlib.checkpoint import atomic_write_bytes
    from ftlib.student import make_student_notebook

    workspace = Path(workspace)
    if any(Path(lesson).resolve().parent == workspace.resolve() for lesson in lessons):
        raise ValueError(f"the workspace {workspace} is the lessons' own folder; choose another one "
                         "(nothing was written)")
    prepared = []
    for lesson in lessons:  # every copy is made before anything is written: a malformed marker writes nothing
        copy, _ = make_student_notebook(nbformat.read(lesson, as_version=4), Path(lesson).name)
        prepared.append((Path(lesson).name, (nbformat.writes(copy) + "\n").encode(), cells_fingerprint(copy)))
    workspace.mkdir(parents=True, exist_ok=True)
    record_path = workspace / RECORD
    record: dict[str, dict] = _load_record(record_path)
    results = []
    for name, data, fingerprint in prepared:
        target = workspace / name
        entry = record.get(name, {})
        result = _sync_one(target, data, fingerprint, entry, atomic_write_bytes)
        if result.status in ("created", "updated", "up-to-date"):
            entry = {"generated": fingerprint}
        elif result.new_path is not None:
            entry = {**entry, "new": fingerprint}
        record[name] = entry
        atomic_write_bytes(record_path, (json.dumps(record, indent=1, sort_keys=True) + "\n").encode(),
                           overwrite=True)
        results.append(result)
    return results


def _sync_one(target: Path, data: bytes, fingerprint: str, entry: dict, write) -> SyncResult:
    name = target.name
    if not target.exists():
        write(target, data)
        return SyncResult(name, "created", target)
    current, error = _read_fingerprint(target)
    if current == fingerprint:
        return SyncResult(name, "up-to-date", target)
    if current is not None and current == entry.get("generated"):
        write(target, data, overwrite=True)
        return SyncResult(name, "updated", target)
    if current is not None and entry.get("generated") == fingerprint:
        return SyncResult(name, "yours", target)  # changed by the learner; the course has nothing new
    new_path = _free_new_path(target, entry.get("new"), fingerprint)
    new_current, _ = _read_fingerprint(new_path) if new_path.exists() else (None, "")
    if new_current != fingerprint:
        write(new_path, data, overwrite=True)
    return SyncResult(name, "unreadable" if current is None else "new-version", target, new_path, error)


def _load_record(path: Path) -> dict[str, dict]:
    try:
        record = json.loads(path.read_text())
        return {k: v for k, v in record.items() if isinstance(v, dict)} if isinstance(record, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}  # no record (or a damaged one): every existing copy is then treated as the learner's
