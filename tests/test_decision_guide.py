"""docs/DECISION_GUIDE.md: every rule is traced to a lesson (or marked as literature), and every number it
quotes appears in the lesson it links, where that lesson asserts it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "DECISION_GUIDE.md"
LINK = re.compile(r"\]\(\.\./lessons/(\d\d_\w+\.ipynb)\)")
NUMBER = re.compile(r"(?<![\w.])[+−-]?\d+\.\d+")


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) == 2 and cells != ["rule", "evidence"]:
            rows.append((cells[0], cells[1]))
    return rows


def _lesson_text(name: str) -> str:
    nb = json.loads((ROOT / "lessons" / name).read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts).replace("−", "-")


def test_the_guide_has_rules_and_no_placeholders():
    text = GUIDE.read_text(encoding="utf-8")
    assert len(_rows()) >= 20 and "ROWS_" not in text and "TODO" not in text


@pytest.mark.parametrize("rule, evidence", _rows(), ids=[r[0][:40] for r in _rows()])
def test_every_rule_is_traced(rule, evidence):
    lessons = LINK.findall(evidence)
    literature = "*Literature*" in evidence and re.search(r"\((?:[^()]*\b)?(19|20)\d\d\b", evidence)
    assert lessons or literature, f"{rule!r}: link the lesson that measured it, or mark it *Literature* with a citation"
    for name in lessons:
        assert (ROOT / "lessons" / name).exists(), f"{rule!r} links {name}, which does not exist"
    text = "\n".join(_lesson_text(name) for name in set(lessons))
    for number in NUMBER.findall(evidence):
        plain = number.replace("−", "-")
        assert plain in text or plain.lstrip("+-") in text, f"{rule!r} quotes {number}, which none of {lessons} says"


def test_readme_and_lesson_08_link_the_guide():
    assert "docs/DECISION_GUIDE.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/DECISION_GUIDE.md" in _lesson_text("08_negative_transfer_and_domain_shift.ipynb")
