"""The text track's widgets (lessons 12-13): per-method seed bars, the LoRA rank slider (over made-up rows), and
lesson 12's live run (a real 100-step run of the cheapest method)."""
from __future__ import annotations

import ipywidgets
import matplotlib
import pytest

from ftlib.widgets import text as W

matplotlib.use("Agg")


def _rows():
    rows = []
    for seed in range(4):
        for k in (4, 16):
            rows.append({"method": "scratch", "k": k, "seed": seed, "accuracy": 0.40 + 0.01 * seed})
            rows.append({"method": "full", "k": k, "seed": seed, "accuracy": 0.50 - 0.04 * (seed == 3),
                         "source_lm_loss": 5.0})
        for r, acc, loss in ((1, 0.60, 4.2), (4, 0.62, 4.5)):
            rows.append({"method": f"LoRA r={r}", "k": 16, "seed": seed, "accuracy": acc + 0.01 * seed,
                         "source_lm_loss": loss, "trainable": 100 * r})
    return rows


def test_paired_points_are_per_seed_differences():
    pts = W.paired_points(_rows(), "full", "scratch", 4)
    assert [s for s, _ in pts] == [0, 1, 2, 3]
    assert [round(d, 6) for _, d in pts] == [0.10, 0.09, 0.08, 0.03]


def test_paired_points_without_pairs_says_so():
    with pytest.raises(ValueError, match="no paired runs of 'full' and 'scratch' at k=64"):
        W.paired_points(_rows(), "full", "scratch", 64)


def test_method_points_pair_accuracy_and_forgetting_by_seed():
    p = W.method_points(_rows(), "full", 4, pretrained_loss=4.0)
    assert p["seeds"] == [0, 1, 2, 3]
    assert [round(a, 6) for a in p["accuracy"]] == [0.5, 0.5, 0.5, 0.46]
    assert [round(a, 6) for a in p["baseline_accuracy"]] == [0.40, 0.41, 0.42, 0.43]
    assert p["forgetting"] == [1.0] * 4
    assert W.method_points(_rows(), "scratch", 4, pretrained_loss=4.0, baseline="full")["forgetting"] is None


def test_method_plot_titles_give_spread_seeds_won_and_forgetting():
    plot = W.method_plot(_rows(), ["full", "LoRA r=1"], [4, 16], 4.0, reference="full")
    assert plot.render(method="full", k=4)[:8] == b"\x89PNG\r\n\x1a\n"
    left, right = plot.fig.axes
    assert left.get_title() == "full, k=4: 49.0 ± 2.0 %; vs scratch +7.5 points, 4/4 seeds won"
    assert [round(h, 6) for h in W.bar_heights(left.collections[0])] == [50.0, 50.0, 50.0, 46.0]
    assert [round(h, 6) for h in W.bar_heights(right.collections[0])] == [1.0] * 4
    assert right.get_title() == "full: +1.00 nats; full: +1.00"
    plot.render(method="LoRA r=1", k=16)
    assert left.get_title().startswith("LoRA r=1, k=16: 61.5 ± 1.3 %")
    assert right.get_title() == "LoRA r=1: +0.20 nats; full: +1.00"


def test_method_plot_says_when_there_is_nothing_to_forget():
    rows = _rows() + [{"method": "bow", "k": 4, "seed": s, "accuracy": 0.45} for s in range(4)]
    plot = W.method_plot(rows, ["bow"], [4], 4.0, reference="full")
    plot.render(method="bow", k=4)
    assert "nothing to forget" in plot.fig.axes[1].texts[0].get_text()
    assert W.bar_heights(plot.fig.axes[1].collections[0]) == [0.0] * 4


def test_rank_points_average_over_seeds():
    pts = W.rank_points(_rows(), 16)
    assert list(pts) == [1, 4]
    assert pts[4]["trainable"] == 400 and pts[4]["n"] == 4
    assert pts[1]["accuracy"] == pytest.approx(0.615) and pts[1]["source_lm_loss"] == pytest.approx(4.2)


def test_rank_plot_marks_the_chosen_rank():
    plot = W.rank_plot(_rows(), 16, {"accuracy": 0.5, "source_lm_loss": 5.0}, 4.0)
    plot.render(r=4)
    assert "r=4: 400 trainable parameters" in plot.fig._suptitle.get_text()
    assert "forgetting +0.500 nats" in plot.fig._suptitle.get_text()
    with pytest.raises(ValueError, match="no LoRA rank sweep at k=64"):
        W.rank_plot(_rows(), 64, {"accuracy": 0.5, "source_lm_loss": 5.0}, 4.0)


def test_explorers_are_widgets_with_a_slider():
    box = W.method_explorer(_rows(), ["full"], [4, 16], 4.0)
    assert isinstance(box, ipywidgets.Widget)
    box = W.rank_explorer(_rows(), 16, {"accuracy": 0.5, "source_lm_loss": 5.0}, 4.0)
    assert isinstance(box, ipywidgets.Widget)


def test_live_run_trains_tests_and_reports():
    from ftlib.text import data as D
    from ftlib.widgets.text_run import TextRun

    run = TextRun(D.gloss_task(), ["head only"], [4], sweep_rows=[{"method": "head only", "k": 4, "seed": 0,
                                                                   "accuracy": 0.5}])
    box = run.widget()
    assert isinstance(box, ipywidgets.Widget) and run.summary() == "press train to start a run"
    run._ui["button"].click()  # what a student does: the same code path as the button in the lesson
    r = run.last
    assert r["method"] == "head only" and r["k"] == 4 and len(r["losses"]) == run.recipe.steps == 40
    assert 0.2 < r["accuracy"] <= 1.0 and r["recorded"] == 0.5
    assert run._ui["progress"].value == 40 and run._ui["status"].value == run.summary()
    assert "after 40 steps" in run.summary() and "full recipe (100 steps of 32) recorded 50.0 %" in run.summary()
    assert run._ui["plot"].value[:8] == b"\x89PNG\r\n\x1a\n" and not run._ui["button"].disabled


def test_live_run_refuses_unknown_methods_and_ks():
    from ftlib.text import data as D
    from ftlib.widgets.text_run import TextRun

    with pytest.raises(ValueError, match="unknown method 'LORA'"):
        TextRun(D.gloss_task(), ["LORA"])
    with pytest.raises(ValueError, match="ks must be whole numbers >= 1"):
        TextRun(D.gloss_task(), ks=[0])
