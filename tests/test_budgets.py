"""Lesson time budgets (COURSE.md): measured while nbval ran the lessons in this session."""
import pytest

from tests import lesson_timing


def test_lesson_budgets():
    times = dict(lesson_timing.LESSON_TIMES)
    if not times:
        pytest.skip("no lesson ran under nbval in this session (run `make test`)")
    over = {k: round(v, 1) for k, v in times.items() if v > lesson_timing.budget_for(k)}
    assert not over, f"lessons over their time budget (seconds): {over}"
    total = sum(times.values())
    assert total <= lesson_timing.COURSE_BUDGET_S, f"the whole course took {total:.0f} s (> 300 s)"
