"""The exercise API: a wrong answer gets what is wrong and a nudge, never the answer (issue 12); typical
mistakes are explained; after TRIES_BEFORE_SOLUTION wrong tries check() offers .solution(); unanswered
stubs are tolerated."""
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from ftlib.exercises import TRIES_BEFORE_SOLUTION, ChoiceExercise, FunctionExercise, ValueExercise


def value_ex(expected=0.25, **kw):
    return ValueExercise("Ex", expected=expected, mistakes=[(-0.25, "Check the sign.")], hint_text="h",
                         solution_text="answer = 2 / 8", **kw)


def test_value_exercise_right_and_typical_mistake(capsys):
    ex = value_ex()
    assert ex.check(0.25)
    assert "correct" in capsys.readouterr().out
    fb = ex.check(-0.25)
    assert not fb and "Check the sign." in fb.message and "wrong sign" in fb.message
    assert "0.25" not in fb.message.replace("-0.25", ""), "the expected value must not be shown"


@pytest.mark.parametrize("answer, words", [
    (1.0, "about 4 times too large"),
    (0.125, "about 2 times too small"),
    (25.0, "about 100 times too large"),
    (-0.5, "wrong sign"),
    (0.26, "close, but a little too large (within 10 %)"),
    (0.2501, "within 1 %"),
    (0.2, "too small, by 10–50 %"),
    (0, "is 0, but the right answer is not zero"),
    (np.zeros(3), "should be a single number, but it has shape (3,)"),
    (float("nan"), "NaN"),
    ("many", "not a number"),
])
def test_value_nudge_says_what_is_wrong_without_the_answer(answer, words):
    fb = value_ex().check(answer, quiet=True)
    assert not fb and fb.answered
    assert words in fb.message, fb.message
    assert "expected" not in fb.message and "0.25" not in fb.message.replace("0.2501", "")


def test_value_nudges_for_negative_and_zero_answers():
    neg = value_ex(expected=-2.0)
    assert "too large in size" in neg.check(-4.0, quiet=True).message
    assert "too small in size" in neg.check(-1.0, quiet=True).message
    assert "wrong sign" in neg.check(2.0, quiet=True).message
    zero = value_ex(expected=0.0)
    assert "too large" in zero.check(0.3, quiet=True).message
    assert "too small" in zero.check(-0.3, quiet=True).message


def test_solution_is_offered_only_after_the_wrong_tries(capsys):
    ex = value_ex()
    for n in range(1, TRIES_BEFORE_SOLUTION):
        fb = ex.check(1.0, quiet=True)
        assert fb.tries == n and ".solution()" not in fb.message and ".hint()" in fb.message
    assert not ex.check(..., quiet=True).answered, "a stub is not a wrong try"
    fb = ex.check(1.0, quiet=True)
    assert fb.tries == TRIES_BEFORE_SOLUTION
    assert f"{TRIES_BEFORE_SOLUTION} wrong tries: .solution() on this exercise shows one answer" in fb.message
    assert "0.25" not in fb.message, "even then, check() does not print the answer itself"
    assert ".solution()" in ex.check(3.0, quiet=True).message
    assert ex.check(0.25, quiet=True)
    ex.hint()
    ex.solution()
    out = capsys.readouterr().out
    assert "[hint] Ex: h" in out and "[solution] Ex — one solution:\nanswer = 2 / 8" in out


def test_tries_before_solution_can_be_set_per_exercise():
    ex = value_ex(tries_before_solution=1)
    assert ".solution()" in ex.check(1.0, quiet=True).message


def test_unanswered_is_not_an_error(capsys):
    ex = ValueExercise("Ex", expected=1.0)
    fb = ex.check(...)
    assert not fb and not fb.answered and "not answered yet" in fb.message

    def stub(x):
        raise NotImplementedError("write me")
    fex = FunctionExercise("F", reference=lambda x: x, cases=[(1.0,)])
    fb = fex.check(stub)
    assert not fb and not fb.answered
    assert ex._attempts == 0 and fex._attempts == 0


def step_ex():
    return FunctionExercise("step", reference=lambda t, g, lr: t - lr * g,
                            cases=[(torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), 0.1), (1.0, 2.0, 0.5)],
                            mistakes=[(lambda t, g, lr: t + lr * g, "You moved up the gradient.")])


def test_function_exercise_reports_failing_case_and_diagnoses():
    ex = step_ex()
    assert ex.check(lambda t, g, lr: t - lr * g, quiet=True)
    fb = ex.check(lambda t, g, lr: t + lr * g, quiet=True)
    assert not fb and "moved up the gradient" in fb.message
    assert "For inputs ([1, 2], [0.5, -1], 0.1) your function returned [1.05, 1.9]" in fb.message
    assert "right result there" not in fb.message and "0.95" not in fb.message, "expected output shown too early"
    fb = ex.check(lambda t, g, lr: 1 / 0, quiet=True)
    assert not fb and "ZeroDivisionError" in fb.message
    fb = ex.check(3.0, quiet=True)
    assert not fb and "expected a function" in fb.message
    assert ".solution()" in fb.message


def test_function_exercise_shows_the_expected_output_from_the_nth_try_on():
    ex = step_ex()
    wrong = lambda t, g, lr: t + lr * g  # noqa: E731
    for _ in range(TRIES_BEFORE_SOLUTION - 1):
        assert "right result there" not in ex.check(wrong, quiet=True).message
    fb = ex.check(wrong, quiet=True)
    assert "The right result there is [0.95, 2.1]." in fb.message and ".solution()" in fb.message


@pytest.mark.parametrize("wrong, words", [
    (lambda t, g, lr: 2 * (t - lr * g), "proportional to the right result, but about 2 times too large"),
    (lambda t, g, lr: -(t - lr * g), "wrong sign in every entry"),
    (lambda t, g, lr: (t - lr * g).flip(0) if hasattr(t, "flip") else t - lr * g, "right values, in the wrong order"),
    (lambda t, g, lr: (t - lr * g)[None], "has shape (1, 2), but the right result has shape (2,)"),
    (lambda t, g, lr: t - lr * g + torch.tensor([0.0, 1.0]), "differs from the right result in 1 of 2 entries"),
    (lambda t, g, lr: "θ", "not a number or an array (it is a str)"),
])
def test_function_nudges(wrong, words):
    fb = step_ex().check(wrong, quiet=True)
    assert not fb and words in fb.message, fb.message


def test_function_nudge_for_a_scalar_result():
    ex = FunctionExercise("mean", reference=lambda x: sum(x) / len(x), cases=[([1.0, 2.0, 3.0, 6.0],)])
    fb = ex.check(lambda x: sum(x), quiet=True)
    assert "your function returned 12, which is about 4 times too large" in fb.message
    assert "3" not in fb.message.split("returned")[1], fb.message


def test_choice_exercise_explains_the_wrong_option_without_naming_the_right_one():
    ex = ChoiceExercise("mc", options={"a": "yes", "b": "the sky is blue", "c": "maybe"}, correct="b",
                        explanations={"a": "Nope: think again.", "b": "Right: it is blue."})
    assert ex.check("B", quiet=True)
    fb = ex.check("a", quiet=True)
    assert not fb and "'a' is not it. Nope: think again." in fb.message
    assert "'b'" not in fb.message and "(b)" not in fb.message and "blue" not in fb.message
    assert "one of" in ex.check("z", quiet=True).message
    fb = ex.check("c", quiet=True)
    assert fb.tries == TRIES_BEFORE_SOLUTION and ".solution()" in fb.message and "'b'" not in fb.message


def test_feedback_is_plain_text_without_emoji_or_markdown(capsys):
    """Checker messages read well where no emoji font is installed and where markdown is not rendered."""
    from ftlib.exercises import ValueExercise, plain
    ex = ValueExercise("Ex", expected=1.0, mistakes=[(2.0, "That is the *smallest* one.")], hint_text="a **bold** nudge",
                       solution_text="answer = 2 * x * 1")
    wrong = ex.check(2.0, quiet=True).message
    assert wrong.startswith("[not yet] Ex") and "the smallest one" in wrong and "*" not in wrong
    assert ex.check(1.0, quiet=True).message.startswith("[correct] Ex")
    assert ex.check(..., quiet=True).message.startswith("[not answered] Ex")
    ex.hint()
    ex.solution()
    out = capsys.readouterr().out
    assert "[hint] Ex: a bold nudge" in out and "answer = 2 * x * 1" in out, "code in a solution keeps its asterisks"
    assert plain("2 * lam * w, a*b*c") == "2 * lam * w, a*b*c"
    emoji = re.compile("[\U0001F300-\U0001FAFF\u2705\u274C\u23F3]")
    import ftlib.exercises as pkg
    for module in pkgutil.iter_modules(pkg.__path__):
        source = (Path(pkg.__path__[0]) / f"{module.name}.py").read_text(encoding="utf-8")
        assert not emoji.search(source), f"ftlib/exercises/{module.name}.py prints an emoji"
