"""ftlib.calibration (lesson 10): reliability bins, ECE, temperature scaling and the coverage curve."""
from __future__ import annotations

import pytest
import torch

from ftlib import calibration as C


def test_a_perfectly_calibrated_toy_has_zero_ece_and_an_overconfident_one_does_not():
    # 10 inputs at confidence 0.8, 8 of them right: calibrated
    probs = torch.tensor([[0.8, 0.2]] * 10)
    y = torch.tensor([0] * 8 + [1] * 2)
    assert C.expected_calibration_error(probs, y) == pytest.approx(0.0, abs=1e-6)  # float32 0.8
    r = C.reliability(probs, y, bins=5)
    assert r["count"] == [0, 0, 0, 0, 10] and r["accuracy"][4] == pytest.approx(0.8)
    sure = torch.tensor([[0.99, 0.01]] * 10)
    assert C.expected_calibration_error(sure, y) == pytest.approx(0.19)


def test_temperature_scaling_keeps_predictions_and_fixes_overconfidence():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (2000,), generator=g)
    logits = torch.randn(2000, 3, generator=g)
    logits[torch.arange(2000), y] += 1.0            # a signal ...
    hot = 4.0 * logits                                # ... made four times too confident
    t = C.fit_temperature(hot, y)
    assert 3.0 < t < 5.0
    before = C.expected_calibration_error(torch.softmax(hot, 1), y)
    after = C.expected_calibration_error(torch.softmax(hot / t, 1), y)
    assert after < before / 3 and torch.equal((hot / t).argmax(1), hot.argmax(1))


def test_coverage_curve_answers_fewer_and_better():
    probs = torch.tensor([[0.95, 0.05], [0.9, 0.1], [0.6, 0.4], [0.55, 0.45]])
    y = torch.tensor([0, 0, 1, 0])
    curve = C.coverage_curve(probs, y, [0.0, 0.7, 0.99])
    assert [c["coverage"] for c in curve] == [1.0, 0.5, 0.0]
    assert curve[0]["accuracy"] == 0.75 and curve[1]["accuracy"] == 1.0 and curve[2]["accuracy"] is None


def test_bad_input_is_one_clear_sentence():
    y = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="apply softmax"):
        C.reliability(torch.tensor([[2.0, -1.0], [0.0, 1.0]]), y)
    with pytest.raises(ValueError, match="shape"):
        C.expected_calibration_error(torch.tensor([0.5, 0.5]), y)
    with pytest.raises(ValueError, match="bins"):
        C.reliability(torch.tensor([[0.5, 0.5], [0.5, 0.5]]), y, bins=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        C.coverage_curve(torch.tensor([[0.5, 0.5], [0.5, 0.5]]), y, [90])
