"""tests/results_compare.py: portable comparison of re-run results with the committed ones."""
import copy
import json
from pathlib import Path

import pytest

from tests.results_compare import PER_VALUE, assert_results_close

COMMITTED = json.loads((Path(__file__).resolve().parent.parent / "results" / "transfer_small.json").read_text())


def test_identical_and_slightly_different_results_pass():
    assert_results_close(copy.deepcopy(COMMITTED), COMMITTED)
    other = copy.deepcopy(COMMITTED)
    other["rows"][0]["accuracy"] += 0.02          # one test image of 50 flipped, as on another machine
    assert_results_close(other, COMMITTED)


def test_a_value_far_off_fails():
    other = copy.deepcopy(COMMITTED)
    other["rows"][0]["accuracy"] += PER_VALUE + 0.01
    with pytest.raises(AssertionError, match="differ by more than"):
        assert_results_close(other, COMMITTED)


def test_a_consistent_shift_fails_even_when_each_value_is_close():
    other = copy.deepcopy(COMMITTED)
    for row in other["rows"] + other["probe_rows"]:
        row["accuracy"] += 0.05
    with pytest.raises(AssertionError, match="on average"):
        assert_results_close(other, COMMITTED)


def test_what_is_exact_by_nature_must_be_equal():
    for change in (lambda r: r["settings"].update(steps=99), lambda r: r["rows"].pop(),
                   lambda r: r["rows"][0].update(method="renamed"), lambda r: r.pop("summary")):
        other = copy.deepcopy(COMMITTED)
        change(other)
        with pytest.raises(AssertionError, match="cannot differ"):
            assert_results_close(other, COMMITTED)
    timing = copy.deepcopy(COMMITTED)
    timing["seconds"] = 1e9                         # wall-clock times are not compared
    assert_results_close(timing, COMMITTED)


def test_library_versions_are_not_compared():
    other = copy.deepcopy(COMMITTED)
    other["environment"] = {"torch": "2.9.1+cpu", "ftlib": "0.1.0"}   # a student's older, allowed torch
    assert_results_close(other, COMMITTED)
