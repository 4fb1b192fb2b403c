"""Every lesson can be run twice, top to bottom, and every cell re-run (issue 12).

Learners re-run cells all the time: to see a plot again, after changing a number, or the whole lesson
the next day in the same kernel.  Each lesson is executed in one kernel as a learner would:

1. top to bottom, every code cell run twice in a row (a cell re-run right away);
2. then the whole lesson once more, top to bottom (files written, models changed and demos cleaned up
   by the first run are all still there).

No cell may raise.  The claims' asserts hold in every pass: a claim that only holds on a fresh kernel
would be a claim about the order of execution, not about fine-tuning.  Outputs are not compared here
(nbval does that on the first, fresh run).  Not run by ``make test-portable``: the floats do not matter.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300


def _first_error(outputs) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out['ename']}: {out['evalue']}"
    return None


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_runs_twice_and_every_cell_reruns(lesson, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    work = tmp_path / "lessons"  # a copy in a folder of its own: whatever the lesson writes stays there
    work.mkdir()
    shutil.copy(lesson, work / lesson.name)
    nb = nbformat.read(work / lesson.name, as_version=4)
    # widgets get a comm that sends nothing (jupyter/nbclient#312, see tests/test_student_copies.py)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import comm\ncomm.create_comm = lambda *args, **kwargs: comm.DummyComm(*args, **kwargs)"))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                            store_widget_state=True, resources={"metadata": {"path": str(work)}})
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    failures: list[str] = []
    with client.setup_kernel():
        for label, repeats in (("first run, cell re-run at once", 2), ("second run of the whole lesson", 1)):
            for index, cell in code:
                for attempt in range(repeats):
                    client.execute_cell(cell, index)
                    error = _first_error(cell.outputs)
                    if error:
                        when = f"{label}, {'again' if attempt else 'first time'}"
                        failures.append(f"cell {index - 1} ({when}): {error}")
                if failures:
                    break
            if failures:
                break
    assert not failures, f"{lesson.name} fails when re-run: {failures[0]}"
