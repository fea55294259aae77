"""The Ray backend: the same per-image sweep, on Ray Data's actor pool.

Each actor loads the model once (from a ``.keras`` path or a ``model_factory``), sweeps its
batches of images with :class:`~occlusion_widget.dataset.sweeper.ImageSweeper` (the very code
the local backend runs, so results agree), writes each image's maps straight into the store's
Zarr group, and returns the table rows; this process appends the rows (rows are the source of
truth, written after the maps) and drives the progress bar.

A local Ray is started unless one is running; with ``RAY_ADDRESS`` set, ``ray.init`` joins
that cluster instead. On a cluster the store must be a path every node reaches: a shared
filesystem or an object-store URL (fsspec).
"""

from __future__ import annotations

import io
import json
import logging
import os

import numpy as np

from .sources import Item
from .store import DiskStore, write_arrays
from .summary import error_row
from .sweeper import ImageSweeper

__all__ = ["run_ray"]

_MISSING = (
    "backend='ray' needs Ray Data, which is not installed: pip install 'occlusion_widget[ray]' "
    "(or use backend='local', which needs nothing more)"
)
#: Images per map_batches call: small, so rows (and the progress bar) arrive often.
IMAGES_PER_BATCH = 4


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return ray


def _pack(image) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(image), allow_pickle=False)
    return buffer.getvalue()


def _unpack(data: bytes):
    return np.load(io.BytesIO(data), allow_pickle=False)


def _pack_arrays(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _unpack_arrays(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


class SweepActor:
    """One Ray actor: loads the model once, then sweeps batches of images."""

    def __init__(self, model, model_factory, params, image_shape, store_url, storage_options):
        if model_factory is not None:
            model = model_factory()
        elif isinstance(model, str):
            import keras

            model = keras.saving.load_model(model)
        self.sweeper = ImageSweeper(model, params, image_shape)
        self.group = None
        if store_url is not None:
            self.group = DiskStore(store_url, storage_options).group
        self.seen = False

    def __call__(self, batch):
        import pandas as pd

        rows, packed = [], []
        for item_id, path, label, data in zip(
            batch["id"], batch["path"], batch["label"], batch["npy"], strict=True
        ):
            item = Item(str(item_id), _unpack(data) if len(data) else None, str(path), int(label))
            try:
                arrays, row = self.sweeper.run(item)
            except Exception as exc:  # only the first image raises: let the driver decide
                arrays = None
                row = {"id": item.id, "key": item.key, "path": item.path, "label": item.label}
                row.update(error_row(f"{type(exc).__name__}: {exc}"), seconds=0.0, _fatal=True)
            blob = b""
            if arrays is not None:
                row["_num_classes"] = len(arrays["base_probabilities"])
                if self.group is not None:
                    write_arrays(self.group, row["key"], arrays)
                else:  # an in-memory store: the maps travel back with the row
                    blob = _pack_arrays(arrays)
            # JSON keeps each row whole (NaN included) through Arrow, whatever its columns.
            rows.append(json.dumps(row))
            packed.append(blob)
        return pd.DataFrame({"row": rows, "arrays": packed})


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


def _first_shape(items, params, writer, image_shape):
    """Fix the dataset's image size here (the workers must all check against the same one):
    decode items until one decodes; the ones that fail are recorded at once."""
    if image_shape is not None:
        return image_shape, items
    probe = ImageSweeper(None, params)
    rest = list(items)
    while rest:
        item = rest[0]
        _, problem = probe.decode(item)
        if problem is None:
            return probe.image_shape, rest
        row = {"id": item.id, "key": item.key, "path": item.path, "label": int(item.label)}
        row.update(error_row(problem), seconds=0.0)
        writer.add(row)
        rest.pop(0)
    return None, rest


def run_ray(model, model_factory, params, items, store, writer, image_shape, cancel, options):
    """Sweep ``items`` on Ray Data into ``store`` (see the module docstring)."""
    ray = _import_ray()
    shipped = _model_for_workers(model, model_factory)
    image_shape, todo = _first_shape(items, params, writer, image_shape)
    if not todo:
        return
    runtime_env = _runtime_env()
    if not ray.is_initialized():
        init = {"include_dashboard": False, "log_to_driver": False, "runtime_env": runtime_env}
        init.update(options.get("init", {}))
        ray.init(**init)
    records = [
        {
            "id": item.id,
            "path": item.path,
            "label": int(item.label),
            "npy": b"" if item.path else _pack(item.image),
        }
        for item in todo
    ]
    num_cpus = options.get("num_cpus", 1)
    num_gpus = options.get("num_gpus", 0)
    actors = options.get("num_actors")
    if actors is None:
        cpus = ray.available_resources().get("CPU", 1.0)
        actors = max(1, min(len(records), int(cpus // max(num_cpus, 1e-9))))
    per_batch = options.get("images_per_batch", IMAGES_PER_BATCH)
    store_url = store.url if isinstance(store, DiskStore) else None
    storage_options = store.storage_options if isinstance(store, DiskStore) else None
    blocks = max(1, -(-len(records) // per_batch))
    actors = max(1, min(int(actors), blocks))  # an actor without a block would only idle
    dataset = ray.data.from_items(records, override_num_blocks=blocks)
    swept = dataset.map_batches(
        SweepActor,
        fn_constructor_kwargs={
            "model": shipped,
            "model_factory": model_factory,
            "params": params,
            "image_shape": image_shape,
            "store_url": store_url,
            "storage_options": storage_options,
        },
        batch_size=per_batch,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        runtime_env=runtime_env,
    )
    # Ray Data's own progress bars and log lines would bury ours: quiet them for this run.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    checked = False
    ok = 0
    for batch in swept.iter_batches(batch_size=None, batch_format="pandas"):
        for text, blob in zip(batch["row"], batch["arrays"], strict=True):
            row = json.loads(text)
            if row.pop("_fatal", False) and ok == 0:
                raise ValueError(f"the first image failed in the Ray workers: {row['error']}")
            k = row.pop("_num_classes", None)
            if k is not None:
                ok += 1
                if not checked:
                    store.check_params(params.describe(image_shape), k, params.kept_classes(k))
                    checked = True
                if len(blob):
                    store.write_arrays(row["key"], _unpack_arrays(blob))
            writer.add(row)
        if cancel is not None and cancel.is_set():
            break
