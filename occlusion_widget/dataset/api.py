"""``sweep_dataset`` and ``open_dataset``: occlusion sweeps over a whole image set."""

from __future__ import annotations

import inspect
import os
import sys
import warnings

import numpy as np

from ..engine.params import reject_unknown
from .claims import announce, withdraw
from .dataset import OcclusionDataset
from .identity import answer_mismatch, describe_model, model_mismatch, same_by_digest
from .local import RowWriter, run_local
from .relabel import relabel_rows
from .resume import SAMPLE_IMAGES, plan
from .sources import make_source
from .store import open_store
from .sweeper import DatasetParams

__all__ = ["open_dataset", "sweep_dataset"]

BACKENDS = ("local", "ray")


def sweep_dataset(
    model=None,
    images=None,
    *,
    labels=None,
    store=None,
    backend="local",
    patch_size=16,
    stride=8,
    baseline="gray",
    preprocess=None,
    output="auto",
    batch_size=None,
    resize=None,
    top_k=None,
    channels=None,
    model_factory=None,
    progress=True,
    cancel=None,
    storage_options=None,
    ray_options=None,
    **sweep_options,
) -> OcclusionDataset:
    """Run an occlusion sweep over every image of a dataset and keep a table of surprises.

    Each image is swept as :func:`occlusion_map` would, with the same parameters. The result
    is one row per image (prediction, how many positions flip it, the largest drop and where,
    the class that steals it, margins, entropies) plus every image's map, kept in ``store``.

    Parameters
    ----------
    model : keras.Model, callable or path, optional
        The classifier, or the path of a ``.keras`` file. ``backend="ray"`` needs a path or
        ``model_factory`` (a live Keras model is not shipped to the workers).
    images : list, array, folder path, iterable or tf.data.Dataset
        A list of images (arrays, PIL images or paths); an ``(N, H, W, C)`` array; a folder
        (searched recursively; class sub-folders give the true labels, as in
        ``keras.utils.image_dataset_from_directory``); an iterable of ``(image, label)`` pairs;
        a ``tf.data.Dataset`` of such pairs. Every image must have the same size (or pass
        ``resize``). Files are read as stored, as Keras's loaders read them (an EXIF
        orientation is not applied, unlike a single image's path).
    labels : sequence of int, optional
        True labels, one per image, for a list or array.
    store : str or os.PathLike, optional
        A folder (local path or fsspec URL) for the Zarr maps and the Parquet table. Re-running
        with the same store skips the images already done; a store written with other
        parameters is refused. ``None`` keeps everything in memory. A store inside the image
        folder is left out of the dataset; the image folder itself is refused as a store.
    backend : {"local", "ray"}, default "local"
        ``"local"`` runs here with the streaming engine; ``"ray"`` runs on Ray Data (a local
        Ray, or the cluster at ``RAY_ADDRESS``), see :mod:`occlusion_widget.dataset.ray_backend`.
    patch_size, stride, baseline, preprocess, output, batch_size
        As for :func:`occlusion_map`; shared by every image.
    resize : int or tuple of int, optional
        Resize every image to ``(height, width)`` first; without it, an image of another size
        than the first is recorded as an error and skipped.
    top_k : int, optional
        Classes kept per position in the store (float16). Default: all classes up to 100,
        otherwise the top 10. The table's numbers always come from the full float32 sweep.
    channels : {1, 3, 4}, optional
        Convert every image file to this many channels (Pillow's ``convert`` to L, RGB or
        RGBA: grey becomes RGB, RGBA drops its alpha). Default: the channels a Keras model
        declares, else those of the first image.
    model_factory : callable, optional
        ``() -> model``, called once per worker (instead of ``model``).
    progress : bool or callable, default True
        A tqdm bar over images with the time left, ``False``, or ``callable(done, total)``
        (``total`` is None when the dataset's length is unknown).
    cancel : threading.Event, optional
        When set, stop after the current image; everything done stays in the store.
    storage_options : dict, optional
        fsspec options for a ``store`` URL (credentials, endpoint).
    ray_options : dict, optional
        ``num_actors``, ``num_cpus`` / ``num_gpus`` per actor, ``images_per_block`` (images
        an actor sweeps at a time; about 512 CIFAR-size images' pixels by default),
        ``init`` (keyword arguments for ``ray.init``), ``max_restarts`` /
        ``max_task_retries`` (how often a dead worker is restarted and its block rerun;
        3 each by default).
    **sweep_options
        Further keyword arguments for :func:`occlusion_map` (e.g. a value range or target
        groups where the engine supports them); recorded in the store's parameters.

    Returns
    -------
    OcclusionDataset

    Raises
    ------
    ValueError
        For an empty dataset, a store written with other parameters, or when the very first
        image fails in the engine (bad parameters or a broken model). Failures of single
        images later on (unreadable files, other sizes) are recorded in the table instead.

    Examples
    --------
    >>> import numpy as np
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
    ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> images = np.ones((3, 8, 8, 1), np.float32)
    >>> ds = ow.sweep_dataset(model, images, labels=[1, 1, 0], patch_size=4, stride=4,
    ...                       baseline="black", progress=False)
    >>> ds.table[["id", "predicted", "correct", "flip_fraction"]].values.tolist()
    [['0', 1, True, 0.25], ['1', 1, True, 0.25], ['2', 1, False, 0.25]]
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'local' or 'ray'; got {backend!r}")
    if model is None and model_factory is None:
        raise TypeError(
            "give the model: a keras.Model, a callable, a .keras path or model_factory="
        )
    if model is not None and model_factory is not None:
        raise TypeError("give either model or model_factory, not both")
    if model_factory is not None and not callable(model_factory):
        raise TypeError(f"model_factory must be callable; got {type(model_factory).__name__}")
    reject_unknown(sweep_options, "sweep_dataset()", _keywords())
    if isinstance(model, (str, os.PathLike)) and not os.path.isfile(model):
        raise ValueError(
            f"model path {os.fspath(model)!r} does not exist or is not a file; give a .keras "
            f"file, a keras.Model or a callable"
        )
    # A store kept inside the image folder is not part of the dataset.
    local = isinstance(store, (str, os.PathLike)) and "://" not in os.fspath(store)
    source = make_source(images, labels, skip=store if local else None)
    params = DatasetParams(
        patch_size,
        stride,
        baseline,
        preprocess,
        output,
        batch_size,
        resize,
        top_k,
        dict(sweep_options),
        describe_model(model, model_factory),
        channels,
    )
    params.describe()  # raises now on a malformed patch size, stride or resize
    st = open_store(store, storage_options)
    image_shape, work, live, claims = _prepare(
        st, source, params, baseline, model, model_factory, backend
    )
    done = work.had_rows
    try:
        with RowWriter(st, work.total, progress, start=work.skipped, claims=claims) as writer:
            items = work.claimed(claims, writer.skip)
            if backend == "local":
                live = live if live is not None else _load_model(model, model_factory)
                run_local(live, params, items, st, writer, image_shape, cancel)
            else:
                from .ray_backend import run_ray

                run_ray(
                    model,
                    model_factory,
                    params,
                    items,
                    st,
                    writer,
                    image_shape,
                    cancel,
                    ray_options or {},
                )
    finally:
        try:
            st.finish()  # the images staged are folded into their shards
        finally:
            claims.close()
    relabel_rows(st, work.relabel)  # labels given anew: the rows follow, maps unchanged
    if work.elsewhere and not (cancel is not None and cancel.is_set()):
        other = work.other
        warnings.warn(
            f"{work.elsewhere} image(s) are being swept by another writer of the store at "
            f"{st.location} (process {other.get('pid')} on "
            f"{str(other.get('host', '?')).split('/')[0]}); this dataset holds them once it "
            f"has written their rows: open it again then (ow.open_dataset(store))",
            UserWarning,
            stacklevel=2,
        )
    st.compact_if_needed()
    if writer.done == 0 and not done and not (cancel is not None and cancel.is_set()):
        raise ValueError("the dataset is empty: no images to sweep")
    if writer.errors and progress is not False and not callable(progress):
        _show_errors(writer.errors)
    if live is None and callable(model):  # Ray ran its own copies; a live one is here too
        live = model
    return OcclusionDataset(st, model=live, preprocess=preprocess)


def _prepare(st, source, params, baseline, model, model_factory, backend):
    """Settle or check the parameters, plan what is left, hold a resumed model to the stored
    answers and open the claims: ``(image_shape, plan, loaded model or None, claims)``. The
    writer is announced throughout, so that a writer starting meanwhile never takes the
    parameters settled here for a failed call's (:meth:`.disk.DiskStore.unsettle_if_unused`)."""
    me = announce(st)
    try:
        image_shape = _check_stored_params(st, params, me)
        described = params.describe()["baseline"]
        if (
            isinstance(described, str)
            and described.startswith("array[")
            and not st.has_arrays("_baseline")
        ):
            # A whole baseline image is recorded by checksum only: keep it to rebuild results.
            st.write_arrays("_baseline", {"baseline": np.asarray(baseline, np.float32)})
        classes = source.class_names
        if classes is not None and st.meta().get("folder_classes") != classes:
            st.write_meta({"folder_classes": classes})
        work = plan(st, source, params)
        live = None  # the model this process ran, kept for the gallery's widgets
        recorded = st.params_meta().get("params", {}).get("model")
        if (
            work.sample
            and (backend == "local" or model is not None)
            and not same_by_digest(recorded, params.model)
        ):
            # A wrapper, a factory or a file of another model passes the recorded description:
            # its answers on images the store holds must be the stored ones.
            live = _load_model(model, model_factory)
            _check_answers(st, work.sample, live, params.preprocess, params.output, "this sweep")
        return image_shape, work, live, work.open_claims()
    finally:
        withdraw(st, me)


#: What ``sweep_dataset(**sweep_options)`` passes on to the engine's sweep.
SWEEP_OPTIONS = ("mode", "value_range", "method")


def _keywords() -> list[str]:
    named = inspect.signature(sweep_dataset).parameters.values()
    return [p.name for p in named if p.kind == p.KEYWORD_ONLY] + list(SWEEP_OPTIONS)


def _check_stored_params(st, params, me=None):
    """Settle this sweep's parameters in the store, or refuse at once a store written with
    other ones (before any image is swept); returns the image shape the store holds, if any."""
    meta = st.params_meta()
    shape = meta.get("params", {}).get("image_shape")
    k = meta.get("num_classes")
    try:
        st.check_params(params.describe(shape), k, meta.get("kept_classes", k))
    except ValueError:
        # Parameters settled by a call that stored nothing (it failed before its first
        # image) bind nobody: this call settles its own.
        if not getattr(st, "unsettle_if_unused", lambda _: False)(me):
            raise
        return _check_stored_params(st, params)  # settles ours: a second refusal is final
    return None if shape is None else tuple(shape)


def _check_answers(st, keys, model, preprocess, output, who) -> None:
    mismatch = answer_mismatch(st, keys, model, preprocess, output)
    if mismatch:
        raise ValueError(
            f"the store at {st.location} was written by another model: {who} gives a model "
            f"that does not answer as the stored maps do ({mismatch}). Give the model that "
            f"wrote it (and its preprocess), or a new store path"
        )


def _load_model(model, model_factory):
    if model_factory is not None:
        return model_factory()
    if isinstance(model, (str, os.PathLike)):
        import keras

        return keras.saving.load_model(os.fspath(model))
    return model


def _show_errors(errors, limit=10):
    lines = [f"{len(errors)} image(s) skipped (see .errors):"]
    lines += [f"  {item_id}: {message}" for item_id, message in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"  ... and {len(errors) - limit} more")
    print("\n".join(lines), file=sys.stderr)


def open_dataset(store, storage_options=None, *, model=None, preprocess=None) -> OcclusionDataset:
    """Reopen a dataset sweep from its store; the model is not needed.

    Parameters
    ----------
    store : str or os.PathLike
        The folder (or fsspec URL) given to :func:`sweep_dataset`.
    storage_options : dict, optional
        fsspec options for a URL.
    model : keras.Model, callable or path, optional
        The model that made the store: the gallery's widgets can then recompute and probe
        (without it they show the stored maps only). A Keras model or ``.keras`` file with
        other weights than the store records is refused.
    preprocess : callable, optional
        The preprocess the sweep ran with (required with ``model`` when the store records one).

    Returns
    -------
    OcclusionDataset

    Raises
    ------
    ValueError
        ``model`` is not the one that made the store, or ``preprocess`` is missing.

    Examples
    --------
    >>> import tempfile
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = f"{folder}/sweep"
    ...     _ = ow.sweep_dataset(model, [np.eye(8), np.ones((8, 8))], store=store,
    ...                          patch_size=4, stride=4, progress=False)
    ...     maps_only = ow.open_dataset(store)  # shows the stored maps
    ...     live = ow.open_dataset(store, model=model)  # can recompute and probe too
    >>> len(maps_only), maps_only.model is None, live.model is model
    (2, True, True)
    """
    if store is None:
        raise TypeError(
            "open_dataset needs the store a sweep wrote: a folder path or an fsspec URL (a "
            "sweep with store=None returns its dataset and keeps nothing to reopen)"
        )
    st = open_store(store, storage_options, mode="r")
    if model is None:
        if preprocess is not None:
            raise TypeError("preprocess= is used with model=; give the model too, or neither")
        return OcclusionDataset(st)
    params = st.params_meta().get("params", {})
    mismatch = model_mismatch(params.get("model"), describe_model(model))
    if mismatch:
        raise ValueError(
            f"the store at {st.location} was made by another model: model= gives {mismatch}. "
            "Give the model that made it, or no model to show the stored maps only"
        )
    recorded = params.get("preprocess")
    if recorded is not None and preprocess is None:
        raise ValueError(
            f"the store at {st.location} was swept with preprocess {recorded!r}: pass it as "
            "preprocess= too, so that recomputing and probing see the images as the sweep did"
        )
    live = _load_model(model, None)
    if same_by_digest(params.get("model"), describe_model(model)):
        return OcclusionDataset(st, model=live, preprocess=preprocess)
    table = st.table()
    keys = list(table.loc[table["status"] == "done", "key"][:SAMPLE_IMAGES]) if len(table) else []
    _check_answers(st, keys, live, preprocess, params.get("output", "auto"), "model=")
    return OcclusionDataset(st, model=live, preprocess=preprocess)
