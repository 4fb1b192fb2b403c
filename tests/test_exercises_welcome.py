"""Lesson 00's checkers accept the right answers and explain the typical wrong ones."""
import torch

import ftlib
from ftlib.exercises import welcome as ex


def test_images_per_class():
    assert ex.images_per_class.check(2000, quiet=True)
    fb = ex.images_per_class.check(20000, quiet=True)
    assert not fb and "divide by the number of classes" in fb.message
    assert not ex.images_per_class.check(500, quiet=True)


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
    assert "scratch" in ex.what_is_finetuning.check("a", quiet=True).message
