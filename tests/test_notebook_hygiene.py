"""Notebook hygiene: executed in order in one kernel, no errors, no widget state, small, complete."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.ipynb"))
REQUIRED_SECTIONS = ("objectives", "summary", "references")


def test_lessons_exist():
    names = [p.name for p in LESSONS]
    assert "00_welcome.ipynb" in names, names


@pytest.fixture(params=LESSONS, ids=[p.name for p in LESSONS])
def notebook(request):
    return request.param, json.loads(request.param.read_text())


def test_executed_in_order_in_one_kernel(notebook):
    path, nb = notebook
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    assert counts, f"{path.name} has no code cells"
    assert None not in counts, f"{path.name} has unexecuted code cells: run `make execute`"
    assert counts == list(range(1, len(counts) + 1)), \
        f"{path.name} was not executed top to bottom in one fresh kernel: {counts}"


def test_no_error_outputs(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{path.name} cell {i}: saved error {out.get('ename')}"
            if out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                assert "Traceback" not in text and "Warning" not in text, \
                    f"{path.name} cell {i}: stderr output: {text[:200]}"


def test_no_widget_state_and_small(notebook):
    path, nb = notebook
    assert "widgets" not in nb.get("metadata", {}), f"{path.name} stores widget state; strip it"
    assert path.stat().st_size < 1_000_000, f"{path.name} is {path.stat().st_size / 1e6:.2f} MB (> 1 MB)"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", \
        f"{path.name} needs the python3 kernelspec so it opens without a 'Select Kernel' dialog"


def test_lesson_structure(notebook):
    """Every lesson: objectives and a time estimate at the top, a summary and references."""
    path, nb = notebook
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown").lower()
    for section in REQUIRED_SECTIONS:
        assert section in markdown, f"{path.name} lacks a '{section}' section"
    first = "".join(nb["cells"][0]["source"]).lower()
    assert re.search(r"\d+\s*min", first), f"{path.name}: the first cell should give a time estimate"
