"""Small pictures of a dataset sweep's images with their sensitivity map laid over them.

A thumbnail is what the single-image widget shows at first, shrunk: the image in grey, and over
it the sensitivity of the unoccluded prediction in the palette's diverging ramp, each pixel coloured
by the nearest patch centre (``plot/cells.py``, the browser's geometry). Each is made once, from
the store, and kept: paging back and forth never redraws one.
"""

from __future__ import annotations

import numbers
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["DEFAULT_MAX_SIDE", "ThumbnailCache", "read_results", "stack", "thumbnail"]

#: Longest side of a thumbnail in pixels; smaller images keep their size (the browser scales up).
DEFAULT_MAX_SIDE = 64
#: Opacity of the map over the image: the widget's default.
OPACITY = 0.7


def thumbnail(result, max_side: int = DEFAULT_MAX_SIDE, opacity: float = OPACITY) -> np.ndarray:
    """``(h, w, 4)`` uint8 RGBA: the image under the sensitivity map of its predicted class.

    Parameters
    ----------
    result : OcclusionResult
        One image's complete result (e.g. ``dataset.result(i)``).
    max_side : int
        The longest side after shrinking (area-averaged); smaller images are not enlarged.
    opacity : float
        Opacity of the map over the image, 0..1.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
    ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> r = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                      baseline="black", progress=False)
    >>> t = thumbnail(r)
    >>> t.shape, t.dtype.name
    ((8, 8, 4), 'uint8')
    >>> bool((t[0, 0, :3] != t[7, 7, :3]).any())  # the corner that matters is coloured
    True
    """
    from PIL import Image

    from ..engine.images import to_display_rgba
    from ..plot.cells import cell_colors, compose

    colours = cell_colors("sensitivity", result, (result.base_class,))
    shown = to_display_rgba(result.image, result.value_range)
    rgb = compose(shown, result, colours["rgb"], opacity, colours["alpha"])
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))


def stack(pictures: list) -> np.ndarray:
    """One ``(n, H, W, 4)`` uint8 array of ``n`` thumbnails, each at the top-left of its slot.

    The slots are as large as the largest thumbnail; the rest of a slot is transparent, and each
    item tells the browser its own width and height.

    Examples
    --------
    >>> stack([np.zeros((2, 3, 4), np.uint8), np.zeros((4, 1, 4), np.uint8)]).shape
    (2, 4, 3, 4)
    >>> stack([]).shape
    (0, 0, 0, 4)
    """
    if not pictures:
        return np.zeros((0, 0, 0, 4), np.uint8)
    height = max(p.shape[0] for p in pictures)
    width = max(p.shape[1] for p in pictures)
    out = np.zeros((len(pictures), height, width, 4), np.uint8)
    for slot, picture in zip(out, pictures, strict=True):
        slot[: picture.shape[0], : picture.shape[1]] = picture
    return out


def read_results(dataset, rows: list) -> list:
    """The results of several images of ``dataset`` from one read of their maps: the store's
    ``read_many`` when it has one (images stored together are read together), else one
    ``read_arrays`` per image; each checksum is verified.

    Parameters
    ----------
    dataset : OcclusionDataset
    rows : list of dict
        Table rows (``id``, ``key``, ``checksum``) of images swept without error.

    Returns
    -------
    list of OcclusionResult
        In the order of ``rows``.

    Examples
    --------
    >>> [r.rows for r in read_results(ds, ds.table.to_dict("records"))]
    [3, 3, 3]
    """
    if not rows:
        return []
    store = dataset.store
    store.require_meta()
    keys = [str(row["key"]) for row in rows]
    many = getattr(store, "read_many", None)
    if many is not None:
        found = many(keys)
        arrays = [found[key] for key in keys] if isinstance(found, dict) else list(found)
    else:
        arrays = [store.read_arrays(key) for key in keys]
    return [dataset.result_from_arrays(r, a) for r, a in zip(rows, arrays, strict=True)]


class ThumbnailCache:
    """Thumbnails of one dataset, made on first request and kept in memory, the most recently
    used ``capacity`` of them.

    At most ``max_side**2 * 4`` bytes per image (16 KB at 64 px): the default capacity of 2,000
    keeps at most 32 MB, whatever the dataset's size, and a gallery that shows ten pages keeps
    a few MB. A thumbnail dropped for room is drawn again if it is asked for again.

    Parameters
    ----------
    dataset : OcclusionDataset
    max_side : int
    make : callable, optional
        ``result -> (h, w, 4)`` uint8; :func:`thumbnail` by default.
    capacity : int, default 2000
        How many thumbnails to keep.

    Attributes
    ----------
    made : int
        How many thumbnails were drawn (each image once, unless dropped for room).

    Examples
    --------
    >>> cache = ThumbnailCache(ds)  # ds: three 16 x 16 images
    >>> cache.get("2").shape, cache.get("2") is cache.get("2"), cache.made
    ((16, 16, 4), True, 1)
    """

    def __init__(self, dataset, max_side: int = DEFAULT_MAX_SIDE, make=None, capacity: int = 2000):
        if isinstance(max_side, bool) or not isinstance(max_side, numbers.Integral):
            raise TypeError(f"max_side must be a whole number of pixels; got {max_side!r}")
        if max_side < 1:
            raise ValueError(f"max_side must be at least 1 pixel; got {max_side!r}")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be a positive number of thumbnails; got {capacity!r}")
        self.capacity = capacity
        self.dataset = dataset
        self.max_side = int(max_side)
        self._make = make or (lambda result: thumbnail(result, self.max_side))
        self._pictures: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.made = 0

    def __len__(self) -> int:
        return len(self._pictures)

    def __contains__(self, image_id) -> bool:
        return str(image_id) in self._pictures

    def get(self, image_id) -> np.ndarray:
        """The thumbnail of one image id, drawn from the store the first time only."""
        return self.page([{"id": str(image_id)}])[0]

    def page(self, rows: list, read=None) -> list:
        """The thumbnails of a page's rows (dicts with an ``id``), in order; the ones not kept
        are drawn from one call of ``read`` (``rows -> results``, e.g. :func:`read_results`;
        by default ``dataset.result(id)`` per image).
        """
        with self._lock:
            missing = [row for row in rows if str(row["id"]) not in self._pictures]
            if missing:
                if read is None:
                    results = [self.dataset.result(str(row["id"])) for row in missing]
                else:
                    results = read(missing)
                for row, result in zip(missing, results, strict=True):
                    picture = np.asarray(self._make(result), np.uint8)
                    picture.setflags(write=False)
                    self._pictures[str(row["id"])] = picture
                    self.made += 1
            out = []
            for row in rows:
                image_id = str(row["id"])
                self._pictures.move_to_end(image_id)
                out.append(self._pictures[image_id])
            while len(self._pictures) > max(self.capacity, len(rows)):
                self._pictures.popitem(last=False)  # the least recently used
            return out
