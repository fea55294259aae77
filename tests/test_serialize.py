"""Arrays travel to the browser as binary buffers, never as JSON lists."""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget.serialize import array_from_json, array_to_json


@pytest.mark.parametrize("dtype", ["uint8", "int32", "float32", "float64"])
def test_round_trip_keeps_values_dtype_and_shape(dtype: str) -> None:
    a = (np.arange(24).reshape(2, 3, 4) * 3 - 7).astype(dtype)
    msg = array_to_json(a)
    assert isinstance(msg["view"], memoryview)
    assert msg["dtype"] == dtype and msg["shape"] == [2, 3, 4]
    assert msg["view"].nbytes == a.nbytes
    back = array_from_json(msg)
    assert back.dtype == a.dtype and np.array_equal(back, a)


def test_non_contiguous_input_is_sent_in_row_major_order() -> None:
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T
    assert np.array_equal(array_from_json(array_to_json(a)), a)


def test_unsupported_dtype_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"complex128.*allowed"):
        array_to_json(np.zeros(3, dtype=np.complex128))


def test_none_passes_through() -> None:
    assert array_to_json(None) is None and array_from_json(None) is None
