"""Lesson 04's checkers accept the right answers and explain the typical wrong ones."""
import torch

from ftlib.exercises import freezing as ex


def test_count_trainable():
    assert ex.count_trainable.check(lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad), quiet=True)
    fb = ex.count_trainable.check(lambda m: sum(p.numel() for p in m.parameters()), quiet=True)
    assert not fb and "every parameter" in fb.message
    fb = ex.count_trainable.check(lambda m: sum(1 for p in m.parameters() if p.requires_grad), quiet=True)
    assert not fb and "numel" in fb.message


def test_freeze_to_two_matches_the_real_model():
    import ftlib
    model = ftlib.replace_head(ftlib.NetB(5), 10)
    ftlib.freeze_to(model, 2)
    real = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert ex.freeze_to_two.check(real, quiet=True)
    fb = ex.freeze_to_two.check(1_290, quiet=True)
    assert not fb and "head alone" in fb.message
    fb = ex.freeze_to_two.check(222_341, quiet=True)
    assert not fb and "10 classes" in fb.message
    fb = ex.freeze_to_two.check(221_696, quiet=True)
    assert "block 3 alone" in fb.message and "very close (within 1 %)" in fb.message
    assert "222,986" not in fb.message and "222986" not in fb.message


def test_batchnorm_trap_and_no_random_state_consumed():
    assert ex.batchnorm_trap.check("b", quiet=True)
    fb = ex.batchnorm_trap.check("a", quiet=True)
    assert not fb and "buffers" in fb.message
    torch.manual_seed(5)
    a = torch.rand(1)
    torch.manual_seed(5)
    ex._cases()
    assert torch.equal(a, torch.rand(1)), "building the checker's cases must not touch the global RNG"
