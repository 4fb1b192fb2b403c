"""Lesson time budgets (COURSE.md): measured while nbval ran the lessons in this session."""
import os

import pytest

from tests import lesson_timing


def slower_configuration() -> str:
    """What makes this run deliberately slower than the configuration the budgets are set for ('' if nothing).

    ``make test-portable`` (and anyone checking portability by hand) forces generic kernels or one thread to
    get other floats; that also costs time, so a budget miss there says nothing about the lessons.
    """
    reasons = []
    if os.environ.get("ATEN_CPU_CAPABILITY", "").lower() not in ("", "avx512", "avx2"):
        reasons.append(f"ATEN_CPU_CAPABILITY={os.environ['ATEN_CPU_CAPABILITY']}")
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) < 2:
        reasons.append(f"OMP_NUM_THREADS={threads}")
    return " ".join(reasons)


def test_lesson_budgets():
    other = slower_configuration()
    if other:
        pytest.skip(f"the budgets are defined for the default configuration (two threads, the CPU's own kernels); "
                    f"this run uses {other}, so the times above are reported, not judged")
    times = dict(lesson_timing.LESSON_TIMES)
    if not times:
        pytest.skip("no lesson ran under nbval in this session (run `make test`)")
    over = {k: round(v, 1) for k, v in times.items() if v > lesson_timing.budget_for(k)}
    assert not over, f"lessons over their time budget (seconds): {over}"
    total = sum(times.values())
    assert total <= lesson_timing.COURSE_BUDGET_S, f"the whole course took {total:.0f} s (> 300 s)"
