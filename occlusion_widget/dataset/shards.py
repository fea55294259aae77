"""How images get into the stacked arrays (:mod:`.layout`) without ever putting a done image at
risk: each writer fills a shard of its own, stages what it has done, and folds it in.

1. **A shard per writer.** A writer claims shard ``j`` (``claims/_shard-<j>.<n>``, the same
   exclusive create and takeover as an image's claim, :mod:`.claims`) and fills its free slots
   in order; nobody else writes that shard while it holds the claim.
2. **Staged, then rows.** Before the rows of its images are written, a writer writes their
   arrays as one small staged file ``staged/<first>-<end>-<writer>.npz`` (written aside and
   renamed: whole or absent). A staged file is the truth for its slots until it is folded.
3. **Folded whole.** When the shard fills, every :data:`FOLD_IMAGES` images and when the sweep
   ends, the staged images are written into the shard files (each replaced atomically) and
   only then are the staged files deleted. A kill at any point leaves every image readable:
   either from its staged file or from a shard file, old or new, that holds it.

A writer that takes over the shard of a writer that is gone first folds the staged files it
left (:func:`recover`), so a resumed sweep repairs the store.
"""

from __future__ import annotations

import io
import uuid

import numpy as np

from .claims import CLAIMED, Claims
from .layout import encode_key

__all__ = ["FOLD_IMAGES", "ShardWriter", "list_staged", "read_staged", "recover"]

#: A writer folds its staged images into its shard after this many (and when the shard fills).
FOLD_IMAGES = 1024
#: Buffered images are staged once they hold this many bytes (besides every row flush).
STAGE_BYTES = 64 << 20


def list_staged(fs, root: str) -> list:
    """``[(first slot, end slot, writer, path)]`` of the staged files, in slot order."""
    try:
        names = fs.ls(f"{root}/staged", detail=False)
    except FileNotFoundError:
        return []
    out = []
    for path in names:
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".npz") or name.startswith("."):
            continue
        try:
            first, end, writer = name[: -len(".npz")].split("-", 2)
            out.append((int(first), int(end), writer, path))
        except ValueError:
            continue  # not ours
    return sorted(out)


def read_staged(fs, path: str) -> dict:
    """A staged file's arrays (field -> images on axis 0, ``key`` included)."""
    with fs.open(path, "rb") as fh:
        data = fh.read()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _write_staged(fs, root: str, first: int, stacked: dict, writer: str) -> str:
    folder = f"{root}/staged"
    fs.makedirs(folder, exist_ok=True)
    end = first + len(stacked["key"])
    name = f"{first:013d}-{end:013d}-{writer}.npz"
    buffer = io.BytesIO()
    np.savez(buffer, **stacked)
    tmp = f"{folder}/.{name}.{uuid.uuid4().hex[:6]}.tmp"
    with fs.open(tmp, "wb") as fh:
        fh.write(buffer.getvalue())
    fs.mv(tmp, f"{folder}/{name}")
    return f"{folder}/{name}"


def _fold(fs, layout, staged: list) -> None:
    """Write the staged files into the shard files, then delete them (see the docstring).
    Consecutive staged files are written together: one rewrite of each shard file."""
    run: list = []  # (first, stacked) of consecutive slots
    for first, _, _, path in sorted(staged):
        try:
            stacked = read_staged(fs, path)
        except FileNotFoundError:
            continue  # folded meanwhile
        except Exception:  # a rename makes it whole: only damage gets here
            continue  # its images fail their checksum and are redone
        if run and run[-1][0] + len(run[-1][1]["key"]) != first:
            _write_run(layout, run)
            run = []
        run.append((first, stacked))
    _write_run(layout, run)
    for *_, path in staged:
        try:
            fs.rm_file(path)
        except FileNotFoundError:
            pass


def _write_run(layout, run: list) -> None:
    if run:
        names = run[0][1].keys()
        layout.write(run[0][0], {n: np.concatenate([s[n] for _, s in run]) for n in names})


def recover(fs, root: str, layout, shard: int, mine: str = "") -> None:
    """Fold the staged files of ``shard`` left by writers other than ``mine`` (call it while
    holding the shard's claim: their writers are gone)."""
    size = layout.shard_images
    left = [s for s in list_staged(fs, root) if s[0] // size == shard and s[2] != mine]
    if left and layout.ready:
        _fold(fs, layout, left)
    _clean_partials(fs, layout, shard)


def _clean_partials(fs, layout, shard: int) -> None:
    """Delete the temporary files a writer killed mid-write left beside the shard's files."""
    for name in list(layout.arrays):
        folder, stem = layout.shard_file(name, shard * layout.shard_images, True).rsplit("/", 1)
        try:
            entries = fs.ls(folder, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.endswith(".partial") and entry.rsplit("/", 1)[-1].startswith(stem + "."):
                try:
                    fs.rm_file(entry)
                except FileNotFoundError:
                    pass


class ShardWriter:
    """One writer's way into the stacked arrays (see the module docstring).

    :meth:`put` gives an image its slot; :meth:`stage` makes the images put so far durable
    (call it before their rows are written); :meth:`close` folds and releases the shard.
    """

    def __init__(self, fs, root: str, layout):
        self.fs, self.root, self.layout = fs, root, layout
        self.id = uuid.uuid4().hex[:12]
        self.shard: int | None = None
        self.next = self.end = 0
        self.buffer: list = []  # (slot, key, arrays)
        self.buffered_bytes = 0
        self.staged: list = []  # (first, end, writer, path) of ours, not yet folded
        self._claims: Claims | None = None
        self._claim_key = ""

    def put(self, key: str, arrays: dict) -> int:
        """Buffer one image's arrays; returns its slot."""
        self.layout.create(arrays)
        if self.shard is None or self.next >= self.end:
            self._next_shard()
        slot = self.next
        self.next += 1
        self.buffer.append((slot, key, arrays))
        self.buffered_bytes += sum(np.asarray(a).nbytes for a in arrays.values())
        if self.buffered_bytes > STAGE_BYTES:
            self.stage()
        return slot

    def stage(self) -> None:
        """Write the buffered images as one staged file (runs of consecutive slots)."""
        if not self.buffer:
            return
        names = sorted(self.buffer[0][2])
        first = self.buffer[0][0]
        stacked = {
            name: np.stack([np.asarray(a[name]) for _, _, a in self.buffer]) for name in names
        }
        stacked["key"] = np.stack([encode_key(k) for _, k, _ in self.buffer])
        path = _write_staged(self.fs, self.root, first, stacked, self.id)
        self.staged.append((first, first + len(self.buffer), self.id, path))
        self.buffer, self.buffered_bytes = [], 0
        if sum(end - first for first, end, *_ in self.staged) >= FOLD_IMAGES:
            self.fold()

    def fold(self) -> None:
        """Fold this writer's staged images into its shard."""
        self.stage()
        if self.staged:
            _fold(self.fs, self.layout, self.staged)
            self.staged = []

    def _claim(self, key: str) -> bool:
        if self._claims is None:
            self._claims = Claims(self.fs, self.root, lambda _: False)
        return self._claims.claim(key) == CLAIMED

    def _release(self) -> None:
        if self._claims is None or not self._claim_key:
            return
        path = self._claims.pending.pop(self._claim_key, "")
        if path:  # ours, and the claims of the gone writers before us
            stem, n = path.rsplit(".", 1)
            for m in range(int(n) + 1):
                try:
                    self.fs.rm_file(f"{stem}.{m}")
                except FileNotFoundError:
                    pass
        self._claim_key = ""

    def _next_shard(self) -> None:
        if self.shard is not None:
            self.fold()
            self._release()
        j = 0 if self.shard is None else self.shard + 1
        size = self.layout.shard_images
        while True:
            key = f"_shard-{j}"
            if self._claim(key):
                self._claim_key = key
                recover(self.fs, self.root, self.layout, j, self.id)
                # From the next inner chunk on: folding never decodes a chunk holding
                # images of before (nor fails on one that is damaged).
                chunk = self.layout.widest_chunk
                used = -(-self.layout.used(j) // chunk) * chunk
                if used < size and self.layout.healthy(j):
                    self.shard, self.next, self.end = j, j * size + used, (j + 1) * size
                    return
                self._release()
            j += 1

    def adopt(self, shard: int) -> None:
        """Fold what writers that are gone left staged in ``shard`` (unless a live writer
        holds it: then it is theirs to fold)."""
        if self.shard is not None:
            raise RuntimeError("adopt is for a writer that holds no shard")
        if self._claim(f"_shard-{shard}"):
            self._claim_key = f"_shard-{shard}"
            try:
                recover(self.fs, self.root, self.layout, shard, self.id)
            finally:
                self._release()

    def close(self) -> None:
        """Fold what is staged and release the shard (the end of a sweep, or of a writer)."""
        try:
            self.fold()
        finally:
            self._release()
            if self._claims is not None:
                self._claims.close()
                self._claims = None
            self.shard = None
