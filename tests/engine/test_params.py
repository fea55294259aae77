"""One list of sweep parameters: keyword-only everywhere, the same names and defaults."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine import (
    DEFAULTS,
    SWEEP_PARAMETERS,
    iter_occlusion_maps,
    validate_params,
)
from occlusion_widget.engine.grid import normalize_pair

ENTRY_POINTS = {
    "validate_params": (validate_params, ["image"]),
    "iter_occlusion": (ow.iter_occlusion, ["model", "image"]),
    "occlusion_map": (ow.occlusion_map, ["model", "image"]),
    "iter_occlusion_maps": (iter_occlusion_maps, ["model", "images"]),
}


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_sweep_parameters_are_keyword_only_with_one_set_of_defaults(name):
    function, positional = ENTRY_POINTS[name]
    signature = inspect.signature(function)
    params = list(signature.parameters.values())
    assert [p.name for p in params[: len(positional)]] == positional
    keyword = {p.name: p for p in params[len(positional) :]}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in keyword.values())
    assert set(SWEEP_PARAMETERS) <= set(keyword)
    for parameter in SWEEP_PARAMETERS:
        expected = getattr(DEFAULTS, parameter)
        if name == "occlusion_map" and parameter == "progress":
            expected = True  # the one documented exception: a bar by default
        assert keyword[parameter].default == expected, (name, parameter)


def test_explainer_takes_the_same_parameters():
    signature = inspect.signature(ow.OcclusionSensitivity)
    for name in ("patch_size", "stride", "baseline", "output", "batch_size", "value_range"):
        parameter = signature.parameters[name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default == getattr(DEFAULTS, name)


def test_positional_parameters_are_refused():
    model = lambda b: np.ones((len(b), 2)) / 2  # noqa: E731
    with pytest.raises(TypeError, match="positional"):
        ow.occlusion_map(model, np.ones((8, 8)), 4, 4)
    with pytest.raises(TypeError, match="positional"):
        validate_params(np.ones((8, 8)), 4)


def test_a_sweep_validates_its_parameters_once(monkeypatch):
    from occlusion_widget.engine import grid

    calls = []
    real = grid.make_grid

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    import occlusion_widget.engine.params as params_module

    monkeypatch.setattr(params_module, "make_grid", counting)
    model = lambda b: np.ones((len(b), 2)) / 2  # noqa: E731
    ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4, progress=False)
    assert len(calls) == 1
    calls.clear()
    ow.OcclusionSensitivity(model, patch_size=4, stride=4).explain(np.ones((8, 8)))
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(8, (8, 8)), (8.0, (8, 8)), (np.int64(4), (4, 4)), ((8.0, 4), (8, 4)), ([2, 3], (2, 3))],
)
def test_pairs_accept_whole_numbers(value, expected):
    assert normalize_pair(value, "patch_size") == expected


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (8.5, TypeError, r"patch_size must be a whole number.*got 8.5"),
        ((8, 2.5), TypeError, r"patch_size must be a whole number.*got 2.5"),
        (True, TypeError, r"patch_size must be a number of pixels, not a bool; got True"),
        (0, ValueError, r"patch_size must be positive \(at least 1 pixel\); got 0"),
        (-3, ValueError, r"patch_size must be positive \(at least 1 pixel\); got -3"),
        (float("nan"), TypeError, r"whole number"),
        ("8", TypeError, r"patch_size must be a positive int or a \(height, width\) pair"),
    ],
)
def test_pairs_refuse_what_is_no_size(value, error, match):
    with pytest.raises(error, match=match):
        normalize_pair(value, "patch_size")
