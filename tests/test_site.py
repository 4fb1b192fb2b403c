"""`make site` / `make site-instructor`: the executed lessons render to static HTML, offline, and the
publishable edition gives no answer away (issue 12)."""
from __future__ import annotations

import atexit
import functools
import html
import importlib
import json
import pkgutil
import re
import shutil
import socket
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_site import (HIDDEN_NOTE, INSTRUCTOR, MATHJAX_DIR, PUBLIC, WIDGET_MIME, WIDGET_NOTE,  # noqa: E402
                        build_site, prepare_notebook)

from ftlib.student import BEGIN, END, VALUE_LINE, StudentCopyError, make_student_notebook  # noqa: E402

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
# what a page may not load from elsewhere: scripts, styles, fonts (links to papers are fine)
REMOTE_RESOURCE = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//|<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//"
                             r"|url\(\s*[\"']?(https?:)?//|@import\s+[\"'](https?:)?//|cdnjs|jsdelivr|unpkg\.com", re.I)


@functools.lru_cache(maxsize=None)
def built_site(edition: str) -> Path:
    """Every lesson built once per test session (shared with tests/test_site_browser.py)."""
    out = Path(tempfile.mkdtemp(prefix=f"ftlib-site-{edition}-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    build_site(LESSONS, out / "site", edition=edition)
    return out / "site"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    """The text of a page as a reader sees it (highlighted code comes back verbatim)."""
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """The lines of a lesson that only its solutions contain: the body of every BEGIN/END SOLUTION block and
    every `x = value  # SOLUTION` line (without its comment), less those that the student copy shows anyway."""
    student, _ = make_student_notebook(nb, "lesson")
    visible = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.split("\n"):
            if BEGIN.match(line):
                inside = True
            elif END.match(line):
                inside = False
            elif inside or VALUE_LINE.match(line):
                text = re.sub(r"\s*#\s*SOLUTION\s*$", "", line).strip()
                if len(text) >= 6 and text not in visible:
                    found.append(text)
    return found


def exercise_solution_texts() -> list[tuple[str, str]]:
    """(exercise name, line) for every line of every exercise's solution_text (what .solution() prints)."""
    import ftlib.exercises as pkg
    from ftlib.exercises import Exercise

    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"ftlib.exercises.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, Exercise) and obj.solution_text:
                found += [(obj.name, line.strip()) for line in obj.solution_text.split("\n") if len(line.strip()) >= 8]
    return found


# -- building ---------------------------------------------------------------------------------------------

def test_site_from_two_lessons_builds_offline(tmp_path, monkeypatch):
    if len(LESSONS) < 2:
        pytest.skip("needs two lessons")
    lessons = LESSONS[:2]

    def refuse(*args, **kwargs):
        raise AssertionError("building the site tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    written = build_site(lessons, tmp_path / "site", jobs=1)
    index = (tmp_path / "site" / "index.html").read_text()
    assert written[0].name == "index.html" and len(written) == 4 and written[-1].name == "decision_guide.html"
    guide = written[-1].read_text()
    assert 'href="decision_guide.html"' in index and "<table>" in guide and 'href="04_freezing.html"' in guide
    assert ".ipynb" not in guide, "links to lessons point to their pages"
    assert not REMOTE_RESOURCE.search(guide)
    for lesson in lessons:
        page = tmp_path / "site" / (lesson.stem + ".html")
        assert f'href="{page.name}"' in index
        text = page.read_text()
        assert 'href="index.html"' in text
        assert '"c1"># NBVAL_IGNORE_OUTPUT' not in text  # the test markers are left out of code cells
        assert '"c1"># NBVAL_CHECK_OUTPUT' not in text
        assert "<img" in text or "data:image/png" in text or lesson.name.startswith("00")
        assert f'<script src="{MATHJAX_DIR}/MathJax.js">' in text
        assert not REMOTE_RESOURCE.search(text), REMOTE_RESOURCE.search(text).group(0)
    assert (tmp_path / "site" / MATHJAX_DIR / "MathJax.js").is_file()
    first, second = (tmp_path / "site" / (p.stem + ".html") for p in lessons)
    assert f'href="{second.name}"' in first.read_text() and f'href="{first.name}"' in second.read_text()
    assert all(lesson.read_bytes() for lesson in lessons)  # lessons are only read


@pytest.mark.parametrize("edition", [PUBLIC, INSTRUCTOR])
def test_pages_load_nothing_from_the_network(edition):
    site = built_site(edition)
    pages = sorted(site.glob("*.html"))
    assert len(pages) == len(LESSONS) + 2  # the lessons, the index and the decision guide
    for page in pages:
        text = page.read_text(encoding="utf-8")
        hit = REMOTE_RESOURCE.search(text)
        assert not hit, f"{page.name} loads something from the network: {text[hit.start() - 80:hit.end() + 80]!r}"
        for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", text):  # every script is in the site itself
            assert (site / src.split("?")[0]).is_file(), f"{page.name}: {src} is not in the site"
        if page.name != "index.html":
            assert "require.min.js" not in text and "mermaid" not in text.lower()


# -- the publishable edition gives no answer away ----------------------------------------------------------

def test_public_site_has_no_solutions():
    public, instructor = built_site(PUBLIC), built_site(INSTRUCTOR)
    checked = 0
    for lesson in LESSONS:
        nb = nbformat.read(lesson, as_version=4)
        raw = (public / f"{lesson.stem}.html").read_text(encoding="utf-8")
        text = page_text(public / f"{lesson.stem}.html")
        teacher = page_text(instructor / f"{lesson.stem}.html")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "# SOLUTION", "one solution:", "[solution]"):
            assert marker not in text and marker not in raw, f"{lesson.name}: {marker!r} on the public page"
        assert not re.search(r"\[(correct|not yet)\] Exercise", text), f"{lesson.name}: an exercise verdict is on the public page"
        for line in solution_lines(nb):
            assert line in teacher, f"{lesson.name}: the test cannot find {line!r} even on the instructor page"
            assert line not in text, f"{lesson.name}: the solution line {line!r} is on the public page"
            checked += 1
        n_blocks = sum(bool(BEGIN.match(l)) for c in nb.cells if c.cell_type == "code" for l in c.source.split("\n"))
        assert text.count('raise NotImplementedError("Exercise: your code here') == n_blocks
    assert checked >= 3 * len(LESSONS), f"only {checked} solution lines were checked"


def test_public_site_shows_no_exercise_solution_text():
    pages = "\n".join(page_text(p) for p in built_site(PUBLIC).glob("*.html"))
    student_text = "\n".join(c.source for lesson in LESSONS
                             for c in make_student_notebook(nbformat.read(lesson, as_version=4))[0].cells)
    lines = [(name, line) for name, line in exercise_solution_texts() if line not in student_text]
    assert len(lines) >= 10
    for name, line in lines:
        assert line not in pages, f"{name}: a line of its solution is on the public site: {line!r}"


def test_public_site_keeps_the_questions_and_says_why_an_output_is_missing():
    site = built_site(PUBLIC)
    for lesson in LESSONS:
        nb = nbformat.read(lesson, as_version=4)
        text = page_text(site / f"{lesson.stem}.html")
        # the options of a multiple-choice exercise (printed by .show()) are the question: they stay
        for cell in nb.cells:
            first = (cell.get("outputs") or [{}])[0].get("text", "").split("\n")[0]
            if cell.cell_type == "code" and re.match(r"  \([a-z]\) ", first):
                assert first.strip() in text, f"{lesson.name}: the options {first!r} are missing"
        if any(c.cell_type == "code" and "# SOLUTION" in c.source for c in nb.cells):
            assert html.unescape(re.sub("<[^>]+>", "", HIDDEN_NOTE)) in text


def test_instructor_site_shows_the_solutions_and_says_so():
    site = built_site(INSTRUCTOR)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Instructor edition" in index and 'content="noindex"' in index
    assert json.loads((site / ".ftlib-site.json").read_text())["edition"] == INSTRUCTOR
    for lesson in LESSONS:
        page = (site / f"{lesson.stem}.html").read_text(encoding="utf-8")
        assert "Instructor edition" in page and 'content="noindex"' in page
        text = page_text(site / f"{lesson.stem}.html")
        if any(c.cell_type == "code" and "SOLUTION" in c.source for c in nbformat.read(lesson, as_version=4).cells):
            assert "# SOLUTION" in text or "# BEGIN SOLUTION" in text
            assert "[correct] Exercise" in text
    assert "Instructor edition" not in (built_site(PUBLIC) / "index.html").read_text(encoding="utf-8")


# -- the rules, on small notebooks --------------------------------------------------------------------------

def _nb(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson 99 — test\n\n*About 5 min.* $\\theta$")] + list(cells)
    return nb


def _code(source: str, *outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def _stdout(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_the_public_rules_on_each_kind_of_cell():
    widget = nbformat.v4.new_output("execute_result", data={
        WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "Any sentence at all: the widget shows when you run the lesson."}, execution_count=1)
    nb = _nb(
        _code("# NBVAL_CHECK_OUTPUT\nanswer = 42  # SOLUTION\nex.value.check(answer)", _stdout("[correct] Exercise 1: correct.\n")),
        _code("def f(x):\n    # BEGIN SOLUTION\n    return x * 3 + 1\n    # END SOLUTION\nex.f.check(f)",
              _stdout("[correct] Exercise 2: correct.\n")),
        _code("ex.value.check(41)  # a typical wrong answer", _stdout("[not yet] Exercise 1: not yet. expected 42, got 41\n")),
        _code("ex.value.solution()", _stdout("[solution] Exercise 1 — one solution:\nanswer = 42\n")),
        _code('ex.choice.show()\nanswer = "b"  # SOLUTION\nex.choice.check(answer)',
              _stdout("  (a) first option\n  (b) second option\n[correct] Exercise 3: correct. Because b.\n")),
        _code("ex.value.hint()", _stdout("[hint] Exercise 1: count them.\n")),
        _code("# NBVAL_IGNORE_OUTPUT\ninteractive(draw, lr=slider)", widget),
        _code("print(6 * 7)", _stdout("42\n")),
    )
    before = nbformat.writes(nb)
    public, counts = prepare_notebook(nb, "99_test.ipynb", PUBLIC)
    assert nbformat.writes(nb) == before  # the argument is not modified
    assert counts == {"stubs": 3, "hidden_outputs": 5, "widgets": 1}
    value, func, wrong, solution, choice, hint, widget_cell, plain = public.cells[1:]
    assert value.source == "answer = ...  # YOUR ANSWER\nex.value.check(answer)"
    assert "return x * 3 + 1" not in func.source and 'raise NotImplementedError("Exercise: your code here' in func.source
    for cell in (value, func, wrong, solution):
        assert [o.data["text/plain"] for o in cell.outputs] == [HIDDEN_NOTE.replace("<code>", "`").replace("</code>", "`")]
    assert choice.outputs[0].text == "  (a) first option\n  (b) second option\n"  # the question stays
    assert "correct" not in json.dumps(choice.outputs) and "Because b" not in json.dumps(choice.outputs)
    assert hint.outputs[0].text.startswith("[hint]")  # a hint gives nothing away
    assert widget_cell.source == "interactive(draw, lr=slider)"
    assert WIDGET_MIME not in widget_cell.outputs[0].data and "Any sentence" not in json.dumps(widget_cell.outputs)
    assert "JupyterLab" in widget_cell.outputs[0].data["text/html"]
    assert plain.outputs[0].text == "42\n"

    teacher, counts = prepare_notebook(nb, "99_test.ipynb", INSTRUCTOR)
    assert counts == {"stubs": 0, "hidden_outputs": 0, "widgets": 1}
    assert teacher.cells[1].source == "answer = 42  # SOLUTION\nex.value.check(answer)"
    assert teacher.cells[4].outputs[0].text.startswith("[solution]")
    assert WIDGET_NOTE.split(" —")[0] in teacher.cells[7].outputs[0].data["text/html"]


SAVED_WIDGETS = {  # as the kernel leaves it, and as `make execute` saves it (scripts/execute_lessons.py)
    "kernel": nbformat.v4.new_output("display_data", data={
        WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "interactive(children=(FloatLogSlider(value=0.1),))"}),
    "make-execute": nbformat.v4.new_output("display_data", data={
        "text/plain": "▶ An interactive widget appears here when you run this cell."},
        metadata={"ftlib": {"widget": True}}),
}


@pytest.mark.parametrize("saved", SAVED_WIDGETS)
def test_widget_outputs_become_a_note_on_the_page(tmp_path, saved):
    widget = SAVED_WIDGETS[saved]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(_nb(_code("interactive(draw, lr=slider)", widget)), path)
    for edition in (PUBLIC, INSTRUCTOR):
        build_site([path], tmp_path / edition, edition=edition, jobs=1)
        page = (tmp_path / edition / "99_test.html").read_text(encoding="utf-8")
        assert "interactive(children=" not in page and WIDGET_MIME not in page and "appears here when" not in page
        assert "Interactive widget — open this lesson in JupyterLab" in page_text(tmp_path / edition / "99_test.html")


def test_a_malformed_marker_stops_the_public_build(tmp_path):
    path = tmp_path / "99_test.ipynb"
    nbformat.write(_nb(_code("answer = 42  # solution\nex.value.check(answer)")), path)
    with pytest.raises(StudentCopyError):
        build_site([path], tmp_path / "site", jobs=1)
    assert not (tmp_path / "site").exists()  # nothing was written


def test_a_rebuild_removes_the_pages_of_the_previous_build(tmp_path):
    a, b = tmp_path / "98_a.ipynb", tmp_path / "99_b.ipynb"
    nbformat.write(_nb(_code("x = 1  # SOLUTION\nex.v.check(x)")), a)
    nbformat.write(_nb(_code("print(1)")), b)
    out = tmp_path / "site"
    out.mkdir()
    (out / "mine.html").write_text("not the builder's")
    build_site([a, b], out, edition=INSTRUCTOR, jobs=1)
    build_site([b], out, edition=PUBLIC, jobs=1)
    assert sorted(p.name for p in out.glob("*.html")) == ["99_b.html", "decision_guide.html", "index.html", "mine.html"]
    assert json.loads((out / ".ftlib-site.json").read_text()) == {"edition": PUBLIC, "files": ["index.html", "99_b.html",
                                                                                            "decision_guide.html"]}
