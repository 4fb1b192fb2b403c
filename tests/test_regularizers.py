"""ftlib.regularizers (L2-SP, EWC, weight decay) and ftlib.forgetting helpers (lessons 06-07)."""
from __future__ import annotations

import pytest
import torch

import ftlib
from ftlib import forgetting, regularizers as R


def tiny(seed=0, classes=5):
    torch.manual_seed(seed)
    return ftlib.NetB(classes, widths=(4, 8, 8))


def test_weight_decay_is_lambda_times_squared_norm():
    model = tiny()
    expected = sum(p.pow(2).sum() for p in model.parameters())
    assert R.weight_decay(0.1)(model).item() == pytest.approx(0.1 * expected.item(), rel=1e-5)
    no_head = sum(p.pow(2).sum() for n, p in model.named_parameters() if not n.startswith("head."))
    assert R.weight_decay(1.0, exclude=("head.",))(model).item() == pytest.approx(no_head.item(), rel=1e-5)


def test_l2_sp_is_zero_at_the_start_except_the_head_and_grows_with_distance():
    model = tiny()
    ref = R.snapshot(model)
    ftlib.replace_head(model, 3, seed=0)  # a new head of another size is allowed
    reg = R.l2_sp(model, ref, lam=0.5, head_lam=0.0)
    assert reg(model).item() == 0.0
    with torch.no_grad():
        model.block1[0].weight.add_(0.1)
    n = model.block1[0].weight.numel()
    assert reg(model).item() == pytest.approx(0.5 * n * 0.01, rel=1e-4)
    head = R.l2_sp(model, ref, lam=0.0, head_lam=2.0)(model).item()
    assert head == pytest.approx(2.0 * sum(p.pow(2).sum().item() for p in model.head.parameters()), rel=1e-5)


def test_l2_sp_gradient_pulls_towards_the_reference():
    model = tiny()
    ref = R.snapshot(model)
    with torch.no_grad():
        model.block2[0].weight.add_(1.0)
    R.l2_sp(model, ref, lam=1.0, head_lam=0.0)(model).backward()
    assert torch.allclose(model.block2[0].weight.grad, torch.full_like(model.block2[0].weight, 2.0))


def test_bad_reference_and_negative_lambda_are_clear_errors():
    model = tiny()
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        R.l2_sp(model, model, lam=-0.1)
    with pytest.raises(ValueError, match=">= 0"):
        R.weight_decay(float("nan"))
    with pytest.raises(ValueError, match="shape .* different architecture"):
        R.l2_sp(model, ftlib.NetB(5), lam=0.1)  # full-width Net-B: shapes differ
    other = torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="reference has no parameter"):
        R.l2_sp(model, other, lam=0.1)
    with pytest.raises(TypeError, match="reference must be"):
        R.l2_sp(model, 3, lam=0.1)
    fisher = {n: torch.ones_like(p) for n, p in model.named_parameters()}
    with pytest.raises(ValueError, match=">= 0"):
        R.ewc(model, model, fisher, lam=-1)
    with pytest.raises(ValueError, match="empty"):
        R.ewc(model, model, {}, lam=1)
    bad = dict(fisher)
    bad["block1.0.weight"] = -bad["block1.0.weight"]
    with pytest.raises(ValueError, match="Fisher values"):
        R.ewc(model, model, bad, lam=1)


def test_fisher_matches_per_example_loop_and_ewc_formula():
    model = tiny().eval()
    x = torch.randint(0, 255, (6, 28, 28), dtype=torch.uint8)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    fisher = R.fisher_diagonal(model, x, y, batch_size=4, exclude=("head.",))
    assert "head.weight" not in fisher and set(fisher) <= {n for n, _ in model.named_parameters()}
    manual = {n: torch.zeros_like(p) for n, p in model.named_parameters() if n in fisher}
    for i in range(6):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(ftlib.to_input(x[i:i + 1])), y[i:i + 1]).backward()
        for n, p in model.named_parameters():
            if n in manual:
                manual[n] += p.grad.pow(2) / 6
    for n in fisher:
        assert torch.allclose(fisher[n], manual[n], atol=1e-6, rtol=1e-4), n
    ref = R.snapshot(model)
    with torch.no_grad():
        model.block1[0].weight.add_(0.2)
    value = R.ewc(model, ref, fisher, lam=3.0)(model).item()
    assert value == pytest.approx(0.5 * 3.0 * (fisher["block1.0.weight"] * 0.04).sum().item(), rel=1e-4)


def test_distance_and_discriminative_groups():
    model = tiny()
    ref = R.snapshot(model)
    assert R.distance_from(model, ref) == 0.0
    groups = forgetting.discriminative_param_groups(model, 1e-3, factor=2.0)
    assert [g["name"] for g in groups] == ["head", "block3", "block2", "block1"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    with pytest.raises(ValueError):
        forgetting.discriminative_param_groups(model, 1e-3, factor=0)


def test_source_accuracy_of_untouched_model_equals_its_own_accuracy():
    ref = forgetting.SourceReference(fisher_per_class=2)
    x, y = forgetting.source_data("test", 20)
    own = ftlib.evaluate(ref.model, x, y)["accuracy"]
    model = ref.fresh(5, seed=0)
    assert forgetting.source_accuracy(model, ref.head, x, y) == pytest.approx(own)
    assert len(ref.fisher) == len([n for n, _ in ref.model.named_parameters() if not n.startswith("head.")])


def test_gradual_unfreezing_runs_all_steps_and_ends_unfrozen():
    model = tiny()
    x = torch.randint(0, 255, (10, 28, 28), dtype=torch.uint8)
    y = torch.arange(10) % 5
    h = forgetting.gradual_unfreezing(model, x, y, steps=9, lr=1e-3, batch_size=None)
    assert len(h.step) == 9 and all(p.requires_grad for p in model.parameters())


def _rows():
    rows = []
    for seed in range(3):
        rows.append({"method": "plain", "family": "plain", "lam": 0.0, "seed": seed, "accuracy": 0.8 + 0.01 * seed,
                     "source_accuracy": 0.5})
        rows.append({"method": "l2_sp λ=0.1", "family": "l2_sp", "lam": 0.1, "seed": seed,
                     "accuracy": 0.82 + 0.01 * seed - (0.03 if seed == 2 else 0), "source_accuracy": 0.7})
        rows.append({"method": "weight_decay λ=0.1", "family": "weight_decay", "lam": 0.1, "seed": seed,
                     "accuracy": 0.6, "source_accuracy": 0.3})
    return rows


def test_lambda_table_pairs_with_plain():
    from ftlib.widgets.regularisation import lambda_table

    table = lambda_table(_rows(), "l2_sp")
    assert [t["lam"] for t in table] == [0.0, 0.1]
    assert table[1]["wins"] == 2 and table[1]["n"] == 3
    assert table[1]["diff"] == pytest.approx((0.02 + 0.02 - 0.01) / 3)
    with pytest.raises(ValueError, match="no rows"):
        lambda_table(_rows(), "dropout")


def test_tradeoff_points_and_widgets_render():
    from ftlib.widgets.forgetting import tradeoff_plot, tradeoff_points
    from ftlib.widgets.regularisation import lambda_plot

    points = tradeoff_points(_rows())
    assert points["plain"]["x"] == pytest.approx(0.5) and points["plain"]["n"] == 3
    assert lambda_plot(_rows()).render(family="weight_decay", lam=0.1)[:4] == b"\x89PNG"
    assert tradeoff_plot(_rows(), 0.94).render(method="l2_sp λ=0.1")[:4] == b"\x89PNG"
