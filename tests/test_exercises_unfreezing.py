"""Lesson 05's checkers accept the right answers and explain the typical wrong ones."""
import math

from ftlib.exercises import unfreezing as ex


def test_discriminative():
    assert ex.discriminative.check(lambda lr, n, f: [lr / f ** (n - 1 - i) for i in range(n)], quiet=True)
    fb = ex.discriminative.check(lambda lr, n, f: [lr * f ** (n - 1 - i) for i in range(n)], quiet=True)
    assert not fb and "slower" in fb.message
    fb = ex.discriminative.check(lambda lr, n, f: [lr / f ** i for i in range(n)], quiet=True)
    assert not fb and "reversed" in fb.message


def test_stlr():
    def good(t, T, cut_frac, ratio):
        cut = math.floor(T * cut_frac)
        p = t / cut if t < cut else 1 - (t - cut) / (cut * (1 / cut_frac - 1))
        return (1 + p * (ratio - 1)) / ratio
    assert ex.stlr.check(good, quiet=True)
    fb = ex.stlr.check(ex._stlr_no_ratio, quiet=True)
    assert not fb and "1/ratio" in fb.message


def test_read_lr_find():
    assert ex.read_lr_find.check("b", quiet=True)
    fb = ex.read_lr_find.check("a", quiet=True)
    assert "kept growing" in fb.message and "10×" not in fb.message, "the explanation must not give option b away"
    assert not ex.read_lr_find.check("c", quiet=True)
