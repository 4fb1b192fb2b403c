"""ftlib.lr_finder: the range test restores the model, suggests a sensible rate, rejects bad input."""
import math

import pytest
import torch

import ftlib
from ftlib import lr_finder as L


@pytest.fixture(scope="module")
def data():
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("train"), range(5, 10))
    return ftlib.k_shot(x, y, 8, seed=0)


def tiny(seed=0):
    torch.manual_seed(seed)
    return ftlib.NetB(5, widths=(4, 8, 8))


def test_exponential_lrs_and_bad_ranges():
    lrs = L.exponential_lrs(1e-4, 1e-1, 4)
    assert lrs == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1])
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        L.exponential_lrs(1e-1, 1e-4, 4)
    with pytest.raises(ValueError, match="num_steps"):
        L.exponential_lrs(1e-4, 1e-1, 1)


def test_suggestions_on_a_synthetic_curve():
    lrs = L.exponential_lrs(1e-5, 1.0, 51)
    # a loss that falls fastest around 1e-3, bottoms out near 1e-2 and then explodes
    loss = [2 - math.tanh(2 * (math.log10(v) + 3)) + (max(0.0, math.log10(v) + 2)) ** 2 * 4 for v in lrs]
    steep, min10 = L.suggestions(lrs, loss)
    assert 3e-4 < steep < 3e-3
    assert 3e-4 < min10 < 3e-3
    with pytest.raises(ValueError):
        L.suggestions(lrs[:2], loss[:2])


def test_lr_find_restores_weights_and_mode_and_is_deterministic(data):
    model = tiny()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r1 = L.lr_find(model, *data, num_steps=25, start_lr=1e-5, end_lr=10)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training
    r2 = L.lr_find(tiny(), *data, num_steps=25, start_lr=1e-5, end_lr=10)
    assert r1.losses == r2.losses and r1.suggestion == r2.suggestion
    assert r1.lrs[0] == pytest.approx(1e-5) and len(r1.lrs) == len(r1.smoothed) <= 25
    assert r1.lrs[0] <= r1.suggestion <= r1.lrs[-1] and r1.min_over_10 < r1.lrs[-1]


def test_lr_find_stops_when_the_loss_explodes(data):
    r = L.lr_find(tiny(), *data, num_steps=40, start_lr=1e-4, end_lr=1e4)
    assert r.diverged and len(r.lrs) < 40


def test_lr_find_with_everything_frozen_is_an_error(data):
    model = tiny()
    ftlib.freeze_to(model, 4)
    with pytest.raises(ValueError, match="everything is frozen"):
        L.lr_find(model, *data)
    with pytest.raises(ValueError, match="as many labels"):
        L.lr_find(tiny(), data[0], data[1][:3])
