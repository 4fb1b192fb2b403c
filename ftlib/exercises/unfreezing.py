"""Exercises of lesson 05 (gradual unfreezing): discriminative rates, the STLR schedule, lr_find."""
from __future__ import annotations

from ftlib.exercises import ChoiceExercise, FunctionExercise


def _disc_reference(lr: float, n_blocks: int, factor: float) -> list[float]:
    return [lr / factor ** (n_blocks - 1 - i) for i in range(n_blocks)]


def _disc_multiplied(lr, n_blocks, factor):
    return [lr * factor ** (n_blocks - 1 - i) for i in range(n_blocks)]


def _disc_reversed(lr, n_blocks, factor):
    return list(reversed(_disc_reference(lr, n_blocks, factor)))


def _disc_linear(lr, n_blocks, factor):
    return [lr / (factor * (n_blocks - 1 - i)) if i < n_blocks - 1 else lr for i in range(n_blocks)]


discriminative = FunctionExercise(
    "Exercise 1 — discriminative learning rates",
    reference=_disc_reference, cases=[(1e-3, 4, 2.6), (0.01, 3, 2.0), (5e-4, 1, 2.6), (1.0, 5, 10.0)],
    mistakes=[(_disc_multiplied, "Lower blocks should learn *slower*: divide by the factor, don't multiply."),
              (_disc_reversed, "The list goes from the lowest block (smallest rate) to the head (rate lr); "
                               "yours is reversed."),
              (_disc_linear, "Each block is the one above it ÷ factor, so the divisors multiply: they do not "
                             "grow linearly.")],
    hint_text="The head (the last entry, index n_blocks - 1) gets lr, and every step down one block divides the "
              "rate by factor once more. How many times is block i divided?",
    solution_text=("def disc_lrs(lr, n_blocks, factor):\n"
                   "    return [lr / factor ** (n_blocks - 1 - i) for i in range(n_blocks)]"),
)


def _stlr_reference(t: int, total: int, cut_frac: float, ratio: float) -> float:
    from ftlib.schedules import stlr_factor
    return stlr_factor(t, total, cut_frac, ratio)


def _stlr_no_ratio(t, total, cut_frac, ratio):
    import math
    cut = max(1, math.floor(total * cut_frac))
    return t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))


stlr = FunctionExercise(
    "Exercise 2 — the slanted triangular schedule",
    reference=_stlr_reference,
    cases=[(0, 100, 0.1, 32.0), (5, 100, 0.1, 32.0), (10, 100, 0.1, 32.0), (55, 100, 0.1, 32.0),
           (100, 100, 0.1, 32.0), (30, 200, 0.25, 10.0)],
    mistakes=[(_stlr_no_ratio, "Close: you have the triangle p, but the multiplier must never drop below "
                               "1/ratio: map p ∈ [0, 1] linearly onto [1/ratio, 1].")],
    hint_text="Translate section 2's formula (Howard & Ruder 2018, eq. 3) piece by piece: first the cut step c "
              "(math.floor), then p_t with its two cases, then the multiplier. Return the factor that scales η, "
              "not η itself.",
    solution_text=("import math\ndef stlr(t, T, cut_frac, ratio):\n    cut = math.floor(T * cut_frac)\n"
                   "    p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))\n"
                   "    return (1 + p * (ratio - 1)) / ratio"),
)

read_lr_find = ChoiceExercise(
    "Exercise 3 — reading an lr_find plot",
    options={"a": "the rate with the lowest loss on the plot",
             "b": "a rate where the loss is still falling steeply, about ten times below the minimum",
             "c": "the largest rate before the loss shoots up",
             "d": "the smallest rate tried, to be safe"},
    correct="b",
    explanations={"a": "At the minimum the rate is already close to too large: the loss is about to blow up, "
                       "and the curve was measured while the rate kept growing.",
                  "b": "Yes: where the loss falls fastest (or the minimum ÷ 10) is large enough to learn quickly "
                       "and safely below divergence.",
                  "c": "That rate is at the edge of divergence; a full run at it is likely to diverge.",
                  "d": "At the smallest rates the loss hardly moves: training would be needlessly slow."},
    hint_text="The plot was made with a *growing* rate, a single step per rate. Where does the loss fall fastest?",
    solution_text="answer = 'b'",
)
