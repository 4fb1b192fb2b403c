"""The exercise API: specific feedback, typical mistakes recognised, unanswered stubs tolerated."""
import numpy as np
import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise


def test_value_exercise_right_wrong_and_typical_mistake(capsys):
    ex = ValueExercise("Ex", expected=0.25, mistakes=[(-0.25, "Check the sign.")], hint_text="h",
                       solution_text="s")
    assert ex.check(0.25)
    assert "correct" in capsys.readouterr().out
    fb = ex.check(-0.25)
    assert not fb and "Check the sign." in fb.message and "expected 0.25" in fb.message
    assert not ex.check(7) and "got 7" in capsys.readouterr().out
    assert not ex.check(np.zeros(3)) and "shape" in capsys.readouterr().out
    assert not ex.check(float("nan"))
    ex.hint()
    ex.solution()
    out = capsys.readouterr().out
    assert "h" in out and "s" in out


def test_unanswered_is_not_an_error(capsys):
    ex = ValueExercise("Ex", expected=1.0)
    fb = ex.check(...)
    assert not fb and not fb.answered and "not answered yet" in fb.message

    def stub(x):
        raise NotImplementedError("write me")
    fex = FunctionExercise("F", reference=lambda x: x, cases=[(1.0,)])
    fb = fex.check(stub)
    assert not fb and not fb.answered


def test_function_exercise_reports_failing_case_and_diagnoses():
    ex = FunctionExercise("step", reference=lambda t, g, lr: t - lr * g,
                          cases=[(torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), 0.1), (1.0, 2.0, 0.5)],
                          mistakes=[(lambda t, g, lr: t + lr * g, "You moved up the gradient.")])
    assert ex.check(lambda t, g, lr: t - lr * g, quiet=True)
    fb = ex.check(lambda t, g, lr: t + lr * g, quiet=True)
    assert not fb and "moved up the gradient" in fb.message and "expected" in fb.message
    fb = ex.check(lambda t, g, lr: 1 / 0, quiet=True)
    assert not fb and "ZeroDivisionError" in fb.message
    assert not ex.check(3.0, quiet=True)


def test_choice_exercise():
    ex = ChoiceExercise("mc", options={"a": "yes", "b": "no"}, correct="b", explanations={"a": "Nope."})
    assert ex.check("B", quiet=True)
    fb = ex.check("a", quiet=True)
    assert not fb and "Nope." in fb.message
    assert "one of" in ex.check("z", quiet=True).message
