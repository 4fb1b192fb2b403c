"""Exercises of lesson 09 (evaluation): precision/recall/F1, macro averages, paired intervals, discipline."""
from __future__ import annotations

import math
import statistics

import numpy as np

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise
from ftlib.metrics import averages, t_quantile, unpaired_interval


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


precision_recall_f1 = FunctionExercise(
    "Exercise 1 — precision, recall and F1 from counts",
    reference=_prf,
    cases=[(8, 2, 4), (5, 5, 0), (3, 1, 9), (40, 10, 10), (1, 9, 1)],
    mistakes=[(lambda tp, fp, fn: (_prf(tp, fp, fn)[1], _prf(tp, fp, fn)[0], _prf(tp, fp, fn)[2]),
               "Precision and recall are swapped: which of the two is about what you *predicted* positive, "
               "and which about what *really is* positive?"),
              (lambda tp, fp, fn: (*_prf(tp, fp, fn)[:2], sum(_prf(tp, fp, fn)[:2]) / 2),
               "F1 is the *harmonic* mean of precision and recall, not the arithmetic mean (P+R)/2."),
              (lambda tp, fp, fn: (tp / (tp + fn), tp / (tp + fp), _prf(tp, fp, fn)[2]),
               "Precision and recall are swapped.")],
    hint_text="Precision: of what you *called* positive, how much was right. Recall: of what *was* positive, "
              "how much you found. F1 is their harmonic mean. Which two counts make up each denominator?",
    solution_text="def prf(tp, fp, fn):\n    p = tp / (tp + fp)\n    r = tp / (tp + fn)\n"
                  "    return p, r, 2 * p * r / (p + r)")

# rows: true class, columns: predicted class
CONFUSION = np.array([[90, 5, 5],
                      [10, 10, 0],
                      [8, 2, 0]])
_avg = averages(CONFUSION)
macro_recall = ValueExercise(
    "Exercise 2 — macro recall of a confusion matrix",
    expected=_avg["macro_recall"], rtol=1e-3, atol=1e-3,
    mistakes=[(_avg["accuracy"], "That is accuracy (= micro recall): it pools all examples, so the big class "
                                 "dominates. Macro recall averages the three per-class recalls."),
              (_avg["macro_precision"], "That is macro *precision*: you divided by the column sums, what was "
                                        "*predicted* as each class. Recall is about what each class really is.")],
    hint_text="Recall of a class: of the examples that really are that class (one row of C), the fraction "
              "predicted as it (the diagonal entry). Macro recall gives each class's recall the same weight.",
    solution_text="recalls = np.diag(C) / C.sum(axis=1)   # 0.9, 0.5, 0.0\nanswer = recalls.mean()  # 0.4667")


def _paired(a, b) -> tuple[float, float]:
    d = [x - y for x, y in zip(a, b)]
    half = t_quantile(len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
    return statistics.fmean(d) - half, statistics.fmean(d) + half


paired_interval = FunctionExercise(
    "Exercise 3 — a 95 % interval for a paired difference",
    reference=_paired,
    cases=[([0.62, 0.55, 0.70, 0.58, 0.66], [0.57, 0.52, 0.69, 0.50, 0.60]),
           ([0.80, 0.85, 0.83, 0.90], [0.81, 0.82, 0.84, 0.86]),
           ([0.5, 0.6, 0.7], [0.45, 0.5, 0.66])],
    rtol=1e-3, atol=1e-4,
    mistakes=[(lambda a, b: unpaired_interval(a, b),
               "That is the unpaired (Welch) interval: it ignores that run i of both methods shared seed i's "
               "data. Take the differences d_i = a_i − b_i first and build the interval from their mean and std."),
              (lambda a, b: (statistics.fmean(a) - statistics.fmean(b) - 1.96 * statistics.stdev(
                  [x - y for x, y in zip(a, b)]) / math.sqrt(len(a)),
                             statistics.fmean(a) - statistics.fmean(b) + 1.96 * statistics.stdev(
                  [x - y for x, y in zip(a, b)]) / math.sqrt(len(a))),
               "With a handful of seeds use Student's t, not 1.96: t_quantile(n - 1) gives it.")],
    hint_text="Work with the per-seed differences d = a − b alone: a t-interval around their mean, with "
              "n − 1 degrees of freedom (t_quantile) and the standard error of a mean of n numbers.",
    solution_text="def paired_ci(a, b):\n    d = [x - y for x, y in zip(a, b)]\n"
                  "    half = t_quantile(len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))\n"
                  "    return statistics.fmean(d) - half, statistics.fmean(d) + half")

test_discipline = ChoiceExercise(
    "Exercise 4 — validation chooses, the test set is looked at once",
    options={"a": "Nothing: the test set is the most reliable estimate, so choosing on it is best.",
             "b": "The test set was used to choose, so 88.1 % is optimistically biased; choose on a validation "
                  "split and evaluate the chosen setting on the test set once, at the end.",
             "c": "Only that one seed is not enough: run the six learning rates on the test set with more seeds.",
             "d": "Training accuracy should have been used to choose instead."},
    correct="b",
    explanations={"a": "Picking the maximum of several noisy test scores selects luck as well as skill.",
                  "b": "The best of several noisy scores overestimates the chosen one; a fresh test set "
                       "gives an unbiased number because nothing was chosen on it.",
                  "c": "More seeds help, but choosing on the test set is still choosing on the test set.",
                  "d": "Training accuracy rewards overfitting: with few labels it is near 100 % for everything."},
    hint_text="What happens to the maximum of six noisy numbers?",
    solution_text="answer = 'b'")

imbalanced_metric = ChoiceExercise(
    "Exercise 5 — which number reveals a rare class being ignored?",
    options={"a": "accuracy", "b": "micro-averaged F1", "c": "the rare class's recall (or macro-averaged F1)",
             "d": "the training loss"},
    correct="c",
    explanations={"a": "With 98 % of one class, predicting it always gives 98 % accuracy.",
                  "b": "For single-label problems micro-F1 equals accuracy: same problem.",
                  "c": "Recall of the rare class is the fraction of it that is found; macro-F1 weights every class equally.",
                  "d": "The training loss says nothing about the rare class on new data."},
    hint_text="Which average gives the rare class as much weight as the common one?",
    solution_text="answer = 'c'")
