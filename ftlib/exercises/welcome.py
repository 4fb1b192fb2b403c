"""Exercises of lesson 00 (welcome): how checked exercises work.

``pixels_per_image`` is a toy exercise the lesson uses to *show* the feedback (a wrong answer, a hint,
the offer of a solution after three wrong tries) without giving away Exercise 1.
"""
from __future__ import annotations

from ftlib.exercises import ChoiceExercise, FunctionExercise, ValueExercise

images_per_class = ValueExercise(
    "Exercise 1 — images per class",
    expected=2000,
    mistakes=[(20000, "That is the whole training split: divide by the number of classes."),
              (500, "500 per class is the *test* split; the question asks about the training split.")],
    hint_text="Load the training split with ftlib.load_fashion_mnist('train') and count how many labels "
              "are equal to one class (a comparison gives a tensor of booleans: what does .sum() do to it?).",
    solution_text="x, y = ftlib.load_fashion_mnist('train')\nanswer = int((y == 0).sum())",
)


def _source_accuracy_reference(model, x, y):
    import ftlib
    return ftlib.evaluate(model, x, y)["accuracy"]


def _percent(model, x, y):
    return 100 * _source_accuracy_reference(model, x, y)


def _error_rate(model, x, y):
    return 1 - _source_accuracy_reference(model, x, y)


def make_accuracy_exercise(model, x, y) -> FunctionExercise:
    """Exercise 2 is built in the lesson around the loaded model and test images."""
    return FunctionExercise(
        "Exercise 2 — accuracy of the pretrained model",
        reference=_source_accuracy_reference, cases=[(model, x, y), (model, x[:100], y[:100])],
        mistakes=[(_percent, "Give a fraction between 0 and 1, not a percentage."),
                  (_error_rate, "That is the error rate: accuracy is the fraction classified *correctly*.")],
        hint_text="The predicted class of an image is the position of its largest logit; accuracy is the "
                  "fraction of images where it equals the label. Turn uint8 images into inputs with "
                  "ftlib.to_input(x), and evaluate in eval mode without gradients.",
        solution_text=("def accuracy(model, x, y):\n    model.eval()\n    with torch.no_grad():\n"
                       "        logits = model(ftlib.to_input(x))\n"
                       "    return (logits.argmax(1) == y).float().mean().item()"),
    )


pixels_per_image = ValueExercise(
    "Demo — pixels in one image",
    expected=28 * 28,
    mistakes=[(28, "That is one side of the image: the pixels fill the whole square."),
              (56, "That adds the two sides; the pixels fill the whole square.")],
    hint_text="An image is a square grid of pixels; section 2 printed the shape of the training images.",
    solution_text="answer = 28 * 28   # = 784, or x_train.shape[1] * x_train.shape[2]",
)

what_is_finetuning = ChoiceExercise(
    "Exercise 3 — what fine-tuning means",
    options={"a": "training a network from random weights on the new task",
             "b": "continuing to train a network that was pretrained on another task, on the new task",
             "c": "evaluating a pretrained network on the new task without training it"},
    correct="b",
    explanations={"a": "That is training from scratch — the baseline every lesson compares against.",
                  "b": "Yes: start from pretrained weights (usually with a new head) and keep training.",
                  "c": "That is zero-shot evaluation; it cannot even work here, the new classes have no output."},
    hint_text="The word 'pretrained' is the key: where do the starting weights come from?",
    solution_text="answer = 'b'",
)
