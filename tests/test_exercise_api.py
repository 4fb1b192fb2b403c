"""Every exercise of every lesson follows the one API (issue 7) and its pedagogy (issue 12).

Walks every module ``ftlib.exercises.<name>`` and every :class:`~ftlib.exercises.Exercise`
defined at its top level: each has a hint and a solution, and an unanswered stub (``...``,
``None`` or — for function exercises — a function raising NotImplementedError, which is what
the student copies contain) is reported as "not answered yet" without raising.  A wrong answer
— every known mistake included — is explained without giving the answer away: no expected
value, no right letter, no reference output before ``TRIES_BEFORE_SOLUTION`` wrong tries, after
which ``.solution()`` is offered.  The checks must also work offline: no network is touched
(sockets are blocked while they run).
"""
from __future__ import annotations

import copy
import importlib
import pkgutil
import re
import socket

import numpy as np
import pytest

import ftlib.exercises as exercises_pkg
from ftlib.exercises import TRIES_BEFORE_SOLUTION, ChoiceExercise, Exercise, FunctionExercise, ValueExercise, plain


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
    assert plain(exercise.hint_text.strip()) in out and exercise.solution_text.strip() in out


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


def _of_kind(kind):
    return [p for p in EXERCISES if isinstance(p.values[0], kind)]


def _renderings(value) -> list[str]:
    """The ways a message could spell ``value`` (0.25, 222341, 222,341, 222_341, -0.8102 ...)."""
    v = float(np.asarray(value))
    out = {f"{v:.6g}", f"{v:.4g}", f"{v:.4f}".rstrip("0").rstrip(".")}
    if v == round(v):
        out |= {str(int(v)), f"{int(v):,}", f"{int(v):_}"}
    return sorted(out)


def _mentions(text: str, value) -> list[str]:
    return [r for r in _renderings(value) if re.search(rf"(?<![\d.]){re.escape(r)}(?![\d])", text)]


def _without_echo(message: str) -> str:
    """The message without the echo of the student's own answer ("Your answer (0.25) ...")."""
    return re.sub(r"Your answer \([^)]*\)", "Your answer", message)


def _check_offer(fb, exercise) -> None:
    offered = ".solution()" in fb.message
    assert offered == (fb.tries >= TRIES_BEFORE_SOLUTION), \
        f"{exercise.name}: .solution() offered at wrong try {fb.tries}: {fb.message}"


@pytest.mark.parametrize("exercise", _of_kind(ValueExercise))
def test_value_feedback_never_states_the_expected_value(exercise, no_network):
    ex = copy.deepcopy(exercise)  # its own count of wrong tries
    e = float(np.asarray(ex.expected))
    assert not _mentions(ex.hint_text, e), f"{ex.name}: the hint states the answer {e}"
    tries = [(wrong, explanation) for wrong, explanation in ex.mistakes]
    tries += [(w, None) for w in (3 * e if e else 1.0, -e if e else -1.0, 1.05 * e if e else 0.5)]
    for answer, explanation in tries:
        fb = ex.check(answer, quiet=True)
        assert not fb and fb.answered, f"{ex.name}: {answer!r} accepted"
        assert not _mentions(_without_echo(fb.message), e), f"{ex.name}: the message gives the answer: {fb.message}"
        if explanation:
            assert plain(explanation) in fb.message, f"{ex.name}: the known mistake {answer!r} is not explained"
        _check_offer(fb, ex)
    assert fb.tries >= TRIES_BEFORE_SOLUTION


@pytest.mark.parametrize("exercise", _of_kind(ChoiceExercise))
def test_choice_feedback_never_names_the_right_option(exercise, no_network):
    ex = copy.deepcopy(exercise)
    right, right_text = ex.correct, ex.options[ex.correct]
    wrong_letters = [letter for letter in ex.options if letter != right]
    for letter in wrong_letters + wrong_letters:  # twice round: past the offer of the solution
        fb = ex.check(letter, quiet=True)
        assert not fb and f"{letter!r} is not it." in fb.message
        assert ex.explanations.get(letter, "").strip(), f"{ex.name}: no explanation for the wrong option {letter!r}"
        assert plain(ex.explanations[letter]) in fb.message
        for spelled in (f"'{right}'", f"({right})", f"“{right}”", f"option {right}", right_text):
            assert spelled not in fb.message, f"{ex.name}: feedback on {letter!r} names the right option: {fb.message}"
        _check_offer(fb, ex)


@pytest.mark.parametrize("exercise", _of_kind(FunctionExercise))
def test_function_feedback_explains_known_mistakes_and_holds_back_the_reference(exercise, no_network):
    ex = copy.deepcopy(exercise)
    explanations = [text for _, text in ex.mistakes]
    assert explanations, f"{ex.name}: no typical mistakes are known"
    for wrong, explanation in ex.mistakes:
        fb = ex.check(wrong, quiet=True)
        assert not fb and fb.answered, f"{ex.name}: the known mistake is accepted ({explanation!r})"
        assert any(plain(text) in fb.message for text in explanations), f"{ex.name}: not diagnosed: {fb.message}"
        shown = "The right result there is" in fb.message
        assert shown == (fb.tries >= TRIES_BEFORE_SOLUTION), f"{ex.name}: reference output at try {fb.tries}"
        _check_offer(fb, ex)
    while fb.tries < TRIES_BEFORE_SOLUTION:
        fb = ex.check(ex.mistakes[0][0], quiet=True)
    assert "The right result there is" in fb.message and ".solution()" in fb.message
