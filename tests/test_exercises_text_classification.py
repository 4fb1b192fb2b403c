"""Lesson 12's checkers accept right answers and explain the typical wrong ones without giving the answer."""
import torch

from ftlib.exercises import text_classification as ex
from ftlib.text import data as D


def test_pieces_per_word():
    tok = D.load_tokenizer()
    assert ex.pieces_per_word.check(lambda t: len(tok.encode(t).ids) / len(t.split()), quiet=True)
    assert ex.pieces_per_word.check(lambda t: len(D.tokens_of(t)) / len(t.split()), quiet=True)
    fb = ex.pieces_per_word.check(lambda t: len(D.encode(t)) / len(t.split()), quiet=True)
    assert not fb and "start token" in fb.message
    fb = ex.pieces_per_word.check(lambda t: len(t) / len(t.split()), quiet=True)
    assert not fb and "characters" in fb.message
    fb = ex.pieces_per_word.check(lambda t: len(t.split()) / len(tok.encode(t).ids), quiet=True)
    assert not fb and "upside down" in fb.message


def test_mean_pool():
    assert ex.mean_pool.check(lambda h, m: (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True), quiet=True)
    fb = ex.mean_pool.check(lambda h, m: h.mean(1), quiet=True)
    assert not fb and "padding" in fb.message
    fb = ex.mean_pool.check(lambda h, m: (h * m.unsqueeze(-1)).sum(1), quiet=True)
    assert not fb and "sum" in fb.message


def test_attention_trainable():
    assert ex.attention_trainable.check(4 * 4 * (128 * 128 + 128), quiet=True)
    fb = ex.attention_trainable.check(4 * 4 * 128 * 128, quiet=True)
    assert not fb and "bias" in fb.message and str(4 * 4 * (128 * 128 + 128)) not in fb.message
    fb = ex.attention_trainable.check(4 * 4 * (128 * 128 + 128) + 645, quiet=True)
    assert not fb and "head" in fb.message


def test_the_attention_answer_is_what_the_model_trains():
    from ftlib.text import finetune as T
    from ftlib.efficient import count_trainable
    assert count_trainable(T.setup("attention only").model) - 645 == ex.attention_trainable.expected


def test_choose_method_is_what_the_sweep_says():
    """Exercise 4's right option is the most accurate method whose LM loss rises by at most the budget."""
    import statistics

    from ftlib.results import load_result
    sweep = load_result("text")
    pre, k = sweep["pretrained_source_lm_loss"], ex.BUDGET_K
    rows = [r for r in sweep["rows"] if r["k"] == k]
    mean = lambda m, key: statistics.fmean(r[key] for r in rows if r["method"] == m)  # noqa: E731
    allowed = [m for m in ex.CHOICES.values()
               if m == "bag of words" or mean(m, "source_lm_loss") - pre <= ex.BUDGET_NATS]
    best = max(allowed, key=lambda m: mean(m, "accuracy"))
    assert ex.CHOICES[ex.choose_method.correct] == best
    assert "full fine-tune" not in allowed and "attention only" not in allowed  # as the explanations say
    for letter, method in ex.CHOICES.items():
        assert method.split()[0].lower() in ex.choose_method.options[letter].lower()
    fb = ex.choose_method.check("a", quiet=True)
    assert not fb and "budget" in fb.message and "ULMFiT" not in fb.message
