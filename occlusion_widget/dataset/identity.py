"""Which model wrote a dataset store, so that a resumed sweep does not mix two models' maps.

The store records a description of the model next to the sweep parameters. A Keras model is
known by a digest of its weights, a ``.keras`` file by a digest of its bytes: resuming with other
weights is refused. A plain callable or a ``model_factory`` is recorded by name only, and a model
given once as an object and once as a file has no digest to compare: for those the model's
answers are compared instead (:func:`answer_mismatch`): it scores a few images the store holds,
and probabilities other than the stored ones are refused.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from ..engine.fingerprint import weights_fingerprint
from ..engine.model import make_forward, to_probabilities

__all__ = [
    "ANSWER_TOLERANCE",
    "answer_mismatch",
    "describe_model",
    "model_mismatch",
    "same_by_digest",
]

#: How far a model's probabilities on a stored image may be from the stored ones. Scoring one
#: image in another batch moves float32 probabilities by about 1e-6; other weights move them by
#: far more.
ANSWER_TOLERANCE = 1e-3
#: The field of a model's description that identifies its weights, by kind.
_DIGEST_KEYS = {"keras": "weights", "file": "digest"}


def same_by_digest(old: dict | None, new: dict | None) -> bool:
    """Whether the recorded model and this one are the same by a digest of their weights or
    file (no need to compare their answers).

    Examples
    --------
    >>> a = {"kind": "keras", "name": "net", "weights": "0a1b"}
    >>> same_by_digest(a, dict(a, name="net_2")), same_by_digest(a, {"kind": "callable"})
    (True, False)
    """
    if not old or not new or old.get("kind") != new.get("kind"):
        return False
    key = _DIGEST_KEYS.get(str(old.get("kind")))
    return key is not None and old.get(key) is not None and old.get(key) == new.get(key)


def answer_mismatch(store, keys, model, preprocess=None, output="auto") -> str:
    """Why ``model`` did not write the maps of ``keys`` (done images of ``store``): its
    probabilities on their stored images differ from the stored ones; "" when they match
    (or when the images cannot be scored here: the sweep itself then says why).

    Examples
    --------
    >>> from occlusion_widget.dataset.store import MemoryStore
    >>> store = MemoryStore()
    >>> store.write_arrays("k", {"image": np.full((2, 2), 0.25, np.float32),
    ...                          "base_probabilities": np.array([0.25, 0.75], np.float32)})
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2)), 1 - b.mean(axis=(1, 2))], 1)
    >>> answer_mismatch(store, ["k"], model)
    ''
    >>> answer_mismatch(store, ["k"], lambda b: model(b)[:, ::-1])
    'its probabilities on 1 image(s) the store holds differ from the stored ones by up to 0.5'
    """
    if not keys:
        return ""
    found = store.read_many(list(keys), errors="return")
    images, stored = [], []
    for arrays in found.values():
        if isinstance(arrays, dict) and "image" in arrays and "base_probabilities" in arrays:
            images.append(np.asarray(arrays["image"], np.float32))
            stored.append(np.asarray(arrays["base_probabilities"], np.float32))
    if not images or len({i.shape for i in images}) != 1 or len({p.shape for p in stored}) != 1:
        return ""
    batch = np.stack(images)
    try:
        forward = make_forward(model, preprocess, batch_shape=batch.shape)
        probs, _ = to_probabilities(forward(batch), output)
    except Exception:  # the sweep meets the same failure and reports it
        return ""
    if probs.shape != np.shape(stored):
        return f"it gives {probs.shape[1]} classes where the store holds {np.shape(stored)[1]}"
    diff = float(np.max(np.abs(probs - np.stack(stored))))
    if diff <= ANSWER_TOLERANCE:
        return ""
    return (
        f"its probabilities on {len(images)} image(s) the store holds differ from the stored "
        f"ones by up to {diff:.3g}"
    )


def describe_model(model=None, model_factory=None) -> dict:
    """A JSON description of the model a sweep runs.

    Examples
    --------
    >>> def scores(batch):
    ...     return batch
    >>> describe_model(scores)
    {'kind': 'callable', 'name': 'scores'}
    """
    if model_factory is not None:
        return {"kind": "factory", "name": _name(model_factory)}
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        return {"kind": "file", "name": os.path.basename(path), "digest": _file_digest(path)}
    fingerprint = weights_fingerprint(model)
    if fingerprint is None:
        return {"kind": "callable", "name": _name(model)}
    return {"kind": "keras", "name": str(getattr(model, "name", "")), "weights": fingerprint}


def model_mismatch(old: dict | None, new: dict | None) -> str:
    """Why a store written by ``old`` must not be resumed with ``new`` ("" when it may).

    Examples
    --------
    >>> a = {"kind": "keras", "name": "net", "weights": "0a1b"}
    >>> model_mismatch(a, dict(a, name="net_2"))  # the same weights under another name
    ''
    >>> model_mismatch(a, dict(a, weights="ffff"))
    "the model 'net' whose weights differ (store 0a1b, this sweep ffff)"
    """
    if not old or not new or old.get("kind") != new.get("kind"):
        return ""
    key = _DIGEST_KEYS.get(str(old.get("kind")))
    if key is None or old.get(key) == new.get(key):
        return ""
    what = "weights" if key == "weights" else "file contents"
    return (
        f"the model {new.get('name')!r} whose {what} differ "
        f"(store {str(old.get(key))[:8]}, this sweep {str(new.get(key))[:8]})"
    )


def _name(fn) -> str:
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def _file_digest(path: str) -> str | None:
    try:
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None  # loading it will say what is wrong
