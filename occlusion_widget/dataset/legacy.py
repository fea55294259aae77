"""Stores written before format 3: one Zarr group of four arrays per image.

Such a store is read as before, and a sweep resumed into it keeps writing that layout (its
images are not moved). :func:`.convert.convert_store` copies one into the stacked layout
(:mod:`.layout`): about one file per thousand images instead of seven per image.

``maps.zarr/_baseline`` (a whole baseline image, one per store) keeps this layout in every
format.
"""

from __future__ import annotations

import numpy as np

from .integrity import StoreCorruptError

__all__ = ["LEGACY_FORMAT", "group_arrays", "has_group", "write_group"]

#: The last format with one group per image.
LEGACY_FORMAT = 2


def write_group(group, key: str, arrays: dict) -> None:
    """Write one image's arrays into ``group/<key>/``, replacing whatever an earlier try
    left there (the writer holds the image's claim, so nobody else writes it)."""
    node = group.create_group(key, overwrite=True)
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        node.create_array(name, data=array, chunks=array.shape or "auto", overwrite=True)


def has_group(fs, root: str, key: str) -> bool:
    return fs.exists(f"{root}/maps.zarr/{key}/zarr.json")


def group_arrays(group, key: str, where: str) -> dict:
    """One image's arrays from ``group/<key>/``; ``StoreCorruptError`` naming ``where``."""
    try:
        node = group[key]
    except KeyError as exc:
        raise StoreCorruptError(
            f"the maps {where} are missing (deleted?). Re-run sweep_dataset with this "
            f"store to redo the image"
        ) from exc
    except Exception as exc:
        raise StoreCorruptError(
            f"the metadata of {where} is unreadable ({type(exc).__name__}). Re-run "
            f"sweep_dataset with this store to redo the image"
        ) from exc
    out = {}
    try:
        for name in node.array_keys():
            out[name] = node[name][...]
    except Exception as exc:
        text = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise StoreCorruptError(
            f"the maps {where} are unreadable ({type(exc).__name__}: {text}). "
            f"Re-run sweep_dataset with this store to redo the image"
        ) from exc
    return out
