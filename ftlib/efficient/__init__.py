"""Parameter-efficient fine-tuning, written from scratch (lesson 13): LoRA, BitFit, adapters, prompts.

Generic: every function takes an ordinary ``nn.Module`` (the text track's GPT or the image track's Net-B)
and returns it changed in place, with only the new or chosen parameters trainable. Named ``efficient``
so that it never shadows Hugging Face's ``peft`` package, which lesson 13 compares it with.
"""
from ftlib.efficient.adapters import Adapter, Adapted, add_adapters
from ftlib.efficient.bitfit import bitfit
from ftlib.efficient.lora import LoRAConv2d, LoRALinear, apply_lora, lora_layers, merge_lora
from ftlib.efficient.common import count_trainable, freeze_all, train_only

__all__ = ["Adapter", "Adapted", "add_adapters", "bitfit", "LoRAConv2d", "LoRALinear", "apply_lora",
           "lora_layers", "merge_lora", "count_trainable", "freeze_all", "train_only"]
