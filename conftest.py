"""Names the package's docstring examples share (``pytest --doctest-modules``).

``result`` is a toy sweep whose every number can be worked out by hand: a 16 x 16 white image,
8 x 8 black patches every 4 pixels (a 3 x 3 grid), and three classes: "sky" always 0.1,
"square" 0.8 x the brightness of the top-left 8 x 8 block, "other" the rest.

``session`` (a :class:`~occlusion_widget.session.SweepSession`) and ``w`` (an
:class:`~occlusion_widget.OcclusionWidget`) run that same sweep with the toy model, labelled
``["sky", "square", "other"]``, and have finished it. Each docstring that names one gets a fresh
one (a docstring may recompute or close it), and only those docstrings pay for it.

``ds`` is an in-memory dataset sweep of that model over three images with their true classes:
white (``"square"``, predicted ``"square"``; hiding the corner flips 3 of its 9 positions to
``"other"``), black (``"other"``) and mid-grey (``"square"``, predicted ``"other"``). ``g`` is a
fresh :class:`~occlusion_widget.GalleryWidget` of it, labelled like ``w``.

``cmp`` is :func:`~occlusion_widget.compare` of the white image under a black and a white fill
(black ranks first: white hides nothing in a white image).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

TOY_SWEEP = {"patch_size": 8, "stride": 4, "baseline": "black"}
TOY_LABELS = ["sky", "square", "other"]


def _toy_model(batch):
    square = 0.8 * batch[:, :8, :8].mean(axis=(1, 2, 3))
    sky = np.full_like(square, 0.1)
    return np.stack([sky, square, 0.9 - square], axis=1)


@pytest.fixture(scope="session")
def _toy_result():
    from occlusion_widget.engine import occlusion_map

    return occlusion_map(_toy_model, np.ones((16, 16, 3)), progress=False, **TOY_SWEEP)


@pytest.fixture(scope="session")
def _toy_dataset():
    from occlusion_widget import sweep_dataset

    images = [np.ones((16, 16, 3)), np.zeros((16, 16, 3)), np.full((16, 16, 3), 0.5)]
    return sweep_dataset(_toy_model, images, labels=[1, 2, 1], progress=False, **TOY_SWEEP)


@pytest.fixture(scope="session")
def _toy_comparison():
    from occlusion_widget import compare

    return compare(
        _toy_model,
        np.ones((16, 16, 3)),
        baselines=["black", "white"],
        patch_sizes=[8],
        stride=4,
        steps=4,
        labels=TOY_LABELS,
    )


def _names(node) -> set[str]:
    """The identifiers a docstring's examples use."""
    source = "\n".join(example.source for example in node.dtest.examples)
    return set(re.findall(r"\b[A-Za-z_]\w*\b", source))


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    if "doctest" not in type(request.node).__name__.lower():
        yield
        return
    doctest_namespace["np"] = np
    doctest_namespace["result"] = request.getfixturevalue("_toy_result")
    names = _names(request.node)
    made = []
    if "cmp" in names:
        doctest_namespace["cmp"] = request.getfixturevalue("_toy_comparison")
    if "ds" in names or "g" in names:
        doctest_namespace["ds"] = request.getfixturevalue("_toy_dataset")
    if "g" in names:
        from occlusion_widget import GalleryWidget

        doctest_namespace["g"] = GalleryWidget(doctest_namespace["ds"], labels=TOY_LABELS)
    if "session" in names:
        from occlusion_widget.session import SweepSession

        session = SweepSession(_toy_model, np.ones((16, 16, 3)), labels=TOY_LABELS, **TOY_SWEEP)
        session.wait()
        doctest_namespace["session"] = session
        made.append(session)
    if "w" in names:
        from occlusion_widget import OcclusionWidget

        w = OcclusionWidget(_toy_model, np.ones((16, 16, 3)), labels=TOY_LABELS, **TOY_SWEEP)
        w.wait()
        doctest_namespace["w"] = w
        made.append(w)
    yield
    for thing in made:
        thing.cancel()
        thing.wait()
    for name in ("w", "g"):
        if name in names:
            doctest_namespace[name].close()
    for name in ("session", "w", "ds", "g", "cmp"):
        doctest_namespace.pop(name, None)
