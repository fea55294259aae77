"""Copy a store of the per-image layout (format 2 and before) into the stacked layout."""

from __future__ import annotations

import os

from .disk import DiskStore
from .integrity import verify_arrays

__all__ = ["convert_store"]


def convert_store(old, new, storage_options=None) -> None:
    """Copy a store of the per-image layout (format 2 and before) into a new store of the
    stacked layout: the same table (each image's last row), parameters and maps, checked
    against their checksums on the way.

    Parameters
    ----------
    old, new : str or os.PathLike
        The store to read, and a folder that holds no store yet.
    storage_options : dict, optional
        fsspec options for both (URLs).

    Raises
    ------
    ValueError
        ``new`` already holds a store, or ``old`` is in the stacked layout already.
    StoreCorruptError
        An image's maps in ``old`` fail their checksum (re-run the sweep on ``old`` first:
        it redoes them).

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> ow.dataset.convert_store("sweeps/cifar", "sweeps/v3")  # your old store  # doctest: +SKIP
    """
    source = DiskStore(old, storage_options, mode="r")
    if not source.legacy:
        raise ValueError(
            f"the store at {source.location} is in the stacked layout already; nothing to convert"
        )
    if source.fs.exists(f"{source.root}/maps.zarr") and os.fspath(old) == os.fspath(new):
        raise ValueError("give convert_store a new folder to write (the old store is kept)")
    target = DiskStore(new, storage_options)
    if target.legacy or target.fs.exists(f"{target.root}/table"):
        raise ValueError(
            f"{target.location} holds a store already; give convert_store an empty folder"
        )
    meta = source.require_meta()
    for name in ("params", "shape"):
        settled = source.read_settled(name)
        if settled is not None:
            settled = (
                dict(settled, format_version=target.format_version) if name == "params" else settled
            )
            target.settle(name, settled)
    target.write_meta(dict(meta, format_version=target.format_version))
    if source.has_arrays("_baseline"):
        target.write_arrays("_baseline", source.read_arrays("_baseline"))
    table = source.table()
    rows = []
    for row in table.to_dict("records"):
        if row["status"] == "done":
            arrays = source.read_arrays(row["key"])
            verify_arrays(
                arrays, str(row.get("checksum") or ""), f"the maps {source.where(row['key'])}"
            )
            target.write_arrays(row["key"], arrays)
        rows.append(row)
        if len(rows) >= 1024:
            target.append_rows(rows)
            rows = []
    target.append_rows(rows)
    target.finish()
