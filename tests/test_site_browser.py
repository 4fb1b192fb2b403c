"""The built site in a real browser with the network blocked: every formula renders (issue 12).

Debian's Chromium through Playwright opens the publishable site (built once by tests/test_site.py's
``built_site``) twice: lesson 01 from ``file://``, and every lesson from a static server on a localhost
port.  Every request that leaves the site is aborted and recorded; a page passes when it asked for nothing
outside the site, nothing inside it was missing, MathJax reported no TeX error, every formula of the
lesson's markdown was typeset, and no ``$`` is left in the visible text.  A screenshot of lesson 01 and
one of a display formula go to artifacts/site/.  Skipped, with the reason, when Chromium or Playwright
is missing (Debian/Ubuntu: ``sudo apt-get install chromium``; ``CHROMIUM=/path/to/chromium`` to choose one).
"""
from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import nbformat
import pytest

from tests import browser_helpers as bh
from tests.browser_helpers import find_chromium
from tests.test_site import LESSONS, PUBLIC, built_site

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "site"
CHROMIUM = find_chromium()

pytestmark = bh.skip_marks('site browser test')

# what tex2jax finds in markdown: $$...$$ and $...$ (no lesson uses \$ for a dollar sign)
FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$", re.S)
MATH_TIMEOUT_MS = 30_000
PAGE_STATE_JS = """() => ({
  errors: window.ftlibMathErrors || null,
  typeset: document.querySelectorAll('.jp-MarkdownCell script[type^="math/tex"]').length,
  rendered: document.querySelectorAll('.jp-MarkdownCell .MathJax, .jp-MarkdownCell .MathJax_Display').length,
  markdown: Array.from(document.querySelectorAll('.jp-MarkdownCell')).map(e => e.innerText).join('\\n'),
})"""


def formulas_in(lesson: Path) -> int:
    nb = nbformat.read(lesson, as_version=4)
    return len(FORMULA.findall("\n".join(c.source for c in nb.cells if c.cell_type == "markdown")))


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site(PUBLIC)


@pytest.fixture(scope="module")
def browser():
    with bh.chromium(ARTIFACTS) as b:
        yield b


class Offline:
    """A browser context in which only ``allowed`` URLs load; everything else is aborted and recorded."""

    def __init__(self, browser, allowed):
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("requestfailed", self._failed)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self._allowed = allowed

    def _route(self, route):
        url = route.request.url
        if self._allowed(url):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _failed(self, request):
        if request.url != "about:blank" and request.url not in self.blocked:  # MathJax probes a blank font
            self.failed.append(f"{request.url} ({request.failure})")

    def open(self, url: str) -> dict:
        self.page.goto(url)
        self.page.wait_for_function("document.documentElement.getAttribute('data-math') === 'done'",
                                    timeout=MATH_TIMEOUT_MS)
        return self.page.evaluate(PAGE_STATE_JS)


def check_page(name: str, state: dict, offline: Offline, lesson: Path) -> None:
    expected = formulas_in(lesson)
    assert offline.blocked == [], f"{name} asked for something outside the site: {offline.blocked[:5]}"
    assert offline.failed == [], f"{name}: files missing from the site: {offline.failed[:5]}"
    assert offline.errors == [], f"{name}: JavaScript errors: {offline.errors[:3]}"
    assert state["errors"] == [], f"{name}: MathJax could not typeset: {state['errors'][:5]}"
    assert state["typeset"] == expected, f"{name}: {state['typeset']} formulas typeset, the markdown has {expected}"
    assert state["rendered"] >= expected
    raw = re.findall(r"\$[^$\n]{0,30}", state["markdown"])
    assert not raw, f"{name}: raw TeX left in the text: {raw[:5]}"


def test_lesson_01_renders_its_formulas_from_file_url_offline(browser, site):
    lesson = next((p for p in LESSONS if p.name.startswith("01_")), None)
    if lesson is None:
        pytest.skip("lesson 01 does not exist")
    offline = Offline(browser, lambda url: url.startswith(("file://", "data:")))
    try:
        state = offline.open((site / f"{lesson.stem}.html").as_uri())
        check_page(lesson.name, state, offline, lesson)
        assert state["typeset"] > 50 and "\\theta" not in state["markdown"]
        offline.page.screenshot(path=str(ARTIFACTS / f"{lesson.stem}.png"))
        # the markdown cell with the most involved display formula (a matrix, else the first display)
        offline.page.evaluate("""() => {
          const displays = Array.from(document.querySelectorAll('.jp-MarkdownCell script[type="math/tex; mode=display"]'));
          const pick = displays.find(s => /pmatrix|aligned|cases/.test(s.textContent)) || displays[0];
          if (pick) pick.closest('.jp-MarkdownCell').id = 'ftlib-shot';
        }""")
        cell = offline.page.locator("#ftlib-shot")
        cell.scroll_into_view_if_needed()
        cell.screenshot(path=str(ARTIFACTS / f"{lesson.stem}-display-formula.png"))
    finally:
        offline.context.close()


@pytest.fixture(scope="module")
def static_host(site):
    """The site on a static HTTP server on a free localhost port (what any static host does)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_every_lesson_renders_its_formulas_from_a_static_host_offline(browser, static_host):
    offline = Offline(browser, lambda url: url.startswith((static_host + "/", "data:")))
    try:
        for lesson in LESSONS:
            state = offline.open(f"{static_host}/{lesson.stem}.html")
            check_page(lesson.name, state, offline, lesson)
        offline.page.goto(f"{static_host}/index.html")
        assert offline.page.locator("a[href$='.html']").count() >= len(LESSONS)
        assert offline.blocked == [] and offline.failed == []
    finally:
        offline.context.close()
