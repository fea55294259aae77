"""Save and load an :class:`~occlusion_widget.engine.result.OcclusionResult`: one ``.npz``.

A loaded file is checked whole (:mod:`.result_checks`): a damaged, altered or crafted file fails
on load, before anything large is read, with a message that names it and what is wrong, never
later with an IndexError.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .paths import checked_output_path
from .result_checks import REQUIRED, check_headers, check_meta, check_values, read_headers

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
    >>> load_result(path, type(result)).total
    4
    """
    path = checked_output_path(path, "the result", "occlusion.npz")
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


def load_result(path, cls):
    """Read a result written by :func:`save_result`, as ``cls`` (the OcclusionResult class,
    passed in so that this module never imports the one that calls it).

    The file is checked before anything large is read (see :mod:`.result_checks`), and its
    values after.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is no saved result, is damaged or altered, or its arrays disagree in dtype,
        shape, size or values; the message names the file.
    """
    name = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no saved occlusion result at {name!r}")
    headers = read_headers(path, name)
    check_headers(headers, name)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in REQUIRED}
            empty = data["baseline_probabilities"] if "baseline_probabilities" in data else None
            meta = json.loads(str(data["meta"]))
            info_arrays = {
                key[len(_INFO) :]: data[key] for key in data.files if key.startswith(_INFO)
            }
    except Exception as exc:  # zip, npy and JSON errors all mean a damaged file
        text = " ".join(str(exc).split())[:200]
        raise ValueError(
            f"{name!r} is not a saved occlusion result, or it is damaged "
            f"({type(exc).__name__}: {text}); save it again with result.save(path)"
        ) from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{name!r} is not a saved occlusion result: its metadata is no dict")
    lacking = [key for key in ("value_range", "patch_size", "stride") if key not in meta]
    if lacking:
        raise ValueError(
            f"{name!r} is not a valid saved occlusion result: its metadata lacks "
            f"{', '.join(lacking)}"
        )
    version = meta.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{name!r} was saved by a newer occlusion_widget "
            f"(format {version!r}); upgrade to read it"
        )
    check_meta(meta, arrays["image"].shape, name)
    check_values({**arrays, "baseline_probabilities": empty}, meta["patch_size"], name)
    try:
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
