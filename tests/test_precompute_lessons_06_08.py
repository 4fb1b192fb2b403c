"""The precompute scripts of lessons 06-08 reproduce their committed small-setting results."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "regularisation": ["scripts/precompute_regularisation.py", "--small"],
    "regularisation_curves": ["scripts/precompute_regularisation.py", "--part", "curves", "--small"],
    "regularisation_lambda": ["scripts/precompute_regularisation.py", "--part", "lambda", "--small"],
    "forgetting": ["scripts/precompute_forgetting.py", "--small"],
    "negative_transfer": ["scripts/precompute_domain_shift.py", "--part", "negative", "--small"],
    "domain_shift": ["scripts/precompute_domain_shift.py", "--part", "shift", "--small"],
}


def _same(a, b, path="") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys differ {set(a) ^ set(b)}"
        for k in a:
            if not k.startswith("seconds"):
                _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and (math.isnan(a) or math.isnan(b)):
        assert math.isnan(a) and math.isnan(b), path
    elif isinstance(a, float):
        assert a == pytest.approx(b, abs=1e-4), f"{path}: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.mark.parametrize("topic", sorted(RUNS))
def test_script_reproduces_small_results(topic, tmp_path):
    out = tmp_path / f"{topic}_small.json"
    subprocess.run([sys.executable, *RUNS[topic], "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    _same(json.loads(out.read_text()), json.loads((ROOT / "results" / f"{topic}_small.json").read_text()))


FULL = ["regularisation", "regularisation_lambda", "forgetting", "negative_transfer", "domain_shift_invert_noise", "domain_shift_rotate90"]


@pytest.mark.parametrize("topic", FULL)
def test_full_results_exist_with_eight_paired_seeds(topic):
    data = json.loads((ROOT / "results" / f"{topic}.json").read_text())
    assert len(data["settings"]["seeds"]) >= 8
    seeds = {r["seed"] for r in data["rows"]}
    assert seeds == set(data["settings"]["seeds"]), "every seed finished"
