"""The model's own forward pass compiled once per Keras backend, and whether it is warm.

:func:`~.model.make_forward` wraps what :func:`compiled_call` returns. Each backend keeps its
compiled function per model (weak keys, and a weak reference inside the function, so the model
can still be garbage-collected): a widget that recomputes with another baseline or target, or a
second sweep of the same model, reuses the trace instead of paying seconds to retrace a large
network.

*Warm* means the call has already run at this input shape, so its next call costs what every
later one will: ``method="auto"`` then times the sweep's first batch instead of its second
(:mod:`.auto`). torch runs eagerly and is always warm.
"""

from __future__ import annotations

import weakref

__all__ = ["compiled_call", "signature_traced"]


def compiled_call(model, backend, batch_shape, squeeze, accelerator):
    """``(call, warm)``: the Keras model's batched call on ``backend`` (numpy in, the
    framework's tensor out) and whether it is compiled for ``batch_shape`` already."""
    shape = None  # the prepared batch's shape, without the channel axis a gray model drops
    if batch_shape is not None:
        shape = tuple(batch_shape[:-1]) if squeeze else tuple(batch_shape)
    if backend == "tensorflow":
        return _tf_call(model, shape, jit_compile=accelerator)
    if backend == "jax":
        return _jax_call(model, shape)
    if backend == "torch":
        return _torch_call(model), True
    import keras

    def call(x):
        return keras.ops.convert_to_numpy(model(x, training=False))

    return call, False


_TF_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tf_call(model, shape, jit_compile=False):
    import tensorflow as tf

    model_ref = weakref.ref(model)

    def forward(x):
        live = model_ref()
        assert live is not None  # the caller holds the model while the sweep runs
        return live(x, training=False)

    try:
        per_model = _TF_FUNCTIONS.setdefault(model, {})
    except TypeError:  # an unhashable model: compile without caching
        per_model = {}
    key = (None if shape is None else shape[1:], jit_compile)
    fn = per_model.get(key)
    if fn is None:
        # One trace for the whole sweep: the batch axis is left free (the sweep pads its last
        # batch anyway), so no batch size ever causes a retrace.
        signature = None
        if shape is not None:
            signature = [tf.TensorSpec(shape=(None, *shape[1:]), dtype=tf.float32)]
        # XLA pays on a GPU but is 10x slower than TF's own kernels on a CPU (measured in
        # benchmarks/RESULTS.md), so it is used only when a GPU is there.
        fn = tf.function(
            forward,
            input_signature=signature,
            reduce_retracing=signature is None,
            jit_compile=jit_compile or None,
        )
        per_model[key] = fn
    # Traced already (an earlier sweep): with a signature there is only the one trace. XLA
    # compiles per batch size, so a jit-compiled function is never taken as warm.
    warm = signature_traced(fn) and shape is not None and not jit_compile

    def call(x):
        if shape is not None and x.shape[1:] != shape[1:]:
            # preprocess changed the size: run eagerly rather than trace an unknown shape.
            return model(x, training=False)
        return fn(tf.convert_to_tensor(x))

    return call, warm


def signature_traced(fn) -> bool:
    """Whether a ``tf.function`` has been traced at least once.

    Examples
    --------
    >>> import tensorflow as tf
    >>> twice = tf.function(lambda x: 2 * x)
    >>> signature_traced(twice), float(twice(tf.constant(1.0))), signature_traced(twice)
    (False, 2.0, True)
    """
    try:
        return fn.experimental_get_tracing_count() > 0
    except AttributeError:  # an older TensorFlow: say cold, which only costs a timed batch
        return False


_JAX_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Input shapes each model's jitted function has run at (XLA compiles once per shape).
_JAX_SHAPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _jax_call(model, shape):
    import jax

    if not model.built:
        raise ValueError("the Keras model is not built; call it once on a batch first")
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    # One jitted function per model, so a second sweep (another baseline, a widget recompute)
    # reuses the compiled code instead of compiling the network again.
    try:
        forward = _JAX_FUNCTIONS.get(model)
        seen = _JAX_SHAPES.setdefault(model, set())
    except TypeError:  # unhashable
        forward, seen = None, set()
    if forward is None:
        model_ref = weakref.ref(model)

        def stateless(trainable, non_trainable, x):
            live = model_ref()
            assert live is not None  # the caller holds the model while the sweep runs
            y, _ = live.stateless_call(trainable, non_trainable, x, training=False)
            return y

        forward = jax.jit(stateless)

        try:
            _JAX_FUNCTIONS[model] = forward
        except TypeError:
            pass
    warm = shape in seen

    def call(x):
        y = forward(trainable, non_trainable, x)
        seen.add(tuple(x.shape))
        return y

    return call, warm


def _torch_call(model):
    import torch

    def call(x):
        with torch.no_grad():
            return model(x, training=False)

    return call
