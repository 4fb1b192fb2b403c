"""Render the executed lessons to a static HTML site with a table of contents (``make site``).

Usage: python scripts/build_site.py [--instructor] [--out DIR] [lessons/NN_x.ipynb ...]   (default: all lessons)

Two editions:

* ``make site`` -> ``_site/``, the **publishable** edition, without solutions.  Solution code is stubbed
  with exactly the rules of the student copies (``ftlib.student.make_student_source``: a
  ``# BEGIN SOLUTION ... # END SOLUTION`` block becomes ``raise NotImplementedError(...)``,
  ``x = value  # SOLUTION`` becomes ``x = ...  # YOUR ANSWER``; a malformed marker stops the build).
  The saved outputs of every cell that could give an answer away are replaced by a short note: a
  cell that contained a solution, and any cell that calls ``.check(`` or ``.solution(`` (the verdict
  on a right answer may explain it, one on a demonstrated wrong answer narrows it down, ``.solution()``
  prints it).  Only the option list that ``.show()`` of a multiple-choice exercise prints at the start of
  such a cell is kept: it is the question, not the answer.
* ``make site-instructor`` -> ``_site-instructor/``, the **instructor** edition: every cell and output as
  saved, solutions included, each page marked "instructor edition, do not publish" (and ``noindex``).

The lessons are committed executed, so nothing is run: each notebook is rendered as it is saved
(nbconvert's HTMLExporter, "lab" template) to ``DIR/NN_x.html`` with links to the previous and next
lesson, and ``DIR/index.html`` lists them all with their time estimates.  Test markers such as
``# NBVAL_IGNORE_OUTPUT`` are left out of the pages.  Outputs of Jupyter widgets (any output bundle with
the mimetype ``application/vnd.jupyter.widget-view+json``, whatever its text/plain says, or the sentence that
``make execute`` saves in their place, marked ``metadata["ftlib"]["widget"]``) cannot work on
a static page (no kernel): they become a note that says to open the lesson in JupyterLab.

**Offline formulas: MathJax is bundled into the site.**  At build time MathJax 2.7 is copied from the
``jupyter-server-mathjax`` package (Jupyter's own offline MathJax, a pip package in the ``test`` extra)
into ``DIR/_static/mathjax/`` and every page loads it by a relative path, with the configuration
nbconvert's pages use (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, AMS environments such as
``aligned``, ``cases``, ``pmatrix``; the Safe extension) plus ``text-macros`` (so that
``\\text{cut\\_frac}`` shows an underscore).  Why this and not MathML rendered at build
time: MathJax is the engine the lessons are written against (JupyterLab renders their markdown with
it), so every formula that displays in the lab displays the same way on the site, with MathJax's own
web fonts, in every browser, without a Python LaTeX-to-MathML converter whose coverage of TeX would be
a second thing to keep right and without depending on the math fonts of the reader's system.  The
copy (about 7 MB: the unused SVG output and other languages are left out) comes from an installed
package (nothing is committed or downloaded) and takes a fraction of a second.  It works opened from ``file://`` (MathJax 2 loads its parts with script tags, its
fonts by relative URLs) and from any static host.  The pages reference no http(s) script, style or
font: require.js (only needed by live widgets) and the mermaid loader are left out of the template.
(MathJax's optional speech "explorer", off unless a reader switches it on in MathJax's menu, would fetch
its speech rules from the network; the formulas themselves never do.)

Building takes seconds: the lessons render in parallel processes, and highlighted code is not run
through the HTML sanitizer a second time (Pygments escapes it already).
"""
from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def _student_module():
    """``ftlib.student``, the student copies' rules, reused as they are.  It needs only the standard library,
    so it is loaded from its file without running ``ftlib/__init__.py`` (which imports torch: seconds
    that building a site does not need).  Registered under its own name, so ``import ftlib.student``
    elsewhere in the process gets this same module (one ``StudentCopyError`` class)."""
    import importlib.util

    if "ftlib.student" in sys.modules:
        return sys.modules["ftlib.student"]
    spec = importlib.util.spec_from_file_location("ftlib.student", ROOT / "ftlib" / "student.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["ftlib.student"] = module
    spec.loader.exec_module(module)
    if "ftlib" in sys.modules:
        sys.modules["ftlib"].student = module
    return module


_student = _student_module()
StudentCopyError, make_student_source = _student.StudentCopyError, _student.make_student_source

COURSE_TITLE = "Fine-Tuning, Hands-On"
PUBLIC, INSTRUCTOR = "public", "instructor"
DEFAULT_OUT = {PUBLIC: ROOT / "_site", INSTRUCTOR: ROOT / "_site-instructor"}
MANIFEST = ".ftlib-site.json"
GUIDE = Path(__file__).resolve().parent.parent / "docs" / "DECISION_GUIDE.md"
GUIDE_PAGE = "decision_guide.html"
MATHJAX_DIR = "_static/mathjax"
TEST_MARKERS = re.compile(r"^# ?NBVAL_\w+[^\n]*\n?", re.M)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# a cell that calls a checker or prints a solution: its saved output may give the answer away
REVEALING_CALL = re.compile(r"\.(check|solution)\s*\(")
SHOW_CALL = re.compile(r"\.show\s*\(\s*\)")
OPTION_LINE = re.compile(r"^  \([a-z]\) .*$")  # what ChoiceExercise.show() prints, one line per option

WIDGET_NOTE = ("Interactive widget — open this lesson in JupyterLab (<code>make lab</code>) to use it.")
HIDDEN_NOTE = ("Output not shown in this edition: it would give away an exercise's answer. "
               "Run the cell yourself in JupyterLab (<code>make lab</code>) to check your own answer.")


def _note_output(note_html: str, kind: str) -> nbformat.NotebookNode:
    text = re.sub(r"</?code>", "`", note_html)
    return nbformat.v4.new_output("display_data", data={
        "text/html": f'<div class="ftlib-note ftlib-note-{kind}">{note_html}</div>', "text/plain": text})


def _is_widget(out: dict) -> bool:
    """A widget's output: its mimetype, or the sentence ``make execute`` saves instead (scripts/execute_lessons.py)."""
    return WIDGET_MIME in out.get("data", {}) or bool(out.get("metadata", {}).get("ftlib", {}).get("widget"))


def _replace_widgets(outputs: list) -> list:
    return [_note_output(WIDGET_NOTE, "widget") if _is_widget(out) else out
            for out in outputs]


def _question_outputs(source: str, outputs: list) -> list:
    """The option list that ``ex.<name>.show()`` printed at the start of a cell, if the cell calls it."""
    if not SHOW_CALL.search(source) or not outputs:
        return []
    first = outputs[0]
    if first.get("output_type") != "stream" or first.get("name") != "stdout":
        return []
    options = []
    for line in first.get("text", "").split("\n"):
        if not OPTION_LINE.match(line):
            break
        options.append(line)
    return [nbformat.v4.new_output("stream", name="stdout", text="\n".join(options) + "\n")] if options else []


def prepare_notebook(nb: nbformat.NotebookNode, name: str, edition: str = PUBLIC) -> tuple[nbformat.NotebookNode, dict]:
    """The notebook as the site shows it (the argument is not modified); returns (notebook, counts)."""
    nb = copy.deepcopy(nb)
    counts = {"stubs": 0, "hidden_outputs": 0, "widgets": 0}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        source = cell.source
        if edition == PUBLIC:
            source, stubs = make_student_source(source, where=f"{name} cell {index}")
            counts["stubs"] += stubs
            if (stubs or REVEALING_CALL.search(cell.source)) and cell.get("outputs"):
                cell.outputs = _question_outputs(cell.source, cell.outputs) + [_note_output(HIDDEN_NOTE, "hidden")]
                counts["hidden_outputs"] += 1
        counts["widgets"] += sum(_is_widget(out) for out in cell.get("outputs", []))
        cell.outputs = _replace_widgets(cell.get("outputs", []))
        cell.source = TEST_MARKERS.sub("", source)
    nb.metadata.pop("widgets", None)
    return nb, counts


def lesson_info(nb: nbformat.NotebookNode, path: Path) -> dict:
    """Title (first heading) and time estimate ("about 10 minutes") of a lesson."""
    first_md = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    heading = re.search(r"^#\s+(.+)$", first_md, re.M)
    title = re.sub(r"[*_`]", "", heading.group(1)).strip() if heading else path.stem
    minutes = re.search(r"(about\s+)?\d+\s*(–|-|to)?\s*\d*\s*min(ute)?s?", first_md, re.I)
    return {"title": title, "time": minutes.group(0) if minutes else "", "html": path.stem + ".html"}


# -- the page template: nbconvert's "lab" template with local MathJax and no CDN scripts ----------------

MATHJAX_HEAD = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  config: ["TeX-AMS-MML_HTMLorMML-full.js", "Safe.js"],
  TeX: {extensions: ["text-macros.js"], equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  "HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null, linebreaks: {automatic: true}},
  displayAlign: "center", messageStyle: "none"
});
window.ftlibMathErrors = [];
MathJax.Hub.Register.MessageHook("TeX Jax - parse error", function (m) { window.ftlibMathErrors.push(String(m[1])); });
MathJax.Hub.Register.MessageHook("Math Processing Error", function (m) { window.ftlibMathErrors.push(String(m[2] || m[1])); });
MathJax.Hub.Register.StartupHook("End", function () { document.documentElement.setAttribute("data-math", "done"); });
</script>
<script src="%s/MathJax.js"></script>"""

SITE_CSS = """<style>
.ftlib-note{font:15px/1.45 system-ui,sans-serif;padding:8px 12px;margin:4px 0;border-radius:4px;
  background:#f6f8fa;border-left:4px solid #8c959f;color:#1f2328}
.ftlib-note-widget{border-left-color:#0969da}.ftlib-note-hidden{border-left-color:#bf8700}
.ftlib-nav{font:15px/1.4 system-ui,sans-serif;padding:10px 20px;background:#f3f5f7;
  border-bottom:1px solid #d0d7de;display:flex;gap:24px;flex-wrap:wrap}.ftlib-nav a{text-decoration:none}
.ftlib-nav .ftlib-spacer{flex:1}
/* MathJax's hidden MathML copy for screen readers would ask for MathJax's TeX web fonts (not in the
   package: the pages use its STIX-Web fonts); the copy is invisible, any font does */
.MJX_Assistive_MathML, .MJX_Assistive_MathML *{font-family:serif !important}
.ftlib-edition{font:600 15px/1.4 system-ui,sans-serif;padding:8px 20px;background:#fff8c5;color:#4d2d00;
  border-bottom:1px solid #d4a72c}
</style>"""

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}{{ resources.ftlib_head | safe }}{%- endblock html_head_js_mathjax -%}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) }}
     </div>
</div>
{%- endblock input %}
"""


def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="ftlib_site.html.j2",
                        extra_loaders=[DictLoader({"ftlib_site.html.j2": TEMPLATE})])


_EXPORTER = None


def _render(nb: nbformat.NotebookNode, title: str, head: str) -> str:
    global _EXPORTER
    if _EXPORTER is None:
        _EXPORTER = _exporter()
    body, _ = _EXPORTER.from_notebook_node(nb, resources={"metadata": {"name": title}, "ftlib_head": head})
    return body


def _render_job(args: tuple) -> str:
    nb_json, title, head = args
    return _render(nbformat.reads(nb_json, as_version=4), title, head)


def _nav(prev: dict | None, nxt: dict | None, edition: str) -> str:
    parts = [f'<a href="index.html">{html.escape(COURSE_TITLE)} — contents</a>', '<span class="ftlib-spacer"></span>']
    if prev:
        parts.append(f'<a href="{prev["html"]}">← {html.escape(prev["title"])}</a>')
    if nxt:
        parts.append(f'<a href="{nxt["html"]}">{html.escape(nxt["title"])} →</a>')
    return _edition_banner(edition) + '<nav class="ftlib-nav">' + "".join(parts) + "</nav>"


def _edition_banner(edition: str) -> str:
    if edition != INSTRUCTOR:
        return ""
    return ('<div class="ftlib-edition">Instructor edition — contains the solutions of every exercise. '
            "Do not publish it; publish the site built by <code>make site</code>.</div>")


def _insert_after_body(page: str, snippet: str) -> str:
    m = re.search(r"<body[^>]*>", page)
    return page[:m.end()] + snippet + page[m.end():] if m else snippet + page


def render_guide(edition: str = PUBLIC, source: Path = GUIDE) -> str:
    """``docs/DECISION_GUIDE.md`` as a page of the site; its links to ``../lessons/NN_x.ipynb`` point to the
    lesson pages (the guide has no solutions, so both editions show the same text)."""
    from nbconvert.filters import markdown2html

    text = re.sub(r"\(\.\./lessons/(\d\d_\w+)\.ipynb\)", r"(\1.html)", source.read_text(encoding="utf-8"))
    body = markdown2html(text)
    robots = '<meta name="robots" content="noindex">\n' if edition == INSTRUCTOR else ""
    nav = f'<nav class="ftlib-nav"><a href="index.html">{html.escape(COURSE_TITLE)} — contents</a></nav>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{robots}<title>Decision guide — {html.escape(COURSE_TITLE)}</title>
{SITE_CSS}
<style>body{{font:17px/1.5 system-ui,sans-serif;max-width:1100px;margin:40px auto;padding:0 20px;color:#1f2328}}
table{{border-collapse:collapse;margin:12px 0}} td,th{{border:1px solid #d0d7de;padding:6px 10px;vertical-align:top}}
th{{background:#f6f8fa}}</style></head>
<body>{_edition_banner(edition)}{nav}
{body}
</body></html>
"""


def render_index(infos: list[dict], edition: str = PUBLIC) -> str:
    rows = "\n".join(
        f'<li><a href="{i["html"]}">{html.escape(i["title"])}</a>'
        + (f' <span class="time">({html.escape(i["time"])})</span>' if i["time"] else "") + "</li>"
        for i in infos)
    robots = '<meta name="robots" content="noindex">\n' if edition == INSTRUCTOR else ""
    about = ("This is the instructor edition: every solution is shown." if edition == INSTRUCTOR else
             "The exercises' solutions are not shown here: answer them in JupyterLab, where each exercise "
             "checks your answer.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{robots}<title>{html.escape(COURSE_TITLE)}</title>
{SITE_CSS}
<style>body{{font:17px/1.5 system-ui,sans-serif;max-width:780px;margin:40px auto;padding:0 20px;color:#1f2328}}
li{{margin:6px 0}} .time{{color:#656d76;font-size:15px}} a{{text-decoration:none}}</style></head>
<body>{_edition_banner(edition)}<h1>{html.escape(COURSE_TITLE)}</h1>
<p>The lessons, executed, in teaching order. Each page is a rendered Jupyter notebook; the notebooks
themselves (with the helper library <code>ftlib</code>) are in the course repository. {about}</p>
<h2>Contents</h2>
<ul style="list-style:none;padding-left:0">
{rows}
</ul>
<h2>After the lessons</h2>
<p><a href="{GUIDE_PAGE}">What to do when you fine-tune: the decision guide</a> — the rules the lessons
support, each linked to the measurement behind it.</p></body></html>
"""


def mathjax_source() -> Path:
    """MathJax 2 as the ``jupyter-server-mathjax`` package installs it."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise SystemExit("the site bundles MathJax from the 'jupyter-server-mathjax' package, which is not "
                         "installed: pip install -e '.[test]' (or: pip install jupyter-server-mathjax)") from exc
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").exists():
        raise SystemExit(f"jupyter-server-mathjax has no MathJax.js in {static}")
    return static


def _skip_mathjax_parts(folder: str, names: list[str]) -> set[str]:
    rel = Path(folder).relative_to(mathjax_source()).as_posix()
    skip = set()
    if rel == "jax/output":
        skip.add("SVG")  # not used (and incomplete in the package): pages use HTML-CSS output
    if rel == "localization":
        skip.update(n for n in names if n != "en")
    return skip


def copy_mathjax(out: Path) -> Path:
    """Copy the parts of MathJax the pages use into ``out/_static/mathjax`` (replacing an older copy)."""
    target = out / MATHJAX_DIR
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mathjax_source(), target, ignore=_skip_mathjax_parts)
    return target


def _clean_previous_build(out: Path, keep: set[str]) -> None:
    """Remove the pages of a previous build in ``out`` that this build does not write again (a lesson
    renamed or removed, or the other edition): only files listed in our own manifest are touched."""
    manifest = out / MANIFEST
    if not manifest.exists():
        return
    try:
        previous = json.loads(manifest.read_text()).get("files", [])
    except (ValueError, AttributeError):
        return
    for name in previous:
        path = out / name
        if name not in keep and "/" not in name and path.suffix == ".html" and path.is_file():
            path.unlink()


def build_site(lessons: list[Path], out: Path, *, edition: str = PUBLIC, jobs: int | None = None) -> list[Path]:
    """Render ``lessons`` into ``out`` (``edition`` "public": no solutions, or "instructor");
    return the pages written (index first)."""
    if edition not in (PUBLIC, INSTRUCTOR):
        raise ValueError(f"edition must be {PUBLIC!r} or {INSTRUCTOR!r}, not {edition!r}")
    notebooks, infos = [], []
    for path in lessons:  # every notebook is prepared before anything is written: a bad marker writes nothing
        path = Path(path)
        nb = nbformat.read(path, as_version=4)
        infos.append(lesson_info(nb, path))
        notebooks.append(prepare_notebook(nb, path.name, edition)[0])
    out.mkdir(parents=True, exist_ok=True)
    _clean_previous_build(out, {i["html"] for i in infos} | {"index.html", GUIDE_PAGE})
    copy_mathjax(out)
    head = SITE_CSS + (MATHJAX_HEAD % MATHJAX_DIR)
    if edition == INSTRUCTOR:
        head = '<meta name="robots" content="noindex">\n' + head
    job_args = [(nbformat.writes(nb), info["title"], head) for nb, info in zip(notebooks, infos)]
    jobs = jobs or min(len(job_args), os.cpu_count() or 1)
    global _EXPORTER
    if _EXPORTER is None:  # made once here: worker processes forked from this one inherit it
        _EXPORTER = _exporter()
    pages = None
    if jobs > 1:
        try:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                pages = list(pool.map(_render_job, job_args))
        except (OSError, BrokenProcessPool):  # no worker processes here (a sandbox): render in this one
            pages = None
    if pages is None:
        pages = [_render_job(a) for a in job_args]
    written = []
    for i, (page, info) in enumerate(zip(pages, infos)):
        nav = _nav(infos[i - 1] if i > 0 else None, infos[i + 1] if i + 1 < len(infos) else None, edition)
        target = out / info["html"]
        target.write_text(_insert_after_body(page, nav), encoding="utf-8")
        written.append(target)
    index = out / "index.html"
    index.write_text(render_index(infos, edition), encoding="utf-8")
    guide = out / GUIDE_PAGE
    guide.write_text(render_guide(edition), encoding="utf-8")
    files = ["index.html"] + [i["html"] for i in infos] + [GUIDE_PAGE]
    (out / MANIFEST).write_text(json.dumps({"edition": edition, "files": files}, indent=1) + "\n")
    return [index] + written + [guide]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=Path)
    parser.add_argument("--instructor", action="store_true",
                        help="the instructor edition, with solutions (default folder _site-instructor/)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default _site/, or "
                        "_site-instructor/ with --instructor)")
    parser.add_argument("--jobs", type=int, default=None, help="parallel processes (default: one per CPU)")
    args = parser.parse_args(argv)
    edition = INSTRUCTOR if args.instructor else PUBLIC
    out = args.out or DEFAULT_OUT[edition]
    lessons = args.lessons or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        print("no lessons found in lessons/", file=sys.stderr)
        return 1
    try:
        written = build_site(lessons, out, edition=edition, jobs=args.jobs)
    except StudentCopyError as exc:  # a malformed solution marker: nothing was written
        print(f"site not built: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    what = "instructor edition (WITH solutions: do not publish)" if edition == INSTRUCTOR else \
        "publishable edition (no solutions)"
    print(f"{what}: open {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
