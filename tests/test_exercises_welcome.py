"""Lesson 00's checkers accept the right answers and explain the typical wrong ones."""
import torch

import ftlib
from ftlib.exercises import welcome as ex


def test_images_per_class():
    assert ex.images_per_class.check(2000, quiet=True)
    fb = ex.images_per_class.check(20000, quiet=True)
    assert not fb and "divide by the number of classes" in fb.message
    assert "about 10 times too large" in fb.message and "2000" not in fb.message.replace("20000", "")
    fb = ex.images_per_class.check(500, quiet=True)
    assert not fb and "about 4 times too small" in fb.message and "the test split" in fb.message


def test_the_demo_exercise_shows_nudge_hint_and_the_offer_of_a_solution(capsys):
    import copy

    from ftlib.exercises import TRIES_BEFORE_SOLUTION
    demo = copy.deepcopy(ex.pixels_per_image)
    first = demo.check(28, quiet=True)
    assert "about 30 times too small" in first.message and "one side of the image" in first.message
    assert "784" not in first.message and ".solution()" not in first.message
    for _ in range(TRIES_BEFORE_SOLUTION - 1):
        last = demo.check(1000, quiet=True)
    assert ".solution()" in last.message and "784" not in last.message
    demo.solution()
    assert "784" in capsys.readouterr().out


def test_accuracy_exercise():
    model = ftlib.load_pretrained()
    x, y = ftlib.class_subset(*ftlib.load_fashion_mnist("test"), range(5))
    x, y = x[:300], y[:300]
    exercise = ex.make_accuracy_exercise(model, x, y)

    def accuracy(m, xx, yy):
        m.eval()
        with torch.no_grad():
            return (m(ftlib.to_input(xx)).argmax(1) == yy).float().mean().item()
    assert exercise.check(accuracy, quiet=True)
    fb = exercise.check(lambda m, xx, yy: 100 * accuracy(m, xx, yy), quiet=True)
    assert not fb and "not a percentage" in fb.message
    fb = exercise.check(lambda m, xx, yy: 1 - accuracy(m, xx, yy), quiet=True)
    assert not fb and "error rate" in fb.message


def test_what_is_finetuning():
    assert ex.what_is_finetuning.check("b", quiet=True)
    fb = ex.what_is_finetuning.check("a", quiet=True)
    assert "scratch" in fb.message and "'b'" not in fb.message
