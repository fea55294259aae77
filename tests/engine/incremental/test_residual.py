"""Residual networks on the incremental pass: exact at every Add, and no gather wasted.

The models are tiny, seeded ResNet-style networks: bottleneck blocks whose identity shortcut
has a smaller box than the convolution branch (the Add rebases it into the union), projection
shortcuts with stride 2 ('same' on an even map, and 'valid' after asymmetric zero padding), an
Add right after an Add, an Add of three branches whose boxes differ along different axes (so
the union is none of them), and a 'same' average pooling after an Add (its in-map count at the
borders). Each is compared with the full sweep at 1e-5 in probabilities on float32, with the
boxes kept on every layer (``FULL_SHARE`` above 1) and with the default switch to the whole
map. The graph test counts the gathers the compiled pass issues: one per window that is not its
source box, none for a 1x1 convolution or a branch already on the union box. The plan test
checks that a full convolution keeps its box longer than a depthwise one.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests run on TensorFlow", allow_module_level=True)

import occlusion_widget as ow  # noqa: E402
from occlusion_widget.engine.incremental import plan as plan_module  # noqa: E402
from tests.helpers.models_incremental import randomize_batchnorm  # noqa: E402

TOL = 1e-5


def _bottleneck(x, filters, stride=1, project=False, valid=False):
    from keras import layers

    if valid:  # ResNet's own stem: explicit asymmetric padding, then a 'valid' convolution
        y = layers.ZeroPadding2D(((0, 1), (1, 0)))(x)
        y = layers.Conv2D(filters // 2, 3, strides=stride, padding="valid")(y)
    else:
        y = layers.Conv2D(filters // 2, 1, strides=stride)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters // 2, 3, padding="same")(y)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(filters, 1)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if project:
        shortcut = layers.Conv2D(filters, 1, strides=stride)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.Activation("relu")(layers.Add()([shortcut, y]))


def residual_model(size=24, seed=0):
    """Four bottleneck blocks (identity, projection with stride 2 'same', identity, projection
    after zero padding, 'valid'), an Add after an Add, and a three-branch Add of differing
    boxes, then a 'same' average pooling."""
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = layers.Conv2D(8, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = _bottleneck(x, 8)
    x = _bottleneck(x, 16, stride=2, project=True)
    x = _bottleneck(x, 16)
    x = layers.Add()([x, layers.Conv2D(16, 3, padding="same")(x)])  # an Add after an Add
    wide = layers.Conv2D(16, (1, 3), padding="same")(x)
    tall = layers.Conv2D(16, (3, 1), padding="same")(x)
    x = layers.Add()([x, wide, tall])  # union: none of the three boxes
    x = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    x = _bottleneck(x, 16, stride=2, project=True, valid=True)
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(
        5, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(0, 0.5)
    )(x)
    return randomize_batchnorm(keras.Model(inp, out))


@pytest.fixture(scope="module")
def model():
    return residual_model()


def _image(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def _sweep(model, method, patch, stride, **kw):
    return ow.occlusion_map(
        model,
        _image(24),
        patch_size=patch,
        stride=stride,
        progress=False,
        baseline="black",
        method=method,
        **kw,
    )


@pytest.mark.parametrize(
    "patch,stride,share",
    # Patch 5 at stride 4 needs a flush last window (24 is not 5 + 4k); both put patches at the
    # borders, where windows leave the map. share 2.0 keeps every layer on its box (and its
    # compiled pass serves the gather count below); None is the default switch to the map.
    [(5, 4, None), (6, 3, 2.0)],
)
def test_residual_blocks_match_the_full_sweep(model, patch, stride, share, monkeypatch):
    if share is not None:
        monkeypatch.setattr(plan_module, "FULL_SHARE", share)
    full = _sweep(model, "full", patch, stride)
    inc = _sweep(model, "incremental", patch, stride, batch_size=7)
    assert np.ptp(full.probabilities, axis=(0, 1)).max() > 1e-3  # the map moves
    np.testing.assert_allclose(inc.probabilities, full.probabilities, rtol=0, atol=TOL)
    assert inc.info["method"] == "incremental"
    if share is not None:
        # Every layer on its box but the global pooling and the dense layer.
        assert inc.info["incremental_layers"] == inc.info["layers"] - 2


def test_one_gather_per_window_and_none_for_the_source_box(model, monkeypatch):
    """A window costs one gather; a 1x1 convolution's window and an Add's branch already on
    the union box are the region itself."""
    import tensorflow as tf

    from occlusion_widget.engine import make_forward, validate_params
    from occlusion_widget.engine.incremental import make_incremental

    monkeypatch.setattr(plan_module, "FULL_SHARE", 2.0)
    params = validate_params(_image(24), patch_size=6, stride=3)
    base = make_forward(model, None, batch_shape=(4, 24, 24, 3))
    clean = base.prepare(params.image.pixels[None].astype(np.float32))[0]
    inc = make_incremental(model, base, clean, params.grid)
    plan = inc.plan
    slot_of = {s.output: s.slot for s in plan.steps if s.kind != "full"}
    needed = 0
    for step in plan.steps:
        for tid, (w_slot, _) in zip(step.inputs, step.windows, strict=False):
            src = slot_of[tid]
            same = plan.sizes[src] == plan.sizes[w_slot] and np.array_equal(
                plan.offsets[src], plan.offsets[w_slot]
            )
            needed += not same
    # The input box, every window but the source boxes, and the region pasted into the map
    # before the global pooling.
    graph = inc._fn.get_concrete_function().graph
    gathers = [op for op in graph.get_operations() if op.type in ("GatherV2", "GatherNd")]
    assert len(gathers) == needed + 2
    skipped = sum(len(s.windows) for s in plan.steps) - needed
    assert skipped >= 8  # the 1x1 convolutions and the shortcuts inside their union boxes
    assert tf.executing_eagerly()


def _plan(model, size, patch, stride):
    from occlusion_widget.engine import make_forward, validate_params
    from occlusion_widget.engine.incremental import make_incremental

    params = validate_params(_image(size), patch_size=patch, stride=stride)
    base = make_forward(model, None, batch_shape=(2, size, size, 3))
    clean = base.prepare(params.image.pixels[None].astype(np.float32))[0]
    return make_incremental(model, base, clean, params.grid).plan


def test_a_convolution_keeps_its_box_longer_than_a_depthwise_one():
    """Patch 6 at stride 5 on a 16x16 map: boxes of 8, 10, 12 and 14 (25% to 77% of the map)
    after each 3x3 layer. A full convolution stays on its box up to 0.75 of the map (it does
    k*k*C_out multiply-adds per gathered value); a depthwise one switches to the whole map
    from FULL_SHARE (0.5), as before."""
    from keras import layers

    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    convs = inp
    for _ in range(4):
        convs = layers.Conv2D(3, 3, padding="same")(convs)
    depthwise = inp
    for _ in range(4):
        depthwise = layers.DepthwiseConv2D(3, padding="same")(depthwise)
    out = layers.Dense(2)(layers.Flatten()(layers.Add()([convs, depthwise])))
    plan = _plan(keras.Model(inp, out), 16, 6, 5)
    kinds = {type(s.node.operation).__name__: [] for s in plan.steps if s.node is not None}
    for step in plan.steps:
        if step.node is not None:
            kinds[type(step.node.operation).__name__].append(step.kind)
    assert kinds["Conv2D"] == ["conv", "conv", "conv", "full"]  # 56% on its box, 77% not
    assert kinds["DepthwiseConv2D"] == ["conv", "conv", "full", "full"]
