"""Every exercise of every lesson follows the one API (issue 7).

Walks every module ``ftlib.exercises.<name>`` and every :class:`~ftlib.exercises.Exercise`
defined at its top level: each has a hint and a solution, and an unanswered stub (``...``,
``None`` or — for function exercises — a function raising NotImplementedError, which is what
the student copies contain) is reported as "not answered yet" without raising.  The checks
must also work offline: no network is touched (sockets are blocked while they run).
"""
from __future__ import annotations

import importlib
import pkgutil
import socket

import pytest

import ftlib.exercises as exercises_pkg
from ftlib.exercises import Exercise, FunctionExercise


def _exercise_modules():
    return sorted(m.name for m in pkgutil.iter_modules(exercises_pkg.__path__) if not m.name.startswith("_"))


def _all_exercises():
    found = []
    for name in _exercise_modules():
        module = importlib.import_module(f"ftlib.exercises.{name}")
        for attr, value in vars(module).items():
            if isinstance(value, Exercise):
                found.append(pytest.param(value, id=f"{name}.{attr}"))
    return found


EXERCISES = _all_exercises()


def test_exercise_modules_import_without_side_effects(capsys):
    for name in _exercise_modules():
        importlib.import_module(f"ftlib.exercises.{name}")
    assert capsys.readouterr().out == "", "importing an exercise module must not print"


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("an exercise tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.skipif(not EXERCISES, reason="no exercises defined yet")
@pytest.mark.parametrize("exercise", EXERCISES)
def test_exercise_has_hint_and_solution(exercise, capsys, no_network):
    assert exercise.name.strip(), "an exercise needs a name (it is shown in every message)"
    assert exercise.hint_text.strip(), f"{exercise.name}: empty hint"
    assert exercise.solution_text.strip(), f"{exercise.name}: empty solution"
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert exercise.hint_text.strip() in out and exercise.solution_text.strip() in out


@pytest.mark.skipif(not EXERCISES, reason="no exercises defined yet")
@pytest.mark.parametrize("exercise", EXERCISES)
def test_unanswered_stub_reports_not_answered(exercise, capsys, no_network):
    attempts = exercise._attempts
    stubs = [..., None]
    if isinstance(exercise, FunctionExercise):
        def stub(*args, **kwargs):
            raise NotImplementedError("Exercise: your code here — call ex.hint() for a hint")
        stubs.append(stub)
    for answer in stubs:
        feedback = exercise.check(answer)
        assert not feedback and not feedback.answered, f"{exercise.name}: {answer!r} counted as answered"
        assert "not answered yet" in capsys.readouterr().out
    assert exercise._attempts == attempts, "an unanswered stub must not count as a wrong attempt"


@pytest.mark.skipif(not EXERCISES, reason="no exercises defined yet")
@pytest.mark.parametrize("exercise", EXERCISES)
def test_checker_accepts_its_own_answer(exercise, no_network):
    """A checker that rejects its reference answer would mislead every student."""
    from ftlib.exercises import ChoiceExercise, ValueExercise

    if isinstance(exercise, FunctionExercise):
        assert exercise.reference is not None and exercise.cases, f"{exercise.name}: no reference or cases"
        answer = exercise.reference
    elif isinstance(exercise, ValueExercise):
        answer = exercise.expected
    elif isinstance(exercise, ChoiceExercise):
        assert exercise.correct in exercise.options, f"{exercise.name}: the correct letter is not an option"
        answer = exercise.correct
    else:
        pytest.skip(f"{type(exercise).__name__} has no known reference answer")
    feedback = exercise.check(answer, quiet=True)
    assert feedback and feedback.answered, f"{exercise.name} rejects its own answer: {feedback.message}"
