"""Lesson 03's checkers accept the right answers and explain the typical wrong ones."""
import torch

from ftlib.exercises import pretrained_features as ex


def test_block3_features():
    assert ex.block3_features.check(1152, quiet=True)
    for wrong, words in [(128, "pooled"), (6272, "max-pool"), (3136, "block 2")]:
        fb = ex.block3_features.check(wrong, quiet=True)
        assert not fb and words in fb.message and "1152" not in fb.message
    assert "about 9 times too small" in ex.block3_features.check(128, quiet=True).message
    assert "about 5.5 times too large" in ex.block3_features.check(6272, quiet=True).message
    assert not ex.block3_features.check(..., quiet=True).answered


def test_nearest_neighbour():
    def good(query, bank):
        q = torch.nn.functional.normalize(query, dim=1)
        return (q @ torch.nn.functional.normalize(bank, dim=1).T).argmax(1)
    assert ex.nearest_neighbour.check(good, quiet=True)
    fb = ex.nearest_neighbour.check(lambda q, b: (q @ b.T).argmax(1), quiet=True)
    assert not fb and "plain dot product" in fb.message
    fb = ex.nearest_neighbour.check(ex._nearest_argmin, quiet=True)
    assert not fb and "argmin" in fb.message


def test_why_random_block1():
    assert ex.why_random_block1.check("a", quiet=True)
    for wrong in "bcd":
        assert not ex.why_random_block1.check(wrong, quiet=True)
