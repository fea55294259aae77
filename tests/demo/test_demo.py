"""The built-in synthetic-shapes demo: data generator, the shipped model and its known answer.

Every model test uses the weights shipped in the package; nothing here trains (training is
``scripts/train_demo_model.py``'s job), so the verdicts are the same on every machine.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from occlusion_widget import demo
from occlusion_widget.demo import shapes
from occlusion_widget.demo import training as demo_training

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return demo.load_model()


def _bounding_box(mask: np.ndarray) -> list[int]:
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return [rows[0], cols[0], rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1]


# ---------------------------------------------------------------------------------------------
# Data


def test_dataset_types_and_shapes():
    images, labels, boxes = demo.make_dataset(12, seed=4, image_size=48)
    assert images.shape == (12, 48, 48, 3) and images.dtype == np.uint8
    assert labels.shape == (12,) and labels.dtype.kind == "i"
    assert boxes.shape == (12, 4) and boxes.dtype.kind == "i"
    assert set(labels.tolist()) <= set(range(len(demo.CLASS_NAMES)))


def test_dataset_is_deterministic():
    first = demo.make_dataset(16, seed=3)
    second = demo.make_dataset(16, seed=3)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    # The first k samples do not depend on how many were asked for.
    prefix = demo.make_dataset(5, seed=3)
    for a, b in zip(prefix, first, strict=True):
        np.testing.assert_array_equal(a, b[:5])
    other = demo.make_dataset(16, seed=4)
    assert not np.array_equal(first[0], other[0])


def test_dataset_covers_every_class_evenly():
    _, labels, _ = demo.make_dataset(400, seed=5)
    counts = np.bincount(labels, minlength=len(demo.CLASS_NAMES))
    assert counts.min() > 400 / len(demo.CLASS_NAMES) * 0.7, counts


def test_boxes_match_drawn_pixels():
    images, _, boxes = demo.make_dataset(40, seed=6)
    for i in range(len(images)):
        # The same sample drawn without its shape: the pixels that differ are the shape.
        background, _, _ = shapes._draw(6, i, 64, with_shape=False)
        shape_pixels = (images[i] != background).any(axis=-1)
        assert _bounding_box(shape_pixels) == boxes[i].tolist(), i
        top, left, height, width = boxes[i]
        assert top >= 0 and left >= 0 and top + height <= 64 and left + width <= 64


@pytest.mark.parametrize("kind", demo.CLASS_NAMES)
def test_sample_image_draws_the_requested_shape(kind: str):
    index = demo.CLASS_NAMES.index(kind)
    image, box = demo.sample_image(kind, seed=9)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    stream_index = shapes._SAMPLE_INDEX_OFFSET + index
    background, label, _ = shapes._draw(9, stream_index, 64, kind=kind, with_shape=False)
    assert label == index
    assert _bounding_box((image != background).any(axis=-1)) == box.tolist()
    again, _ = demo.sample_image(kind, seed=9)
    np.testing.assert_array_equal(image, again)


def test_shapes_have_their_geometry():
    _, square_box = demo.sample_image("square", seed=1)
    assert square_box[2] == square_box[3]
    image, box = demo.sample_image("circle", seed=1)
    background, _, _ = shapes._draw(
        1, shapes._SAMPLE_INDEX_OFFSET, 64, kind="circle", with_shape=False
    )
    top, left, height, width = box
    filled = (image != background).any(axis=-1)[top : top + height, left : left + width]
    # A disc fills about pi/4 of its box, a square all of it, a triangle half.
    assert abs(filled.mean() - np.pi / 4) < 0.08


def test_invalid_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"hexagon.*circle"):
        demo.sample_image("hexagon")
    with pytest.raises(ValueError, match=r"image_size.*at least"):
        demo.make_dataset(2, image_size=8)
    with pytest.raises(ValueError, match="non-negative"):
        demo.make_dataset(-1)
    with pytest.raises(ValueError, match="seed"):
        demo.sample_image("circle", seed=-3)


# ---------------------------------------------------------------------------------------------
# Occluders used in training


def test_occluders_keep_images_and_hide_at_most_half_the_shape():
    images, _, boxes = demo.make_dataset(60, seed=8)
    masks = demo_training._shape_masks(60, 8, 64)
    occluded, visible = demo_training.add_occluders(images, boxes, seed=3, masks=masks)
    assert occluded.shape == images.shape and occluded.dtype == np.uint8
    changed = (occluded != images).any(axis=-1)
    assert changed.any(axis=(1, 2)).mean() > 0.5  # most images get occluders
    assert (visible >= 0.5).all() and (visible < 1).any()
    for mask, hidden, seen in zip(masks, changed, visible, strict=True):
        # A fill may repeat a pixel's own value, so fewer pixels can change than were covered.
        assert 1 - (mask & hidden).sum() / mask.sum() >= seen
    again = demo_training.add_occluders(images, boxes, seed=3, masks=masks)
    np.testing.assert_array_equal(occluded, again[0])
    assert not np.array_equal(occluded, demo_training.add_occluders(images, boxes, seed=4)[0])


def test_soft_targets_follow_the_visible_part_of_the_shape():
    targets = demo_training.soft_targets(np.array([2, 0]), np.array([1.0, 0.5]))
    np.testing.assert_array_equal(targets[0], [0, 0, 1, 0])
    np.testing.assert_allclose(targets[1], [0.625, 0.125, 0.125, 0.125])
    # Even half hidden, the shape's class stays the clear winner: a bite never changes the label.
    assert (targets.argmax(axis=1) == [2, 0]).all()


def test_occluders_use_every_fill_the_widget_offers(monkeypatch: pytest.MonkeyPatch):
    used: list[str] = []
    fill = demo_training._fill

    def record(image, name, size, rng):
        used.append(name)
        return fill(image, name, size, rng)

    monkeypatch.setattr(demo_training, "_fill", record)
    images, _, boxes = demo.make_dataset(40, seed=9)
    demo_training.add_occluders(images, boxes, seed=0)
    from occlusion_widget.engine.baselines import BASELINE_NAMES

    assert set(used) == set(BASELINE_NAMES)


# ---------------------------------------------------------------------------------------------
# The shipped model


def test_weights_ship_in_the_package_and_are_small():
    assert demo.WEIGHTS_PATH.is_file()
    assert demo.WEIGHTS_PATH.parent.name == "data"
    assert demo.WEIGHTS_PATH.stat().st_size < 200_000


def test_loading_never_trains(monkeypatch: pytest.MonkeyPatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("load_model must load the shipped weights, not train")

    monkeypatch.setattr(keras.Model, "fit", refuse)
    monkeypatch.setattr(demo_training, "train_model", refuse)
    loaded = demo.load_model()
    assert loaded.output_shape == (None, len(demo.CLASS_NAMES))


def test_importing_the_package_does_not_train():
    # In a fresh interpreter, so that the import really runs; training would call Model.fit.
    script = (
        "import sys, keras\n"
        "keras.Model.fit = lambda *a, **k: sys.exit('import trained a model')\n"
        "import occlusion_widget, occlusion_widget.demo, occlusion_widget.demo.training\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_missing_weights_say_how_to_get_them(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setattr(shapes, "WEIGHTS_PATH", tmp_path / "gone.weights.h5")
    with pytest.raises(FileNotFoundError, match=r"gone\.weights\.h5.*train_demo_model\.py"):
        demo.load_model()


def test_every_load_gives_the_same_weights(model: keras.Model):
    def digest(m: keras.Model) -> str:
        return hashlib.sha256(
            b"".join(np.asarray(w).tobytes() for w in m.get_weights())
        ).hexdigest()

    # Weights are read from the file bit for bit, so equality here is exact on any machine.
    assert digest(demo.load_model()) == digest(model)


def test_model_takes_raw_pixels_and_returns_probabilities(model: keras.Model):
    images, _, _ = demo.make_dataset(8, seed=11)
    probabilities = np.asarray(model.predict(images.astype(np.float32), verbose=0))
    assert probabilities.shape == (8, len(demo.CLASS_NAMES))
    # Softmax in float32: the sum is 1 up to a few float32 ulps (~1e-7), far inside 1e-5.
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    assert model.compiled


@pytest.mark.slow
def test_model_is_accurate_on_held_out_images(model: keras.Model):
    # Seed 0 is the training stream; seed 1 never overlaps it.
    images, labels, _ = demo.make_dataset(400, seed=1)
    probabilities = np.asarray(model.predict(images.astype(np.float32), verbose=0))
    ranked = np.sort(probabilities, axis=1)
    # Only clear decisions count as right, so float rounding on another CPU cannot change this.
    clear = ranked[:, -1] - ranked[:, -2] > demo_training.DECISION_MARGIN
    accuracy = ((probabilities.argmax(axis=1) == labels) & clear).mean()
    assert accuracy > 0.95, accuracy


@pytest.mark.slow
def test_the_toys_known_answer_holds_on_the_shipped_model(model: keras.Model):
    """4 shapes x 10 seeds x 4 baselines at patch 12, stride 4: the issue's acceptance check."""
    report = demo_training.check_toy(
        model,
        kinds=demo.CLASS_NAMES,
        seeds=range(10),
        baselines=("gray", "black", "mean", "blur"),
        patch_size=12,
        stride=4,
        max_flip_rate=0.02,
    )
    assert len(report.cases) == 160
    assert all(case.correct for case in report.cases), report.summary()
    assert all(case.peak_on_shape for case in report.cases), report.summary()
    assert report.flip_rate <= 0.02, report.summary()
    assert report.holds


def test_the_check_can_fail():
    """A model that ignores the image fails the known-answer check: it is not a rubber stamp."""

    def always_square(batch):
        return np.tile(np.array([[0.1, 0.7, 0.1, 0.1]], np.float32), (len(batch), 1))

    report = demo_training.check_toy(always_square, seeds=range(2), baselines=("gray",))
    assert not report.holds
    square = [case for case in report.cases if case.kind == "square"]
    assert all(case.correct for case in square)
    assert not any(case.correct for case in report.cases if case.kind != "square")
    # Nothing the patch hides changes its answer, so no peak is on the shape, and nothing flips.
    assert not any(case.peak_on_shape for case in report.cases)
    assert report.flip_rate == 0
    assert "FAILS" in report.summary()
