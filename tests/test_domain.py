"""ftlib.domain: shifts, AdaBN, gradient reversal, DANN, pseudo-labels (lesson 08)."""
from __future__ import annotations

import pytest
import torch

import ftlib
from ftlib import domain as D


def tiny(seed=0, classes=3):
    torch.manual_seed(seed)
    return ftlib.NetB(classes, widths=(4, 8, 8))


def images(n=8, seed=0):
    return torch.randint(0, 256, (n, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_shifts_are_deterministic_uint8():
    x = images()
    a, b = D.invert_noise(x, 30, seed=1), D.invert_noise(x, 30, seed=1)
    assert a.dtype == torch.uint8 and torch.equal(a, b)
    assert not torch.equal(a, D.invert_noise(x, 30, seed=2))
    assert torch.equal(D.invert_noise(x, 0), 255 - x)
    assert torch.equal(D.rotate90(D.rotate90(x), 3), x) and torch.equal(D.rotate90(x, 4), x)
    assert torch.equal(D.shift(x, "rotate90"), D.rotate90(x))
    with pytest.raises(TypeError, match="uint8"):
        D.invert_noise(x.float())
    with pytest.raises(ValueError, match="noise_std"):
        D.invert_noise(x, -1)
    with pytest.raises(KeyError, match="unknown shift"):
        D.shift(x, "blur")


def test_adabn_sets_exact_target_statistics_and_keeps_weights():
    model = tiny()
    before = {n: p.clone() for n, p in model.named_parameters()}
    x = images(40)
    D.adabn(model, x, batch_size=40)
    assert not model.training
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())
    first = model.block1[0](ftlib.to_input(x))
    bn = model.block1[1]
    assert torch.allclose(bn.running_mean, first.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_var, first.var((0, 2, 3)), rtol=1e-3)
    assert bn.momentum == 0.1, "momentum is restored"
    with pytest.raises(ValueError, match="no BatchNorm"):
        D.adabn(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 2)), x)
    with pytest.raises(ValueError, match="empty"):
        D.adabn(model, x[:0])


def test_gradient_reversal_flips_and_scales_the_gradient():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    y = D.grad_reverse(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([3.0, 4.0])).sum().backward()
    assert torch.equal(x.grad, torch.tensor([-1.5, -2.0]))
    layer = D.GradientReversal(2.0)
    z = torch.ones(3, requires_grad=True)
    layer(z).sum().backward()
    assert torch.equal(z.grad, torch.full((3,), -2.0))
    with pytest.raises(ValueError, match="alpha"):
        D.grad_reverse(x, -1.0)


def test_dann_runs_and_logs():
    model = tiny()
    xs, ys, xt = images(16, 1), torch.arange(16) % 3, images(16, 2)
    log = D.dann(model, xs, ys, xt, steps=3, batch_size=4, seed=0)
    assert len(log["task_loss"]) == 3 and all(0 <= a <= 1 for a in log["domain_acc"])
    again = D.dann(tiny(), xs, ys, xt, steps=3, batch_size=4, seed=0)
    assert log["task_loss"] == again["task_loss"], "seeded DANN is repeatable"
    with pytest.raises(ValueError, match="lam"):
        D.dann(model, xs, ys, xt, steps=1, lam=-1)


def test_pseudo_labels_threshold_and_self_train():
    model = tiny()
    x = images(20)
    idx, labels, conf = D.pseudo_labels(model, x, threshold=0.0)
    assert len(idx) == 20 and torch.all(conf >= 0) and labels.max() < 3
    idx, _, _ = D.pseudo_labels(model, x, threshold=1.0)
    assert len(idx) <= 20
    with pytest.raises(ValueError, match="threshold"):
        D.pseudo_labels(model, x, 1.5)
    info = D.self_train(model, x[:6], torch.arange(6) % 3, x[6:], threshold=0.0, steps=2, max_pseudo=5)
    assert info["pseudo_labels"] == 5 and len(info["labels"]) == 5
    probs = D.ensemble_predict([tiny(0), tiny(1)], x)
    assert torch.allclose(probs.sum(1), torch.ones(20))
    with pytest.raises(ValueError):
        D.ensemble_predict([], x)


def test_shift_widget_compute_and_render():
    from ftlib.widgets.domain import accuracy_table, shift_accuracy, shift_plot

    model = tiny(classes=10)
    x, y = images(12), torch.arange(12) % 10
    shifted, acc = shift_accuracy(model, x, y, 0.0, invert=True)
    assert torch.equal(shifted, 255 - x) and 0.0 <= acc <= 1.0
    table = accuracy_table(model, x, y, [0.0, 30.0])
    assert table[(0.0, True)] == acc and set(table) == {(0.0, True), (0.0, False), (30.0, True), (30.0, False)}
    assert shift_plot(model, x, y).render(noise_std=30.0, invert=False)[:4] == b"\x89PNG"


def test_domain_separability_tells_separable_from_identical_features():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(400, 16, generator=g)
    shifted = torch.randn(400, 16, generator=g) + torch.tensor([3.0] + [0.0] * 15)
    same = torch.randn(400, 16, generator=g)
    state = torch.random.get_rng_state()
    assert D.domain_separability(a, shifted) > 0.85      # one coordinate shifted by 3: Bayes accuracy 0.93
    assert abs(D.domain_separability(a, same) - 0.5) < 0.1
    assert torch.equal(torch.random.get_rng_state(), state), "the learner's global generator is left alone"
    assert D.domain_separability(a, shifted, seed=3) == D.domain_separability(a, shifted, seed=3)


def test_domain_separability_rejects_bad_features():
    with pytest.raises(ValueError, match="same D"):
        D.domain_separability(torch.zeros(10, 4), torch.zeros(10, 5))
    with pytest.raises(ValueError, match="at least 4"):
        D.domain_separability(torch.zeros(3, 4), torch.zeros(10, 4))


def test_domain_features_uses_each_domains_statistics_without_changing_the_model():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, other = images(12, seed=1), images(12, seed=2)
    plain = D.domain_features(model, x)
    own = D.domain_features(model, x, statistics=other)
    assert plain.shape == (12, model.head.in_features)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "the model is not changed"
    expected = D.domain_features(D.adabn(D.copy_model(model), other), x)
    assert torch.allclose(own, expected)
    assert not torch.allclose(own, plain)
