"""Render the executed lessons to a static HTML site with a table of contents (``make site``).

Usage: python scripts/build_site.py [--out _site] [lessons/NN_x.ipynb ...]   (default: all lessons)

The lessons are committed executed, so nothing is run: each notebook is rendered as it is
saved (nbconvert's HTMLExporter, "lab" template) to ``_site/NN_x.html`` with links to the
previous and next lesson, and ``_site/index.html`` lists them all with their time estimates.
Building needs no network.  (Viewing uses MathJax from a CDN for the formulas, as every
nbconvert page does.)  Test markers such as ``# NBVAL_IGNORE_OUTPUT`` are left out of the pages.
"""
from __future__ import annotations

import argparse
import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
COURSE_TITLE = "Fine-Tuning, Hands-On"
TEST_MARKERS = re.compile(r"^# ?NBVAL_\w+[^\n]*\n?", re.M)
NAV_STYLE = ("<style>.ftlib-nav{font:15px/1.4 system-ui,sans-serif;padding:10px 20px;background:#f3f5f7;"
             "border-bottom:1px solid #d0d7de;display:flex;gap:24px}.ftlib-nav a{text-decoration:none}"
             ".ftlib-nav .ftlib-spacer{flex:1}</style>")


def lesson_info(nb: nbformat.NotebookNode, path: Path) -> dict:
    """Title (first heading) and time estimate ("about 10 minutes") of a lesson."""
    first_md = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    heading = re.search(r"^#\s+(.+)$", first_md, re.M)
    title = re.sub(r"[*_`]", "", heading.group(1)).strip() if heading else path.stem
    minutes = re.search(r"(about\s+)?\d+\s*(–|-|to)?\s*\d*\s*min(ute)?s?", first_md, re.I)
    return {"title": title, "time": minutes.group(0) if minutes else "", "html": path.stem + ".html"}


def _nav(prev: dict | None, nxt: dict | None) -> str:
    parts = [f'<a href="index.html">{html.escape(COURSE_TITLE)} — contents</a>', '<span class="ftlib-spacer"></span>']
    if prev:
        parts.append(f'<a href="{prev["html"]}">← {html.escape(prev["title"])}</a>')
    if nxt:
        parts.append(f'<a href="{nxt["html"]}">{html.escape(nxt["title"])} →</a>')
    return NAV_STYLE + '<nav class="ftlib-nav">' + "".join(parts) + "</nav>"


def _insert_after_body(page: str, snippet: str) -> str:
    m = re.search(r"<body[^>]*>", page)
    return page[:m.end()] + snippet + page[m.end():] if m else snippet + page


def render_index(infos: list[dict]) -> str:
    rows = "\n".join(
        f'<li><a href="{i["html"]}">{html.escape(i["title"])}</a>'
        + (f' <span class="time">({html.escape(i["time"])})</span>' if i["time"] else "") + "</li>"
        for i in infos)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(COURSE_TITLE)}</title>
<style>body{{font:17px/1.5 system-ui,sans-serif;max-width:780px;margin:40px auto;padding:0 20px;color:#1f2328}}
li{{margin:6px 0}} .time{{color:#656d76;font-size:15px}} a{{text-decoration:none}}</style></head>
<body><h1>{html.escape(COURSE_TITLE)}</h1>
<p>The lessons, executed, in teaching order. Each page is a rendered Jupyter notebook; the notebooks
themselves (with the helper library <code>ftlib</code>) are in the course repository.</p>
<h2>Contents</h2>
<ul style="list-style:none;padding-left:0">
{rows}
</ul></body></html>
"""


def build_site(lessons: list[Path], out: Path) -> list[Path]:
    """Render ``lessons`` into ``out``; return the files written (index first)."""
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    notebooks, infos = [], []
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = TEST_MARKERS.sub("", cell.source)
        nb.metadata.pop("widgets", None)
        notebooks.append(nb)
        infos.append(lesson_info(nb, path))
    written = []
    for i, (nb, info) in enumerate(zip(notebooks, infos)):
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": info["title"]}})
        nav = _nav(infos[i - 1] if i > 0 else None, infos[i + 1] if i + 1 < len(infos) else None)
        target = out / info["html"]
        target.write_text(_insert_after_body(body, nav), encoding="utf-8")
        written.append(target)
    index = out / "index.html"
    index.write_text(render_index(infos), encoding="utf-8")
    return [index] + written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_site")
    args = parser.parse_args(argv)
    lessons = args.lessons or sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        print("no lessons found in lessons/", file=sys.stderr)
        return 1
    for path in build_site(lessons, args.out):
        print(f"wrote {path}")
    print(f"open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
