"""One image of a dataset: decode it, check its size, sweep it with the engine, summarise it.

The local backend and every Ray actor run this same code with the same parameters, which is
why the two backends agree.
"""

from __future__ import annotations

import json
import numbers
import os
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..engine import occlusion_map
from ..engine.grid import normalize_pair
from ..engine.images import load_image
from ..engine.model import ModelError, declared_input_shape
from .integrity import arrays_checksum, display_path, preprocess_probe
from .store import quantize
from .summary import error_row, summarize

__all__ = [
    "DatasetParams",
    "ImageSweeper",
    "finish_row",
    "image_arrays",
    "item_error_row",
    "model_channels",
]

#: Up to this many classes every class probability is stored; above it only the top
#: :data:`TOP_K` per position (1000 ImageNet classes x 729 positions is 1.4 MB per image).
KEEP_ALL_UP_TO = 100
TOP_K = 10
#: Image files larger than this (width x height, read from the file's header) are recorded as
#: errors without being decoded: 50 megapixels decode to 150 MB of RGB bytes.
MAX_IMAGE_PIXELS = 50_000_000
#: The Pillow mode a file is converted to for a model that takes this many channels.
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


@dataclass
class DatasetParams:
    """The sweep parameters shared by every image of a dataset.

    Examples
    --------
    >>> DatasetParams(patch_size=8, stride=4).describe()["patch_size"]
    [8, 8]
    """

    patch_size: object = 16
    stride: object = 8
    baseline: object = "gray"
    preprocess: object = None
    output: str = "auto"
    batch_size: int | None = None
    resize: object = None
    top_k: int | None = None
    options: dict = field(default_factory=dict)
    #: What model runs (:func:`.identity.describe_model`); recorded, compared on resume.
    model: dict | None = None
    #: Channels image files are converted to (None: the model's, else the first image's).
    channels: int | None = None

    def describe(self, image_shape=None) -> dict:
        """JSON parameters recorded in the store; a resumed sweep must give the same ones
        (the model: see :func:`.identity.model_mismatch`)."""
        if self.channels is not None and self.channels not in _MODES:
            raise ValueError(
                f"channels must be 1, 3 or 4 (image files converted to L, RGB or RGBA); "
                f"got {self.channels!r}"
            )
        top_k = self.top_k
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1
        ):
            raise ValueError(
                f"top_k must be an int of at least 1 (the classes kept per position), or None "
                f"for the default; got {top_k!r}"
            )
        described = {
            "patch_size": list(normalize_pair(self.patch_size, "patch_size")),
            "stride": list(normalize_pair(self.stride, "stride")),
            "baseline": _describe_value(self.baseline),
            "preprocess": _name(self.preprocess),
            "output": self.output,
            "resize": None if self.resize is None else list(normalize_pair(self.resize, "resize")),
            "image_shape": None if image_shape is None else [int(s) for s in image_shape],
            "options": {k: _describe_value(v) for k, v in sorted(self.options.items())},
            "top_k": None if self.top_k is None else int(self.top_k),
        }
        if image_shape is not None:  # what preprocess does, on a probe batch of this shape
            described["preprocess_probe"] = preprocess_probe(self.preprocess, image_shape)
        if self.model is not None:
            described["model"] = self.model
        return described

    def sweep_kwargs(self) -> dict:
        """The keyword arguments of the engine's sweep that every image shares."""
        return dict(
            patch_size=self.patch_size,
            stride=self.stride,
            baseline=self.baseline,
            preprocess=self.preprocess,
            output=self.output,
            batch_size=self.batch_size,
            **self.options,
        )

    def kept_classes(self, num_classes: int) -> int:
        """How many classes per position the store keeps."""
        if self.top_k is not None:
            return min(int(self.top_k), num_classes)
        return num_classes if num_classes <= KEEP_ALL_UP_TO else TOP_K


def _name(fn):
    if fn is None:
        return None
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def _describe_value(value):
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Number):
        return float(value)
    array = np.asarray(value)
    if array.dtype != object and array.size <= 16:
        return array.astype(float).tolist()
    if array.dtype != object:
        # A whole baseline image: recorded by shape and a checksum, not by value.
        return f"array{list(array.shape)} sum={float(array.astype(np.float64).sum()):.6g}"
    return repr(value)


class ImageSweeper:
    """Sweeps items one at a time with fixed parameters; remembers the expected image shape.

    Examples
    --------
    >>> from occlusion_widget.dataset.sources import Item
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> sweeper = ImageSweeper(model, DatasetParams(patch_size=4, stride=4))
    >>> arrays, row = sweeper.run(Item("0", np.ones((8, 8)), "", -1))
    >>> row["status"], arrays["probabilities"].shape
    ('done', (2, 2, 2))
    >>> sweeper.run(Item("1", np.ones((9, 8)), "", -1))[1]["error"][:40]
    'image is 9x8x1 but the dataset is 8x8x1 '
    """

    def __init__(self, model, params: DatasetParams, image_shape=None):
        self.model = model
        self.params = params
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.swept = 0  # images swept successfully by this sweeper
        # Files are converted to the channels the model takes (else those of the dataset).
        self.channels = (
            params.channels or _model_channels(model) or (image_shape[2] if image_shape else None)
        )

    def decode(self, item):
        """``(pixels for the engine, None)`` or ``(None, error message)``."""
        try:
            raw = load_image(self._open(item.path) if item.path else item.image)
        except Exception as exc:  # any decoding failure is this image's problem, not the run's
            return None, _decode_error(exc)
        pixels = raw.pixels
        if self.params.resize is not None:
            pixels = _resize(raw, normalize_pair(self.params.resize, "resize"))
        shape = (*(int(s) for s in np.shape(pixels)[:2]), int(raw.pixels.shape[2]))
        if self.image_shape is None:
            self.image_shape = shape
            self.channels = self.channels or shape[2]
        elif shape != self.image_shape:
            return None, _shape_error(shape, self.image_shape, bool(item.path))
        if self.params.resize is None:
            # Integer images stay integers: the engine's value range and gray fill depend on it.
            pixels = raw.pixels.astype(np.uint8) if _is_byte(raw) else raw.pixels
        if raw.squeeze_channel:
            pixels = pixels[..., 0]
        return pixels, None

    def _open(self, path):
        """A file as a PIL image in the model's channels; its size is checked from the header
        before any pixel is decoded."""
        import warnings

        from PIL import Image

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValueError(
                        f"the file is {width}x{height} pixels, over the "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels a dataset image may have; "
                        f"shrink it before sweeping (it was not decoded)"
                    )
                mode = _MODES.get(self.channels or 0)
                if mode and img.mode != mode:
                    return img.convert(mode)  # as Pillow does: gray to RGB, RGBA drops alpha
                img.load()
                return img.copy()

    def run(self, item, cancel=None):
        """``(arrays to store or None, table row)`` for one item, ``(None, None)`` when cancelled.

        An engine error on an image that decoded fine is recorded in its row, except before
        any image has swept: then it is raised (a broken model or bad parameters must not
        fill the table with one error per image).
        """
        start = time.perf_counter()
        pixels, problem = self.decode(item)
        if problem is not None:  # the row keeps what is known of the image
            return None, finish_row(item, time.perf_counter() - start, error=problem)
        p = self.params
        try:
            result = occlusion_map(
                self.model, pixels, progress=False, cancel=cancel, **p.sweep_kwargs()
            )
        except (ModelError, ValueError, TypeError) as exc:
            if self.swept == 0:
                raise
            message = f"{type(exc).__name__}: {exc}"
            return None, finish_row(item, time.perf_counter() - start, error=message)
        if not result.complete:  # cancelled mid-image: nothing of it is kept
            return None, None
        self.swept += 1
        arrays = image_arrays(p, result, pixels)
        summary = summarize(result, int(item.label))
        return arrays, finish_row(item, time.perf_counter() - start, summary, arrays)


def image_arrays(params: DatasetParams, result, pixels) -> dict:
    """What the store keeps of one swept image: its maps (:func:`.store.quantize`), its
    unoccluded scores and the image (bytes as given, else the engine's float image).

    Examples
    --------
    >>> from occlusion_widget.engine import occlusion_map
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4, progress=False)
    >>> sorted(image_arrays(DatasetParams(), result, np.ones((8, 8))))
    ['base_probabilities', 'image', 'probabilities']
    """
    arrays = quantize(result.probabilities, params.kept_classes(result.num_classes))
    arrays["base_probabilities"] = result.base_probabilities.astype(np.float32)
    arrays["image"] = pixels if np.asarray(pixels).dtype == np.uint8 else result.image
    return arrays


def finish_row(item, seconds: float, summary=None, arrays=None, error=None) -> dict:
    """One image's table row, the one way every backend builds it: what is known of the
    image (id, key, its file as text, true label, digest), then either its ``summary`` with
    the checksum of its stored ``arrays`` (verified whenever the maps are read back), or the
    ``error`` that stopped it (the true label and digest are kept).

    Examples
    --------
    >>> from occlusion_widget.dataset.sources import Item
    >>> row = finish_row(Item("cat/a.png", None, "/d/cat/a.png", 2), 0.5, error="broken")
    >>> row["status"], row["label"], row["path"], row["seconds"]
    ('error', 2, '/d/cat/a.png', 0.5)
    """
    row = _item_row(item)
    if error is not None:
        row.update(error_row(error), **_known(row))
    else:
        row.update(summary, status="done", error="")
        row["checksum"] = arrays_checksum(arrays)
    row["seconds"] = seconds
    return row


def _item_row(item) -> dict:
    return {
        "id": item.id,
        "key": item.key,
        "path": display_path(item.path),
        "label": int(item.label),
        "digest": getattr(item, "digest", ""),
    }


def item_error_row(item, message: str, seconds: float = 0.0) -> dict:
    """The table row of an image that could not be swept: what is known of it (id, key,
    file, the folder's true label, digest) with the error.

    Examples
    --------
    >>> from occlusion_widget.dataset.sources import Item
    >>> row = item_error_row(Item("cat/a.png", None, "/d/cat/a.png", 2), "broken")
    >>> row["status"], row["label"], row["error"]
    ('error', 2, 'broken')
    """
    return finish_row(item, seconds, error=message)


def _known(row) -> dict:
    return {"label": row["label"], "digest": row["digest"]}


def _model_channels(model) -> int | None:
    try:
        shape = declared_input_shape(model)
    except ValueError:
        return None
    return _channels_of(shape)


def _channels_of(shape) -> int | None:
    if shape is None or len(shape) != 4 or shape[-1] not in _MODES:
        return None
    return int(shape[-1])


def model_channels(model) -> int | None:
    """The channels a model declares, found cheaply: from a live Keras model, or from the
    ``config.json`` of a ``.keras`` file (without loading Keras or the weights); None for a
    plain callable, an unreadable file or a model that declares no single image input.

    Examples
    --------
    >>> model_channels(lambda batch: batch) is None
    True
    """
    if not isinstance(model, (str, os.PathLike)):
        return _model_channels(model)
    try:
        with zipfile.ZipFile(os.fspath(model)) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # loading it will say what is wrong
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        return None
    shapes = [
        (layer.get("config") or {}).get("batch_shape")
        or (layer.get("config") or {}).get("batch_input_shape")
        for layer in layers
        if isinstance(layer, dict) and layer.get("class_name") == "InputLayer"
    ]
    return _channels_of(shapes[0]) if len(shapes) == 1 else None


def _shape_error(got, want, is_file) -> str:
    text = "x".join(map(str, got)), "x".join(map(str, want))
    message = f"image is {text[0]} but the dataset is {text[1]} (H x W x C)"
    if got[2] != want[2]:
        if is_file:  # files are converted to the dataset's channels: this one could not be
            return f"{message}; its channels could not be converted to {want[2]}"
        mode = _MODES.get(want[2], "RGB")
        return (
            f"{message}: {got[2]} channel(s) where the dataset has {want[2]}. Convert such "
            f"images first, e.g. numpy.asarray(PIL.Image.fromarray(image).convert({mode!r})), "
            f"or pass them as files, which are converted to the model's channels"
        )
    return f"{message}; pass resize=({want[0]}, {want[1]}) to resize every image"


def _is_byte(raw) -> bool:
    return raw.integer and raw.value_range == (0.0, 255.0)


def _decode_error(exc) -> str:
    text = str(exc).split("\n")[0]
    if type(exc).__name__ == "UnidentifiedImageError":
        return f"not an image file Pillow can read ({text})"
    return f"{type(exc).__name__}: {text}"


def _resize(raw, size):
    """Bilinear resize to ``(height, width)`` channel by channel (any value range)."""
    from PIL import Image

    h, w = size
    if raw.pixels.shape[:2] == (h, w):
        return raw.pixels.astype(np.uint8) if _is_byte(raw) else raw.pixels
    channels = [
        np.asarray(Image.fromarray(raw.pixels[:, :, c], mode="F").resize((w, h), Image.BILINEAR))
        for c in range(raw.pixels.shape[2])
    ]
    out = np.stack(channels, axis=2).astype(np.float32)
    if _is_byte(raw):
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out
