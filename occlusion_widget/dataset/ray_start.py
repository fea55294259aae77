"""Ray for a dataset sweep, without Ray's start-up and run-time chatter on stderr.

Ray logs its start-up (the token-authentication notice, "Started a local Ray instance") through
the Python logger ``ray`` with its own stderr handler, Ray Data logs each run's plan through
``ray.data``, and Ray's C++ core writes warnings (for instance that an actor pool's constructor
arguments live in the object store) straight to file descriptor 2. Jupyter shows each of them
as a red stderr box, though none is an error. While :func:`start_ray` starts Ray and while a
sweep runs, all of this goes to the logger ``occlusion_widget.ray`` instead, at INFO level
(errors keep their level); Ray's own log files are untouched. To see it::

    logging.basicConfig()
    logging.getLogger("occlusion_widget.ray").setLevel(logging.INFO)

Failures still raise as exceptions, with their message.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile

# The same test the package's TensorFlow quieting uses: one notion of "in a notebook".
from .._quiet import _in_jupyter_kernel as in_jupyter_kernel

__all__ = ["LOGGER", "ray_output_to_logging", "start_ray"]

LOGGER = logging.getLogger("occlusion_widget.ray")
#: Ray's loggers that carry their own stderr handlers (``propagate`` is off on both).
_RAY_LOGGERS = ("ray", "ray.data")


class _ToLogger(logging.Handler):
    """Hands each of Ray's records to :data:`LOGGER`, warnings lowered to INFO."""

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelno if record.levelno >= logging.ERROR else logging.INFO
        try:
            LOGGER.log(level, "%s: %s", record.name, record.getMessage())
        except Exception:  # a record that cannot be formatted must not break the sweep
            self.handleError(record)


def _is_console(handler: logging.Handler) -> bool:
    # Ray's console handlers write to stderr; its file handlers (ray-data.log) stay.
    return isinstance(handler, logging.StreamHandler) and not isinstance(
        handler, logging.FileHandler
    )


@contextlib.contextmanager
def _python_logs_routed():
    saved = []
    forward = _ToLogger()
    for name in _RAY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers)))
        for handler in [h for h in logger.handlers if _is_console(h)]:
            logger.removeHandler(handler)
        logger.addHandler(forward)
    try:
        yield
    finally:
        for logger, handlers in saved:
            logger.removeHandler(forward)
            for handler in handlers:  # back as they were, in their order
                logger.removeHandler(handler)
                logger.addHandler(handler)


@contextlib.contextmanager
def _native_stderr_routed():
    """Descriptor 2 into a temporary file for the duration; its lines then go to LOGGER.

    Only inside a Jupyter kernel: there ``sys.stderr`` is the kernel's stream, not descriptor
    2, so Python's own messages and progress bars are unaffected. In a terminal the native
    lines stay where Ray puts them."""
    if not in_jupyter_kernel():
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 to take
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if line.strip():
                    LOGGER.info("ray (native): %s", line)


@contextlib.contextmanager
def ray_output_to_logging():
    """Within the block, Ray's console output goes to :data:`LOGGER` (see the module).

    Examples
    --------
    >>> with ray_output_to_logging():
    ...     logging.getLogger("ray").warning("goes to occlusion_widget.ray")
    """
    with _native_stderr_routed(), _python_logs_routed():
        yield


def start_ray(**init_options) -> None:
    """Start a local Ray (or join the cluster at ``RAY_ADDRESS``) with its start-up messages
    sent to the logger ``occlusion_widget.ray`` instead of stderr. Does nothing when Ray is
    already initialised.

    Parameters
    ----------
    **init_options
        Keyword arguments for ``ray.init`` (``num_cpus``, ``address``, ...). By default the
        dashboard is not started and the workers' output is not copied to this process.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> ow.dataset.start_ray(num_cpus=2)  # starts Ray's processes  # doctest: +SKIP
    """
    import ray

    if ray.is_initialized():
        return
    options = {"include_dashboard": False, "log_to_driver": False}
    options.update(init_options)
    with ray_output_to_logging():
        ray.init(**options)
