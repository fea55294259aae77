"""What a store knows about its contents, independent of how the maps are laid out.

Three fingerprints, each a short string or a small dict kept in the table or the store's
parameters, so that they survive any re-layout of the arrays:

- :func:`image_digest`: an image's identity (its pixels, or a file's bytes), kept in the row;
  a resume skips an image only when both its id and its digest match.
- :func:`arrays_checksum`: one image's stored maps, kept in its row and verified on every read.
- :func:`preprocess_probe`: what ``preprocess`` does, as its output on a fixed probe batch;
  a resume whose ``preprocess`` behaves otherwise is refused.

Examples
--------
>>> import numpy as np
>>> arrays = {"probabilities": np.zeros((2, 2, 3), np.float16)}
>>> verify_arrays(arrays, arrays_checksum(arrays), "the maps of image '0'")
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = [
    "StoreCorruptError",
    "arrays_checksum",
    "image_digest",
    "preprocess_probe",
    "probe_mismatch",
    "verify_arrays",
]

#: Values of the preprocess output kept in the store (at fixed positions) besides its
#: shape, mean and spread.
PROBE_SAMPLES = 32


class StoreCorruptError(ValueError):
    """Part of a dataset store is missing or damaged; the message names the file.

    Re-running :func:`sweep_dataset` with the same store redoes the images concerned.

    Examples
    --------
    >>> raise StoreCorruptError("the maps of image '3' are corrupt")
    Traceback (most recent call last):
    ...
    occlusion_widget.dataset.integrity.StoreCorruptError: the maps of image '3' are corrupt
    """


def _digest() -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=16)


def image_digest(image, path: str = "") -> str:
    """A digest of an image's content: the bytes of its file, or its pixels with their dtype
    and shape (a PIL image or tensor is read as an array first). ``""`` when a file cannot be
    read (sweeping it records why).

    Examples
    --------
    >>> a = np.zeros((4, 4, 3), np.uint8)
    >>> image_digest(a) == image_digest(a.copy()), image_digest(a) == image_digest(a + 1)
    (True, False)
    """
    digest = _digest()
    if path:
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return ""
        return "f" + digest.hexdigest()
    if hasattr(image, "detach") and hasattr(image, "cpu"):
        image = image.detach().cpu().numpy()
    try:
        array = np.ascontiguousarray(np.asarray(image))
    except Exception:  # not an image at all: sweeping it says so
        return ""
    if array.dtype == object:
        return ""
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return "p" + digest.hexdigest()


def arrays_checksum(arrays: dict) -> str:
    """A checksum over one image's stored arrays (names, dtypes, shapes and bytes).

    Examples
    --------
    >>> a = {"image": np.zeros((2, 2), np.uint8)}
    >>> arrays_checksum(a) == arrays_checksum({"image": np.ones((2, 2), np.uint8)})
    False
    """
    digest = _digest()
    for name in sorted(arrays):
        array = np.ascontiguousarray(np.asarray(arrays[name]))
        digest.update(f"{name}:{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def verify_arrays(arrays: dict, expected: str, what) -> None:
    """Raise :class:`StoreCorruptError` unless ``arrays`` match the checksum of their row
    (an empty ``expected``, from a store written before checksums, is not checked).
    ``what`` names them, or is a function that does (called only for the message)."""
    if expected and arrays_checksum(arrays) != expected:
        what = what() if callable(what) else what
        raise StoreCorruptError(
            f"{what} are corrupt: their checksum does not match the one recorded when they "
            f"were written (damaged or missing chunks). Re-run sweep_dataset with the same "
            f"store to redo the image"
        )


def probe_batch(image_shape) -> np.ndarray:
    """The fixed batch ``preprocess`` is fingerprinted on: two ``image_shape`` float32
    images, a ramp over 0..255 and its mirror (deterministic, any shape)."""
    shape = (2, *(int(s) for s in image_shape))
    size = int(np.prod(shape[1:]))
    ramp = (np.arange(size, dtype=np.float64) * 7919 % 256).astype(np.float32)
    return np.stack([ramp, 255.0 - ramp]).reshape(shape)


def preprocess_probe(preprocess, image_shape) -> dict | None:
    """What ``preprocess`` does, as a few numbers of its output on :func:`probe_batch`
    (``None`` without a preprocess; ``{"error": ...}`` when it fails on the probe).

    Examples
    --------
    >>> preprocess_probe(lambda x: x / 255, (4, 4, 3))["shape"]
    [2, 4, 4, 3]
    """
    if preprocess is None or image_shape is None:
        return None
    try:
        out = preprocess(probe_batch(image_shape))
        if hasattr(out, "detach") and hasattr(out, "cpu"):
            out = out.detach().cpu().numpy()
        out = np.asarray(out, np.float64)
    except Exception as exc:  # the sweep itself will report a preprocess that fails
        return {"error": type(exc).__name__}
    flat = out.reshape(-1)
    picks = np.linspace(0, max(flat.size - 1, 0), PROBE_SAMPLES).astype(np.int64)
    with np.errstate(all="ignore"):
        return {
            "shape": [int(s) for s in out.shape],
            "mean": float(flat.mean()) if flat.size else 0.0,
            "std": float(flat.std()) if flat.size else 0.0,
            "values": [float(v) for v in flat[picks]] if flat.size else [],
        }


def probe_mismatch(old: dict | None, new: dict | None) -> str:
    """Why two :func:`preprocess_probe` results describe different preprocessing (``""``
    when they agree within float32 noise).

    Examples
    --------
    >>> a = preprocess_probe(lambda x: x, (2, 2, 1))
    >>> probe_mismatch(a, preprocess_probe(lambda x: x * 0, (2, 2, 1)))[:42]
    'the store was swept with a preprocess whos'
    >>> probe_mismatch(a, preprocess_probe(lambda x: x + 0.0, (2, 2, 1)))
    ''
    """
    if old == new:
        return ""
    if old is None or new is None:
        which = "without a preprocess" if old is None else "with a preprocess"
        now = "this sweep has one" if old is None else "this sweep has none"
        return f"the store was swept {which} and {now}"
    if "error" in old or "error" in new or old.get("shape") != new.get("shape"):
        return (
            f"the store's preprocess and this sweep's give outputs of other shapes on a fixed "
            f"probe batch ({old.get('shape', old.get('error'))} vs "
            f"{new.get('shape', new.get('error'))})"
        )
    a = np.array([old["mean"], old["std"], *old["values"]])
    b = np.array([new["mean"], new["std"], *new["values"]])
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1e-6)
    if np.allclose(a, b, rtol=1e-3, atol=1e-4 * scale, equal_nan=True):
        return ""
    return (
        f"the store was swept with a preprocess whose output on a fixed probe batch differs "
        f"from this sweep's (mean {old['mean']:.4g} vs {new['mean']:.4g}, spread "
        f"{old['std']:.4g} vs {new['std']:.4g})"
    )


def display_path(path) -> str:
    """A path as text that any table can hold: undecodable bytes of a file name become
    ``\\xNN`` escapes (the file itself is still opened by its real name).

    Examples
    --------
    >>> display_path(os.fsdecode(b"caf\\xe9.png"))
    'caf\\\\xe9.png'
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
