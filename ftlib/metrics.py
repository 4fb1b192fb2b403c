"""Classification metrics by hand, and intervals for comparing runs (lesson 09).

Everything starts from the confusion matrix ``C`` (rows: true class, columns: predicted
class).  For class ``c``::

    TP = C[c, c]     FP = column sum − TP     FN = row sum − TP
    precision = TP / (TP + FP)    recall = TP / (TP + FN)    F1 = 2PR / (P + R)

*Macro* averages the per-class numbers (every class counts the same); *micro* pools the
counts of all classes first (every example counts the same; for single-label problems
micro precision = micro recall = micro F1 = accuracy).  A ratio whose denominator is zero
(a class never predicted, or absent) is 0, as with scikit-learn's ``zero_division=0``.

Lesson 09 computes these by hand once and checks them against scikit-learn's
``precision_recall_fscore_support``.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np
import torch

from ftlib.experiments import paired_interval

# two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)

__all__ = ["confusion_matrix", "per_class", "averages", "classification_report", "format_report",
           "paired_interval", "unpaired_interval", "t_quantile"]


def _as_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = number of examples of true class ``i`` predicted as class ``j``."""
    t, p = _as_numpy(y_true).astype(np.int64).ravel(), _as_numpy(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} and {p.size}")
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}]")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support (true examples) from a confusion matrix."""
    cm = np.asarray(cm)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": cm.sum(axis=1)}


def averages(cm: np.ndarray) -> dict[str, float]:
    """Accuracy plus macro and micro precision, recall and F1."""
    cm = np.asarray(cm)
    pc = per_class(cm)
    tp = np.trace(cm)
    fp = fn = cm.sum() - tp  # pooled over classes every error is one FP and one FN
    micro_p, micro_r = float(_ratio(tp, tp + fp)), float(_ratio(tp, tp + fn))
    return {"accuracy": float(_ratio(tp, cm.sum())),
            "macro_precision": float(pc["precision"].mean()), "macro_recall": float(pc["recall"].mean()),
            "macro_f1": float(pc["f1"].mean()),
            "micro_precision": micro_p, "micro_recall": micro_r,
            "micro_f1": float(_ratio(2 * micro_p * micro_r, micro_p + micro_r))}


def classification_report(y_true, y_pred, num_classes: int | None = None) -> dict:
    """Confusion matrix, per-class metrics and averages in one dictionary."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    return {"confusion": cm, **{k: v for k, v in per_class(cm).items()}, **averages(cm)}


def format_report(report: dict, class_names: Sequence[str] | None = None, digits: int = 4) -> str:
    """A text table like scikit-learn's, rounded to ``digits`` (stable under nbval)."""
    n = len(report["precision"])
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    w = max(12, *(len(s) for s in names)) + 2
    lines = [f"{'':<{w}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for i, name in enumerate(names):
        lines.append(f"{name:<{w}}{report['precision'][i]:>10.{digits}f}{report['recall'][i]:>10.{digits}f}"
                     f"{report['f1'][i]:>10.{digits}f}{int(report['support'][i]):>9}")
    total = int(np.sum(report["support"]))
    for avg in ("macro", "micro"):
        lines.append(f"{avg + ' avg':<{w}}{report[avg + '_precision']:>10.{digits}f}"
                     f"{report[avg + '_recall']:>10.{digits}f}{report[avg + '_f1']:>10.{digits}f}{total:>9}")
    lines.append(f"{'accuracy':<{w}}{'':>20}{report['accuracy']:>10.{digits}f}{total:>9}")
    return "\n".join(lines)


def t_quantile(dof: int) -> float:
    """Two-sided 95 % quantile of Student's t with ``dof`` degrees of freedom (1.96 beyond 30)."""
    if dof < 1:
        raise ValueError(f"need at least one degree of freedom, got {dof}")
    return _T975[dof - 1] if dof <= len(_T975) else 1.96


def unpaired_interval(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """95 % Welch interval for mean(a) − mean(b), *ignoring* any pairing between a and b.

    Lesson 09 sets it beside :func:`paired_interval`: when both methods share each seed's
    data subset, pairing removes the subset-to-subset spread and the interval shrinks.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least two values on each side")
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
    diff = statistics.fmean(a) - statistics.fmean(b)
    half = t_quantile(max(1, int(dof))) * se
    return diff - half, diff + half
