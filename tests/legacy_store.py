"""Write a dataset store as occlusion_widget wrote it before format 3, without the package's
store code: one Zarr group of arrays per image, a Parquet table without the ``slot`` column,
the settled parameters at format 2, and a claim file left per image.

The sweep itself runs in memory (``store=None``); its arrays, rows and settled parameters are
then laid out by hand, as the old store code did.
"""

from __future__ import annotations

import json
from pathlib import Path

import occlusion_widget as ow
from occlusion_widget.dataset.params_check import _LATER
from occlusion_widget.dataset.summary import COLUMNS


def write_v2_store(path, model, images, **params):
    """Sweep ``images`` and keep them in a format-2 store at ``path``; returns the in-memory
    dataset (the reference)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zarr

    path = Path(path)
    ds = ow.sweep_dataset(model, images, store=None, **params)
    memory = ds.store
    group = zarr.open_group(str(path / "maps.zarr"), mode="w")
    meta = dict(memory.meta(), format_version=2)
    group.attrs.update(json.loads(json.dumps(meta)))
    for key, arrays in memory._arrays.items():
        node = group.create_group(key)
        for name, array in arrays.items():
            node.create_array(name, data=array, chunks=array.shape)
    kinds = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<int64>": pa.list_(pa.int64()),
    }
    schema = pa.schema([(name, kinds[kind]) for name, kind in COLUMNS.items()])
    rows = memory._rows
    table = pa.table({name: [row.get(name) for row in rows] for name in schema.names}, schema)
    (path / "table").mkdir(parents=True)
    pq.write_table(table, path / "table" / "part-00000000000000000001-0000abcd.parquet")
    claims = path / "claims"
    claims.mkdir()
    settled = memory._settled
    first = {k: v for k, v in settled["params"]["params"].items() if k not in _LATER}
    (claims / "_params.json").write_text(json.dumps({"format_version": 2, "params": first}))
    (claims / "_shape.json").write_text(json.dumps(settled["shape"]))
    for row in rows:
        (claims / f"{row['key']}.0").write_text("{}")
    return ds
