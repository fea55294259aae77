"""Reading slots of the stacked arrays: from staged files first, else from the shards, by chunk.

Many slots are read together: for each field, those in one of its inner chunks (or in
neighbouring ones) with one read, so a page of the gallery or a resume's check of every image
costs a read per chunk, not per image. A slot staged and not yet folded is read from its staged
file (the truth for it until it is folded; if the fold deletes it meanwhile, the shard is read).
"""

from __future__ import annotations

import bisect

from .integrity import StoreCorruptError
from .layout import decode_key
from .shards import list_staged, read_staged

__all__ = ["SlotReader"]

#: Neighbouring chunks are read in one slice when no more than this many chunks lie between.
GAP_CHUNKS = 1


class SlotReader:
    """Reads slots of one store's arrays (:meth:`read`).

    Parameters
    ----------
    fs, root
        The store's fsspec filesystem and its root path there.
    layout : Layout
    """

    def __init__(self, fs, root: str, layout):
        self.fs, self.root, self.layout = fs, root, layout

    def read(self, slots) -> dict:
        """``{slot: {field: array, "key": str}}``, or a :class:`StoreCorruptError` in place of
        the arrays of a slot that cannot be read (the error names the file)."""
        wanted = sorted({int(s) for s in slots})
        out: dict = {}
        self._from_shards(self._from_staged(wanted, out), out)
        return out

    def _from_staged(self, wanted, out) -> list:
        staged = list_staged(self.fs, self.root)
        if not staged:
            return wanted
        firsts = [s[0] for s in staged]
        by_file: dict = {}
        rest = []
        for slot in wanted:
            i = bisect.bisect_right(firsts, slot) - 1
            # The newest staged file holding the slot wins (a fold may repeat one).
            hits = [s for s in staged[: i + 1] if s[0] <= slot < s[1]]
            if hits:
                by_file.setdefault(hits[-1][3], (hits[-1][0], []))[1].append(slot)
            else:
                rest.append(slot)
        for path, (first, members) in by_file.items():
            try:
                stacked = read_staged(self.fs, path)
            except FileNotFoundError:  # folded meanwhile: the shard holds it now
                rest.extend(members)
                continue
            except Exception as exc:
                error = StoreCorruptError(
                    f"the staged file {path} is unreadable ({type(exc).__name__})"
                )
                out.update({slot: error for slot in members})
                continue
            for slot in members:
                out[slot] = _one(stacked, slot - first)
        return sorted(rest)

    def _runs(self, slots, chunk: int):
        """``(start, stop, slots)`` slices covering ``slots``, a chunk (or a few neighbouring
        chunks) of ``chunk`` images each, never across shards."""
        size = self.layout.shard_images
        runs: list = []
        for slot in slots:
            if runs:
                start, stop, members = runs[-1]
                same_shard = slot // size == start // size
                if same_shard and slot // chunk <= (stop - 1) // chunk + GAP_CHUNKS:
                    runs[-1] = (start, slot + 1, [*members, slot])
                    continue
            runs.append((slot, slot + 1, [slot]))
        return runs

    def _from_shards(self, slots, out) -> None:
        """Each field read run by run of its own chunks: one read per chunk, not per image."""
        if not slots:
            return
        if not self.layout.ready:
            error = StoreCorruptError(f"the store's arrays in {self.layout.url} are missing")
            out.update({slot: error for slot in slots})
            return
        if self.layout.lost:
            files = ", ".join(f"{self.layout.url}/{name}/zarr.json" for name in self.layout.lost)
            error = StoreCorruptError(f"{files} is missing: that field of every image is lost")
            out.update({slot: error for slot in slots})
            return
        got: dict = {slot: {} for slot in slots}
        for name, array in sorted(self.layout.arrays.items()):
            chunk = int(array.chunks[0])
            for start, stop, members in self._runs(slots, chunk):
                self._field(name, start, stop, members, got, chunk)
        for slot, arrays in got.items():
            if isinstance(arrays, Exception):
                out[slot] = arrays
            else:
                arrays["key"] = decode_key(arrays["key"])
                out[slot] = arrays

    def _field(self, name, start, stop, members, got, chunk, split=True) -> None:
        try:
            values = self.layout.read(start, stop, [name])[name]
        except StoreCorruptError as exc:
            if split and len({s // chunk for s in members}) > 1:  # find the chunks that fail
                for c in sorted({s // chunk for s in members}):
                    inside = [s for s in members if s // chunk == c]
                    self._field(name, inside[0], inside[-1] + 1, inside, got, chunk, False)
                return
            for slot in members:
                if not isinstance(got[slot], Exception):
                    got[slot] = exc
            return
        for slot in members:
            if not isinstance(got[slot], Exception):
                got[slot][name] = values[slot - start]


def _one(stacked: dict, i: int) -> dict:
    arrays = {name: a[i] for name, a in stacked.items() if name != "key"}
    arrays["key"] = decode_key(stacked["key"][i])
    return arrays
