"""Which weights a model holds: one digest, for caches and stores that must not mix models.

Used by the dataset store (a resumed store must be swept by the same model) and by the seed
notebook's explainer (its cache of the last sweep).
"""

from __future__ import annotations

import hashlib

import numpy as np

from .model import is_keras_model

__all__ = ["weights_fingerprint"]


def weights_fingerprint(model) -> str | None:
    """A digest of a Keras model's weights (None for a plain callable).

    Hashing every weight costs ~10 ms for MobileNetV2's 14 MB, next to seconds for a sweep,
    and catches any change, even to one value.

    Examples
    --------
    >>> weights_fingerprint(lambda batch: batch) is None
    True
    """
    if not is_keras_model(model):
        return None
    digest = hashlib.blake2b(digest_size=16)
    for variable in model.weights:
        value = np.ascontiguousarray(variable.numpy())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()
