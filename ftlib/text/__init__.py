"""The text track (lessons 12-14): WordNet glosses, a byte-level BPE tokenizer, a small GPT and its fine-tuning.

- :mod:`ftlib.text.data` — the shipped glosses (target task and source text) and the tokenizer;
- :mod:`ftlib.text.model` — the GPT-style language model, its classifier and the language-model loss;
- :mod:`ftlib.text.finetune` — the fine-tuning methods the lessons compare, and the bag-of-words baseline.

Parameter-efficient modules (LoRA, BitFit, adapters, prompts) are generic and live in :mod:`ftlib.efficient`.
Nothing is imported at import time beyond this docstring.
"""
