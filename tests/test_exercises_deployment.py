"""Lesson 10's checkers accept right answers and explain the typical wrong ones."""
from ftlib.data import MEAN, STD
from ftlib.exercises import deployment as ex


def test_preprocess():
    assert ex.preprocess.check(lambda x: ((x.float() / 255 - MEAN) / STD).unsqueeze(1), quiet=True)
    fb = ex.preprocess.check(lambda x: (x.float() / 255).unsqueeze(1), quiet=True)
    assert not fb and "normalisation" in fb.message
    fb = ex.preprocess.check(lambda x: ((x.float() - MEAN) / STD).unsqueeze(1), quiet=True)
    assert not fb and "255" in fb.message
    fb = ex.preprocess.check(lambda x: (x.float() / 255 - MEAN) / STD, quiet=True)
    assert not fb and "has shape (1, 28, 28), but the right result has shape (1, 1, 28, 28)" in fb.message


def test_black_pixel():
    assert ex.black_pixel.check((0 - 0.286) / 0.353, quiet=True)
    fb = ex.black_pixel.check(0, quiet=True)
    assert not fb and "never sees raw pixels" in fb.message
    fb = ex.black_pixel.check(-0.286, quiet=True)
    assert "std" in fb.message and "about 3 times too small in size" in fb.message and "-0.81" not in fb.message


def test_choices():
    assert ex.safe_loading.check("c", quiet=True)
    assert "arbitrary code" in ex.safe_loading.check("a", quiet=True).message
    assert ex.atomic_save.check("b", quiet=True)
    assert "sha256" in ex.atomic_save.check("d", quiet=True).message
