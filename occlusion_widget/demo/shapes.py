"""A built-in demo model that needs no download: a small CNN trained on synthetic shapes.

Each image is one coloured shape (circle, square, triangle or cross) on a noisy gradient
background. The class is decided by the shape alone, so an occlusion map of the model lights up
on the shape and stays quiet elsewhere; :func:`make_dataset` and :func:`sample_image` return the
shape's bounding box so that this can be checked (:mod:`occlusion_widget.demo.training` does).

The trained weights ship with the package (``data/demo_shapes.weights.h5``, about 100 KB), so
:func:`load_model` never trains: every machine loads the same model. They are made by
``scripts/train_demo_model.py``, which is deterministic.

Examples
--------
>>> from occlusion_widget import demo
>>> model = demo.load_model()
>>> image, box = demo.sample_image("triangle", seed=3)
>>> probabilities = model.predict(image[None].astype("float32"), verbose=0)
>>> demo.CLASS_NAMES[int(probabilities.argmax())]
'triangle'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "CLASS_NAMES",
    "IMAGE_SIZE",
    "WEIGHTS_PATH",
    "build_model",
    "load_model",
    "make_dataset",
    "sample_image",
]

CLASS_NAMES: list[str] = ["circle", "square", "triangle", "cross"]
"""Class names, in the order of the demo model's output probabilities."""

_MIN_IMAGE_SIZE = 24
# A grey shape would look like the grey patch that occlusion pastes; keeping every shape clearly
# coloured means the model cannot confuse the two.
_MIN_SHAPE_SATURATION = 80
# Nor may a shape be nearly black: a dark cross would look like the black patches the model is
# trained to ignore. (Saturation already keeps shapes away from white.)
_MIN_SHAPE_BRIGHTNESS = 120
_MIN_SHAPE_CONTRAST = 110
_NOISE_SIGMA = 10.0
# Sample images come from indices no dataset reaches, so they are never training images.
_SAMPLE_INDEX_OFFSET = 2**40


IMAGE_SIZE = 64
"""Height and width of the images the demo model takes."""

WEIGHTS_PATH: Path = Path(__file__).resolve().parent.parent / "data" / "demo_shapes.weights.h5"
"""The shipped weights of the demo model, written by ``scripts/train_demo_model.py``."""


# ---------------------------------------------------------------------------------------------
# Drawing


def _shape_mask(kind: str, rng: np.random.Generator, image_size: int) -> np.ndarray:
    """Boolean (H, W) mask of one shape at a random position and size, fully inside the image."""
    size = int(rng.integers(image_size // 4, image_size // 2 + 1))
    top = int(rng.integers(1, image_size - size))
    left = int(rng.integers(1, image_size - size))
    # Pixel centres relative to the shape's box, in units of the box size.
    rows, cols = np.mgrid[0:image_size, 0:image_size].astype(np.float64) + 0.5
    y = (rows - top) / size
    x = (cols - left) / size
    inside_box = (y >= 0) & (y < 1) & (x >= 0) & (x < 1)
    if kind == "circle":
        return (y - 0.5) ** 2 + (x - 0.5) ** 2 <= 0.25
    if kind == "square":
        return inside_box
    if kind == "triangle":
        # Upright, apex at the top centre: the half-width grows linearly with the row.
        return inside_box & (np.abs(x - 0.5) <= y / 2)
    if kind == "cross":
        arm = float(rng.uniform(0.28, 0.4))
        low, high = 0.5 - arm / 2, 0.5 + arm / 2
        return inside_box & (((x >= low) & (x < high)) | ((y >= low) & (y < high)))
    raise ValueError(f"Unknown shape kind {kind!r}; expected one of {CLASS_NAMES}.")


def _shape_colour(rng: np.random.Generator, background_mean: np.ndarray) -> np.ndarray:
    while True:
        colour = rng.integers(0, 256, size=3).astype(np.float64)
        saturated = colour.max() - colour.min() >= _MIN_SHAPE_SATURATION
        contrasting = np.abs(colour - background_mean).max() >= _MIN_SHAPE_CONTRAST
        bright = colour.max() >= _MIN_SHAPE_BRIGHTNESS
        if saturated and contrasting and bright:
            return colour


def _draw(
    seed: int, index: int, image_size: int, kind: str | None = None, with_shape: bool = True
) -> tuple[np.ndarray, int, np.ndarray]:
    """Draw sample ``index`` of the stream ``seed``: (image uint8, label, box).

    Every sample has its own generator, so sample ``i`` is the same whatever ``n`` is asked for,
    and ``with_shape=False`` gives exactly the background the shape was drawn on.
    """
    rng = np.random.default_rng([seed, index])
    label = int(rng.integers(len(CLASS_NAMES))) if kind is None else CLASS_NAMES.index(kind)

    base = rng.uniform(40, 215, size=3)
    spread = rng.uniform(-40, 40, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-0.5, 0.5, image_size)
    along = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    background = base + along[..., None] * (spread[1] - spread[0])
    noise = rng.normal(0, _NOISE_SIGMA, size=(image_size, image_size, 3))

    mask = _shape_mask(CLASS_NAMES[label], rng, image_size)
    colour = _shape_colour(rng, base)
    image = np.where(mask[..., None], colour, background) if with_shape else background
    image = np.clip(np.rint(image + noise), 0, 255).astype(np.uint8)

    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    box = np.array(
        [rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1], dtype=np.int64
    )
    return image, label, box


def _check_image_size(image_size: int) -> int:
    if int(image_size) != image_size or image_size < _MIN_IMAGE_SIZE:
        raise ValueError(
            f"image_size must be an integer of at least {_MIN_IMAGE_SIZE}, got {image_size!r}."
        )
    return int(image_size)


def _check_seed(seed: int) -> int:
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    return int(seed)


def make_dataset(
    n: int, seed: int = 0, image_size: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Make ``n`` synthetic-shape images with their labels and the shapes' bounding boxes.

    Each image holds one shape of a random class, position, size and colour on a noisy colour
    gradient. The same ``seed`` always gives the same images, and the first ``k`` images do not
    depend on ``n``.

    Parameters
    ----------
    n : int
        Number of images.
    seed : int, default 0
        Seed of the sample stream. The demo model is trained on seed 0, so hold-out sets should
        use another seed.
    image_size : int, default 64
        Height and width in pixels (at least 24). The demo model expects 64.

    Returns
    -------
    images : numpy.ndarray
        ``uint8`` array of shape ``(n, image_size, image_size, 3)``.
    labels : numpy.ndarray
        ``int64`` array of shape ``(n,)``, indices into :data:`CLASS_NAMES`.
    boxes : numpy.ndarray
        ``int64`` array of shape ``(n, 4)``: ``(top, left, height, width)`` of the smallest
        rectangle holding every pixel of the shape.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> images, labels, boxes = demo.make_dataset(8, seed=1)
    >>> images.shape, images.dtype, labels.shape, boxes.shape
    ((8, 64, 64, 3), dtype('uint8'), (8,), (8, 4))
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}.")
    image_size = _check_image_size(image_size)
    seed = _check_seed(seed)
    images = np.empty((int(n), image_size, image_size, 3), dtype=np.uint8)
    labels = np.empty(int(n), dtype=np.int64)
    boxes = np.empty((int(n), 4), dtype=np.int64)
    for i in range(int(n)):
        images[i], labels[i], boxes[i] = _draw(seed, i, image_size)
    return images, labels, boxes


def sample_image(
    kind: str = "circle", seed: int = 0, image_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one image of a chosen shape, for trying the widget on a known answer.

    Parameters
    ----------
    kind : str, default "circle"
        One of :data:`CLASS_NAMES`.
    seed : int, default 0
        Different seeds give different positions, sizes and colours.
    image_size : int, default 64
        Height and width in pixels (at least 24). The demo model expects 64.

    Returns
    -------
    image : numpy.ndarray
        ``uint8`` array of shape ``(image_size, image_size, 3)``.
    box : numpy.ndarray
        ``(top, left, height, width)`` of the shape, as in :func:`make_dataset`.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> image, box = demo.sample_image("square", seed=2)
    >>> image.shape
    (64, 64, 3)
    >>> top, left, height, width = box
    >>> bool(height == width)
    True
    """
    if kind not in CLASS_NAMES:
        raise ValueError(f"Unknown shape kind {kind!r}; expected one of {CLASS_NAMES}.")
    image_size = _check_image_size(image_size)
    seed = _check_seed(seed)
    index = _SAMPLE_INDEX_OFFSET + CLASS_NAMES.index(kind)
    image, _, box = _draw(seed, index, image_size, kind=kind)
    return image, box


# ---------------------------------------------------------------------------------------------
# Model


def build_model(weight_seed: int = 0) -> keras.Model:
    """The demo model's architecture, untrained: a small CNN for 64 x 64 raw RGB images.

    :func:`load_model` fills it with the shipped weights; ``scripts/train_demo_model.py`` trains
    it. The initial weights come from seeded initialisers, so the same ``weight_seed`` always
    starts training from the same point without reseeding the user's global random state.

    Parameters
    ----------
    weight_seed : int, default 0
        Seed of the initial weights.

    Returns
    -------
    keras.Model
        Compiled (Adam, sparse categorical cross-entropy, accuracy), so it can be trained or
        evaluated directly. It takes raw ``float32`` pixels in ``[0, 255]`` and returns softmax
        probabilities over :data:`CLASS_NAMES`.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> model = demo.build_model()
    >>> model.output_shape
    (None, 4)
    """
    import keras

    seeds = iter(range(weight_seed * 100, weight_seed * 100 + 100))

    def conv(filters: int, strides: int = 1) -> keras.layers.Layer:
        return keras.layers.Conv2D(
            filters,
            3,
            strides=strides,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
        )

    model = keras.Sequential(
        [
            keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), dtype="float32"),
            # Inside the model: users feed raw [0, 255] pixels and occlusion stays in pixel space.
            keras.layers.Rescaling(1 / 255),
            conv(16, strides=2),
            keras.layers.MaxPooling2D(),
            conv(32),
            keras.layers.MaxPooling2D(),
            conv(64),
            # Global max pooling: "is this shape anywhere?", whatever its position.
            keras.layers.GlobalMaxPooling2D(),
            keras.layers.Dense(
                len(CLASS_NAMES),
                activation="softmax",
                kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)),
            ),
        ],
        name="occlusion_widget_demo_shapes",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_model() -> keras.Model:
    """Load the demo shapes classifier from the weights shipped in the package.

    Nothing is trained or downloaded: the model is :func:`build_model` filled with
    :data:`WEIGHTS_PATH`, so every machine gets the same model, in well under two seconds once
    Keras is imported. Its known answer holds: occluding the shape changes the prediction most,
    and occluding background almost never does (``scripts/train_demo_model.py`` checks this
    before writing the file, and the test suite checks it again on the shipped file).

    Returns
    -------
    keras.Model
        A compiled model taking raw ``float32`` RGB images of shape ``(batch, 64, 64, 3)`` with
        values in ``[0, 255]`` (no preprocessing needed) and returning softmax probabilities over
        :data:`CLASS_NAMES`.

    Raises
    ------
    FileNotFoundError
        The weights file is missing from the installation.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> model = demo.load_model()
    >>> image, box = demo.sample_image("cross", seed=0)
    >>> demo.CLASS_NAMES[int(model.predict(image[None].astype("float32"), verbose=0).argmax())]
    'cross'
    """
    if not WEIGHTS_PATH.is_file():
        raise FileNotFoundError(
            f"The demo model's weights are missing: {WEIGHTS_PATH} does not exist. They ship with "
            "the package; reinstall it, or in a source checkout run "
            "`python scripts/train_demo_model.py` to write them."
        )
    model = build_model()
    model.load_weights(WEIGHTS_PATH)
    return model
