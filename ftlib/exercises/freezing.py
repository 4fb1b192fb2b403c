"""Exercises of lesson 04 (freezing): counting trainable parameters, freeze_to, the BatchNorm trap."""
from __future__ import annotations

from torch import nn

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise


def _count_reference(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _count_all(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _count_tensors(model: nn.Module) -> int:
    return sum(1 for p in model.parameters() if p.requires_grad)


def _cases() -> list[tuple]:
    import torch

    from ftlib.freezing import freeze, freeze_to
    from ftlib.models import NetB

    with torch.random.fork_rng():  # leaves the caller's random state untouched
        torch.manual_seed(0)
        a, b, c = NetB(5), NetB(5), NetB(3)
    freeze(a)
    freeze_to(c, 2)
    return [(a,), (b,), (c,)]


count_trainable = FunctionExercise(
    "Exercise 1 — count the trainable parameters",
    reference=_count_reference, cases=_cases(),
    mistakes=[(_count_all, "You counted every parameter: keep only those with p.requires_grad."),
              (_count_tensors, "You counted parameter *tensors*; count their elements with p.numel().")],
    hint_text="model.parameters() yields tensors; p.requires_grad says whether the optimizer may change it and "
              "p.numel() how many numbers it holds.",
    solution_text="def count_trainable(model):\n    return sum(p.numel() for p in model.parameters() if p.requires_grad)",
)

freeze_to_two = ValueExercise(
    "Exercise 2 — trainable parameters after freeze_to(model, 2), with a 10-class head",
    expected=222_986,
    rtol=0.0, atol=0.0,  # a parameter count is exact: 222,976 (no bias) is a mistake, not a rounding
    mistakes=[(222_341, "That is with the 5-class head of section 1. This task has 10 classes: how many weights "
                        "and biases does nn.Linear(128, 10) have?"),
              (1_290, "1,290 is the new head alone: what else does freeze_to(model, 2) leave trainable?"),
              (221_696, "That is block 3 alone: the new head trains too."),
              (222_976, "Close: nn.Linear(128, 10) also has one bias per output."),
              (18_912, "That is block1 + block2, the *frozen* part."),
              (241_253, "That is the whole 5-class network: nothing would be frozen.")],
    hint_text="freeze_to(model, n) freezes the first n blocks (block1, block2, ...). Add the 'params' of the blocks "
              "that stay trainable (section 1's table) and the new head: nn.Linear(in, out) has in × out weights "
              "and out biases.",
    solution_text="answer = 221_696 + 128 * 10 + 10  # block3 + a 10-class head = 222,986",
)

batchnorm_trap = ChoiceExercise(
    "Exercise 3 — the BatchNorm trap",
    options={"a": "nothing: with requires_grad=False no tensor of the model can change",
             "b": "the BatchNorm running means and variances change, because model.train() lets BatchNorm "
                  "update its statistics on every forward pass",
             "c": "the convolution weights change a little through the optimizer's momentum",
             "d": "the BatchNorm weight and bias (gamma, beta) change"},
    correct="b",
    explanations={"a": "requires_grad only stops *gradients*. A model also holds tensors that are not "
                       "parameters (buffers): could any of them change without a gradient?",
                  "b": "Yes: in training mode BatchNorm normalises with the batch's own statistics and moves its "
                       "running averages towards them. ftlib.freeze puts frozen BatchNorm in eval mode; fit keeps it there.",
                  "c": "Parameters without gradients are skipped by the optimizer (and are not in ftlib's optimizer at all).",
                  "d": "gamma and beta are parameters with requires_grad=False: no gradient, no update."},
    hint_text="Which tensors of a BatchNorm layer are *buffers* rather than parameters? "
              "Look at dict(model.block1[1].named_buffers()).",
    solution_text="answer = 'b'",
)
