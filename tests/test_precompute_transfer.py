"""The transfer experiments: methods of ftlib.experiments, the lesson-05 widget's compute function,
and the precompute scripts, which must reproduce their committed small-setting results."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ftlib
from ftlib import experiments as E
from ftlib.widgets import unfreezing as W
from tests.results_compare import assert_results_close

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_task():
    return E.limit_test(E.class_task(), 10)


@pytest.fixture(scope="module")
def shots(tiny_task):
    return ftlib.k_shot(tiny_task.x_pool, tiny_task.y_pool, 1, seed=0)


def test_methods_return_models_that_evaluate(tiny_task, shots):
    methods = {"disc": E.discriminative(steps=4), "gradual": E.discriminative(steps=4, factor=1.0, gradual=True),
               "ulmfit": E.discriminative(steps=4, gradual=True, stlr=True), "probe": E.linear_probe("block3", steps=5),
               "naive": E.naive_frozen(steps=3)}
    rows = E.run_paired(methods, tiny_task, ks=[1], seeds=[0], metrics=E.source_retention(max_per_class=10))
    assert [r["method"] for r in rows] == list(methods)
    assert all(0 <= r["accuracy"] <= 1 for r in rows)
    have_source = {r["method"] for r in rows if "source_accuracy" in r}
    assert have_source == {"disc", "gradual", "ulmfit", "naive"}, "probes keep no source head"


def test_source_retention_of_an_untouched_backbone_is_the_source_accuracy():
    model = E._pretrained_with_head("netb_source", 5, seed=0)
    kept = E.source_retention(max_per_class=40)(model)["source_accuracy"]
    xs, ys = E._first_per_class(*ftlib.class_subset(*ftlib.load_fashion_mnist("test"), E.SOURCE_CLASSES), 40)
    assert kept == pytest.approx(ftlib.evaluate(ftlib.load_pretrained(), xs, ys)["accuracy"])
    assert E.source_retention()(ftlib.NetB(5)) == {}, "scratch models have no source task"


def test_naive_frozen_moves_bn_statistics_but_ftlib_freeze_does_not(shots):
    reference = ftlib.load_pretrained().block1[1].running_mean
    naive = E.naive_frozen(steps=2)(*shots, 0)
    clean = E.pretrained(steps=2, frozen_blocks=3)(*shots, 0)
    assert not torch.equal(naive.block1[1].running_mean, reference)
    assert torch.equal(clean.block1[1].running_mean, reference)
    assert torch.equal(naive.block1[0].weight, clean.block1[0].weight), "conv weights stay frozen either way"


def test_head_lr_trains_the_head_at_its_own_rate_and_zero_init_is_zero(shots):
    calls = []
    real = E.finetune

    def spy(model, *args, **kwargs):
        calls.append((kwargs.get("optimizer"), model.head.weight.detach().clone()))
        return real(model, *args, **kwargs)
    E.finetune = spy
    try:
        E.pretrained(steps=1, frozen_blocks=3, head_lr=1e-2, head_init="zeros")(*shots, 0)
        E.pretrained(steps=1, head_lr=1e-2)(*shots, 0)
    finally:
        E.finetune = real
    (frozen_opt, head0), (full_opt, _) = calls
    assert [(g["name"], g["lr"]) for g in frozen_opt.param_groups] == [("head", 1e-2)]
    assert not head0.any(), "head_init='zeros' starts the head at zero"
    assert [(g["name"], g["lr"]) for g in full_opt.param_groups] == [
        ("block1", 1e-3), ("block2", 1e-3), ("block3", 1e-3), ("head", 1e-2)]
    with pytest.raises(ValueError, match="head_init must be"):
        E.pretrained(head_init="zero")


def test_frozen_head_without_augmentation_is_the_linear_probe(tiny_task):
    """The control lesson 04 rests on: the fine-tuning code path with the probe's recipe is the probe."""
    x, y = ftlib.k_shot(tiny_task.x_pool, tiny_task.y_pool, 2, seed=0)
    via_finetune = E.pretrained(steps=30, frozen_blocks=3, head_lr=1e-2, head_init="zeros", augment=False)(x, y, 0)
    probe = E.linear_probe("pooled", steps=30)(x, y, 0)
    with torch.no_grad():
        inputs = ftlib.to_input(tiny_task.x_test)
        a, b = via_finetune.eval()(inputs), probe(inputs)
    # equal up to float summation order (fit shuffles the full batch; Adam carries the difference on)
    assert torch.allclose(a, b, atol=0.05), (a - b).abs().max()
    assert (a.argmax(1) == b.argmax(1)).float().mean() >= 0.98


def test_lp_ft_trains_the_head_first_then_everything(shots):
    model = E.lp_ft(head_steps=3, steps=2)(*shots, 0)
    start = ftlib.load_pretrained()
    assert all(p.requires_grad for p in model.parameters()), "everything trainable in the second stage"
    assert not torch.equal(model.block1[0].weight, start.block1[0].weight), "the backbone moved in stage 2"
    head_only = E.lp_ft(head_steps=3, steps=0)(*shots, 0)
    assert torch.equal(head_only.block1[0].weight, start.block1[0].weight), "stage 1 leaves the backbone"


def test_naive_frozen_with_mini_batches_draws_the_batches_fit_draws(shots):
    x, y = shots
    naive = E.naive_frozen(steps=3, batch_size=2)(x, y, 0)
    clean = E.pretrained(steps=3, frozen_blocks=3, batch_size=2)(x, y, 0)
    assert torch.equal(naive.block1[0].weight, clean.block1[0].weight)
    assert not torch.equal(naive.block1[1].running_mean, clean.block1[1].running_mean)
    with pytest.raises(ValueError, match="batch_size must be"):
        E.naive_frozen(steps=1, batch_size=0)(x, y, 0)


def test_lesson_05_controls_train_what_they_say(shots):
    start = ftlib.load_pretrained()
    frozen_later = E.gradual_freezing(steps=4)(*shots, 0)
    assert [n for n in ("block1", "block2", "block3")
            if getattr(frozen_later, n)[0].weight.requires_grad] == [], "every block frozen by the end"
    assert not torch.equal(frozen_later.block1[0].weight, start.block1[0].weight), "block 1 trained first"
    assert frozen_later.head.weight.requires_grad
    calls = []
    real = E.finetune

    def spy(model, *args, **kwargs):
        calls.append(kwargs)
        return real(model, *args, **kwargs)
    E.finetune = spy
    try:
        E.matched_rates(lr=1e-3, steps=1)(*shots, 0)
        found = E.lr_found(steps=1)(*shots, 0)
    finally:
        E.finetune = real
    assert [(g["name"], g["lr"]) for g in calls[0]["optimizer"].param_groups] == [
        ("block1", 2.5e-4), ("block2", 5e-4), ("block3", 7.5e-4), ("head", 1e-3)]
    assert calls[1]["lr"] == found.found_lr and 1e-6 <= found.found_lr <= 1.0


def test_limit_test_and_results_helpers(tiny_task):
    assert torch.equal(torch.bincount(tiny_task.y_test), torch.full((5,), 10))
    assert E.limit_test(tiny_task, None) is tiny_task
    with pytest.raises(FileNotFoundError, match="precompute"):
        E.load_results("no_such_results")
    index = E.by_method_and_k([{"method": "a", "k": 1, "mean": 0.5}])
    assert index[("a", 1)]["mean"] == 0.5


def test_widget_compute_function_and_bad_input():
    setup = W.make_setup(k=1, seed=0, test_per_class=10)
    lrs = {b: 0.0 for b in setup.blocks} | {"head": 1e-2}
    result = W.train_with_lrs(setup, lrs, steps=3)
    assert 0 <= result["target_accuracy"] <= 1 and 0 <= result["source_accuracy"] <= 1
    again = W.train_with_lrs(setup, lrs, steps=3)
    assert again["target_accuracy"] == result["target_accuracy"], "a run is reproducible"
    base_kept = ftlib.evaluate(W._with_source_head(setup), *setup.source_test)["accuracy"]
    assert result["source_accuracy"] == pytest.approx(base_kept), "a frozen backbone keeps the source task"
    assert len(setup.runs) == 2 and "frozen" in W.format_run(result)
    with pytest.raises(KeyError, match="unknown block 'body'"):
        W.train_with_lrs(setup, {**lrs, "body": 1e-3})
    with pytest.raises(KeyError, match="no learning rate"):
        W.train_with_lrs(setup, {"head": 1e-3})
    with pytest.raises(ValueError, match="every learning rate is 0"):
        W.train_with_lrs(setup, {b: 0.0 for b in setup.blocks})


@pytest.mark.parametrize("name, stem", [("precompute_transfer", "transfer_small"),
                                        ("precompute_batchnorm", "transfer_batchnorm_small"),
                                        ("precompute_heads", "transfer_heads_small"),
                                        ("precompute_unfreezing", "unfreezing_controls_small")])
def test_precompute_script_reproduces_its_small_result(tmp_path, name, stem):
    out = tmp_path / f"{stem}.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), "--small", "--out", str(out),
                    "--workers", "1"], check=True, cwd=ROOT, capture_output=True, timeout=600)
    committed = json.loads((ROOT / "results" / f"{stem}.json").read_text())
    assert_results_close(json.loads(out.read_text()), committed)


def test_full_results_have_the_promised_settings():
    full = E.load_results("transfer")
    s = full["settings"]
    assert s["ks"] == [1, 2, 5, 10] and len(s["seeds"]) >= 8 and s["steps"] == 100 and s["test_per_class"] is None
    assert len(full["rows"]) == len(s["ks"]) * len(s["seeds"]) * len(s["methods"])
    bn = E.load_results("transfer_batchnorm")
    assert len(bn["settings"]["seeds"]) >= 8
