"""Tested as a person uses it: JupyterLab in Debian's Chromium, driven by Playwright (issue 7).

1. Lesson 01 (lesson 00 until lesson 01 exists): open it, Run All, move the learning-rate
   slider with the keyboard, and check that the plot image changes; then type η = 0.21 into the
   box next to the slider (just above 2/L = 0.2) and check that 0.21 stands and the verdict
   under the plot says "diverges" (issue 12: the slider's own readout snapped it to 0.200).
2. The live training view (ftlib.live): press start, see the curve image change, move a
   learning-rate slider during training, see the curve continue, pause — and check in the
   kernel that the new learning rate was used from the next chunk on.  The projector view
   (``large=True``) is first checked at a 1280 x 720 viewport (and 1280 x 640, a browser window
   of 720 with its own bars) with JupyterLab's left side bar collapsed: nothing overflows
   sideways, and the buttons, sliders and plot are all on the screen at once.
3. Lesson 05: its per-block learning-rate widget is shown once, and "train 30 steps" shows a
   progress bar and a disabled button while it trains.

Screenshots go to artifacts/browser/.  The server, its kernels and the browser are always
shut down.  Skipped, with a plain message, when Chromium or Playwright is missing
(Debian/Ubuntu: ``sudo apt-get install chromium``; see README, "Browser tests").
"""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from tests import browser_helpers as bh
from tests.browser_helpers import (collapse_left_sidebar, error_outputs, find_chromium,
                                   fit_report, jupyter_lab, open_notebook, run_all, wait_until)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = find_chromium()
LR_LABEL = re.compile(r"learning|\blr\b|η|eta", re.I)

pytestmark = bh.skip_marks('browser test')


def _slider_lesson(name: str) -> Path:
    if not (ROOT / "lessons" / name).exists():
        pytest.skip(f"{name} does not exist yet")
    return ROOT / "lessons" / name


@pytest.fixture(scope="module")
def browser():
    with bh.chromium(ARTIFACTS) as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    page_errors: list[str] = []
    pg.on("pageerror", lambda exc: page_errors.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not page_errors, f"JavaScript errors in the page: {page_errors[:3]}"


# -- 1. a lesson's learning-rate slider ----------------------------------------------------------

FIND_SLIDER_JS = """(pattern) => {
  const re = new RegExp(pattern, 'i');
  const sliders = Array.from(document.querySelectorAll('.widget-hslider'));
  let index = sliders.findIndex(s => re.test((s.querySelector('.widget-label') || {}).textContent || ''));
  const labelled = index >= 0;
  if (index < 0) index = 0;
  const slider = sliders[index];
  if (!slider) return null;
  // the nearest enclosing widget box that also holds the plot
  let box = slider.parentElement;
  while (box && !box.querySelector('.widget-output img, img.widget-image')) box = box.parentElement;
  if (!box) return null;
  box.setAttribute('data-ftlib-test', 'slider-box');
  slider.setAttribute('data-ftlib-test', 'slider');
  // a number box next to the slider (ftlib.widgets.ExactEntry) shows its value instead of a readout
  const exact = slider.parentElement.querySelector('.ftlib-exact input');
  if (exact) exact.setAttribute('data-ftlib-test', 'exact');
  return {index: index, labelled: labelled, label: (slider.querySelector('.widget-label') || {}).textContent};
}"""
PLOT_SRC_JS = """() => { const img = document.querySelector(
  '[data-ftlib-test=slider-box] .widget-output img, [data-ftlib-test=slider-box] img.widget-image');
  return img ? img.getAttribute('src') : null; }"""


@pytest.mark.parametrize("name", ["01_gradient_descent.ipynb", "00_welcome.ipynb", "04_freezing.ipynb",
                                  "12_text_classification.ipynb"])
def test_lesson_slider_redraws_plot(name, tmp_path, page):
    """Lesson 01's learning-rate explorer, lesson 00's widgets smoke test (what `make lab` opens), and lesson 12's
    method-and-k widget over the precomputed text sweep (then its live run's train button), and lesson 04's freezing
    explorer, whose label must be readable in full (issue 25: it was cut to "frozen blo…")."""
    lesson = _slider_lesson(name)
    stem = lesson.stem.split("_")[0]
    shutil.copy(lesson, tmp_path / lesson.name)
    t0 = time.monotonic()
    with jupyter_lab(tmp_path) as lab:
        open_notebook(page, lab, lesson.name)
        opened = time.monotonic() - t0
        ran = run_all(page)
        assert not error_outputs(page), f"{lesson.name} raised in the browser: {error_outputs(page)}"
        found = page.evaluate(FIND_SLIDER_JS, LR_LABEL.pattern)
        assert found, f"{lesson.name}: no slider with a plot next to it"
        if lesson.name.startswith("01"):
            assert found["labelled"], f"lesson 01 has no learning-rate slider (labels: {found})"
        box = page.locator("[data-ftlib-test=slider-box]")
        box.scroll_into_view_if_needed()
        before_src = wait_until(lambda: page.evaluate(PLOT_SRC_JS), 20, what="the plot image")
        slider = page.locator("[data-ftlib-test=slider]")
        exact = page.locator("[data-ftlib-test=exact]")
        has_exact = exact.count() == 1

        def readout() -> str:
            return exact.input_value() if has_exact else slider.locator(".widget-readout").inner_text()
        readout_before = readout()
        box.screenshot(path=str(ARTIFACTS / f"lesson{stem}_slider_before.png"))
        handle = slider.locator(".noUi-handle")
        handle.focus()
        moved = time.monotonic()
        handle.press("ArrowRight")
        if wait_until_changed(readout, readout_before, 3) == readout_before:  # already at the maximum
            handle.press("ArrowLeft")
            handle.press("ArrowLeft")
        readout_after = wait_until_changed(readout, readout_before, 5)
        assert readout_after != readout_before, "the keyboard did not move the slider"
        wait_until(lambda: (page.evaluate(PLOT_SRC_JS) or before_src) != before_src, 20,
                   what="the plot to change after the slider moved")
        redraw = time.monotonic() - moved
        if found["labelled"]:  # push the learning rate well up (lesson 01: into divergence) for the screenshot
            for _ in range(14):
                handle.press("ArrowRight")
            _wait_until_stable(readout)
            readout_after = readout()
        _wait_until_stable(lambda: page.evaluate(PLOT_SRC_JS))
        box.screenshot(path=str(ARTIFACTS / f"lesson{stem}_slider_after.png"))
        if lesson.name.startswith("01"):
            _type_exact_learning_rate(page, box, exact, stem)
        if lesson.name.startswith("12"):
            _press_train_in_the_text_run(page)
        if lesson.name.startswith("04"):
            label = slider.locator(".widget-label")
            assert label.inner_text() == "frozen blocks"
            assert label.evaluate("el => el.scrollWidth <= el.clientWidth"), "the slider's label is cut off"
        page.screenshot(path=str(ARTIFACTS / f"lesson{stem}_page.png"))
        assert not error_outputs(page)
    print(f"\n{lesson.name}: opened with kernel in {opened:.1f} s, ran all in {ran:.1f} s; slider "
          f"{found['label']!r} {readout_before} -> {readout_after}: plot redrawn in {redraw:.2f} s")


def _press_train_in_the_text_run(page) -> None:
    """Lesson 12's live run: choose head only at k = 4 (the quickest), press train, see the progress bar fill,
    the loss curve change and the result line appear; the button is disabled while it trains."""
    run = page.locator(".ftlib-text-run").first
    run.scroll_into_view_if_needed()
    run.locator("select").first.select_option("head only")
    run.locator("select").nth(1).select_option("4")
    status = run.locator(".ftlib-text-run-status")
    plot_src = lambda: run.locator("img.ftlib-text-run-plot").get_attribute("src")  # noqa: E731
    before = plot_src()
    started = time.monotonic()
    run.locator("button", has_text="train").click()
    wait_until(lambda: run.locator("button.ftlib-text-run-button").is_disabled(), 10,
               what="the train button to be disabled while it trains")
    text = wait_until(lambda: "head only, k=4" in status.inner_text() and status.inner_text(), 60,
                      what="the live run's result line")
    took = time.monotonic() - started
    assert "test accuracy" in text and "after 40 steps" in text and "full recipe" in text, text
    bar = run.locator(".ftlib-text-run-progress .progress-bar")
    width = bar.evaluate("el => el.style.width")
    assert width in ("100%", "100.0%"), f"the progress bar did not fill: width {width}"
    assert plot_src() != before, "the loss curve did not change"
    wait_until(lambda: not run.locator("button.ftlib-text-run-button").is_disabled(), 10,
               what="the train button to be enabled again after the run")
    run.screenshot(path=str(ARTIFACTS / "lesson12_live_run.png"))
    print(f"\nlesson 12 live run (head only, k=4): {text!r} in {took:.1f} s in the browser")


CAPTION_JS = """() => { const c = document.querySelector('[data-ftlib-test=slider-box] .ftlib-caption');
  return c ? c.textContent : null; }"""


def _type_exact_learning_rate(page, box, exact, stem: str) -> None:
    """Type η = 0.21 (just above 2/L = 0.2 on the bowl) into the box next to the slider, press Enter."""
    assert exact.count() == 1, "lesson 01: no number box next to the learning-rate slider"
    slider_handle = page.locator("[data-ftlib-test=slider] .noUi-handle")
    position_before = slider_handle.get_attribute("aria-valuenow")
    exact.fill("0.21")
    exact.press("Enter")
    caption = wait_until(lambda: "η = 0.21 " in (page.evaluate(CAPTION_JS) or "") and page.evaluate(CAPTION_JS),
                         20, what="the plot to redraw for the typed η = 0.21")
    _wait_until_stable(lambda: (page.evaluate(PLOT_SRC_JS), exact.input_value()), quiet_s=1.0)
    assert exact.input_value() == "0.21", f"the typed 0.21 did not stand: the box shows {exact.input_value()}"
    caption = page.evaluate(CAPTION_JS)
    assert "2/L = 0.2)" in caption and caption.rstrip().endswith("diverges"), caption
    assert slider_handle.get_attribute("aria-valuenow") != position_before, "the slider did not follow the box"
    box.screenshot(path=str(ARTIFACTS / f"lesson{stem}_typed_0.21.png"))


def wait_until_changed(read, old, timeout: float):
    """``read()`` once it differs from ``old`` (or, after ``timeout`` seconds, whatever it is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = read()
        if now != old:
            return now
        time.sleep(0.05)
    return read()


def _wait_until_stable(read, quiet_s: float = 0.8, timeout: float = 15.0) -> None:
    """Until ``read()`` has not changed for ``quiet_s`` seconds (the last redraw arrived)."""
    last, since, deadline = read(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.1)
        now = read()
        if now != last:
            last, since = now, time.monotonic()


# -- 2. the live training view ----------------------------------------------------------------------

LIVE_CELLS = [
    """import torch, ftlib
from ftlib.live import LiveTrainingView
ftlib.seed_everything(0)
x, y = ftlib.load_fashion_mnist("train")
x, y = ftlib.class_subset(x, y, [5, 6, 7, 8, 9])
model = ftlib.load_pretrained(num_classes=5)""",
    """# NBVAL_IGNORE_OUTPUT
view = LiveTrainingView(model, x[:2000], y[:2000], val=(x[-300:], y[-300:]), lr=1e-3,
                        chunk_steps=5, batch_size=32, large=True)
view""",
]
# appended to the notebook under test: asks the kernel what the (last) live view did
CHECK_CELL = """from ftlib.live import LiveTrainingView as _LTV
_view = [v for v in list(globals().values()) if isinstance(v, _LTV)][-1]
_h, _new = _view.history, _view.trainer.lrs["head"]
_first = next((i for i, d in enumerate(_h.lrs) if abs(d["head"] - _new) < 1e-12), None)
print(f"CHECK state={_view.trainer.state} steps={_view.trainer.steps_done} head_lr={_new:.3e} first_new={_first}")"""


def _live_notebooks() -> list:
    cases = [pytest.param(None, id="live_view_demo")]
    lesson = ROOT / "lessons" / "05_gradual_unfreezing.ipynb"
    if lesson.exists() and "LiveTrainingView" in lesson.read_text():
        cases.append(pytest.param(lesson, id=lesson.name))
    return cases


def _live_notebook(lesson: Path | None, tmp_path: Path) -> tuple[str, int]:
    """Write the notebook to test (a copy of ``lesson``, or a small demo) plus the check cell."""
    if lesson is None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in LIVE_CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                     "language": "python"}
        name = "live_view.ipynb"
    else:
        nb = nbformat.read(lesson, as_version=4)
        name = lesson.name
    nb.cells.append(nbformat.v4.new_code_cell(CHECK_CELL))
    nbformat.write(nb, tmp_path / name)
    return name, sum(c.cell_type == "code" for c in nb.cells) - 1


def _status(page) -> str:
    return page.locator(".ftlib-live .widget-html").first.inner_text()


def _step(status: str) -> int:
    m = re.search(r"step (\d+)", status)
    return int(m.group(1)) if m else -1


@pytest.mark.parametrize("lesson", _live_notebooks())
def test_live_training_view(lesson, tmp_path, page):
    name, check_index = _live_notebook(lesson, tmp_path)
    shot = "live" if lesson is None else f"live_{lesson.stem[:2]}"
    with jupyter_lab(tmp_path) as lab:
        open_notebook(page, lab, name)
        run_all(page)
        assert not error_outputs(page), error_outputs(page)
        if lesson is None:  # the projector view (large=True)
            _check_projector_fits(page)
        else:
            _check_lr_widget_progress(page)
        live = page.locator(".ftlib-live")
        live.scroll_into_view_if_needed()
        plot = live.locator("img.ftlib-live-plot")
        src0 = plot.get_attribute("src")
        assert "ready" in _status(page)
        page.screenshot(path=str(ARTIFACTS / f"{shot}_ready.png"))

        live.locator("button", has_text="start").click()
        wait_until(lambda: "running" in _status(page) and _step(_status(page)) > 0, 30,
                   what="training to start")
        src1 = wait_until(lambda: (plot.get_attribute("src") != src0) and plot.get_attribute("src"), 30,
                          what="the curve to be drawn")
        wait_until(lambda: plot.get_attribute("src") not in (src0, src1), 30,
                   what="the curve to be redrawn while training")
        live.screenshot(path=str(ARTIFACTS / f"{shot}_running.png"))

        slider = live.locator(".widget-hslider", has_text="lr head")
        readout = slider.locator(".widget-readout")
        before = readout.inner_text()
        handle = slider.locator(".noUi-handle")
        handle.focus()
        for _ in range(5):  # 1e-3 -> about 3.2e-3 (log slider, step 0.1 decade)
            handle.press("ArrowRight")
        after = readout.inner_text()
        step_at_move = _step(_status(page))
        assert after != before, "the keyboard did not move the learning-rate slider"
        # the kernel still runs cells while training goes on in the background
        check_cell = page.locator(".jp-CodeCell").nth(check_index)
        asked = time.monotonic()
        check_cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        wait_until(lambda: "CHECK state=running" in check_cell.locator(".jp-OutputArea").inner_text(), 20,
                   what="a cell to run during training")
        cell_latency = time.monotonic() - asked
        # the curve continues after the slider moved
        src2 = plot.get_attribute("src")
        wait_until(lambda: _step(_status(page)) >= step_at_move + 15, 60, what="training to continue")
        wait_until(lambda: plot.get_attribute("src") != src2, 30, what="the curve to continue")
        live.screenshot(path=str(ARTIFACTS / f"{shot}_after_slider.png"))
        if lesson is None:  # the projector view in use, as the room sees it
            live.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(ARTIFACTS / "projector_1280x720_training.png"))

        live.locator("button", has_text="pause").click()
        wait_until(lambda: "paused" in _status(page), 30, what="pause")
        paused_at = _step(_status(page))
        time.sleep(1.0)
        assert _step(_status(page)) == paused_at, "training went on after pause"
        live.screenshot(path=str(ARTIFACTS / f"{shot}_paused.png"))

        # ask the kernel: the new learning rate was in use from (at most) one chunk after the move
        check_cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        out = wait_until(lambda: re.search(r"CHECK state=(paused) steps=(\d+) head_lr=(\S+) first_new=(\d+)",
                                           check_cell.locator(".jp-OutputArea").inner_text()), 30,
                         what="the check cell's output")
        state, steps, head_lr, first_new = out.group(1), int(out.group(2)), float(out.group(3)), int(out.group(4))
        assert state == "paused" and steps == paused_at
        assert head_lr == pytest.approx(float(after), rel=0.02)
        # the status line lags the kernel by at most one redraw, so allow one chunk of slack more
        assert first_new <= step_at_move + 2 * 5, (first_new, step_at_move)
        page.screenshot(path=str(ARTIFACTS / f"{shot}_page.png"))
    print(f"\n{name}: lr head {before} -> {after} at step {step_at_move}, used from step {first_new}; "
          f"paused at step {paused_at}; a cell ran during training in {cell_latency:.2f} s")


# -- 3. layout and progress checks used above ---------------------------------------------------------

def _check_projector_fits(page) -> None:
    """At 1280 x 720 (and 1280 x 640) with the left side bar collapsed: no sideways overflow, and the
    buttons, the sliders and the whole plot lie inside the visible notebook panel at once."""
    collapse_left_sidebar(page)
    for width, height in ((1280, 640), (1280, 720)):  # ends at 1280 x 720: the rest of the test runs there
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(0.5)
        live = page.locator(".ftlib-live")
        live.evaluate("e => e.scrollIntoView({block: 'start'})")  # the widget's top at the panel's top
        time.sleep(0.3)
        fit = fit_report(page, ".ftlib-live")
        page.screenshot(path=str(ARTIFACTS / f"projector_{width}x{height}.png"))
        assert fit["page"]["scrollWidth"] <= fit["page"]["clientWidth"], f"the page scrolls sideways: {fit}"
        assert not fit["scrolling_sideways"], f"parts of the view scroll sideways: {fit['scrolling_sideways']}"
        assert not fit["sticking_out"], f"parts stick out of the view: {fit['sticking_out']}"
        panel, widget = fit["panel"], fit["widget"]
        assert widget["right"] <= min(panel["right"], width) + 1, f"wider than the notebook panel: {fit}"
        parts = {"buttons": ".ftlib-live-button", "sliders": ".ftlib-live-lr", "plot": "img.ftlib-live-plot",
                 "status": ".ftlib-live-status"}
        for name, selector in parts.items():
            boxes = [live.locator(selector).nth(i).bounding_box() for i in range(live.locator(selector).count())]
            assert boxes, f"no {name} in the view"
            for b in boxes:
                assert b["x"] >= panel["left"] - 1 and b["x"] + b["width"] <= panel["right"] + 1, (name, b, panel)
                assert b["y"] >= panel["top"] - 1 and b["y"] + b["height"] <= panel["bottom"] + 1, \
                    f"{width}x{height}: the {name} are not all on screen together with the rest: {b}, panel {panel}"
        plot = live.locator("img.ftlib-live-plot").bounding_box()
        assert plot["width"] >= 0.7 * width, f"the plot is too small for a projector: {plot}"
        natural = live.locator("img.ftlib-live-plot").evaluate("e => e.naturalWidth / e.naturalHeight")
        assert abs(plot["width"] / plot["height"] - natural) < 0.02 * natural, "the plot is stretched"
        print(f"\nprojector view at {width}x{height}: widget {widget['width']:.0f}x{widget['height']:.0f} px "
              f"in a panel of {panel['width']:.0f}x{panel['height']:.0f}; "
              f"plot {plot['width']:.0f}x{plot['height']:.0f}")


def _check_lr_widget_progress(page) -> None:
    """Lesson 05's "train 30 steps": shown once; while it trains a progress bar counts and the button waits."""
    widgets = page.locator(".ftlib-lr-widget")
    assert widgets.count() == 1, f"the per-block learning-rate widget is shown {widgets.count()} times"
    widget = widgets.first
    widget.scroll_into_view_if_needed()
    button = widget.locator("button", has_text="train")
    bar = widget.locator(".ftlib-progress")
    label = widget.locator(".ftlib-progress-label")
    assert not bar.is_visible(), "the progress bar shows before anything trains"
    clicked = time.monotonic()
    button.click()
    seen = wait_until(lambda: bar.is_visible() and re.search(r"step (\d+) / 30", label.inner_text()), 10,
                      what="the progress bar to appear after 'train 30 steps'")
    appeared = time.monotonic() - clicked
    assert widget.locator("button", has_text="training").is_disabled(), "the button is not disabled while it trains"
    widget.screenshot(path=str(ARTIFACTS / "lesson05_training_progress.png"))
    steps = {int(seen.group(1))}
    while True:  # the label counts up while it trains
        text = label.inner_text()
        m = re.search(r"step (\d+) / 30", text)
        if m:
            steps.add(int(m.group(1)))
        if text.startswith("run "):
            break
        assert time.monotonic() - clicked < 90, f"training did not finish: {text!r}"
        time.sleep(0.05)
    took = time.monotonic() - clicked
    assert len(steps) >= 3, f"the progress label did not count up: {sorted(steps)}"
    assert not button.is_disabled() and not bar.is_visible()
    assert "target accuracy" in widget.locator(".widget-output").inner_text()
    wait_until(lambda: widget.locator(".widget-output img").count() and widget.locator(".widget-output img").first
               .evaluate("e => e.complete && e.naturalWidth > 0"), 20, what="the plot of the runs")
    widget.screenshot(path=str(ARTIFACTS / "lesson05_training_done.png"))
    print(f"\nlesson 05 'train 30 steps': progress shown after {appeared:.2f} s, {len(steps)} step counts seen, "
          f"done in {took:.1f} s")
