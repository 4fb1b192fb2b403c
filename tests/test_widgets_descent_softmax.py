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


def test_round_sig_and_nearest_position():
    from ftlib.widgets import nearest_position, round_sig

    assert round_sig(0.050118723, 3) == 0.0501 and round_sig(0.21, 3) == 0.21 and round_sig(0.0, 3) == 0.0
    log = ipywidgets.FloatLogSlider(value=0.05, base=10, min=-3, max=0, step=0.05)
    assert nearest_position(log, 0.21) == pytest.approx(10 ** -0.7)         # 0.1995: the nearest position
    assert nearest_position(log, 0.22) == pytest.approx(10 ** -0.65)
    assert nearest_position(log, 50.0) == 1.0 and nearest_position(log, 1e-9) == pytest.approx(1e-3)
    lin = ipywidgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.1)
    assert nearest_position(lin, 0.26) == pytest.approx(0.3) and nearest_position(lin, 7) == 1.0


def test_typed_learning_rate_is_used_exactly_and_the_slider_follows():
    """Issue 12: the η box snapped a typed 0.21 to 0.200, so 'just above 2/L' could not be tried."""
    plot = wd.descent_plot()
    entry, slider = plot.entries["lr"], plot.sliders["lr"]
    assert not slider.readout, "one number on screen: the box, not also the slider's readout"
    entry.text.value = 0.21                                  # typed by a student
    assert entry.text.value == 0.21, "the typed value stands"
    assert slider.value == pytest.approx(10 ** -0.7), "the slider moved to its nearest position"
    slider.value = 10 ** -0.7 * (1 + 1e-12)                  # the browser echoes that position back
    assert entry.text.value == 0.21, "the slider following the box does not overwrite it"
    png, view = plot._render()
    assert view["lr"] == 0.21 and view["verdict"] == "diverges"
    assert wd.descent_caption(view) == "η = 0.21  (2/L = 0.2): diverges"
    slider.value = 10 ** -0.65                               # the slider moved by hand
    assert entry.text.value == 0.224 and plot._render()[1]["lr"] == 0.224
    entry.text.value = 0.199                                 # just below 2/L
    assert plot._render()[1]["verdict"] == "oscillates and converges"
    entry.text.value = 5.0                                   # out of range: the box clamps like the slider
    assert entry.text.value == 1.0


def test_descent_widget_layout_box_next_to_slider():
    plot = wd.descent_plot()
    ui = plot.widget()
    first = ui.children[0]
    assert isinstance(first, ipywidgets.HBox)
    assert first.children == (plot.sliders["lr"], plot.entries["lr"].text)
    assert isinstance(ui.children[-1], ipywidgets.Output)
