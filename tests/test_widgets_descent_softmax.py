"""Widgets of lessons 01 and 02: the compute functions with fixed values, and one render each."""
from __future__ import annotations

import math

import ipywidgets
import numpy as np
import pytest

from ftlib.widgets import LivePlot, slider_values
from ftlib.widgets import descent as wd
from ftlib.widgets import softmax as ws


def test_descent_view_converges_oscillates_diverges():
    lr_star = 2 / 10  # the default bowl has curvatures 1 and 10
    slow = wd.descent_view(0.05, 60)
    osc = wd.descent_view(0.15, 60)
    div = wd.descent_view(0.21, 60)
    assert slow["verdict"] == "converges" and slow["losses"][-1] < slow["losses"][0]
    assert osc["verdict"] == "oscillates and converges"
    assert np.all(np.sign(osc["path"][1:10, 1]) != np.sign(osc["path"][0:9, 1]))
    assert div["diverged"] and div["verdict"] == "diverges"
    assert math.isclose(slow["threshold"], lr_star)
    assert slow["path"].shape == (61, 2) and np.all(np.isfinite(div["path"]))


def test_momentum_view_beats_plain_gd_at_the_same_lr():
    view = wd.momentum_view(0.8, 100, lr=0.02)
    assert view["losses"][-1] < 1e-3 * view["plain_losses"][-1]
    assert np.allclose(view["plain_path"], wd.descent_view(0.02, 100)["path"])
    cut = wd.momentum_view(0.8, 100, lr=0.02, plain=wd.descent_view(0.02, 150))
    assert np.allclose(cut["plain_path"], view["plain_path"]) and np.allclose(cut["path"], view["path"])


def test_logits_view():
    v = ws.logits_view(2.0, 1.0, -1.0, target=1)
    assert math.isclose(v["probs"].sum(), 1.0)
    assert math.isclose(v["loss"], -math.log(v["probs"][1]), rel_tol=1e-9)
    assert np.allclose(v["grad"], v["probs"] - np.array([0.0, 1.0, 0.0]))
    assert v["grad"][1] < 0 < v["grad"][0]


def test_lookup_run_and_verdicts():
    runs = ws.precompute_runs(n_train=300, n_test=200, steps=30)
    assert [r.lr for r in runs] == ws.LR_GRID
    assert ws.lookup_run(runs, 0.11).lr == pytest.approx(0.1)
    assert ws.lookup_run(runs, 1e-5).lr == pytest.approx(1e-3)
    assert ws.verdict(ws.lookup_run(runs, 1e-3), runs).startswith("too small")
    assert ws.verdict(ws.lookup_run(runs, 10.0), runs).startswith("too large")


@pytest.fixture(scope="module")
def plots() -> dict[str, LivePlot]:
    runs = ws.precompute_runs(n_train=300, n_test=200, steps=30)
    return {"descent": wd.descent_plot(), "momentum": wd.momentum_plot(), "logits": ws.logits_plot(),
            "softmax": ws.softmax_plot(runs)}


def test_every_plot_renders_png_for_every_slider_extreme(plots):
    for name, plot in plots.items():
        for key, slider in plot.sliders.items():
            values = slider_values(slider)
            for v in (values[0], values[-1]):
                png = plot.render(**{key: v})
                assert png[:8] == b"\x89PNG\r\n\x1a\n", (name, key, v)


def test_lr_sliders_are_log_sliders_and_widgets_build(plots):
    assert isinstance(plots["descent"].sliders["lr"], ipywidgets.FloatLogSlider)
    assert isinstance(plots["softmax"].sliders["lr"], ipywidgets.FloatLogSlider)
    assert [round(v, 6) for v in slider_values(plots["softmax"].sliders["lr"])] == \
        [round(v, 6) for v in ws.LR_GRID]
    ui = plots["logits"].widget()
    assert isinstance(ui, ipywidgets.interactive) and len(ui.children) == 5


def test_redraw_changes_the_picture(plots):
    a = plots["descent"].render(lr=0.01, steps=40)
    b = plots["descent"].render(lr=0.19, steps=40)
    assert a != b
