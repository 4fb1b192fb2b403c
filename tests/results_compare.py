"""Compare a freshly computed results file with the committed one — portably.

The precompute scripts' small settings are re-run by the tests and compared with ``results/*_small.json``.
Their accuracies come from freshly trained models, so another CPU, kernel set or thread count gives a few
other predictions (docs/AUTHORING.md, "What the checks are for"). What is exact by nature — keys, settings,
methods, seeds, k, counts, strings — must be equal; wall-clock times (``seconds``) and library versions
(``environment``) are not compared at all. Floats must agree within

- ``PER_VALUE`` (0.1) each: 5 of the 50 test images of a small run; under ``ATEN_CPU_CAPABILITY=default
  OMP_NUM_THREADS=1`` the largest difference measured was 0.02 (one image), with 6 of 111 values differing;
- ``MEAN`` (0.01) on average over every field of the same name (all ``accuracy`` values, all ``std`` values, ...):
  most values are unchanged, so a change of recipe, data or method, which moves many values the same way, fails
  here even when each value moves less than ``PER_VALUE``.
"""
from __future__ import annotations

import math

PER_VALUE = 0.1
MEAN = 0.01


def _walk(new, old, path: str, floats: list, errors: list) -> None:
    if isinstance(new, dict) and isinstance(old, dict):
        if set(new) != set(old):
            errors.append(f"{path}: keys differ {sorted(set(new) ^ set(old))}")
        for key in set(new) & set(old):
            if not key.startswith("seconds") and key != "environment":  # times and versions are machine-specific
                _walk(new[key], old[key], f"{path}.{key}", floats, errors)
    elif isinstance(new, list) and isinstance(old, list):
        if len(new) != len(old):
            errors.append(f"{path}: {len(new)} entries instead of {len(old)}")
        for i, (a, b) in enumerate(zip(new, old)):
            _walk(a, b, f"{path}[{i}]", floats, errors)
    elif isinstance(new, float) and isinstance(old, (int, float)) and not isinstance(old, bool):
        if math.isnan(new) or math.isnan(old):
            if not (math.isnan(new) and math.isnan(old)):
                errors.append(f"{path}: {new} vs {old}")
        else:
            floats.append((abs(new - old), path, new, old))
    elif new != old:
        errors.append(f"{path}: {new!r} vs committed {old!r}")


def assert_results_close(new: dict, committed: dict) -> None:
    """Exact equality of everything but floats; floats within ``PER_VALUE`` each and ``MEAN`` on average."""
    floats: list = []
    errors: list = []
    _walk(new, committed, "", floats, errors)
    assert not errors, "the results differ in what cannot differ between machines:\n" + "\n".join(errors[:10])
    far = [f for f in floats if f[0] > PER_VALUE]
    assert not far, f"{len(far)} values differ by more than {PER_VALUE}: " + \
        "; ".join(f"{p}: {a} vs {b}" for _, p, a, b in sorted(far, reverse=True)[:5])
    by_field: dict[str, list[float]] = {}
    for diff, path, _, _ in floats:
        by_field.setdefault(path.rsplit(".", 1)[-1].split("[")[0], []).append(diff)
    for name, diffs in by_field.items():
        mean = sum(diffs) / len(diffs)
        assert mean <= MEAN, f"the {len(diffs)} '{name}' values differ by {mean:.4f} on average (> {MEAN}): " \
                             "did the recipe, the data or a method change?"
