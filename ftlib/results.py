"""Precomputed experiment results in ``results/`` (lessons 03-09).

Sweeps too slow for a lesson are run by ``scripts/precompute_<topic>.py``, which write
``results/<topic>.json`` with floats rounded (so reruns give the same text); lessons read
them with :func:`load_result` and assert their claims on them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


def load_result(name: str) -> dict:
    """``results/<name>.json`` as written by a ``scripts/precompute_*.py`` script."""
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run the scripts/precompute_*.py script that writes it "
                                "(see its docstring), or restore it with `git checkout -- results/`")
    return json.loads(path.read_text())


def round_floats(obj: Any, digits: int = 6) -> Any:
    """Round every float in a nested structure of dicts, lists and tuples (for stable JSON)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    return obj


def write_result(path: Path, result: dict, digits: int | None = 6) -> Path:
    """Write a sweep's result as JSON (floats rounded to ``digits``; None leaves them as they are)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = result if digits is None else round_floats(result, digits)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)  # atomic: a sweep killed while writing leaves the previous file whole
    return path


def resumable_rows(path: Path, settings: dict) -> list[dict]:
    """The rows of an unfinished sweep at ``path`` when it was started with the same ``settings``
    (rounded as written), so a stopped sweep resumes; otherwise none."""
    path = Path(path)
    if not path.exists():
        return []
    old = json.loads(path.read_text())
    if "seconds_not_reproducible" in old or old.get("settings") != round_floats(settings):
        return []
    return old.get("rows", [])
