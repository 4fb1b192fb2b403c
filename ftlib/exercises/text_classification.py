"""Exercises of lesson 12, fine-tuning a pretrained language model for text classification."""
from __future__ import annotations

import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise


def _tokens(text: str) -> list[int]:
    from ftlib.text.data import load_tokenizer  # loaded when checked, not when imported
    return load_tokenizer().encode(text).ids


def _pieces_per_word(text: str) -> float:
    return len(_tokens(text)) / len(text.split())


pieces_per_word = FunctionExercise(
    "Exercise 1 — pieces per word",
    reference=_pieces_per_word,
    cases=[("a domestic dog",), ("Quercus alba",), ("Dryopteris filix-mas, the male fern",),
           ("an edible fruit of the genus Prunus",)],
    mistakes=[(lambda t: (len(_tokens(t)) + 1) / len(t.split()),
               "You counted the start token too: D.encode puts <|endoftext|> in front of every text. Count the "
               "pieces of the text itself."),
              (lambda t: len(t) / len(t.split()), "That counts characters per word, not BPE pieces."),
              (lambda t: len(_tokens(t)), "That is the number of pieces; divide by the number of words."),
              (lambda t: len(t.split()) / len(_tokens(t)), "That is words per piece: the fraction is upside down.")],
    hint_text="tok.encode(text).ids are the pieces of the text (without the start token); text.split() gives "
              "its words.",
    solution_text="def pieces_per_word(text):\n    return len(tok.encode(text).ids) / len(text.split())")


def _mean_pool(h, mask):
    m = mask.unsqueeze(-1).to(h.dtype)
    return (h * m).sum(1) / m.sum(1)


_g = torch.Generator().manual_seed(12)
_POOL_CASES = [(torch.randn(2, 4, 3, generator=_g), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]).bool()),
               (torch.randn(3, 5, 2, generator=_g), torch.tensor([[1, 0, 0, 0, 0], [1, 1, 1, 0, 0],
                                                                  [1, 1, 1, 1, 1]]).bool())]

mean_pool = FunctionExercise(
    "Exercise 2 — mean pooling over the real tokens",
    reference=_mean_pool, cases=_POOL_CASES,
    mistakes=[(lambda h, m: h.mean(1), "That averages over the padding too: a short text's vector is pulled "
                                       "towards whatever the pad positions hold. Use the mask."),
              (lambda h, m: (h * m.unsqueeze(-1)).sum(1), "That is a sum: divide by the number of real tokens."),
              (lambda h, m: h[:, -1], "That is the last position, which for a short, padded text is padding.")],
    hint_text="Zero the padded positions with the mask (it needs a trailing dimension to broadcast over the "
              "features), sum over the token dimension, and divide by how many tokens were real.",
    solution_text="def mean_pool(h, mask):\n    m = mask.unsqueeze(-1).float()\n    return (h * m).sum(1) / m.sum(1)")

attention_trainable = ValueExercise(
    "Exercise 3 — what attention-only fine-tuning trains",
    expected=4 * 4 * (128 * 128 + 128),
    mistakes=[(4 * 4 * 128 * 128, "Each of q, k, v and o also has a bias of 128 values."),
              (4 * (128 * 128 + 128), "That is one layer; the model has four."),
              (4 * 4 * (128 * 128 + 128) + 645, "The question asks about the attention layers only, without the head.")],
    hint_text="Each of the 4 layers has four Linear(128, 128) projections q, k, v, o; a Linear layer has a "
              "weight matrix and a bias vector.",
    solution_text="answer = 4 * 4 * (128 * 128 + 128)")


# Exercise 4's setting: k labelled definitions per class, and how far the language-model loss may rise (nats);
# tests/test_exercises_text_classification.py checks the right option against results/text.json
BUDGET_K, BUDGET_NATS = 16, 0.6
CHOICES = {"a": "full fine-tune", "b": "ULMFiT", "c": "attention only", "d": "head only", "e": "bag of words"}

choose_method = ChoiceExercise(
    "Exercise 4 — choose a method",
    options={"a": "full fine-tuning", "b": "ULMFiT", "c": "attention only", "d": "head only",
             "e": "bag of words (the backbone is not used at all)"},
    correct="b",
    explanations={
        "a": "Full fine-tuning's backbone loses too much: its language-model loss rises by far more than the "
             "budget allows at k = 16. Look at the forgetting table.",
        "b": "Right: its language-model loss stays within the budget at k = 16, and no other method that does "
             "is as accurate.",
        "c": "Attention-only fine-tuning forgets less than full fine-tuning, but at k = 16 its language-model loss "
             "still rises by more than the budget on average.",
        "d": "Head only keeps the language model exactly as it was, but another method that stays within the "
             "budget is more accurate at k = 16.",
        "e": "Bag of words never touches the backbone, but at k = 16 it is less accurate than the methods that "
             "fine-tune it within the budget."},
    hint_text="First cross out every method whose language-model loss rises by more than the budget at k = 16; "
              "then take the most accurate of those left.",
    solution_text='answer = "b"  # ULMFiT')
