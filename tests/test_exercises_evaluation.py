"""Lesson 09's checkers accept right answers and explain the typical wrong ones."""
import math
import statistics

import numpy as np

from ftlib.exercises import evaluation as ex
from ftlib.metrics import t_quantile, unpaired_interval


def test_precision_recall_f1():
    def good(tp, fp, fn):
        p, r = tp / (tp + fp), tp / (tp + fn)
        return p, r, 2 * p * r / (p + r)
    assert ex.precision_recall_f1.check(good, quiet=True)
    swapped = ex.precision_recall_f1.check(lambda tp, fp, fn: good(tp, fp, fn)[1::-1] + (good(tp, fp, fn)[2],),
                                           quiet=True)
    assert not swapped and "swapped" in swapped.message
    arith = ex.precision_recall_f1.check(lambda tp, fp, fn: (*good(tp, fp, fn)[:2], sum(good(tp, fp, fn)[:2]) / 2),
                                         quiet=True)
    assert not arith and "harmonic" in arith.message and "2PR/(P+R)" not in arith.message
    assert "TP + FP" not in swapped.message, "the explanation must not state the formula"


def test_macro_recall():
    assert ex.macro_recall.check(np.mean(np.diag(ex.CONFUSION) / ex.CONFUSION.sum(axis=1)), quiet=True)
    fb = ex.macro_recall.check(np.trace(ex.CONFUSION) / ex.CONFUSION.sum(), quiet=True)
    assert not fb and "accuracy" in fb.message
    assert not ex.macro_recall.check(0.99, quiet=True)


def test_paired_interval():
    def good(a, b):
        d = [x - y for x, y in zip(a, b)]
        half = t_quantile(len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
        return statistics.fmean(d) - half, statistics.fmean(d) + half
    assert ex.paired_interval.check(good, quiet=True)
    fb = ex.paired_interval.check(unpaired_interval, quiet=True)
    assert not fb and "unpaired" in fb.message


def test_choices():
    assert ex.test_discipline.check("b", quiet=True)
    assert not ex.test_discipline.check("a", quiet=True)
    assert ex.imbalanced_metric.check("c", quiet=True)
    fb = ex.imbalanced_metric.check("b", quiet=True)
    assert not fb and "equals accuracy" in fb.message
