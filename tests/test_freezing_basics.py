"""ftlib.freezing basics used by fit (lesson 04 adds more in test_freezing.py)."""
import pytest

import ftlib
from ftlib.freezing import format_summary


def test_freeze_unfreeze_freeze_to():
    model = ftlib.NetB(5)
    ftlib.freeze(model)
    rows = {r["block"]: r for r in ftlib.trainable_summary(model)}
    assert rows["head"]["trainable"] == rows["head"]["params"] and rows["block1"]["trainable"] == 0
    assert rows["block1"]["batchnorm"] == "eval"
    ftlib.freeze_to(model, "block3")
    rows = {r["block"]: r for r in ftlib.trainable_summary(model)}
    assert rows["block2"]["trainable"] == 0 and rows["block3"]["trainable"] == rows["block3"]["params"]
    ftlib.unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())
    assert "total" in format_summary(model)


def test_unknown_block_and_out_of_range():
    model = ftlib.NetB(5)
    with pytest.raises(KeyError, match="unknown block 'block9'.*block1"):
        ftlib.freeze_to(model, "block9")
    with pytest.raises(ValueError, match="out of range"):
        ftlib.freeze_to(model, 7)
