"""The seed notebook runs unchanged: its own code cells, in a fresh Jupyter kernel.

Two edits only, both marked below: its import lines name this package instead of the seed's
library, and its photo download copies the shared assets' copy of the same photo (no network in
tests). Skipped without the shared assets (ImageNet weights and the photo).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.engine_helpers import shared_assets

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ASSETS = shared_assets()
PHOTO = ASSETS / "images" / "elephant.jpg" if ASSETS else None
WEIGHTS = (
    ASSETS / "keras_home" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    if ASSETS
    else None
)

# The seed's code cells, in order, as it has them.
SEED_CELLS = [
    """\
import os
import sys
import numpy as np
import matplotlib.pyplot as plt
from PIL import Image
import time
import keras
from keras.applications.imagenet_utils import decode_predictions

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname("__file__"), '..')))
from interpretabilityLibrary.methods.occlusionSensitivity import OcclusionSensitivity
from interpretabilityLibrary.plot.vizualize import vizualize

os.environ["KERAS_BACKEND"] = "jax"
""",
    """\
model = keras.applications.MobileNetV2(
    input_shape=(224, 224, 3),
    include_top=True,
    weights='imagenet'
)
""",
    """\
from urllib.request import urlretrieve
from PIL import Image

img_url = "https://storage.googleapis.com/tensorflow/keras-applications/tests/elephant.jpg"
urlretrieve(img_url, "test_image.jpg")

# Load and resize to smaller dimensions
img_size = (224, 224)
img = Image.open("test_image.jpg").convert('RGB')
img = img.resize(img_size)
img_array = np.array(img)

# Display the input image
plt.figure(figsize=(5, 5))
plt.imshow(img)
plt.title("Input Image")
plt.axis('off')
plt.show()

# convert to float32
x = img_array.astype(np.float32)
# model expects [-1, 1] range
x = x / 127.5 - 1.0
x = np.expand_dims(x, axis=0)  # Add batch dimension
""",
    """\
print("Getting model prediction...")
preds = model.predict(x)
top_indices = np.argsort(preds[0])[-3:][::-1]
top_confidences = preds[0][top_indices]
class_names = decode_predictions(preds, top=3)[0]
target_class = top_indices[0]

print("\\nTop 3 predictions:")
for i, (_, name, conf) in enumerate(class_names):
    print(f"{i+1}. {name} ({top_confidences[i]:.4f})")


print("Creating explainer...")
explainer = OcclusionSensitivity(model)
explanation = explainer.explain(x, targets=target_class)

print("Visualizing results...")
vizualize(explanation, img_array, save_path="occlusion_demo.png")
""",
    """\
# Second prediction (2nd)
# tusker
second_class_idx = top_indices[1]
second_class_name = class_names[1][1]
second_confidence = top_confidences[1]
print(f"Explaining second prediction: {second_class_name}...")
explanation_second = explainer.explain(x, targets=second_class_idx)

# Third prediction (3rd)
# Indian elephant
third_class_idx = top_indices[2]
third_class_name = class_names[2][1]
third_confidence = top_confidences[2]
print(f"Explaining third prediction: {third_class_name}...")
explanation_third = explainer.explain(x, targets=third_class_idx)
""",
    "vizualize(explanation_second, img_array)\n",
    "vizualize(explanation_third, img_array)\n",
]

SEED_IMPORTS = """\
from interpretabilityLibrary.methods.occlusionSensitivity import OcclusionSensitivity
from interpretabilityLibrary.plot.vizualize import vizualize
"""
DOWNLOAD = 'urlretrieve(img_url, "test_image.jpg")\n'


def _cells(photo: Path) -> list[str]:
    cells = list(SEED_CELLS)
    assert SEED_IMPORTS in cells[0] and DOWNLOAD in cells[2]
    # Edit 1 of 2: this package instead of the seed's library.
    cells[0] = cells[0].replace(
        SEED_IMPORTS, "from occlusion_widget import OcclusionSensitivity, vizualize\n"
    )
    # Edit 2 of 2: the same photo from the shared assets, not downloaded.
    cells[2] = cells[2].replace(
        DOWNLOAD, f"import shutil; shutil.copy({str(photo)!r}, 'test_image.jpg')\n"
    )
    return cells


@pytest.mark.slow
def test_the_seed_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if PHOTO is None or not PHOTO.is_file() or not WEIGHTS.is_file():
        pytest.skip("needs the shared assets (ImageNet weights and the elephant photo)")
    monkeypatch.setenv("KERAS_HOME", str(ASSETS / "keras_home"))
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in _cells(PHOTO)]
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # a failing cell raises

    printed = "".join(
        out.text
        for cell in notebook.cells
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stdout"
    )
    # Orders only: the offline weights' probabilities differ a little from Keras's own.
    assert "1. African_elephant (" in printed and "2. tusker (" in printed
    assert "3. Indian_elephant (" in printed
    assert "Plot saved to occlusion_demo.png" in printed
    assert "Explaining third prediction: Indian_elephant..." in printed
    assert (tmp_path / "occlusion_demo.png").read_bytes()[:4] == b"\x89PNG"
    figures = [
        out for cell in notebook.cells for out in cell.outputs if "image/png" in out.get("data", {})
    ]
    assert len(figures) >= 4  # the photo, then the three explanations
