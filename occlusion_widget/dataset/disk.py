"""A store folder on a local path or an fsspec URL (the layout: :mod:`.store`'s docstring)."""

from __future__ import annotations

import json
import os

from .base import BaseStore
from .integrity import StoreCorruptError, verify_arrays
from .layout import Layout, decode_key
from .legacy import LEGACY_FORMAT, group_arrays, has_group, write_group
from .params_check import FORMAT_VERSION
from .parts import append, compact, read
from .reads import SlotReader
from .shards import ShardWriter, list_staged, read_staged

__all__ = ["DiskStore"]

_MISSING = (
    "a dataset store on disk needs zarr, pyarrow, pandas and fsspec: "
    "pip install 'occlusion_widget[dataset]' (or pass store=None to keep the sweep in memory)"
)
#: Table parts a store keeps at rest before they are compacted into one.
MAX_PARTS = 4
_ROOT_META = {"zarr_format": 3, "node_type": "group", "attributes": {}}


def _require():
    try:
        import fsspec
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
        import zarr
    except ImportError as exc:
        raise ImportError(f"{_MISSING} ({exc})") from exc
    return zarr, fsspec


class DiskStore(BaseStore):
    """A store folder on a local path or an fsspec URL.

    Attributes
    ----------
    legacy : bool
        Whether the store is of the per-image layout (format 2 and before, :mod:`.legacy`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     store = DiskStore(f"{folder}/sweep")
    ...     store.legacy, len(store.table()), store.read_many([])
    (False, 0, {})
    """

    def __init__(self, url, storage_options=None, mode="a"):
        zarr, fsspec = _require()
        self.url = os.fspath(url).rstrip("/")
        self.location = repr(self.url)
        self.storage_options = dict(storage_options or {})
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        self.local = "file" in _protocols(self.fs)
        self.maps = f"{self.url}/maps.zarr"
        if mode == "r" and not self.fs.exists(f"{self.root}/maps.zarr"):
            raise FileNotFoundError(
                f"no dataset store at {self.url!r} (expected {self.url}/maps.zarr and "
                f"{self.url}/table/); write one with ow.sweep_dataset(..., store=...)"
            )
        self._zarr = zarr
        self._group = self._open_group(mode)
        self.legacy = self._is_legacy()
        self.format_version = LEGACY_FORMAT if self.legacy else FORMAT_VERSION
        self.layout = (
            None if self.legacy else Layout(self._group, self.maps, f"{self.root}/maps.zarr")
        )
        if self.layout is not None and self.layout.ready:
            self.layout.lost = self._lost_fields()
        self.reader = None if self.layout is None else SlotReader(self.fs, self.root, self.layout)
        self._writer: ShardWriter | None = None
        self._slots: dict = {}  # key -> slot, from the rows read and the images written
        self._written: dict = {}  # key -> slot of the images this process wrote, no row yet
        self._checksums: dict = {}  # key -> checksum of its maps, from the rows read
        self._staged_keys: dict = {}  # staged file -> the keys it holds (other writers')

    def _open_group(self, mode):
        from zarr.errors import ContainsGroupError

        meta = f"{self.root}/maps.zarr/zarr.json"
        where = self.root if self.local else self.url  # zarr takes a file:// URL as a path
        options = None if self.local else (self.storage_options or None)
        if mode != "r" and self.fs.exists(meta):
            try:
                json.loads(self.fs.cat_file(meta))
            except ValueError:  # cut short by a crash: the parameters live on in claims/
                self.fs.pipe_file(meta, json.dumps(_ROOT_META).encode())
            mode = "r+"
        for _ in range(5):
            try:
                return self._zarr.open_group(
                    f"{where}/maps.zarr", mode=mode, storage_options=options
                )
            except (ContainsGroupError, FileExistsError):
                mode = "r+"  # another writer created it first: open theirs
            except (ValueError, KeyError, TypeError) as exc:  # bad JSON, missing fields
                raise StoreCorruptError(
                    f"the store's metadata {self.maps}/zarr.json is unreadable "
                    f"({type(exc).__name__}: {_first_line(exc)}). Re-run sweep_dataset with "
                    f"this store to repair it"
                ) from exc
        raise StoreCorruptError(f"could not open {self.maps}")

    def _is_legacy(self) -> bool:
        """Format 2 and before: one group per image (the settled parameters say, else the
        attributes, else whether there are such groups)."""
        for found in (self.read_settled("params"), dict(self._group.attrs)):
            if isinstance(found, dict) and "format_version" in found:
                return int(found["format_version"]) <= LEGACY_FORMAT
        if "params" in self._group.attrs:
            return True
        try:
            return any(name != "_baseline" for name in self._group.group_keys())
        except Exception:
            return False

    @property
    def group(self):
        """What :func:`.store.write_arrays` takes to write into this store from another
        process (a Ray actor): this store, or a legacy store's Zarr group."""
        return self._group if self.legacy else self

    def meta(self) -> dict:
        return dict(self._group.attrs)

    def write_meta(self, meta: dict) -> None:
        self._group.attrs.update(json.loads(json.dumps(meta)))

    def settle(self, name: str, content: dict) -> tuple[dict, bool]:
        from .claims import settle

        return settle(self.fs, f"{self.root}/claims/_{name}.json", content)

    def _lost_fields(self) -> list[str]:
        """The fields this store's parameters call for that have no array (deleted)."""
        meta = self.params_meta()
        wanted = {"base_probabilities", "image", "probabilities"}
        if meta.get("kept_classes", 0) < meta.get("num_classes", 0):
            wanted.add("classes")  # a top-k store keeps the classes beside the values
        return sorted(wanted - set(self.layout.fields())) if "num_classes" in meta else []

    def unsettle_if_unused(self, me: str | None = None) -> bool:
        """Forget the settled parameters when the store holds nothing they describe (no row,
        no map, nothing staged: a first call that failed before its first image) and no writer
        is running; whether it did. The next writer settles its own."""
        from .claims import any_live_writer

        if self.legacy or any_live_writer(self.fs, self.root, me):
            return False
        kept = {"maps.zarr/zarr.json", "claims/_params.json", "claims/_shape.json"}
        root = self.root.rstrip("/")
        for path in self.fs.find(root):
            rel = path[len(root) + 1 :] if path.startswith(root + "/") else path
            if rel not in kept and not rel.startswith("writers/"):
                return False
        for name in ("params", "shape"):
            try:
                self.fs.rm_file(f"{root}/claims/_{name}.json")
            except FileNotFoundError:
                pass
        self._group.attrs.clear()
        return True

    def read_settled(self, name: str) -> dict | None:
        try:
            found = json.loads(self.fs.cat_file(f"{self.root}/claims/_{name}.json"))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def _per_key(self, key: str) -> bool:
        return self.legacy or key.startswith("_")  # _baseline: one group in every format

    def where(self, key: str, missing: bool = False) -> str:
        """Where ``key``'s maps are, for messages; ``missing`` names the shard files that are
        gone (an existence check per field: for an error, not for every read)."""
        if self._per_key(key):
            return f"{self.maps}/{key}"
        slot = self._slots.get(key)
        if slot is None or not self.layout.ready:
            return f"{self.maps} (key {key})"
        text = f"of key {key}, slot {slot}: {self.layout.files_of(slot)}"
        if missing:
            gone = [
                self.layout.shard_file(name, slot)
                for name in sorted(self.layout.arrays)
                if not self.fs.exists(self.layout.shard_file(name, slot, on_fs=True))
            ]
            if gone:
                text += f" ({', '.join(gone)} {'is' if len(gone) == 1 else 'are'} missing)"
        return text

    # -- writing ---------------------------------------------------------------------------

    def write_arrays(self, key: str, arrays: dict) -> None:
        """Give one image's arrays a slot (buffered until :meth:`stage`, which the rows'
        append calls first); ``ValueError`` when they do not fit the store's arrays."""
        if self._per_key(key):
            write_group(self._group, key, arrays)
            return
        if self._writer is None:
            self._writer = ShardWriter(self.fs, self.root, self.layout)
        self._slots[key] = self._written[key] = self._writer.put(key, arrays)
        self._checksums.pop(key, None)  # an earlier row's: its row brings the new one

    def stage(self) -> None:
        """Make the images written so far durable (before any row names them)."""
        if self._writer is not None:
            self._writer.stage()

    def has_arrays(self, key: str) -> bool:
        if self._per_key(key):
            return has_group(self.fs, self.root, key)
        return key in self._slots

    def append_rows(self, rows: list) -> None:
        if not self.legacy:
            self.stage()
            done = [row for row in rows if row.get("status") == "done"]
            for row in done:
                # A relabelled row keeps its slot (its maps are not written again).
                row["slot"] = self._written.pop(row["key"], row.get("slot"))
                self._checksums[row["key"]] = row.get("checksum") or ""
            missing = [row["key"] for row in done if row["slot"] is None]
            if missing:  # written by another process (a Ray actor): find their slots
                found = self._locate(missing)
                for row in done:
                    if row["slot"] is None:
                        row["slot"] = found.get(row["key"])
        append(self.fs, f"{self.root}/table", rows)

    def _locate(self, keys) -> dict:
        """The slots of ``keys`` written by other processes: in the staged files, newest
        first, then in the shards' keys (the last slot holding a key)."""
        want, found = set(keys), {}
        for first, _, _, path in reversed(list_staged(self.fs, self.root)):
            if path not in self._staged_keys:  # each staged file is read once
                try:
                    stored = read_staged(self.fs, path)["key"]
                except Exception:
                    continue
                self._staged_keys[path] = [decode_key(row) for row in stored]
            for i, key in enumerate(self._staged_keys[path]):
                if key in want and key not in found:
                    found[key] = first + i
        want -= set(found)
        if want and self.layout.ready:
            size = self.layout.shard_images
            for shard in self._shards():
                stored = self.layout.read(shard * size, (shard + 1) * size, ["key"])["key"]
                for i, row in enumerate(stored):
                    key = decode_key(row)
                    if key in want:
                        found[key] = shard * size + i
        self._slots.update(found)
        return found

    def _shards(self) -> list:
        try:
            names = self.fs.ls(f"{self.root}/maps.zarr/key/c", detail=False)
        except FileNotFoundError:
            return []
        return sorted(int(n.rsplit("/", 1)[-1]) for n in names if n.rsplit("/", 1)[-1].isdigit())

    def finish(self) -> None:
        """Fold this writer's staged images and release its shard; fold what writers that are
        gone left staged; keep one table part."""
        if self.legacy:
            return
        try:
            if self._writer is not None:
                self._writer.close()
        finally:
            self._writer = None
        size = self.layout.shard_images
        left = {first // size for first, *_ in list_staged(self.fs, self.root)}
        if left:
            adopter = ShardWriter(self.fs, self.root, self.layout)
            try:
                for shard in sorted(left):
                    adopter.adopt(shard)
            finally:
                adopter.close()

    # -- reading ---------------------------------------------------------------------------

    def _slot_of(self, key: str) -> int:
        if key not in self._slots:
            self._frame()
        if key not in self._slots:
            raise StoreCorruptError(
                f"the store at {self.location} holds no maps for key {key} (no done row "
                f"names its slot). Re-run sweep_dataset with this store to redo the image"
            )
        return self._slots[key]

    def _checked(self, key: str, slot: int, got) -> dict:
        if isinstance(got, Exception):
            raise StoreCorruptError(
                f"the maps of key {key} (slot {slot}) are unreadable: {got}. Re-run "
                f"sweep_dataset with this store to redo the image"
            ) from got
        if got["key"] != key:
            held = f"those of key {got['key']}" if got["key"] else "nothing"
            raise StoreCorruptError(
                f"the maps {self.where(key)} are missing: the slot holds {held}. Re-run "
                f"sweep_dataset with this store to redo the image"
            )
        arrays = {name: a for name, a in got.items() if name != "key"}
        verify_arrays(
            arrays, self._checksums.get(key, ""), lambda: f"the maps {self.where(key, True)}"
        )
        return arrays

    def read_arrays(self, key: str) -> dict:
        if self._per_key(key):
            return group_arrays(self._group, key, self.where(key))
        slot = self._slot_of(key)
        return self._checked(key, slot, self.reader.read([slot])[slot])

    def read_many(self, keys, errors: str = "raise") -> dict:
        """Many images' arrays, read chunk by chunk (one read per field and inner chunk, not
        per image): ``{key: arrays}``.

        Parameters
        ----------
        keys : iterable of str
            The images' keys (the table's ``key`` column).
        errors : {"raise", "return"}
            On a missing or unreadable image, raise :class:`StoreCorruptError`, or put the
            error in its place and read the others.

        Each image's arrays are checked against its row's checksum and its slot's key.
        """
        keys = list(keys)
        if self.legacy:
            return super().read_many(keys, errors)
        slots, out = {}, {}
        for key in keys:
            try:
                slots[key] = None if key.startswith("_") else self._slot_of(key)
            except StoreCorruptError as exc:
                if errors == "raise":
                    raise
                out[key] = exc
        got = self.reader.read(s for s in slots.values() if s is not None)
        for key, slot in slots.items():
            try:
                out[key] = (
                    self.read_arrays(key) if slot is None else self._checked(key, slot, got[slot])
                )
            except StoreCorruptError as exc:
                if errors == "raise":
                    raise
                out[key] = exc
        return out

    def table_version(self) -> object:
        """Changes whenever a part is added or compacted (cheaper than reading them)."""
        return tuple(self.fs.glob(f"{self.root}/table/part-*.parquet"))

    def _frame(self, repair=False):
        frame = read(self.fs, f"{self.root}/table", f"{self.url}/table", repair)
        if frame is not None and "slot" in frame and not self.legacy:
            done = frame[(frame["status"] == "done") & frame["slot"].notna()]
            self._slots.update(zip(done["key"], done["slot"].astype("int64").tolist(), strict=True))
            if "checksum" in done:
                sums = [c if isinstance(c, str) else "" for c in done["checksum"]]
                self._checksums.update(zip(done["key"], sums, strict=True))
        return frame

    def compact(self) -> None:
        compact(self.fs, f"{self.root}/table")

    def compact_if_needed(self) -> None:
        """Compact when some image has several rows, or the table has more than
        :data:`MAX_PARTS` parts (a sweep writes one every 64 images)."""
        if len(self.table_version()) > MAX_PARTS:
            self.compact()
        else:
            super().compact_if_needed()


def _first_line(exc) -> str:
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""


def _protocols(fs) -> tuple:
    protocol = fs.protocol
    return tuple(protocol) if isinstance(protocol, (tuple, list)) else (protocol,)
