"""Exercises of lesson 10 (deployment): preprocessing, the sidecar's numbers, safe loading, atomic saving."""
from __future__ import annotations

import torch

from ftlib.data import MEAN, STD
from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise


def _reference(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() / 255 - MEAN) / STD).unsqueeze(1)


_gen = torch.Generator().manual_seed(0)
_CASES = [(torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=_gen),) for n in (1, 3)] + \
         [(torch.full((2, 28, 28), 255, dtype=torch.uint8),)]

preprocess = FunctionExercise(
    "Exercise 4 — the training preprocessing",
    reference=_reference, cases=_CASES, rtol=1e-4, atol=1e-4,
    mistakes=[(lambda x: (x.float() / 255).unsqueeze(1),
               "You scaled to [0, 1] but forgot the normalisation: subtract the mean and divide by the std."),
              (lambda x: ((x.float() - MEAN) / STD).unsqueeze(1),
               "You forgot to divide by 255 first: mean and std were measured on pixels in [0, 1]."),
              (lambda x: ((x.float() / 255 - STD) / MEAN).unsqueeze(1), "Mean and std are swapped."),
              (lambda x: ((x.float() / 255) * STD + MEAN).unsqueeze(1),
               "That un-normalises: normalising is (x − mean) / std.")],
    hint_text="Repeat exactly what training did to every image: pixels as floats in [0, 1], normalised with "
              "the training MEAN and STD, and a channel axis, so the shape is (N, 1, 28, 28).",
    solution_text="def preprocess(images):\n    return ((images.float() / 255 - MEAN) / STD).unsqueeze(1)")

black_pixel = ValueExercise(
    "Exercise 1 — what does a black pixel become?",
    expected=(0 - MEAN) / STD, rtol=1e-3, atol=1e-3,
    mistakes=[(0.0, "A black pixel is 0, but the model never sees raw pixels: it sees them normalised."),
              (-MEAN, "You subtracted the mean but did not divide by the std."),
              (-MEAN / 255 / STD, "Divide by 255 *before* subtracting the mean: 0/255 = 0.")],
    hint_text="The model never sees raw pixels: apply the sidecar's normalisation (mean 0.286, std 0.353, "
              "measured on pixels scaled to [0, 1]) to the value 0.",
    solution_text="answer = (0 / 255 - 0.286) / 0.353   # -0.8102")

safe_loading = ChoiceExercise(
    "Exercise 3 — a weights file from the internet",
    options={"a": "torch.load(path, weights_only=False) on a .pt file: it restores everything, so it is the most faithful.",
             "b": "pickle.load: it is Python's standard format.",
             "c": "safetensors' load_file on a .safetensors file: it only reads tensors, so it cannot run code.",
             "d": "It makes no difference: a weights file only contains numbers."},
    correct="c",
    explanations={"a": "Unpickling can run arbitrary code hidden in the file.",
                  "b": "Unpickling can run arbitrary code hidden in the file.",
                  "c": "safetensors is a header plus raw tensor bytes: loading it cannot execute anything.",
                  "d": "A pickle file contains instructions, not only numbers: loading it can run code."},
    hint_text="Which format can execute code while being loaded?",
    solution_text="answer = 'c'")

atomic_save = ChoiceExercise(
    "Exercise 2 — what does 'write to a temporary file, then rename' guarantee?",
    options={"a": "That the file is written faster.",
             "b": "That a crash leaves either the complete old file or the complete new one, never half of each.",
             "c": "That the file can never be overwritten.",
             "d": "That the weights and the sidecar are always saved together."},
    correct="b",
    explanations={"a": "It costs an extra fsync; it is about safety, not speed.",
                  "b": "os.replace is atomic: readers see the old file until the new one is complete.",
                  "c": "The rename does replace the file; refusing to overwrite is a separate check.",
                  "d": "Two files are two renames: a crash between them leaves a new weights file beside an old "
                       "sidecar. That is why the sidecar stores the weights' sha256 and loading checks it."},
    hint_text="Think of a power cut halfway through writing, and of what os.replace does.",
    solution_text="answer = 'b'")
