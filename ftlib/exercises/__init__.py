"""Checked exercises: one API for every lesson (``check()``, ``hint()``, ``solution()``).

Each lesson's exercises live in a module named by its concept (for example
``ftlib.exercises.gradient_descent``).  A checker never raises on a wrong answer: it
prints what was expected, what it got and — for the typical mistakes it knows — what
probably went wrong.  No accounts, no network, no telemetry.

In a notebook::

    from ftlib.exercises import gradient_descent as ex
    def step(theta, grad, lr):
        return theta - lr * grad
    ex.update_rule.check(step)

An answer of ``...`` (Ellipsis), ``None``, or a function that raises
``NotImplementedError`` counts as "not answered yet" — that is what the student copies'
stubs contain.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Exercise", "ValueExercise", "FunctionExercise", "ChoiceExercise", "Feedback"]


@dataclass
class Feedback:
    """The result of ``check()``: ``bool(feedback)`` is True when the answer is right."""

    correct: bool
    message: str
    answered: bool = True

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:  # the message was already printed by check()
        pass


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _close(got: Any, expected: Any, rtol: float, atol: float) -> tuple[bool, str]:
    """Compare numbers/arrays; return (equal, reason when not)."""
    try:
        g, e = _as_array(got), _as_array(expected)
    except (TypeError, ValueError):
        return False, f"expected a number or array, got {type(got).__name__}"
    if g.shape != e.shape:
        return False, f"expected shape {e.shape}, got shape {g.shape}"
    if not np.all(np.isfinite(g)):
        return False, "the answer contains NaN or infinity"
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return True, ""
    return False, f"expected {_fmt(expected)}, got {_fmt(got)}"


def _fmt(value: Any) -> str:
    a = _as_array(value)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return np.array2string(a, precision=4, threshold=12)


def _unanswered(answer: Any) -> bool:
    return answer is ... or answer is None


@dataclass
class Exercise:
    """Base class: a name, a hint and a solution; subclasses implement ``_judge``."""

    name: str
    hint_text: str = ""
    solution_text: str = ""
    _attempts: int = field(default=0, init=False, repr=False)

    def _judge(self, answer: Any) -> tuple[bool, str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, answer: Any, *, quiet: bool = False) -> Feedback:
        """Judge ``answer``, print specific feedback, and return a :class:`Feedback`."""
        if _unanswered(answer):
            fb = Feedback(False, f"⏳ {self.name}: not answered yet. Write your answer in this cell; "
                                 ".hint() on this exercise gives a hint.", answered=False)
        else:
            try:
                ok, detail = self._judge(answer)
            except NotImplementedError:
                ok, detail = False, None
            if detail is None:
                fb = Feedback(False, f"⏳ {self.name}: not answered yet (the function still raises "
                                     "NotImplementedError). .hint() on this exercise gives a hint.",
                              answered=False)
            elif ok:
                fb = Feedback(True, f"✅ {self.name}: correct. {detail}".rstrip())
            else:
                self._attempts += 1
                fb = Feedback(False, f"❌ {self.name}: not yet. {detail}\n   "
                                     "Call .hint() on this exercise for a hint; .solution() shows one answer.")
        if not quiet:
            print(fb.message)
        return fb

    def hint(self) -> None:
        """Print the hint."""
        print(f"💡 {self.name}: {self.hint_text or 'no hint for this one — reread the cell above.'}")

    def solution(self) -> None:
        """Print one correct answer."""
        print(f"📖 {self.name} — one solution:\n{self.solution_text}")


@dataclass
class ValueExercise(Exercise):
    """The answer is a number or array; ``mistakes`` maps typical wrong values to explanations."""

    expected: Any = None
    rtol: float = 1e-4
    atol: float = 1e-6
    mistakes: Sequence[tuple[Any, str]] = ()

    def _judge(self, answer: Any) -> tuple[bool, str]:
        ok, reason = _close(answer, self.expected, self.rtol, self.atol)
        if ok:
            return True, ""
        for wrong, explanation in self.mistakes:
            if _close(answer, wrong, self.rtol, self.atol)[0]:
                return False, f"{reason}. {explanation}"
        return False, reason + "."


@dataclass
class FunctionExercise(Exercise):
    """The answer is a function; it is called on ``cases`` and compared with ``reference``.

    ``cases`` is a sequence of argument tuples.  ``mistakes`` maps known-wrong functions
    to explanations: when the student's function agrees with one of them on every case,
    that explanation is shown.
    """

    reference: Callable | None = None
    cases: Sequence[tuple] = ()
    rtol: float = 1e-4
    atol: float = 1e-6
    mistakes: Sequence[tuple[Callable, str]] = ()

    def _judge(self, answer: Any) -> tuple[bool, str | None]:
        if not callable(answer):
            return False, f"expected a function, got {type(answer).__name__}"
        outputs = []
        for args in self.cases:
            try:
                got = answer(*_copy_args(args))
            except NotImplementedError:
                return False, None
            except Exception as exc:  # the student's code raised: report it, do not crash
                return False, f"calling it with {_describe(args)} raised {type(exc).__name__}: {exc}"
            outputs.append(got)
            expected = self.reference(*_copy_args(args))
            ok, reason = _close(got, expected, self.rtol, self.atol)
            if not ok:
                hint = self._diagnose(outputs)
                return False, f"for inputs {_describe(args)}: {reason}." + (f" {hint}" if hint else "")
        return True, f"It agrees with the reference on {len(self.cases)} test cases."

    def _diagnose(self, outputs: list) -> str:
        for wrong, explanation in self.mistakes:
            try:
                if all(_close(o, wrong(*_copy_args(a)), self.rtol, self.atol)[0]
                       for o, a in zip(outputs, self.cases)):
                    return explanation
            except Exception:
                continue
        return ""


def _copy_args(args: tuple) -> tuple:
    """Fresh copies of a test case for every call: a student function that changes its arguments (unfreezes
    the model it is given, sorts a tensor in place) must not change the cases the next check uses (issue 11)."""
    def fresh(a):
        try:
            return copy.deepcopy(a)
        except Exception:  # an object that cannot be copied is passed as it is
            return a
    return tuple(fresh(a) for a in args)


def _describe(args: tuple) -> str:
    parts = []
    for a in args:
        if hasattr(a, "shape") and getattr(a, "ndim", 0) > 0 and math.prod(a.shape) > 6:
            parts.append(f"<array of shape {tuple(a.shape)}>")
        elif isinstance(a, (int, float, np.ndarray)) or hasattr(a, "detach"):
            parts.append(_fmt(a))
        else:
            parts.append(repr(a) if isinstance(a, str) else f"<{type(a).__name__}>")
    return "(" + ", ".join(parts) + ")"


@dataclass
class ChoiceExercise(Exercise):
    """Multiple choice: ``options`` maps a letter to a statement; ``explanations`` per wrong letter."""

    options: dict[str, str] = field(default_factory=dict)
    correct: str = ""
    explanations: dict[str, str] = field(default_factory=dict)

    def _judge(self, answer: Any) -> tuple[bool, str]:
        letter = str(answer).strip().lower()
        if letter not in self.options:
            return False, f"answer with one of {sorted(self.options)}, got {answer!r}"
        if letter == self.correct:
            return True, self.explanations.get(letter, "")
        return False, f"{letter!r} is not it. {self.explanations.get(letter, '')}".rstrip()

    def show(self) -> None:
        """Print the options."""
        for letter, text in self.options.items():
            print(f"  ({letter}) {text}")
