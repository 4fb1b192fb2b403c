"""Exercises of lesson 03 (pretrained features): feature sizes, nearest neighbours, probing."""
from __future__ import annotations

import torch

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise

block3_features = ValueExercise(
    "Exercise 1 — how many features does a flattened block 3 give?",
    expected=1152,
    mistakes=[(128, "128 is the number of channels — that is the *pooled* feature vector. Flattening keeps "
                    "every position of the last feature map."),
              (6272, "6272 = 128 × 7 × 7 is block 3 *before* its max-pool; the block ends with a 2×2 max-pool."),
              (3136, "3136 = 64 × 7 × 7 is block 2's output.")],
    hint_text="Follow the image size through the three 2×2 max-pools (28 → 14 → …) and multiply the last "
              "grid by block 3's number of channels. Or look at model.block_outputs(x)['block3'].shape on a batch.",
    solution_text="answer = 128 * 3 * 3  # = 1152",
)


def _nearest_reference(query: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    q = query / query.norm(dim=1, keepdim=True)
    b = bank / bank.norm(dim=1, keepdim=True)
    return (q @ b.T).argmax(dim=1)


def _nearest_euclid_unnormalised_dot(query: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    return (query @ bank.T).argmax(dim=1)


def _nearest_argmin(query: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    q = query / query.norm(dim=1, keepdim=True)
    b = bank / bank.norm(dim=1, keepdim=True)
    return (q @ b.T).argmin(dim=1)


def _cases() -> list[tuple]:
    g = torch.Generator().manual_seed(3)
    bank = torch.rand(20, 8, generator=g) * torch.linspace(0.2, 5, 20)[:, None]  # very different norms
    query = torch.rand(5, 8, generator=g)
    return [(query, bank), (bank[:3] * 7.0, bank)]


nearest_neighbour = FunctionExercise(
    "Exercise 2 — nearest neighbour by cosine similarity",
    reference=_nearest_reference, cases=_cases(),
    mistakes=[(_nearest_euclid_unnormalised_dot, "You used the plain dot product: long feature vectors win "
                                                 "regardless of direction. Divide each row by its norm first."),
              (_nearest_argmin, "argmin picks the *least* similar item; cosine similarity is largest for the nearest.")],
    hint_text="Cosine similarity is the dot product of unit-length vectors: scale every row of both matrices "
              "to length 1 first. One matrix product then gives all similarities, shape (queries, bank); "
              "which bank item does each query row pick?",
    solution_text=("def nearest(query, bank):\n    q = query / query.norm(dim=1, keepdim=True)\n"
                   "    b = bank / bank.norm(dim=1, keepdim=True)\n    return (q @ b.T).argmax(dim=1)"),
)

why_random_block1 = ChoiceExercise(
    "Exercise 3 — reading a probe",
    options={"a": "because a linear probe on many random features of the pixels can already separate classes "
                  "reasonably: the features are a rich random projection of the image",
             "b": "because random initialisation happens to produce edge detectors",
             "c": "because the probe fine-tunes block 1 during training",
             "d": "because block 1 of a random network was trained on the source classes"},
    correct="a",
    explanations={"a": "Yes (this is why probes need a random-init baseline): 6272 random ReLU features of a "
                       "28×28 image keep most of its information, and a linear classifier on them is a decent "
                       "pixel classifier. What pretraining adds must be measured *against* that baseline.",
                  "b": "Random 3×3 filters are not edge detectors; look at the filters in section 1 of a random net.",
                  "c": "A probe never changes the backbone: its features are computed once, frozen.",
                  "d": "A random network was never trained on anything."},
    hint_text="What does a linear classifier on raw pixels already achieve? A random conv layer plus ReLU is a "
              "random, mostly information-preserving transformation of the pixels.",
    solution_text="answer = 'a'",
)
