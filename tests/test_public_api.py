"""The public API changes only on purpose (issue 21, item 7).

``PUBLIC_API`` below holds every public name of ``occlusion_widget`` (``ow.__all__``, and the
documented ``ow.demo``), each function's signature, each class's constructor and the methods,
properties and synced traits it defines. A change to any of them fails
:func:`test_the_public_api_is_the_one_recorded` until this file and ``CHANGELOG.md`` say what
changed; regenerate the literal with ``python tests/test_public_api.py`` (then ``ruff
format``) and review the diff. ``ow.engine`` and ``ow.dataset`` are internal layers (the API
pages document the top level only), so their own names are free to move.
"""

from __future__ import annotations

import inspect
import pprint
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import traitlets

import occlusion_widget as ow

ROOT = Path(__file__).resolve().parents[1]


def _member(cls: type, name: str) -> str | None:
    owner = next((k for k in cls.__mro__ if name in vars(k)), None)
    if owner is None or not owner.__module__.startswith("occlusion_widget"):
        return None  # inherited from ipywidgets, traitlets, Exception ...: not ours to hold
    raw = vars(owner)[name]
    if isinstance(raw, traitlets.TraitType):
        return f"trait {type(raw).__name__}"
    if isinstance(raw, property):
        return "property"
    if isinstance(raw, (classmethod, staticmethod)) or callable(raw):
        return str(inspect.signature(getattr(cls, name)))
    return type(raw).__name__


def _describe(obj: object) -> object:
    if isinstance(obj, types.ModuleType):
        names = getattr(obj, "__all__", None) or [
            n
            for n, v in vars(obj).items()
            if not n.startswith("_")
            and callable(v)
            and getattr(v, "__module__", "").startswith(obj.__name__)
        ]
        return {n: _describe(getattr(obj, n)) for n in sorted(names)}
    if inspect.isclass(obj):
        try:
            described: dict[str, str] = {"(init)": str(inspect.signature(obj))}
        except ValueError:  # an exception class: its bases say what it is
            described = {"(bases)": ", ".join(b.__name__ for b in obj.__bases__)}
        for name in sorted(dir(obj)):
            if not name.startswith("_") and (kind := _member(obj, name)) is not None:
                described[name] = kind
        return described
    if callable(obj):
        return str(inspect.signature(obj))
    return "Path" if isinstance(obj, Path) else type(obj).__name__


def current_api() -> dict[str, object]:
    """The public API as it is now, in the form of :data:`PUBLIC_API`."""
    api = {name: _describe(getattr(ow, name)) for name in sorted(ow.__all__)}
    api["demo"] = _describe(ow.demo)
    return api


PUBLIC_API: dict[str, object] = {
    "FidelityCurves": {
        "(init)": "(fractions: 'np.ndarray', deletion: 'np.ndarray', insertion: "
        "'np.ndarray', deletion_auc: 'float', insertion_auc: 'float', "
        "target: 'int', baseline_name: 'str', insertion_baseline_name: "
        "'str') -> None"
    },
    "GalleryWidget": {
        "(init)": "(dataset: 'Any', *, labels: 'Any' = None, page_size: 'int' = 24, "
        "sort_by: 'str' = 'flip_fraction', descending: 'bool' = True, "
        "filters: 'dict | None' = None, max_side: 'int' = 64) -> 'None'",
        "close": "(self) -> 'None'",
        "descending": "property",
        "filters": "property",
        "follow_seconds": "float",
        "items": "property",
        "open_image": "(self, image_id: 'str') -> 'OcclusionWidget'",
        "page": "property",
        "page_size": "property",
        "refresh": "(self) -> 'None'",
        "selected": "property",
        "sort_by": "property",
        "total_matching": "property",
    },
    "ModelError": {"(bases)": "RuntimeError", "partial_result": "NoneType"},
    "OcclusionDataset": {
        "(init)": "(store, model=None, preprocess=None)",
        "confusion": "(self, by='true', flips_only=True, labels=None)",
        "errors": "property",
        "fragile": "(self, n=10)",
        "plot_confusion": "(self, by='true', flips_only=True, labels=None, ax=None)",
        "result": "(self, which) -> 'OcclusionResult'",
        "result_from_arrays": "(self, row, arrays: 'dict') -> 'OcclusionResult'",
        "results": "(self, which) -> 'list'",
    },
    "OcclusionResult": {
        "(init)": "(*, probabilities, base_probabilities, computed, image, "
        "baseline, value_range, patch_size, stride, tops, lefts, "
        "baseline_name='', output_kind='', mode='occlude', "
        "baseline_probabilities=None)",
        "approximation_note": "(self) -> 'str | None'",
        "attribution": "(self, target=None) -> 'np.ndarray'",
        "base_class": "property",
        "base_probability": "(self, target=None) -> 'float'",
        "box": "(self, row: 'int', col: 'int') -> 'tuple[int, int, int, int]'",
        "class_counts": "(self) -> 'dict[int, int]'",
        "classes_of": "(self, target=None) -> 'tuple[int, ...]'",
        "cols": "property",
        "complete": "property",
        "done": "property",
        "flat_note": "(self, target=None, labels=None) -> 'str | None'",
        "flips": "(self) -> 'np.ndarray'",
        "image_shape": "property",
        "load": "(path) -> 'OcclusionResult'",
        "max_drop": "(self, target=None) -> 'float'",
        "num_classes": "property",
        "occluded_image": "(self, row: 'int', col: 'int') -> 'np.ndarray'",
        "predicted_classes": "(self) -> 'np.ndarray'",
        "probability": "(self, target=None) -> 'np.ndarray'",
        "rows": "property",
        "save": "(self, path) -> 'None'",
        "sensitivity": "(self, target=None) -> 'np.ndarray'",
        "target_name": "(self, target=None, labels=None) -> 'str'",
        "total": "property",
    },
    "OcclusionSensitivity": {
        "(init)": "(model, *, patch_size=16, stride=8, baseline='gray', "
        "mode='occlude', output='auto', batch_size=None, "
        "value_range=None, resize=False, progress=False, "
        "method='auto')",
        "explain": "(self, x, targets=None)",
        "occlusion_map": "(self, x)",
    },
    "OcclusionWidget": {
        "(init)": "(model: 'Any' = None, image: 'Any' = None, *, labels: 'Any' = "
        "None, target: 'Any' = None, top_k: 'int' = 5, view: 'str' = "
        "'sensitivity', opacity: 'float' = 0.7, color_scale: 'str' = "
        "'auto', caption: 'str' = '', session: 'SweepSession | None' = "
        "None, **params: 'Any') -> 'None'",
        "base_probabilities": "trait Array",
        "baseline": "trait Choice",
        "baseline_image": "trait Array",
        "baseline_options": "trait List",
        "baseline_probabilities": "trait Array",
        "cancel": "(self) -> 'None'",
        "caption": "trait Unicode",
        "close": "(self) -> 'None'",
        "color_scale": "trait Choice",
        "error": "trait Unicode",
        "estimated": "trait Array",
        "from_result": "(result: 'OcclusionResult', *, image: 'Any' = None, "
        "labels: 'Any' = None, top_k: 'int' = 5, model: 'Any' = "
        "None, preprocess: 'Any' = None, output: 'str' = 'auto', "
        "caption: 'str' = '', **display: 'Any') -> "
        "'OcclusionWidget'",
        "grid": "trait Dict",
        "image": "trait Array",
        "labels": "trait List",
        "mode": "trait Choice",
        "note": "trait Unicode",
        "opacity": "trait Fraction",
        "partial_result": "property",
        "patch_size": "trait Pair",
        "probe": "(self, region: 'Any') -> 'np.ndarray'",
        "progress": "trait Dict",
        "recompute": "(self, **params: 'Any') -> 'None'",
        "result": "property",
        "save": "(self, path: 'str | Path', dpi: 'int' = 150) -> 'Path'",
        "selected": "trait Cell",
        "selection": "property",
        "session": "property",
        "status": "trait Enum",
        "stride": "trait Pair",
        "target": "trait Target",
        "target_map": "trait Array",
        "to_html": "(self, path: 'str | Path', **options: 'Any') -> 'Path'",
        "top_k": "trait Count",
        "topk_indices": "trait Array",
        "topk_probabilities": "trait Array",
        "view": "trait Choice",
        "wait": "(self, timeout: 'float | None' = None) -> 'str'",
    },
    "__version__": "str",
    "compare": "(model, image, *, labels=None, **kwargs) -> 'PlottedComparison'",
    "demo": {
        "CLASS_NAMES": "list",
        "IMAGE_SIZE": "int",
        "WEIGHTS_PATH": "Path",
        "build_model": "(weight_seed: 'int' = 0) -> 'keras.Model'",
        "load_model": "() -> 'keras.Model'",
        "make_dataset": "(n: 'int', seed: 'int' = 0, image_size: 'int' = 64) -> "
        "'tuple[np.ndarray, np.ndarray, np.ndarray]'",
        "sample_image": "(kind: 'str' = 'circle', seed: 'int' = 0, image_size: 'int' = 64) "
        "-> 'tuple[np.ndarray, np.ndarray]'",
    },
    "export_html": "(source: 'Any', path: 'str | Path', *, labels: 'Any' = None, target: 'int | "
    "None' = None, view: 'str | None' = None, targets: 'Any' = None, title: 'str | "
    "None' = None, max_probability_bytes: 'int' = 8000000) -> 'Path'",
    "fidelity": "(model, result: 'OcclusionResult', *, preprocess=None, steps=50, target=None, "
    "baseline=None, insertion_baseline=None, batch_size=None, output=None) -> "
    "'FidelityCurves'",
    "iter_occlusion": "(model, image, *, patch_size=16, stride=8, baseline='gray', "
    "mode='occlude', preprocess=None, output='auto', batch_size=None, "
    "value_range=None, resize=False, progress=False, cancel=None, "
    "method='auto')",
    "labels": {
        "CIFAR10": "tuple",
        "as_list": "(labels, num_classes: 'int') -> 'list[str]'",
        "cifar10": "() -> 'list[str]'",
        "imagenet": "() -> 'list[str]'",
        "imagenet_wordnet_ids": "() -> 'list[str]'",
        "resolve": "(labels)",
    },
    "occlusion_map": "(model, image, *, patch_size=16, stride=8, baseline='gray', mode='occlude', "
    "preprocess=None, output='auto', batch_size=None, value_range=None, "
    "resize=False, progress=True, cancel=None, method='auto') -> "
    "'OcclusionResult'",
    "open_dataset": "(store, storage_options=None, *, model=None, preprocess=None) -> "
    "'OcclusionDataset'",
    "plot_class_map": "(result, target=None, labels=None, axes=None, save_path=None, "
    "max_legend=None, cmap=None, same_colors_as=None)",
    "sweep_dataset": "(model=None, images=None, *, labels=None, store=None, backend='local', "
    "patch_size=16, stride=8, baseline='gray', preprocess=None, output='auto', "
    "batch_size=None, resize=None, top_k=None, channels=None, "
    "model_factory=None, progress=True, cancel=None, storage_options=None, "
    "ray_options=None, **sweep_options) -> 'OcclusionDataset'",
    "visualize": "(explanation, image, save_path=None, target=None, axes=None, cmap=None, "
    "alpha=0.5, title=None, *, labels=None, scale='auto')",
    "vizualize": "(explanation, image, save_path=None, **kwargs)",
}


def test_the_public_api_is_the_one_recorded() -> None:
    now = current_api()
    for name in sorted(set(PUBLIC_API) | set(now)):
        assert now.get(name) == PUBLIC_API.get(name), (
            f"the public API of occlusion_widget changed at {name!r}: if on purpose, record it "
            f"in CHANGELOG.md and regenerate PUBLIC_API (python tests/test_public_api.py)"
        )


def test_the_changelog_has_an_entry_for_this_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text or f"## [{ow.__version__}]" in text


def _result() -> ow.OcclusionResult:
    def model(batch):
        p = batch.mean(axis=(1, 2, 3))
        return np.stack([1 - p, p], axis=1)

    return ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4, progress=False)


def test_from_result_takes_image_and_labels_by_position_with_a_warning() -> None:
    # The first release's call: from_result(result, image, labels). It raised TypeError once
    # from_result's arguments became keyword-only; it works again, and says what to write.
    result = _result()
    image = np.zeros((8, 8))
    with pytest.warns(DeprecationWarning, match=r"by position is deprecated.*image=\.\.\."):
        w = ow.OcclusionWidget.from_result(result, image, ["dark", "light"])
    try:
        assert w.labels == ["dark", "light"]
        assert w.status == "done"
        assert w.session.display_image().shape[:2] == (8, 8)
    finally:
        w.close()


def test_from_result_by_name_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = ow.OcclusionWidget.from_result(_result(), labels=["dark", "light"])
    w.close()


def test_from_result_refuses_a_value_given_twice_or_too_many_by_position() -> None:
    result = _result()
    with pytest.raises(TypeError, match="multiple values for 'image'"):
        ow.OcclusionWidget.from_result(result, None, image=None)
    with pytest.raises(TypeError, match="at most 2 more values by position"):
        ow.OcclusionWidget.from_result(result, None, None, 5)


if __name__ == "__main__":
    print(pprint.pformat(current_api(), width=96, sort_dicts=True))
