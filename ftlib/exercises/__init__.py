"""Checked exercises: one API for every lesson (``check()``, ``hint()``, ``solution()``).

Each lesson's exercises live in a module named by its concept (for example
``ftlib.exercises.gradient_descent``).  A checker never raises on a wrong answer.

How feedback works (the course's pedagogy, also in docs/AUTHORING.md):

* **A wrong answer gets what is wrong and a nudge, never the answer.**  For a number: the wrong
  sign, too large or too small (and by roughly how much: "within 10 %", "10–50 %", "about 3 times"),
  not finite, the wrong shape or type.  For a function: the first failing test case (its inputs and
  what the function returned) with the same nudge about the returned value; an exception it raised.
  For a multiple choice: why the chosen option is wrong, without naming the right one.  A known
  typical mistake (``mistakes`` / ``explanations``) adds its own explanation of what probably went
  wrong.
* **The answer itself comes only from ``.solution()``.**  ``check()`` never prints the expected
  value of a number or the right letter.  After ``TRIES_BEFORE_SOLUTION`` (3) wrong tries on the
  same exercise its message adds that ``.solution()`` shows one answer; a function exercise then
  also shows what the reference returns on the failing case (the code is the answer there, not that
  output).
* ``.hint()`` nudges towards the method; it does not state the result.
* **Feedback is plain text.**  It starts with a word in brackets (``[correct]``, ``[not yet]``,
  ``[not answered]``, ``[hint]``, ``[solution]``), not an emoji that shows as an empty box where no emoji
  font is installed, and markdown emphasis (``*word*``) is printed as the bare word (:func:`plain`).

In a notebook::

    from ftlib.exercises import gradient_descent as ex
    def step(theta, grad, lr):
        return theta - lr * grad
    ex.update_rule.check(step)

An answer of ``...`` (Ellipsis), ``None``, or a function that raises
``NotImplementedError`` counts as "not answered yet" — that is what the student copies'
stubs contain; it is not a wrong try.  No accounts, no network, no telemetry.
"""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Exercise", "ValueExercise", "FunctionExercise", "ChoiceExercise", "Feedback",
           "TRIES_BEFORE_SOLUTION"]

TRIES_BEFORE_SOLUTION = 3
"""After this many wrong tries on one exercise, ``check()`` offers ``.solution()``."""
_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}(?=[^\s*])([^*\n]*?[^\s*])\*{1,2}(?![\w*])")


def plain(text: str) -> str:
    """Feedback as plain text: ``*word*`` and ``**word**`` become ``word`` (``2 * lam * w`` is left alone)."""
    return _EMPHASIS.sub(r"\1", text)


@dataclass
class Feedback:
    """The result of ``check()``: ``bool(feedback)`` is True when the answer is right.

    ``tries`` is the number of wrong tries on this exercise so far (this one included).
    """

    correct: bool
    message: str
    answered: bool = True
    tries: int = 0

    def __bool__(self) -> bool:
        return self.correct

    def _ipython_display_(self) -> None:  # the message was already printed by check()
        pass


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=float)


def _compare(got: Any, expected: Any, rtol: float, atol: float) -> tuple[bool, str]:
    """Compare numbers/arrays.  Return (equal, what is wrong) where "what is wrong" is a predicate
    ("is about 3 times too large") that describes ``got`` relative to ``expected`` *without* stating
    ``expected``."""
    try:
        g = _as_array(got)
    except (TypeError, ValueError):
        return False, f"is not a number or an array (it is a {type(got).__name__})"
    e = _as_array(expected)
    if g.shape != e.shape:
        if e.ndim == 0:
            return False, f"should be a single number, but it has shape {g.shape}"
        return False, f"has shape {g.shape}, but the right result has shape {e.shape}"
    if not np.all(np.isfinite(g)):
        return False, "contains NaN or infinity"
    if np.allclose(g, e, rtol=rtol, atol=atol):
        return True, ""
    if e.size == 1:
        return False, _scalar_nudge(float(g.reshape(())), float(e.reshape(())))
    return False, _array_nudge(g, e, rtol, atol)


def _times(f: float) -> str:
    """A rough factor for a nudge: 'about 3 times', 'about 10 times' (never precise)."""
    if f < 10:
        n = round(f * 2) / 2
        return f"about {n:g} times"
    n = float(f"{f:.1g}")
    return f"about {n:,.0f} times" if n < 1e6 else "more than a million times"


def _size_nudge(f: float, larger: bool, negative: bool = False) -> str:
    """``f`` = ratio of the sizes (>= 1); ``larger``: the answer is further from zero than it should be."""
    word = "too large" if larger else "too small"
    if negative:
        word += " in size"
    if f < 1.01:
        return f"is very close (within 1 %) but a little {word}: is it rounded, or is a small part missing?"
    if f < 1.1:
        return f"is close, but a little {word} (within 10 %)"
    if f < 1.5:
        return f"is {word}, by 10–50 %"
    return f"is {_times(f)} {word}"


def _scalar_nudge(g: float, e: float) -> str:
    if e == 0:
        return "is too large" if g > 0 else "is too small"
    if g == 0:
        return "is 0, but the right answer is not zero"
    if (g > 0) != (e > 0):
        return "has the wrong sign"
    f = abs(g) / abs(e)
    return _size_nudge(max(f, 1 / f), f > 1, negative=e < 0)


def _array_nudge(g: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str:
    ee = float((e * e).sum())
    if ee > 0:
        c = float((g * e).sum()) / ee
        if not math.isclose(c, 1.0, rel_tol=1e-3) and np.allclose(g, c * e, rtol=1e-3, atol=atol):
            if math.isclose(c, -1.0, rel_tol=1e-3):
                return "has the wrong sign in every entry"
            if c < 0:
                return "has the wrong sign in every entry, and its size is off too"
            if c == 0 or not np.isfinite(c):
                return "is zero everywhere"
            f = max(c, 1 / c)
            return f"is proportional to the right result, but {_times(f)} too {'large' if c > 1 else 'small'}" \
                if f >= 1.5 else f"is proportional to the right result, but a constant factor is off " \
                                 f"(too {'large' if c > 1 else 'small'}, by less than half)"
    if np.allclose(np.sort(g, axis=None), np.sort(e, axis=None), rtol=rtol, atol=atol):
        if g.ndim == 2 and g.shape[0] == g.shape[1] and np.allclose(g.T, e, rtol=rtol, atol=atol):
            return "is the transpose of the right result"
        return "has the right values, in the wrong order"
    wrong = ~np.isclose(g, e, rtol=rtol, atol=atol)
    n_wrong, n = int(wrong.sum()), e.size
    if np.allclose(g, e, rtol=1e-2, atol=atol):
        return (f"is very close (within 1 %), but not close enough in {n_wrong} of {n} entries: is something "
                "rounded or computed in lower precision?")
    if np.all(e == np.round(e)) and np.all(g == np.round(g)):  # indices, counts, labels: sizes mean little
        return f"differs from the right result in {n_wrong} of {n} entries"
    flipped = wrong & (np.sign(g) * np.sign(e) < 0)
    sized = wrong & ~flipped
    larger = int((sized & (np.abs(g) > np.abs(e))).sum())
    smaller = int(sized.sum()) - larger
    unit = "" if np.all(e >= 0) and np.all(g >= 0) else " in size"
    parts = [f"{larger} too large{unit}" if larger else "", f"{smaller} too small{unit}" if smaller else "",
             f"{int(flipped.sum())} with the wrong sign" if flipped.any() else ""]
    return f"differs from the right result in {n_wrong} of {n} entries ({', '.join(p for p in parts if p)})"


def _fmt(value: Any) -> str:
    a = _as_array(value)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return np.array2string(a, threshold=12, separator=", ", max_line_width=10**6,
                           formatter={"float_kind": lambda x: f"{x:.4g}"}).replace("\n", "")


def _show(value: Any) -> str:
    """A short rendering of what a student's code returned."""
    try:
        a = _as_array(value)
    except (TypeError, ValueError):
        return f"a {type(value).__name__}"
    if a.size > 6:
        return f"an array of shape {a.shape}"
    return _fmt(value)


def _sentence(text: str) -> str:
    return text if text.endswith(("?", ".", "!")) else text + "."


def _unanswered(answer: Any) -> bool:
    return answer is ... or answer is None


@dataclass
class Exercise:
    """Base class: a name, a hint and a solution; subclasses implement ``_judge``.

    ``_judge(answer)`` returns ``(correct, detail)``; ``detail`` is None for "not answered yet".
    ``tries`` (the wrong tries so far, this one included) lets a subclass add more help later on.
    """

    name: str
    hint_text: str = ""
    solution_text: str = ""
    tries_before_solution: int = field(default=TRIES_BEFORE_SOLUTION, repr=False)
    _attempts: int = field(default=0, init=False, repr=False)

    def _judge(self, answer: Any, tries: int = 1) -> tuple[bool, str | None]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _offer_solution(self, tries: int) -> bool:
        return tries >= self.tries_before_solution

    def check(self, answer: Any, *, quiet: bool = False) -> Feedback:
        """Judge ``answer``, print specific feedback, and return a :class:`Feedback`."""
        if _unanswered(answer):
            fb = Feedback(False, f"[not answered] {self.name}: not answered yet. Write your answer in this cell; "
                                 ".hint() on this exercise gives a hint.", answered=False, tries=self._attempts)
        else:
            try:
                ok, detail = self._judge(answer, self._attempts + 1)
            except NotImplementedError:
                ok, detail = False, None
            if detail is None:
                fb = Feedback(False, f"[not answered] {self.name}: not answered yet (the function still raises "
                                     "NotImplementedError). .hint() on this exercise gives a hint.",
                              answered=False, tries=self._attempts)
            elif ok:
                fb = Feedback(True, plain(f"[correct] {self.name}: correct. {detail}").rstrip(), tries=self._attempts)
            else:
                self._attempts += 1
                n = self._attempts
                if self._offer_solution(n):
                    tail = (f"That is {n} wrong tries: .solution() on this exercise shows one answer "
                            "(or take .hint() and try once more).")
                else:
                    tail = "Call .hint() on this exercise for a hint, then try again."
                fb = Feedback(False, plain(f"[not yet] {self.name}: not yet. {detail}\n   {tail}"), tries=n)
        if not quiet:
            print(fb.message)
        return fb

    def hint(self) -> None:
        """Print the hint (a nudge, not the answer)."""
        print(plain(f"[hint] {self.name}: {self.hint_text or 'no hint for this one — reread the cell above.'}"))

    def solution(self) -> None:
        """Print one correct answer."""
        print(f"[solution] {plain(self.name)} — one solution:\n{self.solution_text}")


@dataclass
class ValueExercise(Exercise):
    """The answer is a number or array; ``mistakes`` maps typical wrong values to explanations.

    A wrong answer is told how it is off (sign, size, shape), never the expected value."""

    expected: Any = None
    rtol: float = 1e-4
    atol: float = 1e-6
    mistakes: Sequence[tuple[Any, str]] = ()

    def _judge(self, answer: Any, tries: int = 1) -> tuple[bool, str]:
        ok, what = _compare(answer, self.expected, self.rtol, self.atol)
        if ok:
            return True, ""
        shown = _show(answer)
        subject = f"Your answer ({shown})" if np.ndim(_safe_array(answer)) == 0 and \
            not shown.startswith("a ") else "Your answer"
        message = _sentence(f"{subject} {what}")
        for wrong, explanation in self.mistakes:
            if _compare(answer, wrong, self.rtol, self.atol)[0]:
                return False, f"{message} {explanation}"
        return False, message


def _safe_array(value: Any) -> Any:
    try:
        return _as_array(value)
    except (TypeError, ValueError):
        return np.zeros(1)


@dataclass
class FunctionExercise(Exercise):
    """The answer is a function; it is called on ``cases`` and compared with ``reference``.

    ``cases`` is a sequence of argument tuples.  ``mistakes`` maps known-wrong functions
    to explanations: when the student's function agrees with one of them on every case so far,
    that explanation is shown.  A failing case shows its inputs, what the function returned and
    how that is off; what the reference returns is shown only from the ``tries_before_solution``-th
    wrong try on.
    """

    reference: Callable | None = None
    cases: Sequence[tuple] = ()
    rtol: float = 1e-4
    atol: float = 1e-6
    mistakes: Sequence[tuple[Callable, str]] = ()

    def _judge(self, answer: Any, tries: int = 1) -> tuple[bool, str | None]:
        if not callable(answer):
            return False, f"expected a function, got {type(answer).__name__}."
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
            ok, what = _compare(got, expected, self.rtol, self.atol)
            if not ok:
                message = _sentence(f"For inputs {_describe(args)} your function returned {_show(got)}, which {what}")
                if self._offer_solution(tries):
                    message += f" The right result there is {_show(expected)}."
                hint = self._diagnose(outputs)
                return False, message + (f" {hint}" if hint else "")
        return True, f"It agrees with the reference on {len(self.cases)} test cases."

    def _diagnose(self, outputs: list) -> str:
        for wrong, explanation in self.mistakes:
            try:
                if all(_compare(o, wrong(*_copy_args(a)), self.rtol, self.atol)[0]
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
            parts.append(repr(a) if isinstance(a, (str, list, tuple)) and len(repr(a)) <= 60
                         else f"<{type(a).__name__}>")
    return "(" + ", ".join(parts) + ")"


@dataclass
class ChoiceExercise(Exercise):
    """Multiple choice: ``options`` maps a letter to a statement; ``explanations`` per letter.

    The explanation of a wrong letter says why that option is wrong and must not name the right one;
    the right letter's explanation is shown once it is chosen."""

    options: dict[str, str] = field(default_factory=dict)
    correct: str = ""
    explanations: dict[str, str] = field(default_factory=dict)

    def _judge(self, answer: Any, tries: int = 1) -> tuple[bool, str]:
        letter = str(answer).strip().lower()
        if letter not in self.options:
            return False, f"answer with one of {sorted(self.options)}, got {answer!r}."
        if letter == self.correct:
            return True, self.explanations.get(letter, "")
        return False, f"{letter!r} is not it. {self.explanations.get(letter, '')}".rstrip()

    def show(self) -> None:
        """Print the options."""
        for letter, text in self.options.items():
            print(f"  ({letter}) {text}")
