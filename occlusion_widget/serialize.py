"""Arrays as binary widget state: ``{"view": memoryview, "dtype": str, "shape": list}``.

ipywidgets lifts every memoryview out of the JSON message into a binary buffer, so an array of a
million floats travels as 4 MB of bytes, not as 20 MB of JSON text. ``js/codecs.ts`` decodes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: dtypes the frontend can decode into a typed array without copying.
SUPPORTED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")


def array_to_json(value: np.ndarray | None, widget: Any = None) -> dict[str, Any] | None:
    """Serialise an array for the frontend as a binary buffer plus its dtype and shape.

    Examples
    --------
    >>> msg = array_to_json(np.zeros((2, 3), dtype=np.uint8))
    >>> msg["dtype"], msg["shape"], msg["view"].nbytes
    ('uint8', [2, 3], 6)
    """
    if value is None:
        return None
    array = np.ascontiguousarray(value)
    if array.dtype.name not in SUPPORTED_DTYPES:
        raise TypeError(
            f"cannot send an array of dtype {array.dtype} to the browser; "
            f"allowed: {', '.join(SUPPORTED_DTYPES)}"
        )
    # Typed arrays in the browser are little-endian on every platform we target.
    array = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {
        "view": memoryview(array.reshape(-1)),
        "dtype": array.dtype.name,
        "shape": list(array.shape),
    }


def array_from_json(value: dict[str, Any] | None, widget: Any = None) -> np.ndarray | None:
    """Inverse of :func:`array_to_json` (used when the frontend sends an array back).

    Examples
    --------
    >>> a = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> np.array_equal(array_from_json(array_to_json(a)), a)
    True
    """
    if value is None:
        return None
    buffer = value["view"]
    data = np.frombuffer(bytes(buffer), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
    return data.reshape(value["shape"]).copy()


array_serialization = {"to_json": array_to_json, "from_json": array_from_json}
