"""ftlib.training: fit and evaluate, with the guard rails of the foundation issue."""
from __future__ import annotations

import pytest
import torch

import ftlib
from ftlib.augment import random_shift_flip, shift_flip
from ftlib.training import make_optimizer


@pytest.fixture(scope="module")
def small_task():
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5, 10))
    return ftlib.k_shot(x, y, 20, seed=0)


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return ftlib.NetB(5, widths=(4, 8, 8))


def test_fit_lowers_the_loss_and_records_history(small_task):
    model = tiny_model()
    h = ftlib.fit(model, *small_task, steps=40, lr=1e-2, batch_size=None, progress=False)
    assert len(h.loss) == 40 and h.step == list(range(40))
    assert sum(h.loss[-5:]) / 5 < h.loss[0] * 0.7


def test_same_seed_gives_identical_losses(small_task):
    runs = [ftlib.fit(tiny_model(), *small_task, steps=10, batch_size=16, seed=4, progress=False,
                      augment=shift_flip()).loss for _ in range(2)]
    assert runs[0] == runs[1]


def test_nan_loss_stops_with_step_and_advice(small_task):
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 5))
    with pytest.raises(ftlib.TrainingDiverged, match=r"step [1-9]\d* .*smaller learning rate"):
        ftlib.fit(model, *small_task, steps=50, batch_size=None, progress=False,
                  optimizer=torch.optim.SGD(model.parameters(), lr=1e38))


def test_everything_frozen_is_an_error(small_task):
    model = tiny_model()
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        ftlib.fit(model, *small_task, steps=1, progress=False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer(model, 1e-3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no trainable parameters"):
        ftlib.fit(model, *small_task, steps=1, optimizer=opt, progress=False)


def test_labels_out_of_range_and_bad_shapes(small_task):
    x, y = small_task
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\]"):
        ftlib.fit(tiny_model(), x, y + 5, steps=1, progress=False)
    with pytest.raises(ValueError, match="as many labels"):
        ftlib.fit(tiny_model(), x, y[:3], steps=1, progress=False)
    with pytest.raises(ValueError, match="exactly one of"):
        ftlib.fit(tiny_model(), x, y, progress=False)
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        tiny_model()(torch.zeros(2, 28, 28))


def test_frozen_batchnorm_stays_in_eval_mode_during_fit(small_task):
    model = tiny_model()
    ftlib.freeze(model)
    before = model.block1[1].running_mean.clone()
    modes = []
    ftlib.fit(model, *small_task, steps=3, progress=False,
              callback=lambda step, h: modes.append(model.block1[1].training))
    assert modes == [False, False, False]
    assert torch.equal(before, model.block1[1].running_mean), "frozen BN statistics changed"


def test_early_stopping_restores_best_weights(small_task):
    x, y = small_task
    model = tiny_model()
    h = ftlib.fit(model, x, y, steps=200, lr=3e-2, batch_size=None, val=(x[:50], y[:50]),
                  eval_every=5, patience=2, progress=False)
    assert h.eval_step and h.best_step in h.eval_step
    best = min(h.val_loss)
    assert ftlib.evaluate(model, x[:50], y[:50])["loss"] == pytest.approx(best, rel=1e-5)


def test_evaluate_and_cosine_schedule(small_task):
    model = tiny_model()
    h = ftlib.fit(model, *small_task, steps=20, lr=1e-2, schedule="cosine", progress=False)
    assert h.lr[0] == pytest.approx(1e-2) and h.lr[-1] < 1e-3
    m = ftlib.evaluate(model, *small_task)
    assert 0 <= m["accuracy"] <= 1 and m["loss"] > 0
    assert model.training, "evaluate must restore the training mode"


def test_continuing_a_history(small_task):
    model = tiny_model()
    opt = make_optimizer(model, 1e-3)
    h = ftlib.fit(model, *small_task, steps=3, optimizer=opt, progress=False)
    h = ftlib.fit(model, *small_task, steps=2, optimizer=opt, history=h, progress=False)
    assert h.step == [0, 1, 2, 3, 4]


def test_shift_flip_keeps_shape_and_moves_pixels():
    x = ftlib.to_input(ftlib.load_fashion_mnist("test")[0][:8])
    g = torch.Generator().manual_seed(0)
    out = random_shift_flip(x, g)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert torch.equal(random_shift_flip(x, g, max_shift=0, flip=False), x)
