"""Exercises of lesson 11 (real world): the weights= API, frozen parameters, matching transforms."""
from __future__ import annotations

from ftlib.exercises import ChoiceExercise, ValueExercise

weights_api = ChoiceExercise(
    "Exercise 1 — asking torchvision for ImageNet weights",
    options={"a": "resnet18(pretrained=True)",
             "b": "resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)  (or weights='DEFAULT')",
             "c": "resnet18() and then model.load_state_dict(torch.load('resnet18.pth', weights_only=False))",
             "d": "resnet18(weights=None)"},
    correct="b",
    explanations={"a": "pretrained= is deprecated since torchvision 0.13 (still accepted, with a warning that it "
                       "may be removed); it does not say *which* weights, nor how to preprocess for them.",
                  "b": "The enum names the exact weights and carries their transforms and metadata.",
                  "c": "Unpickling a downloaded file can run code, and nothing ties it to its preprocessing.",
                  "d": "That gives random weights — useful for tests, not for transfer."},
    hint_text="Which call names the exact weights and knows their preprocessing?",
    solution_text="answer = 'b'")

frozen_params = ValueExercise(
    "Exercise 2 — trainable parameters after ftlib.freeze",
    expected=512 * 3 + 3, rtol=0, atol=0.5,
    mistakes=[(512 * 1000 + 1000, "That is the ImageNet head with 1000 classes: the head was replaced by one with 3."),
              (512 * 2 + 2, "That is the 2-class head of the dry run above; this model has 3 classes."),
              (512 * 3, "Close: a Linear layer holds more than its weight matrix (count its biases too)."),
              (11_178_051, "That is every parameter: ftlib.freeze leaves only the head trainable.")],
    hint_text="ftlib.freeze leaves only the new head trainable. The head maps 512 features to 3 classes: "
              "which tensors does that Linear layer hold, and how many numbers are in each?",
    solution_text="answer = 512 * 3 + 3   # 1539")

matching_transforms = ChoiceExercise(
    "Exercise 3 — why weights.transforms()?",
    options={"a": "It makes training faster.",
             "b": "The network learned on ImageNet images resized, cropped and normalised this way; other "
                  "statistics shift every activation and waste what it learned.",
             "c": "torchvision refuses images without it.",
             "d": "It augments the data."},
    correct="b",
    explanations={"a": "It adds a resize and a normalisation per image: speed is not the reason.",
                  "b": "Same input statistics as in pretraining — the same lesson as lesson 10's serving skew.",
                  "c": "Any tensor goes in; wrong statistics just give worse features.",
                  "d": "These are deterministic evaluation transforms (resize, centre crop, normalise)."},
    hint_text="Think of lesson 10's widget: what happened when the normalisation was wrong?",
    solution_text="answer = 'b'")
