"""Small seeded Keras models that exercise every region rule of the incremental pass."""

from __future__ import annotations

import numpy as np


def randomize_batchnorm(model, seed=1):
    """Give every BatchNormalization non-trivial statistics, so that a wrong region shows.

    Freshly built BN layers are the identity (mean 0, variance 1), which hides bugs in how the
    incremental pass carries their regions; real trained statistics never are.
    """
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.1, c).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, c).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, c).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.2, c).astype("float32"))
    return model


def every_rule_model(size=32, seed=0):
    """A functional model with one of each layer the incremental pass has a rule for.

    'same' convolutions with stride 2 on an even map (asymmetric padding), dilation, depthwise
    and separable convolutions, max and average pooling with 'same' padding (their padding is
    -inf and "not counted", not zeros), asymmetric zero padding, element-wise layers, and
    Add / Multiply / Concatenate joining branches with different boxes.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 255.0, offset=-0.5)(inp)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    a = layers.Conv2D(8, 3, padding="same", dilation_rate=2)(x)
    b = layers.DepthwiseConv2D(5, padding="same")(x)
    x = layers.Add()([a, b])
    x = layers.ReLU(6.0)(x)
    x = layers.ZeroPadding2D(((1, 0), (0, 1)))(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid")(x)
    m = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    v = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    x = layers.Concatenate()([m, v, layers.Multiply()([m, v])])
    x = layers.SeparableConv2D(12, 3, padding="same", activation="elu")(x)
    x = layers.Conv2D(12, 1, strides=2, padding="same")(x)  # stride above the kernel
    x = layers.Activation("tanh")(x)
    x = layers.Flatten()(x)
    # Large logits, so that every occluder position moves the probabilities visibly.
    out = layers.Dense(
        5, activation="softmax", kernel_initializer=keras.initializers.RandomNormal(0, 0.5)
    )(x)
    return randomize_batchnorm(keras.Model(inp, out))


def no_rule_model(size=24, seed=0):
    """A model with a custom layer that has no region rule (it mixes pixels across the map),
    between convolutions: the pass must fall back to the whole map from that layer on."""
    import keras
    from keras import layers

    class RollRows(layers.Layer):
        def call(self, x):
            return keras.ops.roll(x, 3, axis=1)

    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3))
    x = layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = RollRows()(x)
    x = layers.Conv2D(6, 3, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    out = layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out)


def sequential_model(size=24, seed=0):
    """A small VGG-like Sequential model."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.Conv2D(8, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
