"""Trait types and binary serialisation for the widget's synced state.

Arrays travel as ``{"view": memoryview, "dtype": str, "shape": list}``: ipywidgets lifts every
memoryview out of the JSON message into a binary buffer, so a million floats travel as 4 MB of
bytes, not 20 MB of JSON text. ``js/state/codecs.ts`` decodes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..engine.grid import normalize_pair

__all__ = [
    "SUPPORTED_DTYPES",
    "Array",
    "Cell",
    "Choice",
    "Count",
    "Fraction",
    "Pair",
    "Target",
    "WidgetValueError",
    "array_from_json",
    "array_serialization",
    "array_to_json",
    "grid_serialization",
    "grid_state",
]

#: dtypes the frontend can decode into a typed array without copying.
SUPPORTED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")


class WidgetValueError(traitlets.TraitError, ValueError):
    """A trait was given a value outside what it allows.

    Both a :class:`traitlets.TraitError` (what traitlets users catch) and a :class:`ValueError`
    (what everyone else catches).

    Examples
    --------
    >>> issubclass(WidgetValueError, ValueError)
    True
    """


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


def grid_state(grid: Any) -> dict[str, Any]:
    """The ``grid`` trait's value for an engine :class:`~occlusion_widget.engine.Grid`.

    Examples
    --------
    >>> from occlusion_widget.engine import make_grid
    >>> state = grid_state(make_grid((16, 16), 8, 4))
    >>> state["rows"], state["patch"], state["tops"].tolist()
    (3, [8, 8], [0, 4, 8])
    """
    return {
        "rows": int(grid.rows),
        "cols": int(grid.cols),
        "patch": [int(v) for v in grid.patch_size],
        "stride": [int(v) for v in grid.stride],
        "tops": np.asarray(grid.tops, np.int32),
        "lefts": np.asarray(grid.lefts, np.int32),
    }


def _grid_to_json(grid: dict[str, Any] | None, widget: Any = None) -> dict[str, Any] | None:
    if grid is None:
        return None
    return {**grid, "tops": array_to_json(grid["tops"]), "lefts": array_to_json(grid["lefts"])}


def _grid_from_json(value: dict[str, Any] | None, widget: Any = None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        **value,
        "tops": array_from_json(value["tops"]),
        "lefts": array_from_json(value["lefts"]),
    }


grid_serialization = {"to_json": _grid_to_json, "from_json": _grid_from_json}


class Array(traitlets.TraitType):
    """A numpy array trait of a fixed dtype and number of dimensions (None allowed).

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     values = Array("float32", 1)
    >>> Holder(values=[1, 2]).values.dtype
    dtype('float32')
    """

    default_value = None
    allow_none = True

    def __init__(self, dtype: str, ndim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dtype = np.dtype(dtype)
        self.ndim = ndim
        self.info_text = f"a {ndim}-d {self.dtype} array or None"

    def validate(self, obj: Any, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        array = np.asarray(value)
        if array.ndim != self.ndim:
            raise WidgetValueError(
                f"{self.name} must be a {self.ndim}-d array; got shape {array.shape}"
            )
        return np.ascontiguousarray(array, dtype=self.dtype)


class Pair(traitlets.TraitType):
    """``[height, width]`` of positive ints; an int ``n`` is taken as ``[n, n]``.

    The engine's :func:`~occlusion_widget.engine.grid.normalize_pair` decides what is allowed,
    so the widget accepts exactly what the engine accepts (``8.0`` included).

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     patch_size = Pair([16, 16])
    >>> Holder(patch_size=8.0).patch_size
    [8, 8]
    """

    info_text = "a positive int or a (height, width) pair of positive ints"

    def validate(self, obj: Any, value: Any) -> list[int]:
        try:
            return list(normalize_pair(value, self.name))
        except (TypeError, ValueError) as exc:
            raise WidgetValueError(str(exc)) from None


class Choice(traitlets.Unicode):
    """A string from a fixed list, or from the list another trait of the object holds.

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     view = Choice(("a", "b"), "a")
    >>> Holder(view="c")
    Traceback (most recent call last):
    ...
    occlusion_widget.widget.traits.WidgetValueError: view must be one of 'a', 'b'; got 'c'
    """

    def __init__(
        self,
        choices: tuple[str, ...] = (),
        default_value: str = "",
        *,
        choices_from: str = "",
        advice: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(default_value, **kwargs)
        self.choices, self.choices_from, self.advice = tuple(choices), choices_from, advice

    def validate(self, obj: Any, value: Any) -> str:
        choices = getattr(obj, self.choices_from) if self.choices_from else self.choices
        if value not in choices:
            raise WidgetValueError(
                f"{self.name} must be one of {', '.join(map(repr, choices))}; got {value!r}"
                f"{self.advice}"
            )
        return str(value)


class Fraction(traitlets.Float):
    """A float from 0 to 1.

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     opacity = Fraction(0.5)
    >>> Holder(opacity=1).opacity
    1.0
    """

    def validate(self, obj: Any, value: Any) -> float:
        number = super().validate(obj, value)
        if not 0.0 <= number <= 1.0:
            raise WidgetValueError(f"{self.name} must be between 0 and 1; got {value!r}")
        return number


class Count(traitlets.Int):
    """An int of at least 1.

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     top_k = Count(5)
    >>> Holder(top_k=3).top_k
    3
    """

    def validate(self, obj: Any, value: Any) -> int:
        if isinstance(value, (bool, np.bool_)):
            raise WidgetValueError(f"{self.name} must be a whole number, at least 1; got {value!r}")
        number = super().validate(obj, value)
        if number < 1:
            raise WidgetValueError(f"{self.name} must be at least 1; got {value!r}")
        return number


class Cell(traitlets.List):
    """``[row, col]`` inside the object's ``grid`` trait (``{"rows", "cols", ...}``), or None.

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     grid = traitlets.Dict({"rows": 2, "cols": 3})
    ...     selected = Cell()
    >>> Holder(selected=(1, 2)).selected
    [1, 2]
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(traitlets.Int(), None, allow_none=True, minlen=2, maxlen=2, **kwargs)

    def validate(self, obj: Any, value: Any) -> list[int] | None:
        if value is None:
            return None
        row, col = (int(v) for v in super().validate(obj, [int(v) for v in value]))
        rows, cols = obj.grid["rows"], obj.grid["cols"]
        if not (0 <= row < rows and 0 <= col < cols):
            raise WidgetValueError(
                f"{self.name} {(row, col)} is outside the grid of {rows} rows x {cols} columns; "
                f"use (row, col) with 0 <= row < {rows} and 0 <= col < {cols}, or None"
            )
        return [row, col]


class Target(traitlets.TraitType):
    """The class a map explains: an int, a group of classes (a sorted list of ints, their
    probabilities summed) or None. Names resolve through the object's ``labels`` trait; a
    one-class group becomes that int. ``count_from`` names the object's attribute holding the
    class count (None while unknown).

    Examples
    --------
    >>> class Holder(traitlets.HasTraits):
    ...     labels = traitlets.List(["cat", "dog", "car"])
    ...     classes = 3
    ...     target = Target(count_from="classes")
    >>> Holder(target=["dog", 0]).target, Holder(target=[2]).target
    ([0, 1], 2)
    """

    info_text = "a class index, a list of them (a group), or None"

    def __init__(self, *, count_from: str = "", **kwargs: Any) -> None:
        super().__init__(None, allow_none=True, **kwargs)
        self.count_from = count_from

    def validate(self, obj: Any, value: Any) -> int | list[int] | None:
        if value is None:
            return None
        if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            items = value.ravel().tolist() if isinstance(value, np.ndarray) else list(value)
            members = [self._one(obj, m) for m in items]
            if not members:
                raise WidgetValueError(
                    f"{self.name} group is empty: give one class or a list of classes"
                )
            if len(set(members)) != len(members):
                raise WidgetValueError(f"{self.name} group lists a class twice: {list(value)!r}")
            return members[0] if len(members) == 1 else sorted(members)
        return self._one(obj, value)

    def _one(self, obj: Any, value: Any) -> int:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str):
            names = list(getattr(obj, "labels", None) or [])
            if value not in names:
                import difflib

                close = difflib.get_close_matches(value, names, n=3)
                advice = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                known = "" if names else " (class names are known once the model has run)"
                raise WidgetValueError(f"{self.name} {value!r} is not a class name{known}{advice}")
            return names.index(value)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise WidgetValueError(
                f"{self.name} must be a class index, a class name or a list of them (a group); "
                f"got {value!r}"
            )
        count = getattr(obj, self.count_from, None) if self.count_from else None
        if value < 0 or (count is not None and value >= count):
            known = f"the model has {count} classes (0 to {count - 1})" if count else "must be >= 0"
            raise WidgetValueError(f"{self.name} {value} is out of range: {known}")
        return int(value)
