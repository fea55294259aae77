"""A built-in demo model that needs no download: a small CNN trained on synthetic shapes.

Each image is one coloured shape (circle, square, triangle or cross) on a noisy gradient
background. The class is decided by the shape alone, so an occlusion map of a well-trained model
should light up on the shape and stay quiet elsewhere; :func:`make_dataset` returns the shape's
bounding box so that this can be checked.

The model trains in about 20 s on two CPU cores the first time :func:`load_model` is called and is
cached on disk afterwards (see :func:`cache_path`).

Examples
--------
>>> from occlusion_widget import demo
>>> model = demo.load_model()  # doctest: +SKIP
>>> image, box = demo.sample_image("triangle", seed=3)
>>> probabilities = model.predict(image[None].astype("float32"))  # doctest: +SKIP
>>> demo.CLASS_NAMES[int(probabilities.argmax())]  # doctest: +SKIP
'triangle'
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["CLASS_NAMES", "cache_path", "load_model", "make_dataset", "sample_image"]

CLASS_NAMES: list[str] = ["circle", "square", "triangle", "cross"]
"""Class names, in the order of the demo model's output probabilities."""

_MIN_IMAGE_SIZE = 24
# A grey shape would look like the grey patch that occlusion pastes; keeping every shape clearly
# coloured means the model cannot confuse the two.
_MIN_SHAPE_SATURATION = 80
_MIN_SHAPE_CONTRAST = 110
_NOISE_SIGMA = 10.0
# Sample images come from indices no dataset reaches, so they are never training images.
_SAMPLE_INDEX_OFFSET = 2**40


@dataclasses.dataclass(frozen=True)
class _Settings:
    image_size: int = 64
    train_size: int = 3000
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 3e-3
    data_seed: int = 0
    weight_seed: int = 0


_DEFAULT_SETTINGS = _Settings()


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
        if saturated and contrasting:
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
# Cache


def _package_version() -> str:
    from ._version import __version__

    return __version__


def _cache_key(settings: _Settings) -> str:
    fields = {
        "settings": dataclasses.asdict(settings),
        "class_names": CLASS_NAMES,
        "version": _package_version(),
        # Any edit to the generator or the training code must retrain, not reuse a stale model.
        "source": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
    }
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cache_dir() -> Path:
    configured = os.environ.get("OCCLUSION_WIDGET_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "occlusion_widget"


def cache_path() -> Path:
    """Where the trained demo model is (or will be) stored.

    The folder is ``$OCCLUSION_WIDGET_CACHE`` when that is set, else ``~/.cache/occlusion_widget``.
    The file name holds a hash of the package version, the generator and training code and their
    settings, so a new version or a code change trains a fresh model instead of reusing a stale
    one. Delete the file (or call ``load_model(retrain=True)``) to force retraining.

    Returns
    -------
    pathlib.Path
        Path of the ``.keras`` file; it need not exist yet.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> demo.cache_path().suffix
    '.keras'
    """
    return _cache_dir() / f"demo-shapes-{_cache_key(_DEFAULT_SETTINGS)}.keras"


# ---------------------------------------------------------------------------------------------
# Model


def _build_model(settings: _Settings) -> keras.Model:
    import keras

    # Seeded initialisers instead of keras.utils.set_random_seed: the latter would reseed Python,
    # NumPy and the backend globally, changing random numbers in the user's own session.
    seeds = iter(range(settings.weight_seed * 100, settings.weight_seed * 100 + 100))

    def conv(filters: int, strides: int = 1) -> keras.layers.Layer:
        return keras.layers.Conv2D(
            filters,
            3,
            strides=strides,
            padding="same",
            activation="relu",
            kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)),
        )

    size = settings.image_size
    model = keras.Sequential(
        [
            keras.Input((size, size, 3), dtype="float32"),
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
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@contextlib.contextmanager
def _deterministic_ops() -> Iterator[None]:
    """Turn on TensorFlow's op determinism for the duration only, if it was off.

    Left on, it would make some of the user's own TensorFlow ops raise for lack of a
    deterministic kernel.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    try:
        from tensorflow.python.framework import config as tf_config

        was_enabled = tf_config.is_op_determinism_enabled()
        tf_config.enable_op_determinism()
    except (ImportError, AttributeError):
        yield
        return
    try:
        yield
    finally:
        if not was_enabled:
            tf_config.disable_op_determinism()


def _with_patches(images: np.ndarray, boxes: np.ndarray, seed: int) -> np.ndarray:
    """Paste a flat grey or mean-colour rectangle off the shape into half of the images.

    Such rectangles are what occlusion pastes. A model that never saw one takes a grey patch on
    the background for a square; one trained with them keeps its answer while the patch is off
    the shape, so the occlusion map lights up on the shape only.
    """
    rng = np.random.default_rng([seed, 1])
    images = images.copy()
    size = images.shape[1]
    for image, (top, left, height, width) in zip(images, boxes, strict=True):
        if rng.random() < 0.5:
            continue
        fill = 127.5 if rng.random() < 0.5 else image.reshape(-1, 3).mean(axis=0)
        patch_height, patch_width = rng.integers(6, size // 3 + 1, size=2)
        for _ in range(20):
            y, x = rng.integers(0, size - patch_height + 1), rng.integers(0, size - patch_width + 1)
            apart = (
                y + patch_height <= top
                or y >= top + height
                or x + patch_width <= left
                or x >= left + width
            )
            if apart:
                image[y : y + patch_height, x : x + patch_width] = np.rint(fill)
                break
    return images


def _train(settings: _Settings, verbose: bool = False) -> keras.Model:
    """Train a fresh demo model; the same settings always give the same weights."""
    images, labels, boxes = make_dataset(
        settings.train_size, seed=settings.data_seed, image_size=settings.image_size
    )
    images = _with_patches(images, boxes, settings.data_seed)
    model = _build_model(settings)
    with _deterministic_ops():
        # The samples are already in random order; shuffle=False keeps training free of
        # backend randomness, which is what makes it reproducible.
        model.fit(
            images.astype(np.float32),
            labels,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            shuffle=False,
            verbose=2 if verbose else 0,
        )
    return model


def _save_atomically(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras insists on the .keras suffix; the temporary file sits in the same folder so that the
    # rename cannot cross file systems and another process never sees a half-written file.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".keras", dir=path.parent)
    os.close(handle)
    try:
        model.save(temporary)
        # mkstemp makes the file private; a cache folder shared by a class must stay readable.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _load_or_train(
    settings: _Settings, path: Path, retrain: bool, verbose: bool | None
) -> keras.Model:
    import keras

    if path.exists() and not retrain:
        try:
            return keras.models.load_model(path)
        except Exception as error:  # a truncated or foreign file: replace it rather than fail
            if verbose is not False:
                print(f"Cached demo model at {path} could not be read ({error}); retraining.")
    if verbose is not False:
        print("Training the demo model (once, ~20 s)...", flush=True)
    start = time.perf_counter()
    model = _train(settings, verbose=bool(verbose))
    _save_atomically(model, path)
    if verbose:
        print(f"Trained in {time.perf_counter() - start:.1f} s; saved to {path}", flush=True)
    return model


def load_model(retrain: bool = False, verbose: bool | None = None) -> keras.Model:
    """Load the demo shapes classifier, training and caching it on first use.

    The first call trains a small CNN on :func:`make_dataset` images (about 20 s on two CPU cores)
    and saves it to :func:`cache_path`; later calls, in any process, load that file in well under
    a second. Training is deterministic: the same package and library versions on the same kind
    of machine give the same weights (other CPUs may round differently).

    Parameters
    ----------
    retrain : bool, default False
        Train again even if a cached model exists, and overwrite it.
    verbose : bool or None, default None
        ``None`` prints one line when training is needed and nothing otherwise; ``True`` also
        prints Keras' progress per epoch and where the model was saved; ``False`` prints nothing.

    Returns
    -------
    keras.Model
        A compiled model taking raw ``float32`` RGB images of shape ``(batch, 64, 64, 3)`` with
        values in ``[0, 255]`` (no preprocessing needed) and returning softmax probabilities over
        :data:`CLASS_NAMES`.

    Examples
    --------
    >>> from occlusion_widget import demo
    >>> model = demo.load_model()  # doctest: +SKIP
    >>> images, labels, boxes = demo.make_dataset(4, seed=7)
    >>> model.predict(images.astype("float32"), verbose=0).argmax(axis=1)  # doctest: +SKIP
    array([...])
    """
    return _load_or_train(_DEFAULT_SETTINGS, cache_path(), retrain=retrain, verbose=verbose)
