"""Normalise the ``images`` argument of :func:`sweep_dataset` into a stream of items.

Whatever the user passes (a list or array of images, a folder, an iterable of ``(image, label)``
pairs, a ``tf.data.Dataset``), the sweep sees :class:`Item` objects: a stable string id, the
image or the path that holds it, and the true label when there is one. Nothing here opens an
image file: decoding happens where the sweep runs (in a Ray worker, for the Ray backend), and a
file that fails to decode is recorded in the table, not raised.
"""

from __future__ import annotations

import hashlib
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .integrity import display_path

__all__ = ["IMAGE_EXTENSIONS", "Item", "Source", "key_of", "make_source"]

#: File extensions treated as images in a folder; other files are recorded as errors.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


@dataclass
class Item:
    """One image of the dataset, not yet decoded.

    Attributes
    ----------
    id : str
        Stable name: the path relative to the folder, or the position in the list.
    image : object
        An array-like or PIL image, or None when ``path`` holds the image.
    path : str
        The file, or ``""`` for in-memory images.
    label : int
        The true class, -1 when unknown.
    digest : str
        The image's content (:func:`.integrity.image_digest`), filled in before the sweep.
    by_content : bool
        Whether the image is known by its content rather than its id (a stream whose order
        may change between runs): then its key derives from ``digest`` and ``occurrence``.
    occurrence : int
        How many images with the same digest came before it in the stream (duplicates are
        distinct images of the dataset).

    Examples
    --------
    >>> Item("3", np.zeros((2, 2)), "", 1).key == Item("3", None, "", -1).key
    True
    """

    id: str
    image: object
    path: str
    label: int
    digest: str = ""
    by_content: bool = False
    occurrence: int = 0

    @property
    def key(self) -> str:
        """The id hashed to a short name safe for a Zarr node (ids may hold any character);
        for an image known by its content, its digest."""
        if self.by_content and self.digest:
            return f"c{self.digest[1:17]}" + (f"-{self.occurrence}" if self.occurrence else "")
        return key_of(self.id)


def key_of(item_id: str) -> str:
    """Short, stable, filesystem-safe name for an image id.

    Examples
    --------
    >>> key_of("cats/001.png")
    'i911c1d19e31b72de'
    """
    data = item_id.encode("utf-8", "surrogateescape")  # a file name need not be UTF-8
    return "i" + hashlib.sha1(data).hexdigest()[:16]


@dataclass
class Source:
    """The normalised dataset: items (possibly a one-pass iterator), their count when known,
    and the class names a folder's sub-folders give.

    Examples
    --------
    >>> src = make_source([np.zeros((4, 4))] * 3, labels=[0, 1, 1])
    >>> src.total, [item.label for item in src.items]
    (3, [0, 1, 1])
    """

    items: object
    total: int | None
    class_names: list[str] | None = None
    #: Whether the ids name the images (a folder's relative paths) rather than positions.
    named: bool = False


def make_source(images, labels=None, skip=None) -> Source:
    """Turn the ``images`` argument into a :class:`Source`.

    Parameters
    ----------
    images : list, numpy.ndarray, str, os.PathLike, iterable or tf.data.Dataset
        A list of images (arrays, PIL images or file paths); an ``(N, H, W, C)`` or
        ``(N, H, W)`` array; a folder (searched recursively; with class sub-folders, the
        sub-folder gives the true label, as in ``keras.utils.image_dataset_from_directory``);
        an iterable of ``(image, label)`` pairs or of images; a ``tf.data.Dataset`` of such
        pairs (batched or not).
    labels : sequence of int, optional
        True labels, one per image (not with pairs or folders, which carry their own).
    skip : str or os.PathLike, optional
        A folder a folder dataset leaves out: the sweep's own store, when it is kept inside
        the image folder (its files are no images, and it is no class).

    Returns
    -------
    Source

    Raises
    ------
    ValueError, TypeError
        For an empty dataset, labels of the wrong length, or a value that is no dataset.

    Examples
    --------
    >>> make_source(np.zeros((5, 8, 8, 3), np.uint8)).total
    5
    """
    if isinstance(images, (str, os.PathLike)):
        if labels is not None:
            raise ValueError(
                "labels= cannot be combined with a folder: the folder's class sub-folders give "
                "the labels. Pass a list of paths with labels= instead"
            )
        return _folder(Path(images), None if skip is None else Path(skip))
    if _is_tf_dataset(images):
        return Source(_pairs(_unbatch(images.as_numpy_iterator()), labels), None)
    if isinstance(images, np.ndarray) or _is_tensor(images):
        array = np.asarray(images)
        if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
            raise ValueError(
                f"images has shape {array.shape}, which looks like one (H, W, C) image; a dataset "
                f"array must be (N, H, W, C) or (N, H, W). Pass [image] for a single image"
            )
        if array.ndim not in (3, 4):
            raise ValueError(
                f"an images array must have shape (N, H, W, C) or (N, H, W); got {array.shape}"
            )
        images = list(array)
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError(_EMPTY)
        _check_labels(labels, len(images))
        if labels is None and all(_is_pair(x) for x in images):
            return Source(_pairs(iter(images), None), len(images))
        label_list = [-1] * len(images) if labels is None else [_label(x) for x in labels]
        pairs = enumerate(zip(images, label_list, strict=True))
        items = [_item(str(i), x, lab) for i, (x, lab) in pairs]
        return Source(items, len(items))
    if isinstance(images, dict):
        raise TypeError(
            f"images is a dict of {len(images)} entries; give a list of images (with "
            f"labels=[...]), or a list of (image, label) pairs such as list(images.items()) "
            f"when its keys are the images and its values the labels"
        )
    if images is None or not hasattr(images, "__iter__"):
        raise TypeError(
            f"images must be a list or array of images, a folder path, an iterable of "
            f"(image, label) pairs or a tf.data.Dataset; got {type(images).__name__}"
        )
    total = len(images) if hasattr(images, "__len__") else None
    if total == 0:
        raise ValueError(_EMPTY)
    return Source(_pairs(iter(images), labels), total)


_EMPTY = "the dataset is empty: no images to sweep. Check the folder or the list you passed"


def _folder(root: Path, skip: Path | None = None) -> Source:
    if not root.exists():
        raise ValueError(f"image folder {os.fspath(root)!r} does not exist")
    if not root.is_dir():
        raise ValueError(
            f"{os.fspath(root)!r} is a file, not a folder; pass [path] for a single image file"
        )
    left_out = _inside(root, skip)
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and not left_out(p)
    )
    if not files:
        raise ValueError(f"the folder {os.fspath(root)!r} holds no files: the dataset is empty")
    subdirs = sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not left_out(p)
    )
    # As keras.utils.image_dataset_from_directory: the immediate sub-folders are the classes,
    # in alphanumeric order; files directly in the root then have no label.
    classes = subdirs or None
    index = {name: i for i, name in enumerate(subdirs)}
    items = []
    for path in files:
        rel = path.relative_to(root)
        label = index[rel.parts[0]] if classes and len(rel.parts) > 1 else -1
        # The id must be text a table holds: undecodable bytes of a name become \\xNN.
        items.append(Item(display_path(rel.as_posix()), None, str(path), label))
    return Source(items, len(items), classes, named=True)


def _inside(root: Path, skip: Path | None):
    """``left_out(path)``: whether a path of the image folder is in ``skip`` (the store).

    A store that is the image folder itself is refused: its files and folders would mix with
    the images and the class folders."""
    if skip is None:
        return lambda path: False
    root_real, skip_real = root.resolve(), skip.resolve()
    if root_real == skip_real:
        raise ValueError(
            f"store={os.fspath(skip)!r} is the image folder {os.fspath(root)!r} itself; "
            f"keep the store in a folder of its own, e.g. "
            f"store={os.fspath(root_real.parent / (root_real.name + '_sweep'))!r}"
        )
    if not skip_real.is_relative_to(root_real):
        return lambda path: False
    parts = skip_real.relative_to(root_real).parts
    return lambda path: path.relative_to(root).parts[: len(parts)] == parts


def _item(item_id, image, label) -> Item:
    if isinstance(image, (str, os.PathLike)):
        return Item(item_id, None, os.fspath(image), label)
    return Item(item_id, image, "", label)


def _pairs(iterator, labels):
    labels = None if labels is None else iter(labels)
    for i, element in enumerate(iterator):
        if labels is not None:
            yield _item(str(i), element, _label(next(labels, None)))
        elif _is_pair(element):
            yield _item(str(i), element[0], _label(element[1]))
        else:
            yield _item(str(i), element, -1)


def _unbatch(iterator):
    # image_dataset_from_directory yields batches: (B, H, W, C) images with (B,) labels.
    for element in iterator:
        if isinstance(element, tuple) and len(element) == 2 and np.ndim(element[0]) == 4:
            yield from zip(element[0], element[1], strict=True)
        elif not isinstance(element, tuple) and np.ndim(element) == 4:
            yield from element
        else:
            yield element


def _is_pair(x) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and _looks_like_label(x[1])


def _looks_like_label(x) -> bool:
    if x is None or isinstance(x, numbers.Integral):
        return True
    array = np.asarray(x)
    return array.ndim == 0 or (array.ndim == 1 and array.size > 1)  # an index or a one-hot row


def _label(value) -> int:
    """A true label as an int (-1 = unknown); one-hot rows become their argmax."""
    if value is None:
        return -1
    array = np.asarray(value)
    if array.ndim == 1 and array.size > 1:
        return int(np.argmax(array))
    if array.ndim != 0 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"a label must be a class index (int) or a one-hot row; got {value!r}")
    return int(array)


def _check_labels(labels, n):
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries for {n} images; give one per image")


def _is_tf_dataset(obj) -> bool:
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "as_numpy_iterator")


def _is_tensor(obj) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and not isinstance(obj, (list, tuple))
