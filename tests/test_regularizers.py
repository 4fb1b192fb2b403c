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


def test_norm_and_bias_names_and_the_three_l2_parameter_sets():
    model = tiny()
    special = R.norm_and_bias_names(model)
    assert special == {n for n, _ in model.named_parameters() if ".1." in n or ".4." in n or n.endswith("bias")}
    assert "block1.1.weight" in special and "head.bias" in special and "block1.0.weight" not in special
    sq = {n: p.pow(2).sum().item() for n, p in model.named_parameters()}
    weights = sum(v for n, v in sq.items() if n not in special)
    norm_bias = sum(v for n, v in sq.items() if n in special)
    assert R.l2_penalty(2.0, params="weights")(model).item() == pytest.approx(2 * weights, rel=1e-5)
    assert R.l2_penalty(2.0, params="norm_and_bias")(model).item() == pytest.approx(2 * norm_bias, rel=1e-5)
    assert R.l2_penalty(2.0)(model).item() == pytest.approx(2 * (weights + norm_bias), rel=1e-5)
    assert R.weight_decay is R.l2_penalty
    layer_norm = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3))
    assert R.norm_and_bias_names(layer_norm) == {"0.bias", "1.weight", "1.bias"}
    with pytest.raises(ValueError, match="params must be one of"):
        R.l2_penalty(0.1, params="weight")


def test_decoupled_decay_groups_shrink_weights_but_not_norm_or_bias():
    model = tiny()
    groups = R.decoupled_decay_groups(model, 0.5)
    assert [g["name"] for g in groups] == ["decay", "no decay"]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(groups, lr=0.1)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()  # zero gradient: only the decoupled decay moves anything
    for n, p in model.named_parameters():
        factor = 1.0 if n in R.norm_and_bias_names(model) else 1 - 0.1 * 0.5
        assert torch.allclose(p, before[n] * factor), n
    assert len(R.decoupled_decay_groups(model, 0.5, params="all")) == 1
    ftlib.freeze_to(model, -1)
    assert all(p is model.head.weight or p is model.head.bias
               for g in R.decoupled_decay_groups(model, 0.5) for p in g["params"]), "frozen parameters are left out"
    with pytest.raises(ValueError, match="'weights' or 'all'"):
        R.decoupled_decay_groups(model, 0.5, params="norm_and_bias")
    with pytest.raises(ValueError, match=">= 0"):
        R.decoupled_decay_groups(model, float("nan"))


def test_true_fisher_is_the_expectation_over_the_models_own_predictions():
    model = tiny().eval()
    x = torch.randint(0, 255, (5, 28, 28), dtype=torch.uint8)
    true = R.fisher_diagonal(model, x, kind="true", batch_size=2, exclude=("head.",))
    manual = {n: torch.zeros_like(p) for n, p in model.named_parameters() if n in true}
    for i in range(5):
        xi = ftlib.to_input(x[i:i + 1])
        probs = torch.softmax(model(xi), 1)[0].detach()
        for c in range(5):
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(xi), torch.tensor([c])).backward()
            for n, p in model.named_parameters():
                if n in manual:
                    manual[n] += probs[c] * p.grad.pow(2) / 5
    for n in true:
        assert torch.allclose(true[n], manual[n], atol=1e-7, rtol=1e-4), n
    y = torch.tensor([0, 1, 2, 3, 4])
    assert all(torch.equal(a, b) for a, b in zip(true.values(), R.fisher_diagonal(model, x, y, kind="true", batch_size=2,
                                                                                   exclude=("head.",)).values())), \
        "the true Fisher does not use labels"
    with pytest.raises(ValueError, match="one label per input"):
        R.fisher_diagonal(model, x)
    with pytest.raises(ValueError, match="kind must be one of"):
        R.fisher_diagonal(model, x, y, kind="expected")


def test_putting_back_source_statistics_and_the_statistics_only_control():
    ref = forgetting.SourceReference(fisher_per_class=2)
    x = forgetting.source_data("train", 3)[0]
    moved = forgetting.statistics_only(ref.model, x, passes=5)
    assert not moved.training and ref.model.block1[1].running_mean is not moved.block1[1].running_mean
    assert not torch.equal(moved.block1[1].running_mean, ref.model.block1[1].running_mean), "the statistics moved"
    assert all(torch.equal(a, b) for a, b in zip(moved.parameters(), ref.model.parameters())), "no weight moved"
    back = forgetting.with_statistics_of(moved, ref.model)
    assert torch.equal(back.block3[4].running_var, ref.model.block3[4].running_var)
    assert not torch.equal(moved.block3[4].running_var, ref.model.block3[4].running_var), "the copy, not the model"
    with pytest.raises(ValueError, match="another architecture"):
        forgetting.with_statistics_of(moved, tiny().block1)


@pytest.mark.parametrize("method", ["l2_weights", "l2_norm_bias", "adamw", "adamw_all", "l2_sp_free_head", "ewc_true"])
def test_new_recipes_train_and_zero_strength_equals_plain(method):
    ref = forgetting.SourceReference(fisher_per_class=2)
    x, y = forgetting.source_data("train", 2)
    plain, _ = forgetting.finetune_run(ref, "plain", x, y, seed=0, steps=3)
    same, _ = forgetting.finetune_run(ref, method, x, y, seed=0, steps=3, lam=0.0)
    strong, _ = forgetting.finetune_run(ref, method, x, y, seed=0, steps=3, lam=10.0)
    p0, p1, p2 = (torch.cat([p.detach().flatten() for p in m.parameters()]) for m in (plain, same, strong))
    assert torch.allclose(p0, p1, atol=1e-6), "λ = 0 is plain fine-tuning (AdamW with no decay is Adam)"
    assert not torch.allclose(p0, p2, atol=1e-6), "a strong penalty changes the result"


def test_paired_compares_two_metrics_of_the_same_runs_and_curves_order_by_strength():
    rows = [{"method": "plain", "family": "plain", "lam": 0.0, "lr": 1e-3, "seed": s, "accuracy": 0.8,
             "source_accuracy": 0.5 + 0.01 * s, "source_accuracy_source_bn": 0.6 + 0.02 * s} for s in range(3)]
    rows += [{"method": f"lr {lr:g}", "family": "lr", "lam": 0.0, "lr": lr, "seed": s, "accuracy": 0.7,
              "source_accuracy": 0.9} for lr in (1e-4, 3e-4) for s in range(3)]
    rows += [{"method": f"ewc λ={lam:g}", "family": "ewc", "lam": lam, "seed": s, "accuracy": 0.75,
              "source_accuracy": lam / 1e4} for lam in (1e4, 1e2) for s in range(3)]
    p = forgetting.paired(rows, "plain", "plain", metric="source_accuracy_source_bn", baseline_metric="source_accuracy")
    assert p["diff"] == pytest.approx(0.1 + 0.01) and p["wins"] == 3 and p["lo"] > 0
    lr_curve = forgetting.tradeoff_curve(rows, ("plain", "lr"))
    assert [q["method"] for q in lr_curve] == ["plain", "lr 0.0003", "lr 0.0001"], "a smaller rate is a stronger pull"
    ewc_curve = forgetting.tradeoff_curve(rows, ("ewc",))
    assert [q["method"] for q in ewc_curve] == ["ewc λ=100", "ewc λ=10000"] and ewc_curve[1]["x"] == pytest.approx(1.0)
    with pytest.raises(KeyError, match="no rows"):
        forgetting.tradeoff_curve(rows, ("l2_sp",))
