"""method="incremental" gives the full sweep's probabilities, and its box rules are exact.

Tolerance: the incremental pass sums each convolution over a window cut from the map instead of
over the whole map, and oneDNN picks its blocking (and so its float32 summation order) by tensor
shape, so the two agree to float32 rounding (~1e-6 relative per layer), not bit for bit. 1e-4 in
a probability is two orders above that drift and far below any wrong box: a box one pixel short
changes probabilities by ~1e-2 on these models (every test checks the map is far from constant).
"""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget.engine.incremental.regions import (
    conv_geometry,
    conv_interval,
    fit_interval,
    window_interval,
)

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    # JAX and torch: tests/engine/incremental/test_backends.py, in subprocesses.
    pytest.skip("these tests run on TensorFlow", allow_module_level=True)

import occlusion_widget as ow  # noqa: E402
from occlusion_widget.engine.incremental import plan as plan_module  # noqa: E402
from tests.helpers.engine_helpers import shared_assets  # noqa: E402
from tests.helpers.models_incremental import every_rule_model, no_rule_model, sequential_model  # noqa: E402

TOL = 1e-4


def _image(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _both(model, image, patch, stride, **kw):
    kw.setdefault("baseline", "black")
    full = ow.occlusion_map(
        model, image, patch_size=patch, stride=stride, progress=False, method="full", **kw
    )
    inc = ow.occlusion_map(
        model, image, patch_size=patch, stride=stride, progress=False, method="incremental", **kw
    )
    return full, inc


def _assert_same(full, inc):
    # The map must move, or agreement would prove nothing.
    assert np.ptp(full.probabilities, axis=(0, 1)).max() > 1e-3
    np.testing.assert_allclose(inc.probabilities, full.probabilities, rtol=0, atol=TOL)
    np.testing.assert_allclose(inc.base_probabilities, full.base_probabilities, atol=TOL)
    assert inc.info["method"] == "incremental" and full.info["method"] == "full"


# -- the box rules against brute force ------------------------------------------------------


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(
    "kernel,stride,dilation",
    [(3, 1, 1), (3, 2, 1), (1, 2, 1), (5, 2, 1), (3, 1, 2), (7, 2, 1), (2, 2, 1), (4, 3, 1)],
)
@pytest.mark.parametrize("n_in", [7, 8, 15, 16])
def test_conv_interval_is_exactly_the_outputs_that_read_the_interval(
    n_in, kernel, stride, dilation, padding
):
    n_out, pad = conv_geometry(n_in, kernel, stride, dilation, padding)
    starts = np.arange(n_in)
    for length in (1, 2, 3):
        lo, hi = conv_interval(starts, length, n_out, kernel, stride, dilation, pad)
        for s, a, b in zip(starts, lo, hi, strict=True):
            reads = {
                o for o in range(n_out) for j in range(kernel)
                if s <= o * stride - pad + j * dilation < s + length
            }  # fmt: skip
            if dilation == 1:  # without holes the interval is exact
                assert set(range(a, b)) == reads
            else:  # with holes it may be larger, never smaller
                assert reads <= set(range(a, b))


def test_same_padding_is_asymmetric_with_stride_two_on_an_even_map():
    # TensorFlow pads 'same' with the smaller half first: 224 -> 112 with a 3x3 kernel pads
    # 0 before and 1 after, so output 0 starts at input 0.
    assert conv_geometry(224, 3, 2, 1, "same") == (112, 0)
    assert conv_geometry(225, 3, 2, 1, "same") == (113, 1)
    assert conv_geometry(8, 4, 2, 1, "same") == (4, 1)


def test_boxes_keep_one_length_and_shift_inward_at_borders():
    start, length = fit_interval(np.array([0, 2, 5]), np.array([2, 5, 7]), 7)
    assert length == 3
    assert start.tolist() == [0, 2, 4]  # the last box moved inward, still covering [5, 7)
    win, wlen = window_interval(start, length, 3, 1, 1, 1)
    assert win.tolist() == [-1, 1, 3] and wlen == 5


# -- whole sweeps: incremental equals full ------------------------------------------------


@pytest.fixture(scope="module")
def every_rule():
    return every_rule_model(32)


@pytest.mark.parametrize(
    "patch,stride,share",
    # 32 = 8 * 4; strides 3, 7 and 5 leave a flush last window. share 2.0 never switches to the
    # whole map, so every rule runs on its box; None is the default switch.
    [(5, 3, 2.0), (8, 8, 2.0), (11, 7, 2.0), (8, 5, None)],
)
def test_every_rule_matches_the_full_sweep(every_rule, patch, stride, share, monkeypatch):
    if share is not None:  # never switch to the whole map: every rule runs on its box
        monkeypatch.setattr(plan_module, "FULL_SHARE", share)
    full, inc = _both(every_rule, _image(32), patch, stride)
    _assert_same(full, inc)
    assert inc.info["incremental_layers"] == (16 if share else inc.info["incremental_layers"])
    assert inc.info["incremental_layers"] >= 3


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_does_not_depend_on_batching(every_rule, batch_size):
    full, inc = _both(every_rule, _image(32, 1), 6, 4, batch_size=batch_size, baseline="gray")
    _assert_same(full, inc)


def test_a_layer_without_a_rule_falls_back_to_the_whole_map_from_there_on():
    model = no_rule_model(24)
    full, inc = _both(model, _image(24), 6, 3)
    _assert_same(full, inc)
    assert any("RollRows" in what for what in inc.info["fallback_layers"])
    assert inc.info["incremental_layers"] == 1  # only the first convolution ran on a region
    assert inc.info["flop_fraction"] > 0.5


def test_sequential_model():
    model = sequential_model(24)
    full, inc = _both(model, _image(24), 5, 3, batch_size=7)
    _assert_same(full, inc)
    assert inc.info["flop_fraction"] < 0.8


def test_preprocess_that_is_not_per_pixel_runs_those_batches_in_full():
    # Standardising by the image's own mean changes every pixel when the patch moves: boxes
    # would be wrong, so the pass must notice and run the model in full.
    model = sequential_model(24)

    def standardize(batch):
        return (batch - batch.mean(axis=(1, 2, 3), keepdims=True)) / 64.0

    full, inc = _both(model, _image(24), 6, 6, preprocess=standardize)
    _assert_same(full, inc)
    assert inc.info["batches_run_in_full"] >= 1


def test_unknown_method_and_incremental_without_keras_are_clear_errors():
    with pytest.raises(ValueError, match="method must be one of 'auto', 'full'"):
        ow.occlusion_map(
            lambda b: b.mean(axis=(1, 2)), _image(8), patch_size=4, stride=4, method="exact"
        )
    with pytest.raises(ValueError, match=r"needs a Keras model.*method='full'"):
        ow.occlusion_map(
            lambda b: b.mean(axis=(1, 2)), _image(8), patch_size=4, stride=4, method="incremental"
        )


# -- real architectures ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["VGG16", "ResNet50"])
def test_applications_with_seeded_weights(name):
    from tests.helpers.models_incremental import randomize_batchnorm

    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None, input_shape=(40, 40, 3), classes=10)
    randomize_batchnorm(model)
    prep = getattr(keras.applications, name.lower()).preprocess_input
    # 40 px: small enough for two cores, large enough that the early stages run on boxes.
    full, inc = _both(model, _image(40), 10, 8, preprocess=prep, baseline="gray")
    _assert_same(full, inc)


@pytest.mark.slow
def test_mobilenet_v2_with_real_weights_at_224():
    assets = shared_assets()
    if assets is None or not (assets / "keras_home").is_dir():
        pytest.skip("shared assets with the ImageNet MobileNetV2 weights are not on this machine")
    from PIL import Image

    model = keras.applications.MobileNetV2(weights="imagenet")
    photo = Image.open(assets / "images" / "elephant.jpg").convert("RGB").resize((224, 224))
    prep = keras.applications.mobilenet_v2.preprocess_input
    # Stride 30 leaves a flush last row and column (8 x 8 positions).
    full, inc = _both(model, np.asarray(photo), 32, 30, preprocess=prep, baseline="gray")
    _assert_same(full, inc)
    assert inc.info["flop_fraction"] < 0.8


def test_cifar_model():
    assets = shared_assets()
    path = None if assets is None else assets / "cifar10" / "cifar10_captum_lenet.keras"
    if path is None or not path.exists():
        pytest.skip("the shared CIFAR-10 model is not on this machine")
    model = keras.saving.load_model(path)
    images = sorted((assets / "cifar10" / "images").glob("*.png"))[:2]
    from PIL import Image

    for file in images:
        image = np.asarray(Image.open(file).convert("RGB"))
        for patch, stride in [(4, 4), (6, 4), (8, 3)]:
            full, inc = _both(
                model, image, patch, stride, preprocess=lambda b: (b / 255.0 - 0.5) / 0.5
            )
            _assert_same(full, inc)


def test_one_changed_value_outside_one_patch_sends_that_batch_to_the_full_pass():
    """The check that keeps the boxes exact: every item of a batch equals the unoccluded
    image outside its own patch, down to a single channel of a single pixel of one item."""
    from occlusion_widget.engine import make_forward, validate_params
    from occlusion_widget.engine.incremental import make_incremental

    model = sequential_model(24)
    params = validate_params(_image(24), patch_size=6, stride=6)
    base = make_forward(model, None, batch_shape=(4, 24, 24, 3))
    clean = base.prepare(params.image.pixels[None].astype(np.float32))[0]
    inc = make_incremental(model, base, clean, params.grid)
    cells = np.array([0, 5, 10, 15])
    tops = params.grid.tops[cells // params.grid.cols]
    lefts = params.grid.lefts[cells % params.grid.cols]
    x = np.repeat(clean[None], 4, axis=0)
    for item, (top, left) in enumerate(zip(tops, lefts, strict=True)):
        x[item, top : top + 6, left : left + 6] = 0.0  # each item's own patch
    inc.set_cells(cells)
    assert inc._local(x)
    inside = x.copy()
    inside[3, tops[3] + 5, lefts[3] + 5, 2] += 1.0  # inside item 3's patch: still local
    inc.set_cells(cells)
    assert inc._local(inside)
    outside = x.copy()
    outside[2, tops[3], lefts[3], 1] += 1.0  # item 2, at item 3's patch: outside its own
    inc.set_cells(cells)
    assert not inc._local(outside)


def test_tensorflow_traces_the_pass_without_rewriting_its_code(every_rule, monkeypatch):
    # AutoGraph rewrote each of the runner's per-layer closures from source on every trace:
    # 2 of MobileNetV2's 3.5 s of set-up, for code that has no tensor-dependent branch.
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"a TensorFlow trace; Keras runs on {keras.backend.backend()}")
    from tensorflow.python.autograph.impl import api

    from occlusion_widget.engine.incremental import forward as forward_module

    converted = []
    real = api._convert_actual
    monkeypatch.setattr(api, "_convert_actual", lambda f, *a: converted.append(f) or real(f, *a))
    monkeypatch.setattr(forward_module, "_LAST", {})  # no compiled pass to reuse: trace now
    full, inc = _both(every_rule, _image(32, 3), 7, 5)
    _assert_same(full, inc)
    ours = [f for f in converted if ".incremental." in getattr(f, "__module__", "")]
    assert ours == [], f"AutoGraph converted {len(ours)} of the pass's functions: {ours[:3]}"


def test_the_graphs_shapes_give_the_plans_share_without_running_the_model(every_rule):
    from occlusion_widget.engine.incremental import estimate_fraction, make_incremental
    from occlusion_widget.engine.model import make_forward

    image = _image(32, 4).astype(np.float32)
    params = ow.engine.validate_params(image, patch_size=7, stride=5)
    for model in (every_rule, no_rule_model(32)):
        fwd = make_forward(model, batch_shape=(4, 32, 32, 3))
        built = make_incremental(model, fwd, image, params.grid).plan.flop_fraction
        assert estimate_fraction(model, (32, 32, 3), params.grid) == pytest.approx(built)
    # An input of any size fixes no shape: only building the pass can say.
    inp = keras.Input((None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inp))
    free = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(pooled))
    assert estimate_fraction(free, (32, 32, 3), params.grid) is None
