"""The built-in synthetic-shapes demo: data generator, trained model and its on-disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from occlusion_widget import demo

keras = pytest.importorskip("keras")


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo_cache")


@pytest.fixture(autouse=True)
def isolated_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # No test may read or write the user's real cache.
    monkeypatch.setenv("OCCLUSION_WIDGET_CACHE", str(session_cache))
    return session_cache


@pytest.fixture(scope="session")
def model(session_cache: Path) -> keras.Model:
    # The real training runs once per session (~20 s); every other test reuses its cache file.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OCCLUSION_WIDGET_CACHE", str(session_cache))
        return demo.load_model(verbose=False)


@pytest.fixture
def fake_training(monkeypatch: pytest.MonkeyPatch) -> list[demo._Settings]:
    """Replace training by an untrained model and record each call."""
    calls: list[demo._Settings] = []

    def fake_train(settings: demo._Settings, verbose: bool = False) -> keras.Model:
        calls.append(settings)
        model = demo._build_model(settings)
        # A trained model has built optimizer state; without it, loading the file warns.
        model.optimizer.build(model.trainable_variables)
        return model

    monkeypatch.setattr(demo, "_train", fake_train)
    return calls


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
        background, _, _ = demo._draw(6, i, 64, with_shape=False)
        shape_pixels = (images[i] != background).any(axis=-1)
        assert _bounding_box(shape_pixels) == boxes[i].tolist(), i
        top, left, height, width = boxes[i]
        assert top >= 0 and left >= 0 and top + height <= 64 and left + width <= 64


@pytest.mark.parametrize("kind", demo.CLASS_NAMES)
def test_sample_image_draws_the_requested_shape(kind: str):
    index = demo.CLASS_NAMES.index(kind)
    image, box = demo.sample_image(kind, seed=9)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    stream_index = demo._SAMPLE_INDEX_OFFSET + index
    background, label, _ = demo._draw(9, stream_index, 64, kind=kind, with_shape=False)
    assert label == index
    assert _bounding_box((image != background).any(axis=-1)) == box.tolist()
    again, _ = demo.sample_image(kind, seed=9)
    np.testing.assert_array_equal(image, again)


def test_shapes_have_their_geometry():
    _, square_box = demo.sample_image("square", seed=1)
    assert square_box[2] == square_box[3]
    image, box = demo.sample_image("circle", seed=1)
    background, _, _ = demo._draw(1, demo._SAMPLE_INDEX_OFFSET, 64, kind="circle", with_shape=False)
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
# Model


@pytest.mark.slow
def test_model_takes_raw_pixels_and_returns_probabilities(model: keras.Model):
    images, _, _ = demo.make_dataset(8, seed=11)
    probabilities = np.asarray(model.predict(images.astype(np.float32), verbose=0))
    assert probabilities.shape == (8, len(demo.CLASS_NAMES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert any(isinstance(layer, keras.layers.Rescaling) for layer in model.layers)
    assert model.compiled


@pytest.mark.slow
def test_model_is_accurate_on_held_out_images(model: keras.Model):
    # Seed 0 is the training stream; seed 1 never overlaps it.
    images, labels, _ = demo.make_dataset(400, seed=1)
    predicted = np.asarray(model.predict(images.astype(np.float32), verbose=0)).argmax(axis=1)
    accuracy = (predicted == labels).mean()
    assert accuracy > 0.95, accuracy


@pytest.mark.slow
def test_occluding_the_shape_hurts_most(model: keras.Model):
    # The point of the demo: the model must key on the shape, not on the background.
    images, labels, boxes = demo.make_dataset(12, seed=2)
    patch, stride = 16, 8
    corners = [
        (y, x) for y in range(0, 64 - patch + 1, stride) for x in range(0, 64 - patch + 1, stride)
    ]
    for image, label, (top, left, height, width) in zip(images, labels, boxes, strict=True):
        occluded = np.repeat(image[None].astype(np.float32), len(corners), axis=0)
        for k, (y, x) in enumerate(corners):
            occluded[k, y : y + patch, x : x + patch] = 127.5
        probability = np.asarray(model.predict(occluded, verbose=0))[:, label]
        y, x = corners[int(probability.argmin())]
        overlaps = y < top + height and top < y + patch and x < left + width and left < x + patch
        assert overlaps, (demo.CLASS_NAMES[label], (y, x), (top, left, height, width))


@pytest.mark.slow
def test_training_is_deterministic():
    settings = demo._Settings(train_size=64, epochs=1, batch_size=16)
    first = demo._train(settings).get_weights()
    second = demo._train(settings).get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = demo._train(demo._Settings(train_size=64, epochs=1, batch_size=16, weight_seed=1))
    assert not np.array_equal(first[-1], other_seed.get_weights()[-1])


def test_training_leaves_op_determinism_as_it_was():
    tf_config = pytest.importorskip("tensorflow.python.framework.config")
    if keras.backend.backend() != "tensorflow" or tf_config.is_op_determinism_enabled():
        pytest.skip("needs the TensorFlow backend with op determinism off")
    demo._train(demo._Settings(train_size=16, epochs=1, batch_size=16))
    assert not tf_config.is_op_determinism_enabled()


# ---------------------------------------------------------------------------------------------
# Cache


def test_cache_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OCCLUSION_WIDGET_CACHE", str(tmp_path / "here"))
    assert demo.cache_path().parent == tmp_path / "here"
    assert demo.cache_path().suffix == ".keras"
    monkeypatch.delenv("OCCLUSION_WIDGET_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert demo.cache_path().parent == tmp_path / "home" / ".cache" / "occlusion_widget"


def test_cache_name_changes_with_settings_and_version(monkeypatch: pytest.MonkeyPatch):
    before = demo.cache_path()
    assert demo._cache_key(demo._Settings(epochs=1)) != demo._cache_key(demo._Settings())
    monkeypatch.setattr(demo, "_package_version", lambda: "999.0")
    assert demo.cache_path() != before


@pytest.mark.slow
def test_second_load_reuses_the_cache(model: keras.Model, monkeypatch: pytest.MonkeyPatch):
    path = demo.cache_path()
    modified = path.stat().st_mtime_ns

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached model should have been loaded, not retrained")

    monkeypatch.setattr(demo, "_train", refuse)
    again = demo.load_model()
    assert path.stat().st_mtime_ns == modified
    images, _, _ = demo.make_dataset(16, seed=12)
    images = images.astype(np.float32)
    np.testing.assert_array_equal(
        np.asarray(model.predict(images, verbose=0)), np.asarray(again.predict(images, verbose=0))
    )


@pytest.mark.slow
def test_loading_twice_gives_identical_predictions(model: keras.Model):
    images, _, _ = demo.make_dataset(16, seed=13)
    images = images.astype(np.float32)
    first = np.asarray(demo.load_model().predict(images, verbose=0))
    second = np.asarray(demo.load_model().predict(images, verbose=0))
    np.testing.assert_array_equal(first, second)


def test_first_load_trains_saves_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_training: list
):
    monkeypatch.setenv("OCCLUSION_WIDGET_CACHE", str(tmp_path / "new" / "cache"))
    demo.load_model(verbose=False)
    assert fake_training == [demo._DEFAULT_SETTINGS]
    assert sorted(p.name for p in (tmp_path / "new" / "cache").iterdir()) == [
        demo.cache_path().name
    ]
    demo.load_model(verbose=False)
    assert len(fake_training) == 1
    demo.load_model(retrain=True, verbose=False)
    assert len(fake_training) == 2


def test_unreadable_cache_file_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_training: list
):
    monkeypatch.setenv("OCCLUSION_WIDGET_CACHE", str(tmp_path))
    demo.cache_path().write_bytes(b"not a keras file")
    loaded = demo.load_model(verbose=False)
    assert len(fake_training) == 1
    assert isinstance(keras.models.load_model(demo.cache_path()), keras.Model)
    assert loaded.output_shape == (None, len(demo.CLASS_NAMES))


def test_training_announces_itself_in_one_line_by_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    fake_training: list,
):
    monkeypatch.setenv("OCCLUSION_WIDGET_CACHE", str(tmp_path))
    demo.load_model()
    assert capsys.readouterr().out.strip().splitlines() == [
        "Training the demo model (once, ~20 s)..."
    ]
    demo.load_model()
    assert capsys.readouterr().out == ""
    demo.load_model(retrain=True, verbose=False)
    assert capsys.readouterr().out == ""
