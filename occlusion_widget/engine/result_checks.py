"""What a saved result file must be before it is loaded: a damaged or hostile file is refused,
with its name, before anything large is allocated.

First the archive itself (:func:`read_headers`): the zip's table and each array's ``.npy``
header, read from the first bytes of each member (nothing beyond a header is decompressed).
Every array needs its dtype and a shape that agrees with the others (:func:`check_headers`),
its size must agree with the size the zip declares, and all of them together may take
:data:`FREE_BYTES`, or more only up to :data:`MAX_EXPANSION` times the file's own size (a
0.99 MB file that would expand to 1 GB is refused at once). Then, once read, the values
(:func:`check_values`): probabilities in [0, 1] and NaN only where nothing was computed, finite
images, patches inside the image, sane parameters.

Every error is a ``ValueError`` whose message starts with the file's name.
"""

from __future__ import annotations

import math
import numbers
import os
import zipfile
from typing import Any

import numpy as np

__all__ = [
    "FREE_BYTES",
    "MAX_EXPANSION",
    "REQUIRED",
    "check_headers",
    "check_meta",
    "check_shapes",
    "check_values",
    "read_headers",
]

#: The arrays every saved result holds (``meta`` is its JSON metadata).
REQUIRED = ("probabilities", "base_probabilities", "computed", "image", "baseline", "tops", "lefts")

#: Bytes the arrays of any file may take once read, whatever the file's size.
FREE_BYTES = 256 * 2**20
#: Beyond :data:`FREE_BYTES`, the arrays may take at most this many times the file's size:
#: real probabilities and images compress a few times, a crafted file a thousand times.
MAX_EXPANSION = 64
#: Most members an archive may hold (a saved result has about ten).
MAX_MEMBERS = 1000
#: Most characters of the JSON metadata.
MAX_META_CHARS = 2**20

# The dtype kinds each array may have: floats, bool, ints, a unicode string.
_KINDS = {
    "probabilities": "f",
    "base_probabilities": "f",
    "baseline_probabilities": "f",
    "computed": "b",
    "image": "f",
    "baseline": "f",
    "tops": "iu",
    "lefts": "iu",
    "meta": "U",
}
_KIND_NAMES = {"f": "floats", "b": "bool", "iu": "ints", "U": "a unicode string"}
# Float rounding of interpolated (adaptive) cells may pass 0 or 1 by an ulp; a probability
# further outside is no probability.
_SLACK = 1e-6

Header = tuple[tuple[int, ...], np.dtype]
Headers = dict[str, Header]


def read_headers(path, name: str) -> Headers:
    """The declared ``(shape, dtype)`` of every array in the ``.npz`` at ``path``.

    Reads the zip's table and each member's ``.npy`` header only; checks each array's declared
    size against the zip's and the total against :data:`FREE_BYTES` / :data:`MAX_EXPANSION`.

    Raises
    ------
    ValueError
        Not a zip archive, a damaged one, an array of Python objects, sizes that disagree or
        exceed the limits; the message names the file.

    Examples
    --------
    >>> import io, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> np.savez_compressed(path, computed=np.ones((2, 3), bool))
    >>> read_headers(path, "a.npz")
    {'computed': ((2, 3), dtype('bool'))}
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            begins_as_zip = fh.read(4) == b"PK\x03\x04"
        if begins_as_zip:  # the zip's table, at its end, is missing
            raise ValueError(
                f"{name!r} is not a saved occlusion result, or it is damaged: the zip archive "
                f"is cut short; save it again with result.save(path)"
            )
        raise ValueError(
            f"{name!r} is not a saved occlusion result: it is no .npz (zip) archive; results "
            f"are saved with result.save(path) and read with OcclusionResult.load(path)"
        )
    headers: Headers = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(set(archive.namelist()))
            if len(names) > MAX_MEMBERS:
                raise ValueError(f"it holds {len(names)} members; a result has about ten")
            for member in names:
                info = archive.getinfo(member)
                total += info.file_size
                if member.endswith(".npy"):
                    headers[member[:-4]] = _read_header(archive, info)
    except ValueError as exc:
        raise ValueError(f"{name!r} is not a saved occlusion result: {exc}") from None
    except Exception as exc:  # zip and zlib errors all mean a damaged file
        raise ValueError(
            f"{name!r} is not a saved occlusion result, or it is damaged "
            f"({type(exc).__name__}: {_short(exc)}); save it again with result.save(path)"
        ) from None
    size = max(1, os.path.getsize(path))
    if total > FREE_BYTES and total > MAX_EXPANSION * size:
        raise ValueError(
            f"{name!r} is not a saved occlusion result: its arrays would take "
            f"{_megabytes(total)} read from a file of {_megabytes(size)} (more than "
            f"{MAX_EXPANSION} times its size and more than {_megabytes(FREE_BYTES)}); a result "
            f"compresses far less, so the file is damaged or crafted and was not read"
        )
    return headers


def _read_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[tuple[int, ...], np.dtype]:
    """One member's ``.npy`` header, checked against the size the zip declares for it."""
    key = info.filename[:-4]
    with archive.open(info) as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f".npy format version {version}")
        except ValueError as exc:
            raise ValueError(f"its array {key!r} has no readable header ({_short(exc)})") from None
        start = fh.tell()
    if dtype.hasobject:
        raise ValueError(
            f"its array {key!r} holds Python objects (pickled data), which a saved result never "
            f"has; it was not read"
        )
    declared = math.prod(shape) * dtype.itemsize
    if start + declared != info.file_size:
        raise ValueError(
            f"its array {key!r} declares shape {shape} of {dtype} ({declared} bytes) but the "
            f"archive holds {info.file_size - start} bytes for it (damaged or altered)"
        )
    return tuple(int(s) for s in shape), dtype


def check_headers(headers: Headers, name: str) -> None:
    """The arrays are all there, with their dtypes and shapes that agree with each other.

    Raises
    ------
    ValueError
        The message names the file and the first array that is wrong.

    Examples
    --------
    >>> heads = {"computed": ((2, 3), np.dtype(np.int64))}
    >>> check_headers(heads, "x.npz")
    Traceback (most recent call last):
    ...
    ValueError: 'x.npz' is not a saved occlusion result: it lacks the arrays probabilities, ...
    """
    missing = [key for key in (*REQUIRED, "meta") if key not in headers]
    if missing:
        raise ValueError(
            f"{name!r} is not a saved occlusion result: it lacks the arrays {', '.join(missing)}"
        )
    for key, kinds in _KINDS.items():
        if key in headers and headers[key][1].kind not in kinds:
            raise ValueError(
                f"{name!r} is not a valid saved occlusion result: {key} has dtype "
                f"{headers[key][1]}; a saved result holds {_KIND_NAMES[kinds]} there"
            )
    for key, (_, dtype) in headers.items():
        if dtype.kind == "V":
            raise ValueError(
                f"{name!r} is not a valid saved occlusion result: {key} has the structured "
                f"dtype {dtype}, which a saved result never has"
            )
    meta_shape, meta_dtype = headers["meta"]
    if meta_shape != () or meta_dtype.itemsize > 4 * MAX_META_CHARS:
        raise ValueError(
            f"{name!r} is not a valid saved occlusion result: its metadata is no single JSON "
            f"string of at most {MAX_META_CHARS} characters"
        )
    try:
        check_shapes({key: shape for key, (shape, _) in headers.items()})
    except ValueError as exc:
        raise ValueError(f"{name!r} is not a valid saved occlusion result: {exc}") from None


def check_shapes(shapes: dict[str, tuple[int, ...]]) -> None:
    """The saved arrays' shapes agree with each other (a damaged file fails on load, not later
    with an IndexError).

    Examples
    --------
    >>> check_shapes({"image": (4, 4, 1), "baseline": (4, 4, 3)})
    Traceback (most recent call last):
    ...
    ValueError: baseline has shape (4, 4, 3) but image (4, 4, 1)
    """
    image, baseline = shapes["image"], shapes["baseline"]
    if len(image) != 3:
        raise ValueError(f"image has shape {image}, not (H, W, C)")
    if baseline != image:
        raise ValueError(f"baseline has shape {baseline} but image {image}")
    probs = shapes["probabilities"]
    if len(probs) != 3:
        raise ValueError(f"probabilities has shape {probs}, not (rows, cols, classes)")
    rows, cols, k = probs
    for key in ("base_probabilities", "baseline_probabilities"):
        if key in shapes and shapes[key] != (k,):
            raise ValueError(f"{key} has shape {shapes[key]} but probabilities has {k} classes")
    if shapes["computed"] != (rows, cols):
        raise ValueError(
            f"computed has shape {shapes['computed']} but probabilities {(rows, cols)} positions"
        )
    tops, lefts = shapes["tops"], shapes["lefts"]
    if tops != (rows,) or lefts != (cols,):
        raise ValueError(f"tops/lefts have {tops}/{lefts} entries for a grid of {rows} x {cols}")


def check_meta(meta: dict, image_shape: tuple[int, ...], name: str) -> None:
    """The metadata's parameters are what a sweep of this image could have had.

    Examples
    --------
    >>> check_meta({"value_range": [0, 1], "patch_size": [0, 2], "stride": [1, 1]}, (4, 4, 3),
    ...            "x.npz")
    Traceback (most recent call last):
    ...
    ValueError: 'x.npz' is not a valid saved occlusion result: patch_size is [0, 2]; ...
    """
    h, w = image_shape[:2]
    for key in ("patch_size", "stride"):
        pair = meta[key]
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            and 1 <= pair[0] <= h
            and 1 <= pair[1] <= w
        ):
            raise ValueError(
                f"{name!r} is not a valid saved occlusion result: {key} is {_short(pair)}; it "
                f"must be two ints from 1 to the image's height {h} and width {w}"
            )
    span = meta["value_range"]
    if not (
        isinstance(span, list)
        and len(span) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in span)
        and all(math.isfinite(v) for v in span)
        and span[0] < span[1]
    ):
        raise ValueError(
            f"{name!r} is not a valid saved occlusion result: value_range is {_short(span)}; "
            f"it must be two finite numbers, low < high"
        )
    for key in ("baseline_name", "output_kind", "mode"):
        if not isinstance(meta.get(key, ""), str):
            raise ValueError(
                f"{name!r} is not a valid saved occlusion result: {key} is "
                f"{_short(meta[key])}, not a string"
            )


def check_values(arrays: dict[str, Any], patch_size, name: str) -> None:
    """The values read are what a sweep writes: probabilities in [0, 1] and NaN only where
    nothing was computed, finite images, patches inside the image.

    Examples
    --------
    >>> arrays = {"probabilities": np.full((1, 1, 2), -0.5, np.float32),
    ...           "base_probabilities": np.array([0.5, 0.5], np.float32),
    ...           "computed": np.ones((1, 1), bool), "image": np.zeros((2, 2, 1), np.float32),
    ...           "baseline": np.zeros((2, 2, 1), np.float32),
    ...           "tops": np.array([0]), "lefts": np.array([0])}
    >>> check_values(arrays, (2, 2), "x.npz")
    Traceback (most recent call last):
    ...
    ValueError: 'x.npz' is not a valid saved occlusion result: probabilities holds values ...
    """
    try:
        _check_values(arrays, patch_size)
    except ValueError as exc:
        raise ValueError(f"{name!r} is not a valid saved occlusion result: {exc}") from None


def _check_values(arrays: dict[str, Any], patch_size) -> None:
    probs, computed = arrays["probabilities"], arrays["computed"]
    if not np.isfinite(probs[computed]).all():
        raise ValueError("probabilities holds NaN or infinite values at computed positions")
    for key in ("probabilities", "base_probabilities", "baseline_probabilities"):
        values = arrays.get(key)
        if values is None:
            continue
        if key == "base_probabilities" and not np.isfinite(values).all():
            raise ValueError("base_probabilities holds NaN or infinite values")
        # NaN (not computed yet) passes both comparisons; -inf, inf and the rest do not.
        outside = (values < -_SLACK) | (values > 1 + _SLACK)
        if outside.any():
            found = values[outside]
            raise ValueError(
                f"{key} holds values outside [0, 1] (from {float(found.min()):g} to "
                f"{float(found.max()):g}); probabilities never are"
            )
    for key in ("image", "baseline"):
        if not np.isfinite(arrays[key]).all():
            raise ValueError(f"{key} holds NaN or infinite pixels")
    h, w = arrays["image"].shape[:2]
    ph, pw = (int(v) for v in patch_size)
    for label, starts, patch, size in (
        ("tops", arrays["tops"], ph, h),
        ("lefts", arrays["lefts"], pw, w),
    ):
        if starts.size and (starts.min() < 0 or int(starts.max()) + patch > size):
            raise ValueError(f"{label} place {patch}-pixel patches outside the {size}-pixel image")


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.2f} MB"


def _short(value) -> str:
    """A value or an error in at most 120 characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= 120 else text[:117] + "..."
