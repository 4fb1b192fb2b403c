"""ftlib.metrics agrees with scikit-learn; intervals behave (lesson 09)."""
import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from ftlib import metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.6, t, rng.integers(0, 4, 300))
    p[p == 3] = 2  # class 3 never predicted: zero division in its precision
    rep = metrics.classification_report(torch.as_tensor(t), torch.as_tensor(p), 4)
    assert np.array_equal(rep["confusion"], sk_confusion(t, p, labels=range(4)))
    sk = precision_recall_fscore_support(t, p, labels=range(4), zero_division=0)
    for ours, theirs in zip((rep["precision"], rep["recall"], rep["f1"], rep["support"]), sk):
        assert np.allclose(ours, theirs)
    for avg in ("macro", "micro"):
        theirs = precision_recall_fscore_support(t, p, average=avg, zero_division=0)[:3]
        assert np.allclose([rep[f"{avg}_precision"], rep[f"{avg}_recall"], rep[f"{avg}_f1"]], theirs)
    assert np.isclose(rep["micro_f1"], rep["accuracy"])


def test_confusion_matrix_checks_labels():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.confusion_matrix([0, 5], [0, 1], num_classes=3)
    assert metrics.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist() == [[1, 0], [1, 1]]


def test_format_report_is_rounded():
    rep = metrics.classification_report([0, 1, 1, 0], [0, 1, 0, 0], 2)
    text = metrics.format_report(rep, ["a", "b"])
    assert "0.6667" in text and "accuracy" in text and "macro avg" in text


def test_intervals():
    a = [0.62, 0.55, 0.70, 0.58, 0.66]
    b = [x - 0.05 + 0.001 * i for i, x in enumerate(a)]
    lo, hi = metrics.paired_interval([x - y for x, y in zip(a, b)])
    assert lo < 0.048 < hi and hi - lo < 0.01  # pairing removes the shared spread
    ulo, uhi = metrics.unpaired_interval(a, b)
    assert ulo < 0 < uhi  # ignoring the pairing, the same data cannot tell
    assert metrics.t_quantile(1) == pytest.approx(12.706) and metrics.t_quantile(100) == 1.96
    with pytest.raises(ValueError):
        metrics.t_quantile(0)
