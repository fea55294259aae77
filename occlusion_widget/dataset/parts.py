"""The table of a store folder: Parquet part files, appended whole, read with names, compacted.

A part is written aside and moved into ``<store>/table/`` (a crash never leaves half a part
there), named by the time it was written so that parts sort in writing order. An image that
got a new row (an error retried, a damaged image redone) leaves its old row behind in an older
part until :func:`compact` rewrites the parts into one holding each image's last row, so that
``pandas.read_parquet(store + "/table")`` shows one row per image.

Examples
--------
>>> import fsspec
>>> fs = fsspec.filesystem("memory")
>>> append(fs, "/doc/t", [{"id": "0", "key": "k", "status": "error"}])
>>> append(fs, "/doc/t", [{"id": "0", "key": "k", "status": "done"}])
>>> compact(fs, "/doc/t")
True
>>> read(fs, "/doc/t", "memory://doc/t")[["key", "status"]].values.tolist()
[['k', 'done']]
"""

from __future__ import annotations

import json
import os
import time
import uuid
import warnings

from .claims import HOST, _pid_alive, exclusive_write
from .integrity import StoreCorruptError
from .summary import COLUMNS

__all__ = ["STORE_COLUMNS", "DoneKeys", "append", "compact", "read"]

#: Columns the store adds to each row besides ``summary.COLUMNS``: where its maps are.
STORE_COLUMNS = {"slot": "int64"}  # the image's index in the stacked arrays (null: none)

#: A compaction lock older than this (seconds) was left by a crash and is broken.
LOCK_STALE_AFTER = 600.0


def arrow_schema():
    import pyarrow as pa

    kinds = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<int64>": pa.list_(pa.int64()),
    }
    columns = {**COLUMNS, **STORE_COLUMNS}
    return pa.schema([(name, kinds[kind]) for name, kind in columns.items()])


def rows_to_arrow(rows: list):
    import pyarrow as pa

    schema = arrow_schema()
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


def _write(fs, folder: str, table, name: str) -> str:
    import pyarrow.parquet as pq

    fs.makedirs(folder, exist_ok=True)
    tmp = f"{folder}/.{name}.tmp"
    with fs.open(tmp, "wb") as fh:
        pq.write_table(table, fh)
    fs.mv(tmp, f"{folder}/{name}")
    return f"{folder}/{name}"


def append(fs, folder: str, rows: list) -> None:
    """Write ``rows`` as a new part file (nothing already written is rewritten)."""
    if rows:
        _write(
            fs,
            folder,
            rows_to_arrow(rows),
            f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet",
        )


def _parts(fs, folder: str) -> list:
    return sorted(fs.glob(f"{folder}/part-*.parquet"))


def _read_parts(fs, parts, url, repair):
    import pyarrow.parquet as pq

    tables, good, vanished = [], [], False
    for part in parts:
        name = part.rsplit("/", 1)[-1]
        try:
            with fs.open(part, "rb") as fh:
                tables.append(pq.read_table(fh))
            good.append(part)
        except FileNotFoundError:
            vanished = True  # compacted away meanwhile: its rows are in a newer part
            continue
        except Exception as exc:
            where = f"{url}/{name}"
            if not repair:
                raise StoreCorruptError(
                    f"the table part {where} is unreadable ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200]}). Re-run sweep_dataset with this store to "
                    f"set the part aside and redo its images, or delete that file"
                ) from exc
            aside = f"{part.rsplit('/', 2)[0]}/corrupt/{name}"
            fs.makedirs(aside.rsplit("/", 1)[0], exist_ok=True)
            fs.mv(part, aside)
            warnings.warn(
                f"the table part {where} was unreadable ({type(exc).__name__}); moved it to "
                f"corrupt/{name}: its images are swept again",
                stacklevel=3,
            )
    return tables, good, vanished


def read(fs, folder: str, url: str, repair: bool = False):
    """All rows as pandas (every row, in writing order), or None when there are none.

    An unreadable part raises :class:`StoreCorruptError` naming it, or with ``repair`` is
    moved to ``<store>/corrupt/`` (with a warning) so that its images count as not done.
    """
    import pyarrow as pa

    for _ in range(3):
        tables, _, vanished = _read_parts(fs, _parts(fs, folder), url, repair)
        if not vanished:
            break
        # A part vanished while reading: a compaction moved its rows to a new part; list again.
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="default").to_pandas()


def compact(fs, folder: str) -> bool:
    """Rewrite the parts into one that keeps each image's last row; False when another
    writer holds the compaction lock. Parts appended meanwhile are left alone."""
    import pyarrow as pa

    lock = f"{folder}/.compact.lock"
    fs.makedirs(folder, exist_ok=True)
    who = {"time": time.time(), "host": HOST, "pid": os.getpid()}
    if not exclusive_write(fs, lock, json.dumps(who).encode()):
        try:
            holder = json.loads(fs.cat_file(lock))
            since = float(holder["time"])
            gone = holder.get("host") == HOST and not _pid_alive(int(holder.get("pid", -1)))
        except (OSError, ValueError, KeyError, TypeError):
            since, gone = 0.0, True
        if not gone and time.time() - since < LOCK_STALE_AFTER:
            return False
        fs.rm_file(lock)
        return compact(fs, folder)
    try:
        parts = _parts(fs, folder)
        tables, good, _ = _read_parts(fs, parts, folder, repair=False)
        if len(good) < 2:
            return True
        frame = pa.concat_tables(tables, promote_options="default").to_pandas()
        frame = frame.drop_duplicates("key", keep="last")
        for name in STORE_COLUMNS:
            if name not in frame:  # parts written before the column
                frame[name] = None
        table = pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False)
        # Named after the last part read, so it sorts before any part written after it.
        last = good[-1].rsplit("/", 1)[-1][: -len(".parquet")]
        _write(fs, folder, table, f"{last}-c{uuid.uuid4().hex[:6]}.parquet")
        for part in good:
            fs.rm_file(part)
        return True
    finally:
        fs.rm_file(lock)


class DoneKeys:
    """The keys with a done row, kept up to date by reading only the parts added since the
    last look (a writer asks after every claim: a full read each time would grow with the
    table).

    Examples
    --------
    >>> import fsspec
    >>> fs = fsspec.filesystem("memory")
    >>> done = DoneKeys(fs, "/doc/d")
    >>> append(fs, "/doc/d", [{"id": "0", "key": "k", "status": "done"}])
    >>> "k" in done()
    True
    """

    def __init__(self, fs, folder: str):
        self.fs, self.folder = fs, folder
        self.keys: set = set()
        self._seen: set = set()

    def __call__(self) -> set:
        import pyarrow.parquet as pq

        for _ in range(3):  # a part compacted away while reading: its rows are in a new one
            try:
                names = self.fs.ls(self.folder, detail=False)
            except FileNotFoundError:
                return self.keys
            if not self._read_new(sorted(names), pq):
                break
        return self.keys

    def _read_new(self, names, pq) -> bool:
        vanished = False
        for part in names:
            name = part.rsplit("/", 1)[-1]
            if part in self._seen or not (name.startswith("part-") and name.endswith(".parquet")):
                continue
            try:
                with self.fs.open(part, "rb") as fh:
                    table = pq.read_table(fh, columns=["key", "status"])
            except FileNotFoundError:
                vanished = True
                continue
            except Exception:  # damaged: the plan set it aside, its images are redone
                continue
            self._seen.add(part)
            keys, status = table.column("key").to_pylist(), table.column("status").to_pylist()
            self.keys.update(k for k, s in zip(keys, status, strict=True) if s == "done")
        return vanished
