"""Save and load an :class:`~occlusion_widget.engine.result.OcclusionResult`: one ``.npz``.

A loaded file is checked whole: a damaged or altered file fails on load with a message that
names it and what is wrong, never later with an IndexError.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["FORMAT_VERSION", "load_result", "save_result"]

#: Version of the file layout; a newer file is refused with a message to upgrade.
FORMAT_VERSION = 1


def save_result(result, path) -> None:
    """Write ``result``'s arrays and parameters to ``path`` (no ``.npz`` appended).

    Examples
    --------
    >>> import os, tempfile, occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           progress=False)
    >>> path = os.path.join(tempfile.mkdtemp(), "result.occ")
    >>> save_result(result, path)
    >>> load_result(path).total
    4
    """
    meta = {
        "format_version": FORMAT_VERSION,
        "value_range": list(result.value_range),
        "patch_size": list(result.patch_size),
        "stride": list(result.stride),
        "baseline_name": result.baseline_name,
        "output_kind": result.output_kind,
        "mode": result.mode,
    }
    info, info_arrays = _split_info(getattr(result, "info", {}) or {})
    meta["info"] = info
    extra = {f"{_INFO}{key}": value for key, value in info_arrays.items()}
    if result.baseline_probabilities is not None:
        extra["baseline_probabilities"] = result.baseline_probabilities
    with open(path, "wb") as fh:  # an open file stops numpy from appending ".npz"
        np.savez_compressed(
            fh,
            probabilities=result.probabilities,
            base_probabilities=result.base_probabilities,
            computed=result.computed,
            image=result.image,
            baseline=result.baseline,
            tops=result.tops,
            lefts=result.lefts,
            meta=np.array(json.dumps(meta)),
            **extra,
        )


def load_result(path, cls=None):
    """Read a result written by :func:`save_result` (as ``cls``, an OcclusionResult class).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is no saved result, is damaged, or its arrays disagree in shape.
    """
    if cls is None:
        from .result import OcclusionResult as cls
    name = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no saved occlusion result at {name!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in (*_ARRAYS, "meta") if key not in data.files]
            if missing:
                raise _Corrupt(f"it lacks the arrays {', '.join(missing)}")
            arrays = {key: data[key] for key in _ARRAYS}
            empty = data["baseline_probabilities"] if "baseline_probabilities" in data else None
            meta = json.loads(str(data["meta"]))
            info_arrays = {
                key[len(_INFO) :]: data[key] for key in data.files if key.startswith(_INFO)
            }
    except _Corrupt as exc:
        raise ValueError(f"{name!r} is not a saved occlusion result: {exc}") from None
    except Exception as exc:  # zip, npy and JSON errors all mean a damaged file
        raise ValueError(
            f"{name!r} is not a saved occlusion result, or it is damaged "
            f"({type(exc).__name__}: {exc}); save it again with result.save(path)"
        ) from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{name!r} is not a saved occlusion result: its metadata is no dict")
    lacking = [key for key in ("value_range", "patch_size", "stride") if key not in meta]
    if lacking:
        raise ValueError(
            f"{name!r} is not a valid saved occlusion result: its metadata lacks "
            f"{', '.join(lacking)}"
        )
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{name!r} was saved by a newer occlusion_widget "
            f"(format {meta['format_version']}); upgrade to read it"
        )
    try:
        _check_saved_shapes(arrays, meta)
        result = cls(
            **arrays,
            value_range=tuple(meta["value_range"]),
            patch_size=tuple(meta["patch_size"]),
            stride=tuple(meta["stride"]),
            baseline_name=meta.get("baseline_name", ""),
            output_kind=meta.get("output_kind", ""),
            # Files from before reveal mode existed were all occlusion sweeps.
            mode=meta.get("mode", "occlude"),
            baseline_probabilities=empty,
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"{name!r} is not a valid saved occlusion result: {exc}") from None
    # Files from before info was saved load with an empty one.
    info = meta.get("info", {})
    result.info = {**(info if isinstance(info, dict) else {}), **info_arrays}
    return result


#: Prefix of the saved arrays that hold ``result.info``'s array values.
_INFO = "info__"


def _split_info(info):
    """``result.info`` as (JSON-safe values, top-level numpy arrays saved beside them).

    Examples
    --------
    >>> _split_info({"method": "adaptive", "n": np.int64(3), "mask": np.ones(2, bool)})
    ({'method': 'adaptive', 'n': 3}, {'mask': array([ True,  True])})
    """
    arrays = {k: v for k, v in info.items() if isinstance(v, np.ndarray) and v.ndim > 0}
    rest = {k: v for k, v in info.items() if k not in arrays}
    return json.loads(json.dumps(rest, default=_plain)), arrays


def _plain(value):
    """JSON fallback for numpy scalars and arrays nested in ``result.info`` (else its repr)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return repr(value)


_ARRAYS = ("probabilities", "base_probabilities", "computed", "image", "baseline", "tops", "lefts")


class _Corrupt(Exception):
    """A saved file that opened but is not a result (internal to load)."""


def _check_saved_shapes(arrays, meta) -> None:
    """Check the saved arrays against each other, so that a damaged file fails on load, not
    later with an IndexError."""
    probs, base = arrays["probabilities"], arrays["base_probabilities"]
    computed, image, baseline = arrays["computed"], arrays["image"], arrays["baseline"]
    tops, lefts = arrays["tops"], arrays["lefts"]
    if image.ndim != 3:
        raise ValueError(f"image has shape {image.shape}, not (H, W, C)")
    if baseline.shape != image.shape:
        raise ValueError(f"baseline has shape {baseline.shape} but image {image.shape}")
    if probs.ndim != 3:
        raise ValueError(f"probabilities has shape {probs.shape}, not (rows, cols, classes)")
    rows, cols, k = probs.shape
    if base.shape != (k,):
        raise ValueError(
            f"base_probabilities has shape {base.shape} but probabilities has {k} classes"
        )
    if computed.shape != (rows, cols):
        raise ValueError(
            f"computed has shape {computed.shape} but probabilities {(rows, cols)} positions"
        )
    if tops.shape != (rows,) or lefts.shape != (cols,):
        raise ValueError(
            f"tops/lefts have {tops.shape}/{lefts.shape} entries for a grid of {rows} x {cols}"
        )
    h, w = image.shape[:2]
    ph, pw = (int(v) for v in meta["patch_size"])
    for label, starts, patch, size in (("tops", tops, ph, h), ("lefts", lefts, pw, w)):
        if starts.size and (starts.min() < 0 or starts.max() + patch > size):
            raise ValueError(f"{label} place {patch}-pixel patches outside the {size}-pixel image")
