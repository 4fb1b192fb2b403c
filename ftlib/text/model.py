"""A small GPT-style language model in plain PyTorch, and a classifier on top of it (lessons 12-13).

Pre-LayerNorm transformer blocks with *separate* ``q``, ``k``, ``v`` and ``o`` projections (so LoRA can
target them by name, lesson 13), a GELU MLP, learned positions and a language-model head tied to the
token embedding (Radford et al. 2019; Karpathy's nanoGPT is the model for its clarity).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    """The architecture; the shipped model is the default (1,325,824 parameters)."""
    vocab_size: int = 4096
    context: int = 64
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_mlp: int = 512

    def to_dict(self) -> dict:
        return asdict(self)


class Attention(nn.Module):
    """Causal multi-head self-attention with separate ``q``, ``k``, ``v``, ``o`` Linear layers."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model={cfg.d_model} is not divisible by n_heads={cfg.n_heads}")
        self.n_heads = cfg.n_heads
        self.q, self.k, self.v, self.o = (nn.Linear(cfg.d_model, cfg.d_model) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = (m(x).view(b, t, h, d // h).transpose(1, 2) for m in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o(y.transpose(1, 2).reshape(b, t, d))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(cfg.d_model, cfg.d_mlp), nn.Linear(cfg.d_mlp, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """x + attn(ln1(x)), then x + mlp(ln2(x)) (pre-LayerNorm)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(cfg.d_model), Attention(cfg)
        self.ln2, self.mlp = nn.LayerNorm(cfg.d_model), MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def check_ids(ids, vocab_size: int) -> None:
    """Token ids must be a (batch, tokens) integer tensor with every id in [0, vocab_size): one sentence if not."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"ids must be a tensor of token ids (from ftlib.text.data.encode_batch), got "
                        f"{type(ids).__name__}")
    if ids.dtype == torch.bool or torch.is_floating_point(ids) or torch.is_complex(ids):
        raise TypeError(f"token ids must be whole numbers (dtype long), got {ids.dtype}: use encode_batch, "
                        "or ids.long() if they are whole numbers stored as floats")
    if ids.dim() != 2:
        raise ValueError(f"ids must be (batch, tokens), got shape {tuple(ids.shape)}: for one text use ids[None]")
    if ids.numel() == 0:
        raise ValueError(f"ids are empty (shape {tuple(ids.shape)}): encode at least one token")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"token ids must lie in [0, {vocab_size - 1}] for this model's vocabulary, got values "
                         f"from {low} to {high}: encode with the course's tokenizer (ftlib.text.data)")


class GPT(nn.Module):
    """Token + position embeddings, ``n_layers`` blocks, a final LayerNorm, a tied LM head."""

    def __init__(self, cfg: GPTConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GPTConfig()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2's scaled init of the residual projections
            if name.endswith(("attn.o.weight", "mlp.fc2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden(self, ids: torch.Tensor, prefix: torch.Tensor | None = None) -> torch.Tensor:
        """Final hidden states ``(batch, tokens, d_model)``; ``prefix`` (P, d) vectors go in front (lesson 13)."""
        check_ids(ids, self.cfg.vocab_size)
        x = self.tok_emb(ids)
        if prefix is not None:
            x = torch.cat([prefix.unsqueeze(0).expand(x.shape[0], -1, -1), x], dim=1)
        t = x.shape[1]
        if t > self.cfg.context:
            raise ValueError(f"{t} positions are more than the model's context of {self.cfg.context}: "
                             "encode with truncate=True (or a shorter prompt)")
        x = x + self.pos_emb(torch.arange(t, device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(batch, tokens, vocab)``."""
        return self.hidden(ids) @ self.tok_emb.weight.T


# the shipped tokenizer's <|endoftext|>: the start token of every text and the padding (tests/test_text.py checks)
PAD_ID = 0


class TextClassifier(nn.Module):
    """A pretrained (or fresh) GPT, mean-pooled over the real tokens, and a fresh Linear head (lesson 12)."""

    def __init__(self, backbone: GPT, num_classes: int, prompt_length: int = 0, pad_id: int | None = PAD_ID):
        super().__init__()
        self.backbone = backbone
        self.pad_id = pad_id
        self.head = nn.Linear(backbone.cfg.d_model, num_classes)
        self.prompt = None
        if prompt_length:  # prompt tuning (Lester et al. 2021): learned vectors in front of every text
            self.prompt = nn.Parameter(backbone.tok_emb.weight[:prompt_length].detach().clone())

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits; ``mask`` (from ``encode_batch``) is 1 on real tokens. Without one every token counts as
        real, so ids that contain padding after their first position need the mask."""
        check_ids(ids, self.backbone.cfg.vocab_size)
        if mask is None:
            if self.pad_id is not None and bool((ids[:, 1:] == self.pad_id).any()):
                raise ValueError(f"the ids contain padding (token {self.pad_id}) but no mask was given, so the "
                                 "padding would be averaged in as if it were text: call model(ids, mask) with "
                                 "the mask from encode_batch")
            mask = torch.ones_like(ids, dtype=torch.bool)
        elif not isinstance(mask, torch.Tensor) or mask.shape != ids.shape:
            raise ValueError(f"the mask must have the same shape as the ids, {tuple(ids.shape)}, got "
                             f"{tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__}")
        h = self.backbone.hidden(ids, prefix=self.prompt)
        if self.prompt is not None:
            h = h[:, self.prompt.shape[0]:]
        m = mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled)


def lm_loss(model: GPT, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 256) -> float:
    """Mean next-token cross-entropy (nats per token) over the real tokens of ``ids`` (lesson 13's forgetting)."""
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(ids), batch_size):
            x, m = ids[i:i + batch_size], mask[i:i + batch_size]
            logits = model(x[:, :-1])
            keep = m[:, 1:]
            loss = F.cross_entropy(logits[keep], x[:, 1:][keep], reduction="sum")
            total += float(loss)
            count += int(keep.sum())
    model.train(was_training)
    return total / max(count, 1)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
