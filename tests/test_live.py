"""The live training view's logic, without a browser: chunks, per-group learning rates, start/pause/reset."""
from __future__ import annotations

import time

import pytest
import torch

from ftlib.freezing import freeze_to
from ftlib.live import LiveTrainer, LiveTrainingView, _smooth
from ftlib.models import NetB


def tiny_problem(n: int = 48, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    torch.manual_seed(seed)
    model = NetB(num_classes=3, widths=(4, 8, 8))
    return model, x, y


def test_default_groups_are_the_blocks_and_lrs_resolve():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, lr=[1e-4, 2e-4, 3e-4, 1e-3])
    assert list(t.groups) == ["block1", "block2", "block3", "head"]
    assert t.lrs == {"block1": 1e-4, "block2": 2e-4, "block3": 3e-4, "head": 1e-3}
    t2 = LiveTrainer(model, x, y, groups={"body": ["block1", "block2", "block3"], "head": ["head"]},
                     lr={"body": 1e-4, "head": 1e-2})
    assert [pg["lr"] for pg in t2.optimizer.param_groups] == [1e-4, 1e-2]
    n_params = sum(len(pg["params"]) for pg in t2.optimizer.param_groups)
    assert n_params == len(list(model.parameters()))
    with pytest.raises(KeyError, match="unknown blocks"):
        LiveTrainer(model, x, y, groups={"a": ["nope"]})
    with pytest.raises(KeyError, match="no learning rate"):
        LiveTrainer(model, x, y, lr={"head": 1e-3})
    with pytest.raises(ValueError, match="4 groups"):
        LiveTrainer(model, x, y, lr=[1e-3, 1e-3])


def test_chunk_trains_with_current_lrs_and_records_history():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, val=(x[:16], y[:16]), chunk_steps=4, batch_size=16)
    assert t.train_chunk() == 4
    assert t.history.step == [0, 1, 2, 3] and len(t.history.loss) == 4 and len(t.history.acc) == 4
    assert t.history.eval_step == [3] and 0 <= t.history.val_acc[0] <= 1
    t.set_lr("head", 0.05)
    t.train_chunk()
    assert t.history.lrs[-1]["head"] == 0.05 and t.history.lrs[3]["head"] == 1e-3
    head_group = [pg for pg in t.optimizer.param_groups if pg["name"] == "head"][0]
    assert head_group["lr"] == 0.05
    with pytest.raises(KeyError):
        t.set_lr("nope", 1.0)


def test_lr_zero_leaves_a_group_unchanged_and_only_it():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, lr=1e-3, optimizer="sgd", batch_size=16)
    t.set_lr("block1", 0.0)
    before1 = [p.detach().clone() for p in model.block1.parameters()]
    before_head = model.head.weight.detach().clone()
    t.train_chunk(3)
    assert all(torch.equal(a, b) for a, b in zip(before1, model.block1.parameters()))
    assert not torch.equal(before_head, model.head.weight)


def test_frozen_blocks_stay_frozen():
    model, x, y = tiny_problem()
    freeze_to(model, -1)  # only the head trains
    t = LiveTrainer(model, x, y, batch_size=16)
    assert t.frozen_groups == ["block1", "block2", "block3"]
    w = model.block3[0].weight.detach().clone()
    t.train_chunk(2)
    assert torch.equal(w, model.block3[0].weight)
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="frozen"):
        LiveTrainer(model, x, y)


def test_state_machine_and_reset_restores_weights():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, batch_size=16, lr=1e-2, max_steps=7, chunk_steps=5)
    w0 = model.head.weight.detach().clone()
    assert t.state == "ready" and not t.pause()
    assert t.start() and t.state == "running" and not t.start()
    assert t.train_chunk() == 5 and t.state == "running"
    assert t.pause() and t.state == "paused"
    assert t.train_chunk() == 2 and t.steps_done == 7       # a direct call trains regardless of state
    assert t.state == "done" and not t.start() and t.train_chunk() == 0
    t.set_lr("head", 0.1)
    t.reset()
    assert t.state == "ready" and t.steps_done == 0 and t.lrs["head"] == 1e-2
    assert torch.equal(w0, model.head.weight)


def test_same_seed_same_losses_after_reset():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, batch_size=16, seed=3)
    t.train_chunk(6)
    first = list(t.history.loss)
    t.reset()
    t.train_chunk(6)
    assert t.history.loss == first


def test_divergence_sets_error_state():
    model, x, y = tiny_problem()
    t = LiveTrainer(model, x, y, batch_size=16, lr=1e30, optimizer="sgd")
    t.start()
    for _ in range(10):
        t.train_chunk()
        if t.state == "error":
            break
    assert t.state == "error" and "diverged" in t.error and "diverged" in t.status()


def test_background_thread_honours_slider_within_a_chunk_and_pauses():
    model, x, y = tiny_problem()
    view = LiveTrainingView(model, x, y, batch_size=16, chunk_steps=2, max_steps=None, min_redraw_s=0.0)
    box = view.widget  # building works without a kernel
    slider = view._sliders["head"]
    first_png = view._image.value
    view.start()
    try:
        deadline = time.monotonic() + 30
        while view.trainer.steps_done < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        slider.value = 0.01  # as a person moving the slider would
        moved_at = view.trainer.steps_done
        while view.trainer.steps_done < moved_at + 2 * view.trainer.chunk_steps + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        view.pause()
    assert view.trainer.state == "paused"
    assert view._thread is not None and not view._thread.is_alive()
    lrs = [d["head"] for d in view.history.lrs]
    first_new = lrs.index(0.01)
    assert first_new <= moved_at + view.trainer.chunk_steps, "slider not honoured within one chunk"
    assert view._image.value != first_png and box is view.widget
    n = view.trainer.steps_done
    time.sleep(0.2)
    assert view.trainer.steps_done == n  # paused means paused
    view.reset()
    assert view.trainer.steps_done == 0 and slider.value == pytest.approx(1e-3)


def test_run_and_large_mode_png():
    model, x, y = tiny_problem()
    small = LiveTrainingView(model, x, y, val=(x[:16], y[:16]), batch_size=16)
    small.run(4)
    assert small.history.eval_step == [3]
    big = LiveTrainingView(model, x, y, batch_size=16, large=True)
    big.run(2)
    from io import BytesIO

    from PIL import Image
    w_small = Image.open(BytesIO(small.png())).size[0]
    w_big = Image.open(BytesIO(big.png())).size[0]
    assert w_big > 1.3 * w_small
    assert "ftlib-live-large" in big.widget._dom_classes


def test_smooth():
    assert _smooth([1, 3, 5, 7], 2) == [1, 2, 4, 6]
    assert _smooth([], 3) == []


def test_a_script_that_exits_while_the_view_trains_ends_cleanly(tmp_path):
    """Issue 11: exiting mid-training used to abort the process ('terminate called without an active exception')."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "exit_while_training.py"
    script.write_text(
        "import time, torch, ftlib\n"
        "from ftlib.live import LiveTrainingView\n"
        "x = torch.randint(0, 256, (64, 28, 28), dtype=torch.uint8); y = torch.arange(64) % 5\n"
        "view = LiveTrainingView(ftlib.NetB(num_classes=5), x, y, batch_size=32, max_steps=100000)\n"
        "view.start(); time.sleep(1.0)\n"
        "print('state at exit:', view.trainer.state, flush=True)\n")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "state at exit: running" in done.stdout and "terminate called" not in done.stderr


def test_a_dropped_view_stops_training():
    import gc

    import ftlib
    from ftlib.live import LiveTrainingView

    x = torch.randint(0, 256, (32, 28, 28), dtype=torch.uint8)
    view = LiveTrainingView(ftlib.NetB(num_classes=5), x, torch.arange(32) % 5, batch_size=16, max_steps=100000)
    view.start()
    thread = view._thread
    del view
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the training thread outlived its view"


@pytest.mark.parametrize("large", [False, True])
def test_legend_is_above_the_axes_never_on_the_data(large):
    """Issue 12: the newest point (always at the right edge) landed under a legend inside the axes."""
    from ftlib.live import LiveHistory, _Plot

    plot = _Plot(large, smooth=5)
    h = LiveHistory(step=list(range(40)), loss=[2.0 - i / 40 for i in range(40)], acc=[i / 40 for i in range(40)],
                    lrs=[{"head": 1e-3 if i < 20 else 1e-2} for i in range(40)], eval_step=[4, 9, 14],
                    val_loss=[1.5, 1.2, 1.0], val_acc=[0.3, 0.5, 0.6])
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plot.png(h)
    canvas = FigureCanvasAgg(plot.fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legend = plot.legend.get_window_extent(renderer)
    for ax in (plot.ax_loss, plot.ax_acc):
        assert not legend.overlaps(ax.get_window_extent(renderer)), "the legend overlaps an axes"
        assert ax.get_legend() is None
        assert not legend.overlaps(ax.get_tightbbox(renderer)), "the legend overlaps tick labels"
    assert plot.fig.bbox.contains(legend.x0, legend.y0) and plot.fig.bbox.contains(legend.x1 - 1, legend.y1 - 1)
    texts = [t.get_text() for t in plot.legend.get_texts()]
    assert texts == ["training (running mean)", "validation", "a learning rate changed"]
    if large:  # projector: at least 16 pt at 80 dpi = 20 px high letters, on a 1120 px wide image
        assert plot.legend.get_texts()[0].get_fontsize() >= 16 and plot.pixels == (1120, 416)


def test_projector_layout_is_no_wider_than_the_plot():
    """The large view: sliders two per row (wrapping on a narrow screen), plot capped to the window."""
    model, x, y = tiny_problem()
    view = LiveTrainingView(model, x, y, batch_size=16, large=True)
    box = view.widget
    top, sliders, image = box.children[:3]
    width = view._plot.pixels[0]
    assert sliders.layout.flex_flow == "row wrap"
    assert 2 * int(view._sliders["head"].layout.width.rstrip("px")) <= width - 20
    assert image.layout.max_width == "100%" and image.layout.max_height.startswith("calc(100vh")
    assert box.children[-1].layout.display == "none"  # the style tag takes no room


def _running_mean(values, window=5):
    return [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
            for i in range(len(values))]


def test_the_old_lesson05_setting_saturated():
    """Why live_demo has more labels and a lower rate: 5 labels per class in full batches at lr 1e-3
    reach 100 % training accuracy within a few dozen steps (the text of lesson 05 says so; the lesson itself
    asserts what its live demo shows)."""
    from ftlib.freezing import discriminative_lrs
    from ftlib.widgets.unfreezing import make_setup
    from ftlib.augment import shift_flip

    setup = make_setup(k=5, seed=0, test_per_class=10)
    t = LiveTrainer(setup.base, setup.x_train, setup.y_train, lr=discriminative_lrs(setup.base, 1e-3),
                    batch_size=None, augment=shift_flip())
    t.train_chunk(50)
    assert max(_running_mean(t.history.acc)) == 1.0


def test_pause_and_reset_say_at_once_that_they_are_working():
    model, x, y = tiny_problem()
    view = LiveTrainingView(model, x, y, batch_size=16, chunk_steps=2, max_steps=None, min_redraw_s=0.0)
    box = view.widget
    seen = []
    view._status.observe(lambda c: seen.append((c["new"], view._start.disabled, view._reset.disabled)),
                         names="value")
    view.start()
    deadline = time.monotonic() + 30
    while view.trainer.steps_done < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    view.pause()
    texts = [s[0] for s in seen]
    first = next(i for i, t in enumerate(texts) if "pausing after the current step" in t)
    assert seen[first][1] and seen[first][2], "buttons are disabled while it waits"
    assert "paused" in texts[-1] and not view._start.disabled and not view._reset.disabled
    seen.clear()
    view.reset()
    assert "resetting" in seen[0][0] and "ready" in seen[-1][0] and box is view.widget
