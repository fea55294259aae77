"""The Ray backend: blocks of images on Ray Data's actor pool, written whole by this process.

Each actor loads the model once (from a ``.keras`` path or a ``model_factory``) and sweeps
blocks of images (hundreds of CIFAR-size ones: :func:`.ray_blocks.block_size`) with the local
backend's packed loop (:func:`.ray_blocks.sweep_block`, so results agree image by image), and
hands each block's rows and maps back. This process writes each block in one go (the maps of
its images together, then its rows as one table part) and drives the progress bar.

A local Ray is started unless one is running; with ``RAY_ADDRESS`` set, ``ray.init`` joins
that cluster instead. On a cluster only this process touches the store. Ray's console output
goes to the logger ``occlusion_widget.ray`` (see :mod:`.ray_start`).

A lost worker loses nothing. An actor that dies (killed, out of memory, its node lost) is
restarted by Ray and its unfinished block is run again, up to ``max_restarts`` and
``max_task_retries`` times (``ray_options``; :data:`MAX_RESTARTS`, :data:`MAX_TASK_RETRIES` by
default: finite, so an image that kills every worker ends the sweep with an error instead of
looping). A dead try wrote nothing, and a block that comes back twice is written once (each
image's row and maps once, by key). When the retries run out, what is done stays in the store
and the same call resumes.
"""

from __future__ import annotations

import collections
import json
import os
import warnings

from .ray_blocks import SweepActor, block_size, record, unpack_arrays
from .ray_start import LOGGER, ray_output_to_logging, start_ray
from .summary import error_row
from .sweeper import ImageSweeper, item_error_row, model_channels

__all__ = ["run_ray"]

_MISSING = (
    "backend='ray' needs Ray Data, which is not installed: pip install 'occlusion_widget[ray]' "
    "(or use backend='local', which needs nothing more)"
)
#: How often Ray restarts one dead actor, and reruns one block whose actor died.
MAX_RESTARTS = 3
MAX_TASK_RETRIES = 3


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return ray


def _model_for_workers(model, model_factory):
    if model_factory is not None:
        return None
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    from ..engine.model import is_keras_model

    if is_keras_model(model):
        raise TypeError(
            "backend='ray' cannot ship a live Keras model to its workers; save it and pass the "
            "path (model.save('model.keras'); sweep_dataset('model.keras', ...)) or pass "
            "model_factory=, a function that builds or loads the model in each worker"
        )
    return model  # a plain callable travels pickled


def _runtime_env():
    backend = os.environ.get("KERAS_BACKEND")
    keras = __import__("sys").modules.get("keras")
    if keras is not None:
        backend = keras.backend.backend()
    env = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    if backend:
        env["KERAS_BACKEND"] = backend
    return {"env_vars": env}


#: The variables that size a framework's CPU thread pools in a new process: TensorFlow's two
#: pools, and OpenMP's (torch, oneDNN). An actor's frameworks otherwise start one thread per
#: core of the machine, and two actors on the same cores only compete.
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def actor_env(runtime_env, num_cpus):
    """The runtime environment of the sweep's actors: the job's, with each framework's thread
    pools sized to the CPUs Ray reserves per actor (at least 1), so that throughput grows with
    actors instead of every actor spreading over every core. A variable set in the driver's
    environment is passed on as it is.

    Examples
    --------
    >>> sorted(actor_env({"env_vars": {"KERAS_BACKEND": "jax"}}, 2)["env_vars"])
    ['KERAS_BACKEND', 'OMP_NUM_THREADS', 'TF_NUM_INTEROP_THREADS', 'TF_NUM_INTRAOP_THREADS']
    """
    threads = str(max(1, int(num_cpus or 1)))
    env = dict(runtime_env.get("env_vars", {}))
    for name in THREAD_VARIABLES:
        env[name] = os.environ.get(name, threads)
    return {**runtime_env, "env_vars": env}


def _first_shape(items, params, writer, image_shape, model=None):
    """Fix the dataset's image size here (the workers must all check against the same one):
    decode items until one decodes; the ones that fail are recorded at once.

    Files are converted as the local backend converts them: to ``channels=``, else to the
    channels ``model`` declares when that is cheap to tell here (a ``.keras`` file's config, a
    pickled callable), else to the first image's. A ``model_factory`` is not called here: give
    ``channels=`` when its model takes other channels than the first file has."""
    if image_shape is not None:
        return image_shape, list(items)
    probe = ImageSweeper(None, params)
    probe.channels = params.channels or model_channels(model)
    rest = list(items)
    while rest:
        item = rest[0]
        _, problem = probe.decode(item)
        if problem is None:
            return probe.image_shape, rest
        writer.add(item_error_row(item, problem))  # the row keeps the folder's true label
        rest.pop(0)
    return None, rest


def run_ray(model, model_factory, params, items, store, writer, image_shape, cancel, options):
    """Sweep ``items`` on Ray Data into ``store`` (see the module docstring).

    Returns how many images each worker (``node:pid``) swept, as a dict; the same tally is
    logged at INFO level on ``occlusion_widget.ray``.
    """
    ray = _import_ray()
    shipped = _model_for_workers(model, model_factory)
    image_shape, todo = _first_shape(items, params, writer, image_shape, shipped)
    if not todo:
        return {}
    records = [record(item) for item in todo]
    runtime_env = _runtime_env()
    start_ray(**{"runtime_env": runtime_env, **options.get("init", {})})
    num_cpus = options.get("num_cpus", 1)
    num_gpus = options.get("num_gpus", 0)
    actors = options.get("num_actors")
    if actors is None:
        cpus = ray.available_resources().get("CPU", 1.0)
        actors = max(1, min(len(records), int(cpus // max(num_cpus, 1e-9))))
    # images_per_batch: the option's name before images were handed out in blocks
    per_block = options.get("images_per_block", options.get("images_per_batch"))
    if per_block is None:
        per_block = block_size(image_shape, len(records), int(actors))
    blocks = max(1, -(-len(records) // per_block))
    actors = max(1, min(int(actors), blocks))  # an actor without a block would only idle
    restarts = options.get("max_restarts", MAX_RESTARTS)
    retries = options.get("max_task_retries", MAX_TASK_RETRIES)
    dataset = ray.data.from_items(records, override_num_blocks=blocks)
    with warnings.catch_warnings():
        # Ray Data 2.5x names no parameter for an actor's restarts and retries and calls the
        # catch-all ray_remote_args deprecated: without them its defaults (retry forever)
        # would apply, and an image that kills every worker would loop without end.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        swept = dataset.map_batches(
            SweepActor,
            fn_constructor_kwargs={
                "model": shipped,
                "model_factory": model_factory,
                "params": params,
                "image_shape": image_shape,
            },
            batch_size=per_block,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            runtime_env=actor_env(runtime_env, num_cpus),
            max_restarts=restarts,
            max_task_retries=retries,
        )
    collect = _Collector(store, writer, params, image_shape)
    context = ray.data.DataContext.get_current()
    bars = context.enable_progress_bars
    context.enable_progress_bars = False  # ours is the one bar
    try:
        with ray_output_to_logging():
            for batch in swept.iter_batches(batch_size=None, batch_format="pandas"):
                collect.block(batch)
                if cancel is not None and cancel.is_set():
                    break
    except ray.exceptions.RayError as exc:
        if not _worker_lost(exc):
            raise
        raise RuntimeError(
            f"a Ray worker died more often than max_restarts={restarts} / "
            f"max_task_retries={retries} allow "
            f"({type(exc).__name__}). The {collect.done} images swept so far are kept: run "
            f"the same sweep again to resume, or raise them in ray_options. "
            f"Ray's worker logs (/tmp/ray/session_latest/logs) say why it died"
        ) from exc
    finally:
        context.enable_progress_bars = bars
    LOGGER.info(
        "Ray swept %d images: %s",
        sum(collect.workers.values()),
        ", ".join(f"{w} {n}" for w, n in sorted(collect.workers.items())),
        extra={
            "ray_workers": dict(collect.workers),
            "ray_blocks": {"blocks": collect.blocks, "repeated_rows": collect.repeated},
        },
    )
    return dict(collect.workers)


def _worker_lost(exc) -> bool:
    """Whether ``exc`` (or what it wraps) says that a worker process or its node died."""
    import ray.exceptions as rex

    lost = (
        rex.ActorDiedError,
        rex.WorkerCrashedError,
        rex.NodeDiedError,
        rex.ActorUnavailableError,
    )
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, lost):
            return True
        cause = getattr(exc, "cause", None)
        exc = cause if isinstance(cause, BaseException) else exc.__cause__
    return False


class _Collector:
    """Takes the blocks Ray hands back and writes each in one go: each image's maps and row
    once, whatever Ray retried."""

    def __init__(self, store, writer, params, image_shape):
        self.store, self.writer = store, writer
        self.params, self.image_shape = params, image_shape
        self.keys = set()
        self.done = 0
        self.checked = False
        self.workers = collections.Counter()
        self.blocks = 0  # blocks received
        self.repeated = 0  # rows of images already written (a block Ray ran twice)

    def block(self, batch) -> None:
        self.blocks += 1
        rows, maps = [], []
        for text, blob in zip(batch["row"], batch["arrays"], strict=True):
            row = json.loads(text)
            worker = row.pop("_worker", None)
            if row["key"] in self.keys:
                self.repeated += 1
                continue
            if row.pop("_fatal", False) and self.done == 0:
                raise ValueError(f"the first image failed in the Ray workers: {row['error']}")
            k = row.pop("_num_classes", None)
            if k is not None:
                self.done += 1
                if not self.checked:
                    describe = self.params.describe(self.image_shape)
                    self.store.check_params(describe, k, self.params.kept_classes(k))
                    self.checked = True
                maps.append((row["key"], unpack_arrays(blob)))
            self.keys.add(row["key"])
            self.workers[worker] += 1
            rows.append(row)
        refused = write_block(self.store, maps)  # the maps before the rows: rows are the truth
        rows = [
            _refused(row, refused[row["key"]]) if row["key"] in refused else row for row in rows
        ]
        self.writer.add_block(rows)  # one table part


def _refused(row: dict, message: str) -> dict:
    """A done row turned into the error row of maps the store would not take."""
    kept = {name: row[name] for name in ("id", "key", "path", "label", "digest", "seconds")}
    return {**row, **error_row(message), **kept, "checksum": ""}


def write_block(store, maps: list) -> dict:
    """Write a block's maps, ``[(key, arrays)]``, into the store's buffer (it stages them
    before the block's rows are appended); returns ``{key: error row}`` for the images whose
    maps the store refused (another dtype than its arrays), as the local backend records
    them."""
    refused = {}
    for key, arrays in maps:
        try:
            store.write_arrays(key, arrays)
        except ValueError as exc:
            refused[key] = f"not stored: {exc}"
    return refused
