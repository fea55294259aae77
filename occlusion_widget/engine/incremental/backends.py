"""The incremental runner compiled for the Keras backend it runs on.

The runner itself (:mod:`.runtime`) is one piece of ``keras.ops`` code; only how it is compiled
differs, and that is per backend because each framework compiles differently:

- TensorFlow: ``tf.function`` with a batch-free input signature, traced once per model, image
  size and grid (the clean tensors come in as arguments, so another baseline reuses the trace),
  without AutoGraph (:func:`_tf_runner`).
- JAX: ``jax.jit`` of a stateless call (the model's variables come in as arguments through a
  ``keras.StatelessScope``, as Keras' own ``stateless_call`` does), so the weights are not baked
  into the compiled program as constants and one compilation serves every later sweep.
- torch: eager, under ``torch.no_grad``, like the full forward pass of
  :func:`~occlusion_widget.engine.model.make_forward` on torch. ``torch.compile`` would take
  minutes on a CPU for a network of this size and recompile for each new batch size, which the
  sweep's last (shorter) batch would trigger.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BACKENDS", "compile_runner", "no_grad", "scores_to_numpy", "to_tensor"]

#: The Keras backends the incremental pass runs on.
BACKENDS = ("tensorflow", "jax", "torch")


def to_tensor(backend, value):
    """A numpy array as a tensor of the backend (on its default device)."""
    import keras

    if backend == "tensorflow":
        import tensorflow as tf

        return tf.convert_to_tensor(value)
    return keras.ops.convert_to_tensor(value)


def no_grad(backend):
    """A context without gradient tape (torch records one for every eager op otherwise)."""
    import contextlib

    if backend == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def compile_runner(backend, run, model, x_spec, n_slots, cleans):
    """``fn(x, offsets, cleans) -> scores`` compiled for ``backend`` (numpy in, tensor out).

    Parameters
    ----------
    backend : str
        One of :data:`BACKENDS`.
    run : callable
        ``run(x, offsets, cleans)`` from :func:`~.runtime.make_runner`.
    model : keras.Model
        Whose variables the runner reads (JAX passes them in as arguments).
    x_spec : tuple
        ``(H, W, C)`` of a prepared image.
    n_slots : int
        Box slots in the plan (``offsets`` is ``(B, n_slots, 2)`` int32).
    cleans : list
        The clean tensors (their shapes and dtypes fix the TensorFlow signature).
    """
    if backend == "tensorflow":
        return _tf_runner(run, x_spec, n_slots, cleans)
    if backend == "jax":
        return _jax_runner(run, model)
    if backend == "torch":
        return _torch_runner(run)
    raise ValueError(f"no incremental pass for the {backend!r} backend; one of {BACKENDS}")


def _tf_runner(run, x_spec, n_slots, cleans):
    """Without AutoGraph: the runner is plain Python over a fixed plan, and AutoGraph would
    rewrite each of its per-layer closures from source (263 conversions, 2 s of MobileNetV2's
    3.5 s trace). Keras layers are never converted anyway (Keras marks them so), so a layer
    that branches on a tensor fails the full pass just the same."""
    import tensorflow as tf

    signature = [
        tf.TensorSpec((None, *x_spec), tf.float32),
        tf.TensorSpec((None, n_slots, 2), tf.int32),
        [tf.TensorSpec(c.shape, c.dtype) for c in cleans],
    ]
    return tf.function(run, input_signature=signature, autograph=False)


def _jax_runner(run, model):
    import weakref

    import jax
    import keras

    model_ref = weakref.ref(model)  # the cache must not keep the model alive

    def stateless(values, x, offsets, cleans):
        live = model_ref()
        assert live is not None  # the caller holds the model while the sweep runs
        with keras.StatelessScope(state_mapping=list(zip(live.variables, values, strict=True))):
            return run(x, offsets, cleans)

    jitted = jax.jit(stateless)

    def call(x, offsets, cleans):
        live = model_ref()
        assert live is not None
        return jitted([v.value for v in live.variables], x, offsets, cleans)

    return call


def _torch_runner(run):
    import torch

    def call(x, offsets, cleans):
        with torch.no_grad():
            return run(x, offsets, cleans)

    return call


def scores_to_numpy(y) -> np.ndarray:
    """The runner's output as float32 numpy, from any backend's tensor."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(y), np.float32)
