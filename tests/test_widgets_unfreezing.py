"""Lesson 05's per-block learning-rate widget: shown once, busy while it trains, legend off the data."""
from __future__ import annotations

import re

import ipywidgets
import matplotlib
import pytest

from ftlib.widgets import unfreezing as W

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def setup():
    return W.make_setup(k=1, seed=0, test_per_class=10)


def test_train_with_lrs_reports_every_step(setup):
    seen = []
    W.train_with_lrs(setup, {b: 1e-3 for b in setup.blocks}, steps=4, on_step=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_progress_text():
    assert W.progress_text(0, 30) == "training: step 0 / 30 …"
    assert W.progress_text(12, 30) == "training: step 12 / 30 …"
    assert W.progress_text(30, 30).startswith("step 30 / 30 done; evaluating")


def _find(box, kind):
    found = []
    for child in getattr(box, "children", ()):
        if isinstance(child, kind):
            found.append(child)
        found += _find(child, kind)
    return found


def test_lr_widget_is_returned_not_displayed(setup, monkeypatch):
    """Issue 12: it displayed itself *and* was returned, so the cell showed it twice."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append(a))
    box = W.lr_widget(setup, steps=3)
    assert shown == [] and isinstance(box, ipywidgets.VBox)


def test_train_button_shows_progress_and_is_disabled_while_it_runs(setup, monkeypatch):
    monkeypatch.setattr("matplotlib.pyplot.show", lambda *a, **k: None)
    box = W.lr_widget(setup, steps=3)
    button = _find(box, ipywidgets.Button)[0]
    bar = _find(box, ipywidgets.IntProgress)[0]
    label = [w for w in _find(box, ipywidgets.Label) if "ftlib-progress-label" in w._dom_classes][0]
    sliders = _find(box, ipywidgets.FloatLogSlider)
    events = []
    bar.observe(lambda c: events.append(("bar", c["new"], button.disabled, sliders[0].disabled,
                                         bar.layout.visibility)), names="value")
    label.observe(lambda c: events.append(("label", c["new"])), names="value")
    assert bar.layout.visibility == "hidden" and not button.disabled
    button.click()
    bar_values = [e[1] for e in events if e[0] == "bar"]
    assert bar_values[:4] == [1, 2, 3, 4] and bar.max == 4          # per step, then the evaluation
    assert all(e[2] and e[3] and e[4] == "visible" for e in events if e[0] == "bar"), \
        "the button and sliders are disabled and the bar visible while it trains"
    labels = [e[1] for e in events if e[0] == "label"]
    assert "training: step 1 / 3 …" in labels and any("evaluating" in t for t in labels)
    assert re.match(r"run \d+ done in \d", labels[-1])
    assert not button.disabled and not sliders[0].disabled and bar.layout.visibility == "hidden"
    assert button.description == "train 3 steps"


def test_draw_runs_keeps_the_legend_off_the_data(setup, monkeypatch):
    monkeypatch.setattr("matplotlib.pyplot.show", lambda *a, **k: None)
    runs = [{"target_accuracy": t, "source_accuracy": s} for t, s in [(0.2, 0.1), (0.5, 0.5), (0.9, 0.12)]]
    fig = W.draw_runs(runs, source_before=0.94)
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent()), "the legend lies outside the axes"
    assert legend.x1 <= fig.bbox.x1 + 1, "and inside the figure"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[:2] == ["earlier runs", "newest run"]
    import matplotlib.pyplot as plt
    plt.close(fig)
