"""The precompute scripts of lessons 06-09 reproduce their committed small-setting results (within tests/results_compare.py's tolerances)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.results_compare import assert_results_close

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "regularisation": ["scripts/precompute_regularisation.py", "--small"],
    "regularisation_curves": ["scripts/precompute_regularisation.py", "--part", "curves", "--small"],
    "regularisation_lambda": ["scripts/precompute_regularisation.py", "--part", "lambda", "--small"],
    "regularisation_decay": ["scripts/precompute_regularisation.py", "--part", "decay", "--small"],
    "regularisation_curve_seeds": ["scripts/precompute_regularisation.py", "--part", "curve_seeds", "--small"],
    "forgetting": ["scripts/precompute_forgetting.py", "--small"],
    "forgetting_tradeoff": ["scripts/precompute_forgetting.py", "--part", "tradeoff", "--small"],
    "negative_transfer": ["scripts/precompute_domain_shift.py", "--part", "negative", "--small"],
    "domain_shift": ["scripts/precompute_domain_shift.py", "--part", "shift", "--small"],
    "domain_invariance": ["scripts/precompute_domain_shift.py", "--part", "invariance", "--small"],
    "evaluation_seeds": ["scripts/precompute_evaluation.py", "--small"],
}


@pytest.mark.parametrize("topic", sorted(RUNS))
def test_script_reproduces_small_results(topic, tmp_path):
    out = tmp_path / f"{topic}_small.json"
    subprocess.run([sys.executable, *RUNS[topic], "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    assert_results_close(json.loads(out.read_text()), json.loads((ROOT / "results" / f"{topic}_small.json").read_text()))


FULL = ["regularisation", "regularisation_lambda", "regularisation_decay", "forgetting", "forgetting_tradeoff", "negative_transfer", "domain_shift_invert_noise", "domain_shift_rotate90", "domain_invariance", "evaluation_seeds"]


@pytest.mark.parametrize("topic", FULL)
def test_full_results_exist_with_eight_paired_seeds(topic):
    data = json.loads((ROOT / "results" / f"{topic}.json").read_text())
    assert len(data["settings"]["seeds"]) >= 8
    seeds = {r["seed"] for r in data["rows"]}
    assert seeds == set(data["settings"]["seeds"]), "every seed finished"


def test_full_curves_cover_every_seed():
    data = json.loads((ROOT / "results" / "regularisation_curve_seeds.json").read_text())
    assert sorted(map(int, data["curves"])) == data["settings"]["seeds"] and len(data["settings"]["seeds"]) >= 8


def test_a_stopped_sweep_resumes_from_its_rows(tmp_path):
    """Kill a sweep after its first rows: the rerun keeps them and only runs the rest."""
    from ftlib.results import resumable_rows, write_result

    settings = {"k": 2, "seeds": [0]}
    out = tmp_path / "sweep.json"
    write_result(out, {"settings": settings, "rows": [{"method": "plain", "seed": 0}]})
    assert resumable_rows(out, settings) == [{"method": "plain", "seed": 0}]
    assert resumable_rows(out, {**settings, "k": 3}) == [], "other settings start afresh"
    write_result(out, {"settings": settings, "rows": [], "seconds_not_reproducible": 1.0})
    assert resumable_rows(out, settings) == [], "a finished sweep is rerun from scratch"
    assert not list(tmp_path.glob("*.tmp")), "writes go through a temporary file and leave none behind"
