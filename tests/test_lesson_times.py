"""Every lesson's title and time say the same thing in its header, in lesson 00's table and in the README
(issue 25: seven lessons disagreed), in one style: "# NN · Title" and "*About N min.*"."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _header(path: Path) -> str:
    return "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])


def header_time(path: Path) -> str:
    """'15 min', or '15 min (+10–30 online)' for a lesson with an online part."""
    m = re.search(r"\*About (\d+) min(?: offline; (\d+–\d+) min more[^*]*)?\.\*", _header(path))
    assert m, f"{path.name}: the first cell must give its time as '*About N min.*'"
    return f"{m[1]} min" + (f" (+{m[2]} online)" if m[2] else "")


def test_every_header_has_the_same_title_style():
    for path in LESSONS:
        first = _header(path).splitlines()[0]
        assert re.match(rf"# {path.name[:2]} · \S", first), f"{path.name}: title should read '# {path.name[:2]} · …', got {first!r}"


def test_times_agree_in_header_lesson_00_and_readme():
    readme = {m[1]: m[2] for m in re.finditer(r"^\| (\d\d) \| `\d\d_\w+` \|.*\| ([^|]+) \|$",
                                               (ROOT / "README.md").read_text(encoding="utf-8"), re.M)}
    table = "".join("".join(c["source"]) for c in json.loads(LESSONS[0].read_text(encoding="utf-8"))["cells"])
    welcome = {m[1]: m[2] for m in re.finditer(r"^\| (\d\d) \|.*— ([^|—]+) \|$", table, re.M)}
    assert set(readme) == set(welcome) == {p.name[:2] for p in LESSONS}, "every lesson is listed in both tables"
    for path in LESSONS:
        n = path.name[:2]
        assert readme[n].strip() == welcome[n].strip() == header_time(path), (
            f"lesson {n}: header says {header_time(path)!r}, lesson 00 {welcome[n].strip()!r}, "
            f"README {readme[n].strip()!r}: make them agree")
