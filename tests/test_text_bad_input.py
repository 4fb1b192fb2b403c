"""Bad input to the text track (issue 24): one clear sentence each, never a silent wrong result, and one
training step for every loop (ftlib.guards).

Each case is something a learner could really type. Where the old behaviour was silent (a bare string read
letter by letter, a misspelled option replaced by the default, a NaN alpha, labels broadcast, padding averaged
in), the test also shows that the correct call works, so the check is not a blanket refusal.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch

from ftlib.efficient import add_adapters, apply_lora
from ftlib.guards import TrainingDiverged
from ftlib.text import data as D
from ftlib.text import finetune as T
from ftlib.text.model import GPT, GPTConfig, TextClassifier
from ftlib.tooling import pretrain_lm

ROOT = Path(__file__).resolve().parent.parent
TINY = GPTConfig(vocab_size=64, context=16, d_model=16, n_layers=2, n_heads=2, d_mlp=32)
TEXTS = ["a small domesticated cat", "a tall deciduous tree", "a city in France", "a baker of bread",
         "a dish of boiled grain"]
LABELS = torch.tensor([0, 4, 2, 3, 1])


# --- one training step --------------------------------------------------------------------------------------

def test_no_loop_in_ftlib_steps_an_optimizer_outside_the_guards():
    pattern = re.compile(r"zero_grad\(|\b(opt|optim|optimizer)\w*\.step\(")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "ftlib").rglob("*.py")
                 if p.name != "guards.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_fine_tuning_at_a_huge_learning_rate_stops_with_a_sentence():
    s = T.setup("full fine-tune", lr=1e4)
    with pytest.raises(TrainingDiverged, match=r"training diverged. Try a smaller learning rate"):
        T.train(s, TEXTS, LABELS, recipe=T.Recipe(steps=20, batch_size=5, warmup=1))


def test_fine_tuning_losses_come_from_the_guarded_step():
    s = T.setup("head only")
    losses = T.train(s, TEXTS, LABELS, recipe=T.Recipe(steps=5, batch_size=5, warmup=1))
    assert len(losses) == 5 and all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]


def test_pretraining_goes_through_the_guards(monkeypatch):
    monkeypatch.setattr(pretrain_lm, "lr_at", lambda step, steps: 1e4)
    with pytest.raises(TrainingDiverged, match="diverged"):
        pretrain_lm.pretrain(steps=30, short_steps=None, eval_every=1000, eval_limit=4, progress=False)


# --- silent wrong results that are now one sentence -----------------------------------------------------------

def test_predict_refuses_a_bare_string_and_takes_a_list():
    model = T.setup("head only").model
    with pytest.raises(TypeError, match=r"one string 'cat': wrap it in a list"):
        T.predict(model, "cat")
    assert T.predict(model, ["cat"]).shape == (1,)


@pytest.mark.parametrize("method, option, suggestion", [("LoRA", "rank", "r"), ("prompt tuning", "prompt_length", "length"),
                                                        ("full fine-tune", "learning_rate", "lr")])
def test_a_misspelled_option_is_an_error_that_names_the_right_one(method, option, suggestion):
    with pytest.raises(TypeError, match=rf"{method} has no option '{option}' — did you mean {suggestion}="):
        T.setup(method, **{option: 16})


def test_scratch_has_no_options():
    with pytest.raises(TypeError, match="scratch's options: none"):
        T.setup("scratch", lr=1e-3)


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), -1.0, 0.0])
def test_lora_alpha_must_be_a_positive_finite_number(alpha):
    with pytest.raises(ValueError, match="alpha must be"):
        T.setup("LoRA", alpha=alpha)
    with pytest.raises(ValueError, match="alpha must be"):
        apply_lora(GPT(TINY), ["q"], r=2, alpha=alpha)


@pytest.mark.parametrize("lr", [float("nan"), 0.0, -1e-3])
def test_a_learning_rate_must_be_a_positive_finite_number(lr):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        T.setup("head only", lr=lr)


def test_accuracy_needs_one_label_per_text():
    model = T.setup("head only").model
    with pytest.raises(ValueError, match="need as many labels as inputs, got 5 inputs and 1 labels"):
        T.accuracy(model, TEXTS, torch.tensor([0]))
    assert 0.0 <= T.accuracy(model, TEXTS, LABELS) <= 1.0
    bow = T.BagOfWords().fit(TEXTS, LABELS)
    with pytest.raises(ValueError, match="need as many labels"):
        bow.accuracy(TEXTS, [0])


def test_forward_without_a_mask_refuses_padding():
    model = T.setup("head only").model
    ids, mask = D.encode_batch(["a cat", "a very much longer text about a tall deciduous tree"])
    assert (ids[0, 1:] == D.end_id()).any()  # the short text is padded
    with pytest.raises(ValueError, match="padding .* but no mask was given"):
        model(ids)
    one, _ = D.encode_batch(["a cat"])
    with torch.no_grad():  # one text has no padding: without a mask every token is real, as it should be
        assert torch.allclose(model(one), model(ids[:1, :one.shape[1]], mask[:1, :one.shape[1]]), atol=1e-6)


# --- errors that used to come from deep inside torch --------------------------------------------------------------

def test_token_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 63\].*got values from 0 to 64"):
        GPT(TINY)(torch.tensor([[0, 5, 64]]))
    with pytest.raises(ValueError, match="token ids must lie in"):
        TextClassifier(GPT(TINY), 2)(torch.tensor([[-1, 5]]))


def test_float_token_ids():
    with pytest.raises(TypeError, match="token ids must be whole numbers"):
        GPT(TINY)(torch.tensor([[0.0, 5.0]]))


def test_labels_out_of_range_or_floats():
    s = T.setup("head only")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\] for a 5-class head"):
        T.train(s, TEXTS, torch.tensor([0, 1, 2, 3, 5]))
    with pytest.raises(TypeError, match="labels must be integer class indices"):
        T.train(s, TEXTS, LABELS.float())


@pytest.mark.parametrize("field, value", [("batch_size", 0), ("batch_size", -3), ("steps", 0), ("steps", 2.5),
                                          ("warmup", -1), ("grad_clip", float("nan")), ("weight_decay", -0.1)])
def test_a_recipe_that_cannot_work_is_refused(field, value):
    with pytest.raises(ValueError, match=rf"{field} must be"):
        T.Recipe(**{field: value})


def test_predict_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        T.predict(T.setup("head only").model, TEXTS, batch_size=0)


def test_adding_adapters_twice_refuses_before_changing_anything():
    model = add_adapters(GPT(TINY), ["attn.o"], bottleneck=4)
    before = {n: p.requires_grad for n, p in model.named_parameters()}
    with pytest.raises(ValueError, match="already has adapters"):
        add_adapters(model, ["mlp.fc2"], bottleneck=4)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == before
