"""Which model wrote a dataset store, so that a resumed sweep does not mix two models' maps.

The store records a description of the model next to the sweep parameters. A Keras model is
known by a digest of its weights, a ``.keras`` file by a digest of its bytes: resuming with other
weights is refused. A plain callable or a ``model_factory`` is recorded by name only (a wrapper
around the same model is a different function), and a model given once as an object and once as
a file cannot be compared: those resume.
"""

from __future__ import annotations

import hashlib
import os

from ..engine.fingerprint import weights_fingerprint

__all__ = ["describe_model", "model_mismatch"]


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
    key = {"keras": "weights", "file": "digest"}.get(str(old.get("kind")))
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
