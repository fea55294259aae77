"""Keep TensorFlow's native start-up log lines out of notebooks.

TensorFlow's C++ code logs at import (oneDNN, ``cudart_stub``) and when it first looks for a
GPU (``failed call to cuInit``) through absl, straight to file descriptor 2. Jupyter shows
every such line as a red stderr box, though none is an error for our users.
``TF_CPP_MIN_LOG_LEVEL`` (read once, so it must be set before TensorFlow loads) hides INFO and
WARNING lines logged after start-up, but the lines logged while the library loads come before
absl is initialised and ignore it. So, inside a Jupyter kernel only, importing
``occlusion_widget`` imports TensorFlow and probes its devices with descriptor 2 pointed at
the null device. Python exceptions are unaffected (they go through ``sys.stderr``), and an
explicit ``TF_CPP_MIN_LOG_LEVEL`` in the environment is respected.

Import ``occlusion_widget`` before ``keras`` for this to cover TensorFlow's import lines too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

__all__ = ["quiet_tensorflow_start"]


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at the null device for the duration (C/C++ logs only)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real descriptor 2: nothing to silence
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None or "ipykernel" not in sys.modules:
        return False
    ip = shell.get_ipython()  # type: ignore[attr-defined]
    return ip is not None and getattr(ip, "kernel", None) is not None


def quiet_tensorflow_start() -> None:
    """Set ``TF_CPP_MIN_LOG_LEVEL=2`` unless set; in a Jupyter kernel, also load TensorFlow and
    look for GPUs with native stderr silenced (once)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not _in_jupyter_kernel():
        return  # a script or a test: stay light, TensorFlow loads when a model needs it
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    if importlib.util.find_spec("tensorflow") is None:
        return
    try:
        with native_stderr_silenced():
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the cuInit probe happens here, quietly
    except Exception:  # a broken TensorFlow shows its error when a model is built
        pass


quiet_tensorflow_start()  # on import: the package imports this module before anything else
