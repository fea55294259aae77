"""A Keras model or any callable -> one compiled batched function returning class probabilities.

Keras's ``predict()`` rebuilds its data pipeline on every call, which costs more than the model
itself for small batches; the sweep calls the model hundreds of times, so we compile one forward
pass per backend (``tf.function`` with a fixed batch shape, ``jax.jit`` of the stateless call,
``torch.no_grad``) and reuse it for every batch.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import numpy as np

# Re-exported: older code imports these from here.
from .compiled import compiled_call
from .model_io import (
    OUTPUT_KINDS,
    PROBABILITY_TOLERANCE,
    InputError,
    InputShapeError,
    check_input_shape,
    check_prepared,
    check_scores,
    single_output,
    to_probabilities,
)

__all__ = [
    "OUTPUT_KINDS",
    "PROBABILITY_TOLERANCE",
    "Forward",
    "InputError",
    "InputShapeError",
    "ModelError",
    "check_scores",
    "declared_input_shape",
    "has_accelerator",
    "is_out_of_memory",
    "make_forward",
    "to_probabilities",
]


class ModelError(RuntimeError):
    """The model (or ``preprocess``) raised while scoring occluded images.

    The original exception is chained as ``__cause__``; the message names the positions being
    scored and the batch shape, so a failure deep inside a framework still says where it happened.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def broken(batch):
    ...     raise ValueError("bad input")
    >>> try:
    ...     ow.occlusion_map(broken, np.zeros((8, 8)), patch_size=4, stride=4, progress=False)
    ... except ow.ModelError as err:
    ...     print(str(err).split(":")[0])
    the model raised ValueError

    Attributes
    ----------
    partial_result : OcclusionResult or None
        What was computed before the failure (``complete == False``), None when the first
        batch failed.
    """

    partial_result: Any = None  # an OcclusionResult (result.py imports this module)


def _keras_model_class():
    # Importing keras pulls in a whole framework; a plain numpy callable should not pay for it.
    keras = sys.modules.get("keras")
    return None if keras is None else keras.Model


def is_keras_model(model) -> bool:
    """Whether ``model`` is a Keras 3 model (without importing Keras if it is not loaded).

    Examples
    --------
    >>> is_keras_model(lambda batch: batch)
    False
    """
    cls = _keras_model_class()
    return cls is not None and isinstance(model, cls)


class Forward:
    """A compiled, batched forward pass: ``(B, H, W, C)`` float32 -> ``(B, K)`` float32 scores.

    Build one with :func:`make_forward`. ``backend`` says how the model is called: one of
    ``"tensorflow"``, ``"jax"``, ``"torch"``, ``"numpy"`` (Keras backends) or ``"callable"``;
    ``accelerator`` whether the backend runs on a GPU or TPU. ``prepare`` (preprocess) and
    ``run`` (the model) are separate steps so that the sweep can overlap them.

    Examples
    --------
    >>> fwd = make_forward(lambda b: b.mean(axis=(1, 2)), batch_shape=(2, 4, 4, 3))
    >>> fwd(np.ones((2, 4, 4, 3), np.float32)).shape
    (2, 3)
    """

    def __init__(
        self,
        call,
        backend: str,
        preprocess=None,
        expected_shape=None,
        squeeze=False,
        accelerator=False,
    ):
        self._call = call
        self.backend = backend
        self.accelerator = accelerator  # a GPU/TPU runs the model: larger automatic batches
        self.preprocess = preprocess
        self.expected_shape = expected_shape
        self.squeeze = squeeze
        self.stage = "model"  # which step failed, for ModelError messages
        # Compiled for this batch shape already (or eager): the next call's time is what every
        # later call costs, so auto may time the first batch (engine/compiled.py).
        self.warm = False

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.stage = "preprocess"
        x = self.prepare(batch)
        self.stage = "model"
        return self.run(x)

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """Preprocess a raw batch into what the model is fed (the sweep runs this in a worker
        thread, overlapped with the model scoring the previous batch)."""
        x = batch
        if self.preprocess is not None:
            x = check_prepared(self.preprocess(x))
            if x.dtype != np.float32:
                x = x.astype(np.float32)
        if self.squeeze and x.ndim == 4 and x.shape[-1] == 1:
            x = x[..., 0]
        if self.expected_shape is not None:
            check_input_shape(x.shape, self.expected_shape, self.preprocess is not None)
            self.expected_shape = None  # the batch shape never changes after the first call
        return x

    def run(self, x: np.ndarray) -> np.ndarray:
        """Score a prepared batch: ``(B, K)`` float32."""
        return single_output(self._call(x))


def declared_input_shape(model) -> tuple | None:
    """The input shape a Keras model declares, e.g. ``(None, 224, 224, 3)``; None when it
    declares none (a plain callable, a subclassed model not built yet).

    Raises
    ------
    ValueError
        When the model has several inputs.

    Examples
    --------
    >>> declared_input_shape(lambda batch: batch) is None
    True
    """
    if not is_keras_model(model):
        return None
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed or not yet built model
        return None
    if not inputs:
        return None
    if len(inputs) != 1:
        raise ValueError(f"the model has {len(inputs)} inputs; occlusion feeds one image batch")
    return tuple(inputs[0].shape)


def check_not_a_builder(model) -> None:
    """Refuse a model class or a Keras function that builds a model (``keras.applications.
    MobileNetV2`` without its call): both are callable, and fed a batch they fail deep inside.

    Examples
    --------
    >>> import keras
    >>> check_not_a_builder(keras.applications.MobileNetV2)
    Traceback (most recent call last):
    ...
    TypeError: model is keras.applications.MobileNetV2, which builds a model: call it first, e.g. model = keras.applications.MobileNetV2(weights="imagenet")
    """  # noqa: E501
    name = getattr(model, "__name__", type(model).__name__)
    if isinstance(model, type):
        raise TypeError(
            f"model is the class {name}, not a model: make one first, e.g. model = {name}(...)"
        )
    module = getattr(model, "__module__", None) or ""
    if inspect.isfunction(model) and module.startswith("keras") and "applications" in module:
        raise TypeError(
            f"model is keras.applications.{name}, which builds a model: call it first, e.g. "
            f'model = keras.applications.{name}(weights="imagenet")'
        )


def make_forward(model, preprocess=None, batch_shape=None) -> Forward:
    """Wrap a model into a :class:`Forward` compiled for a fixed batch shape.

    Parameters
    ----------
    model : keras.Model or callable
        A Keras 3 model on any backend, or a callable taking a float32 ``(N, H, W, C)`` numpy
        batch and returning ``(N, K)`` scores (numpy, tensors of any framework convert).
    preprocess : callable, optional
        Applied to each occluded raw-space batch before the model (outside the compiled
        function, so any Python works there).
    batch_shape : tuple of int
        ``(B, H, W, C)`` of the raw batches that will be fed; the compiled function is traced
        once for it.

    Returns
    -------
    Forward

    Raises
    ------
    TypeError
        When ``model`` or ``preprocess`` is not callable.
    ValueError
        When a Keras model has several inputs or outputs.

    Examples
    --------
    >>> fwd = make_forward(lambda b: b.reshape(len(b), -1)[:, :2], batch_shape=(1, 2, 2, 1))
    >>> fwd(np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)).tolist()
    [[0.0, 1.0]]
    """
    if not callable(model):
        raise TypeError(
            f"model must be a keras.Model or a callable batch -> scores; got {type(model).__name__}"
        )
    check_not_a_builder(model)
    if preprocess is not None and not callable(preprocess):
        raise TypeError(f"preprocess must be callable or None; got {type(preprocess).__name__}")
    if not is_keras_model(model):
        return Forward(model, "callable", preprocess)

    import keras

    expected = declared_input_shape(model)
    # A grayscale model declared as (None, H, W) gets the channel axis dropped.
    squeeze = expected is not None and len(expected) == 3
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        outputs = None
    if outputs and len(outputs) != 1:
        raise ValueError(
            f"the model has {len(outputs)} outputs; occlusion needs one class-score output. "
            f"Wrap it, e.g. keras.Model(model.inputs, model.outputs[0])"
        )

    backend = keras.backend.backend()
    accelerator = has_accelerator(backend)
    call, warm = compiled_call(model, backend, batch_shape, squeeze, accelerator)
    forward = Forward(call, backend, preprocess, expected, squeeze, accelerator)
    forward.warm = warm
    return forward


def has_accelerator(backend: str) -> bool:
    """Whether a Keras backend will run on a GPU or TPU (never imports a framework not loaded).

    Examples
    --------
    >>> has_accelerator("numpy")
    False
    """
    try:
        if backend == "tensorflow" and "tensorflow" in sys.modules:
            return bool(sys.modules["tensorflow"].config.list_logical_devices("GPU"))
        if backend == "jax" and "jax" in sys.modules:
            return sys.modules["jax"].default_backend() != "cpu"
        if backend == "torch" and "torch" in sys.modules:
            return bool(sys.modules["torch"].cuda.is_available())
    except Exception:  # a broken driver is no accelerator
        return False
    return False


# Out-of-memory errors as each framework spells them: the sweep halves its batch on these.
_OOM_NAMES = {"ResourceExhaustedError", "OutOfMemoryError"}
_OOM_TEXT = ("out of memory", "resource_exhausted", "resource exhausted", "failed to allocate")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception says the batch did not fit in memory.

    ``MemoryError`` (numpy), TensorFlow's ``ResourceExhaustedError``, torch's
    ``OutOfMemoryError`` and JAX's ``RESOURCE_EXHAUSTED`` runtime errors all count.

    Examples
    --------
    >>> is_out_of_memory(MemoryError()), is_out_of_memory(ValueError("bad shape"))
    (True, False)
    """
    if isinstance(exc, MemoryError):
        return True
    if any(cls.__name__ in _OOM_NAMES for cls in type(exc).__mro__):
        return True
    if isinstance(exc, RuntimeError) or type(exc).__name__ == "XlaRuntimeError":
        text = str(exc).lower()
        return any(marker in text for marker in _OOM_TEXT)
    return False
