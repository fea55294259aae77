"""Trait types and binary serialisation (occlusion_widget/widget/traits.py)."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from occlusion_widget.widget.traits import (
    Cell,
    Choice,
    Count,
    Fraction,
    Pair,
    WidgetValueError,
    array_from_json,
    array_to_json,
)


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


class Holder(traitlets.HasTraits):
    grid = traitlets.Dict({"rows": 2, "cols": 3})
    patch_size = Pair([16, 16])
    view = Choice(("a", "b"), "a")
    options = traitlets.List(["x", "y"])
    option = Choice(default_value="x", choices_from="options", advice=" (or pass z)")
    opacity = Fraction(0.5)
    top_k = Count(5)
    selected = Cell()


def test_pair_accepts_what_the_engine_accepts() -> None:
    # The engine's normalize_pair takes 8.0 (sizes often come from arithmetic); so does the
    # widget, where an older copy of the rule refused it.
    h = Holder()
    h.patch_size = 8.0
    assert h.patch_size == [8, 8]
    h.patch_size = (np.int64(4), 6)
    assert h.patch_size == [4, 6]
    for bad in (0, 2.5, True, (1, 2, 3), "8"):
        with pytest.raises(WidgetValueError, match="patch_size"):
            h.patch_size = bad


def test_each_trait_says_what_it_allows() -> None:
    h = Holder()
    cases = [
        ("view", "c", r"view must be one of 'a', 'b'; got 'c'"),
        ("option", "z", r"option must be one of 'x', 'y'; got 'z' \(or pass z\)"),
        ("opacity", 1.5, "opacity must be between 0 and 1; got 1.5"),
        ("top_k", 0, "top_k must be at least 1; got 0"),
        ("selected", (2, 0), r"outside the grid of 2 rows x 3 columns"),
    ]
    for name, value, message in cases:
        with pytest.raises(WidgetValueError, match=message):
            setattr(h, name, value)
    h.options = ["x", "y", "z"]
    h.option = "z"
    h.selected = (np.int64(1), 2)
    assert (h.option, h.selected) == ("z", [1, 2])
    h.selected = None
    assert h.selected is None
