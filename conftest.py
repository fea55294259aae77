"""Names the package's docstring examples share (``pytest --doctest-modules``).

``result`` is a toy sweep whose every number can be worked out by hand: a 16 x 16 white image,
8 x 8 black patches every 4 pixels (a 3 x 3 grid), and three classes: "sky" always 0.1,
"square" 0.8 x the brightness of the top-left 8 x 8 block, "other" the rest.
"""

from __future__ import annotations

import numpy as np
import pytest


def _toy_model(batch):
    square = 0.8 * batch[:, :8, :8].mean(axis=(1, 2, 3))
    sky = np.full_like(square, 0.1)
    return np.stack([sky, square, 0.9 - square], axis=1)


@pytest.fixture(scope="session")
def _toy_result():
    from occlusion_widget.engine import occlusion_map

    return occlusion_map(
        _toy_model, np.ones((16, 16, 3)), patch_size=8, stride=4, baseline="black", progress=False
    )


@pytest.fixture(autouse=True)
def _doctest_names(request, doctest_namespace):
    if "doctest" in type(request.node).__name__.lower():
        doctest_namespace["np"] = np
        doctest_namespace["result"] = request.getfixturevalue("_toy_result")
