"""How the demo model is trained (the check that its known answer holds is in :mod:`.check`).

Nothing here runs on import, and nothing in the package calls :func:`train_model`: the demo model
ships trained (see :func:`occlusion_widget.demo.load_model`). ``scripts/train_demo_model.py``
uses this module to write the shipped weights, the test suite uses
:func:`~occlusion_widget.demo.check.check_toy` on them, and the classroom notebook can train a
fresh model as an optional exercise.

Why occluders during training: a model that never saw a flat patch takes a grey block on the
background for a square, so occluding empty background flips its answer and the occlusion map
lights up far from the shape. Training with random occluders of every fill the widget offers, at
random places and sizes teaches it that a patch is not a shape: an occluder on the background
keeps the label as it is. An occluder may also bite into the shape (never hiding more than half
of it); then the target is softened in proportion to the hidden part of the shape
(``visible * one_hot + (1 - visible) * uniform``), so the model's confidence falls as the shape
disappears and the occlusion map lights up where the shape is. Bites larger than training ever
showed leave the model to its own devices, which is where the predicted-class map flips.

Examples
--------
>>> from occlusion_widget import demo
>>> from occlusion_widget.demo import training as demo_training
>>> images, labels, boxes = demo.make_dataset(4, seed=1)
>>> occluded, visible = demo_training.add_occluders(images, boxes, seed=0)
>>> occluded.shape == images.shape and occluded.dtype == images.dtype
True
>>> bool(((0.5 <= visible) & (visible <= 1)).all())
True
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ..engine.baselines import BASELINE_NAMES, make_baseline
from . import shapes as demo
from .check import DECISION_MARGIN, CaseResult, ToyReport, check_toy

if TYPE_CHECKING:
    import keras

# The known-answer check lives in check.py; its names stay importable from here.
__all__ = [
    "DECISION_MARGIN",
    "CaseResult",
    "ToyReport",
    "TrainingSettings",
    "add_occluders",
    "check_toy",
    "soft_targets",
    "train_model",
]


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides the trained weights (with the library versions)."""

    train_size: int = 6000
    epochs: int = 16
    batch_size: int = 32
    learning_rate: float = 3e-3
    #: A second stage with a fresh optimizer at a lower rate.
    fine_tune_epochs: int = 8
    fine_tune_learning_rate: float = 1e-3
    data_seed: int = 0
    weight_seed: int = 0
    #: Fraction of training images that get occluders in each epoch.
    occluded_fraction: float = 0.75
    max_occluders: int = 3
    min_occluder: int = 4
    max_occluder: int = 28
    #: An occluder may hide at most this fraction of the shape's pixels.
    max_hidden_fraction: float = 0.5


# ---------------------------------------------------------------------------------------------
# Occluders


def _fill(image: np.ndarray, name: str, size: tuple[int, int], rng: np.random.Generator):
    if name == "noise":
        # The widget's noise is uniform over the value range with a fixed seed; training draws
        # fresh noise of the same kind so the model does not learn one particular pattern.
        return rng.uniform(0, 255, size=image.shape).astype(np.float32)
    return make_baseline(image, name, (0.0, 255.0), integer=True, patch_size=size)


def add_occluders(
    images: np.ndarray,
    boxes: np.ndarray,
    seed: int,
    settings: TrainingSettings | None = None,
    masks: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Paste random occluders of every baseline fill onto copies of the images.

    Parameters
    ----------
    images : numpy.ndarray
        ``uint8`` images ``(N, H, W, 3)``, as from :func:`occlusion_widget.demo.make_dataset`.
    boxes : numpy.ndarray
        The shapes' ``(top, left, height, width)`` boxes ``(N, 4)``.
    seed : int
        Seed of the occluders: the same seed always gives the same images.
    settings : TrainingSettings, optional
        How many occluders, how large, and how much of the shape they may hide.
    masks : numpy.ndarray, optional
        Boolean shape masks ``(N, H, W)``; without them the shape's box stands in for the shape.

    Returns
    -------
    images : numpy.ndarray
        ``uint8`` images of the same shape.
    visible : numpy.ndarray
        ``float64`` ``(N,)``: the fraction of each shape's pixels left visible (1 when every
        occluder missed the shape, never below ``1 - max_hidden_fraction``).

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> images, labels, boxes = demo.make_dataset(2, seed=3)
    >>> add_occluders(images, boxes, seed=1)[0].dtype
    dtype('uint8')
    """
    settings = settings or TrainingSettings()
    rng = np.random.default_rng([seed, 7])
    out = images.copy()
    visible = np.ones(len(images))
    size = images.shape[1]
    for i, (top, left, height, width) in enumerate(boxes):
        if rng.random() >= settings.occluded_fraction:
            continue
        if masks is not None:
            shape = masks[i]
        else:
            shape = np.zeros((size, size), bool)
            shape[top : top + height, left : left + width] = True
        shape_pixels = max(1, int(shape.sum()))
        hidden = np.zeros((size, size), bool)
        pixels = out[i].astype(np.float32)
        for _ in range(int(rng.integers(1, settings.max_occluders + 1))):
            h = int(rng.integers(settings.min_occluder, settings.max_occluder + 1))
            # Half the occluders are square, like the widget's patches; the rest any rectangle.
            w = h if rng.random() < 0.5 else int(rng.integers(settings.min_occluder, size // 2))
            name = BASELINE_NAMES[int(rng.integers(len(BASELINE_NAMES)))]
            for _attempt in range(10):
                y = int(rng.integers(0, size - h + 1))
                x = int(rng.integers(0, size - w + 1))
                trial = hidden.copy()
                trial[y : y + h, x : x + w] = True
                if (trial & shape).sum() / shape_pixels <= settings.max_hidden_fraction:
                    fill = _fill(pixels, name, (h, w), rng)
                    pixels[y : y + h, x : x + w] = fill[y : y + h, x : x + w]
                    hidden = trial
                    break
        out[i] = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
        visible[i] = 1.0 - (hidden & shape).sum() / shape_pixels
    return out, visible


def soft_targets(labels: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``visible * one_hot + (1 - visible) * uniform``: confidence in step with what is seen.

    Examples
    --------
    >>> soft_targets(np.array([1]), np.array([0.6])).astype(float).round(2).tolist()
    [[0.1, 0.7, 0.1, 0.1]]
    """
    k = len(demo.CLASS_NAMES)
    one_hot = np.eye(k)[labels]
    return (visible[:, None] * one_hot + (1 - visible[:, None]) / k).astype(np.float32)


def _shape_masks(n: int, seed: int, image_size: int) -> np.ndarray:
    masks = np.empty((n, image_size, image_size), bool)
    for i in range(n):
        image, _, _ = demo._draw(seed, i, image_size)
        background, _, _ = demo._draw(seed, i, image_size, with_shape=False)
        masks[i] = (image != background).any(axis=-1)
    return masks


# ---------------------------------------------------------------------------------------------
# Training


def _compile(model: keras.Model, learning_rate: float) -> None:
    import keras

    # Soft targets need the dense loss; train_model returns a model compiled as build_model does.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["categorical_accuracy"],
    )


def _train_epochs(
    model: keras.Model, settings: TrainingSettings, epochs: range, verbose: bool
) -> None:
    """Run ``epochs`` (indices into the whole schedule) of the training recipe on ``model``."""
    images, labels, boxes = demo.make_dataset(settings.train_size, seed=settings.data_seed)
    masks = _shape_masks(settings.train_size, settings.data_seed, demo.IMAGE_SIZE)
    order_rng = np.random.default_rng([settings.data_seed, 11])
    for _skipped in range(epochs.start):
        order_rng.permutation(settings.train_size)
    total = settings.epochs + settings.fine_tune_epochs
    for epoch in epochs:
        if epoch == epochs.start or epoch == settings.epochs:
            # The second stage starts a fresh optimizer at a lower rate, to settle the weights.
            fine = epoch >= settings.epochs
            _compile(model, settings.fine_tune_learning_rate if fine else settings.learning_rate)
        # Fresh occluders and a fresh order every epoch, both from seeded generators: no
        # backend randomness is involved, which is what makes training reproducible.
        augmented, visible = add_occluders(
            images, boxes, seed=epoch, settings=settings, masks=masks
        )
        targets = soft_targets(labels, visible)
        order = order_rng.permutation(settings.train_size)
        history = model.fit(
            augmented[order].astype(np.float32),
            targets[order],
            batch_size=settings.batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        if verbose:
            loss = history.history["loss"][-1]
            accuracy = history.history["categorical_accuracy"][-1]
            print(f"epoch {epoch + 1}/{total}: loss {loss:.4f}, accuracy {accuracy:.4f}")


def train_model(settings: TrainingSettings | None = None, verbose: bool = False) -> keras.Model:
    """Train a fresh demo model with occluder augmentation.

    Deterministic for the same settings, library versions and machine when TensorFlow's op
    determinism is on (``scripts/train_demo_model.py`` turns it on). Takes a few minutes on two
    CPU cores with the default settings; pass smaller ``train_size`` and ``epochs`` for a
    classroom exercise.

    Parameters
    ----------
    settings : TrainingSettings, optional
        Data, augmentation and optimiser settings.
    verbose : bool, default False
        Print one line per epoch.

    Returns
    -------
    keras.Model
        The trained model, as :func:`occlusion_widget.demo.build_model` builds it.

    Examples
    --------
    >>> from occlusion_widget.demo.training import TrainingSettings, train_model
    >>> settings = TrainingSettings(train_size=64, epochs=1, fine_tune_epochs=0)
    >>> train_model(settings).output_shape  # trains for seconds  # doctest: +SKIP
    (None, 4)
    """
    settings = settings or TrainingSettings()
    model = demo.build_model(settings.weight_seed)
    _train_epochs(model, settings, range(settings.epochs + settings.fine_tune_epochs), verbose)
    # A fresh copy holds the weights without Adam's state: the shipped file stays small and
    # loads into build_model()'s model without warnings.
    trained = demo.build_model(settings.weight_seed)
    trained.set_weights(model.get_weights())
    return trained
