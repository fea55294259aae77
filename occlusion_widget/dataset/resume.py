"""What a sweep into an existing store still has to do: by identity, not by position.

An image is done when the store holds a done row with its key *and its digest* (its pixels or
its file's bytes) and its maps pass their checksum. Otherwise:

- a folder's file that changed since it was swept, or an image whose maps are missing or
  damaged, is swept again (its new row replaces the old one);
- a list or array whose image at some position is not the one the store holds there is
  refused: the store holds another dataset;
- a stream (an iterator or a ``tf.data.Dataset``, whose order may change from one run to the
  next) is known by content: an image already swept is skipped wherever it comes, so a
  shuffled stream resumed gives every image once.

Then each remaining image is claimed (:mod:`.claims`) right before it is swept, so that
writers sharing the store never sweep one image twice.
"""

from __future__ import annotations

import warnings

import numpy as np

from .claims import BUSY, CLAIMED, Claims, LocalClaims
from .integrity import StoreCorruptError, image_digest, verify_arrays
from .parts import DoneKeys
from .store import DiskStore

__all__ = ["Plan", "plan"]


class Plan:
    """The images a sweep has left: ``total`` (None for a stream), ``skipped`` (done already),
    ``redo`` (keys swept again) and :meth:`claimed`, the stream of images to sweep.

    Examples
    --------
    >>> from occlusion_widget.dataset.sources import make_source
    >>> from occlusion_widget.dataset.store import MemoryStore
    >>> p = plan(MemoryStore(), make_source([np.zeros((2, 2))] * 2))
    >>> p.total, p.skipped, [item.id for item in p.claimed(p.open_claims())]
    (2, 0, ['0', '1'])
    """

    def __init__(self, store, items, total, skipped, redo):
        self.store = store
        self.items = items
        self.total = total
        self.skipped = skipped
        self.redo = redo
        self.had_rows = False  # whether the store held any row before this sweep
        # A list or array: its keys are positions, so the same key must hold the same image.
        self.by_position = False
        # Done images whose stored answers the model is held to (.identity.answer_mismatch).
        self.sample: list[str] = []
        # Done images given another true label than their row's: key -> the new label.
        self.relabel: dict[str, int] = {}
        # Images left to a live writer that held their claim, and that writer's claim.
        self.elsewhere = 0
        self.other: dict = {}
        self._done = DoneKeys(store.fs, f"{store.root}/table") if _on_disk(store) else None

    def _is_done(self, key: str) -> bool:
        # Asked when a claim's writer is gone, and after each claim (a writer deletes its
        # claims when it ends): it wrote its rows before, so new table parts are read.
        return self._done is not None and key in self._done()

    def open_claims(self):
        """This writer's claims on the store (close them when the sweep ends)."""
        if isinstance(self.store, DiskStore):
            return Claims(self.store.fs, self.store.root, self._is_done)
        return LocalClaims()

    def claimed(self, claims, on_skip=None):
        """The images to sweep, claimed block by block just before they are handed out; the
        ones another writer has or has finished are skipped (``on_skip()`` is called for
        each: they count as done for the progress bar).

        A block is :data:`CLAIM_IMAGES` consecutive positions of the source: one claim file
        for them all (a file per image would cost a file creation per image). A block held by
        a live writer is skipped, except its images that writer's claim does not list (its
        source lists them elsewhere): those are claimed one by one.
        """
        skip = on_skip or (lambda: None)
        if not isinstance(claims, Claims):
            for item in self.items:
                if claims.claim(item.key, redo=item.key in self.redo) == CLAIMED:
                    claims.digests[item.key] = item.digest
                    yield item
                else:  # finished, or being swept, by another writer
                    skip()
            return
        for block in _blocks(self.items):
            yield from self._claim_block(claims, block, skip)

    def _claim_block(self, claims, block, skip):
        name = f"_b{getattr(block[0], 'position', 0) // CLAIM_IMAGES}"
        keys, digests = [item.key for item in block], [item.digest for item in block]
        if claims.claim(name, keys=keys, digests=digests) == CLAIMED:
            done = self._done() if self._done is not None else set()
            for item in block:
                if item.key in done and item.key not in self.redo:
                    skip()  # finished meanwhile by a writer that has ended
                    continue
                claims.digests[item.key] = item.digest
                yield item
            return
        holder = claims.holder or {}
        theirs = set(holder.get("keys") or ())
        if self.by_position:
            self._refuse_other_images(block, holder)
        for item in block:
            got = BUSY if item.key in theirs else claims.claim(item.key, item.key in self.redo)
            if got == CLAIMED:
                claims.digests[item.key] = item.digest
                yield item
                continue
            if got == BUSY:  # not done yet: another writer has it
                self.elsewhere += 1
                self.other = holder if item.key in theirs else (claims.holder or {})
            skip()

    def _refuse_other_images(self, block, holder) -> None:
        """A list or array whose image at a position is not the one a live writer is
        sweeping there: the store would get two datasets' images under one key."""
        theirs = dict(zip(holder.get("keys") or (), holder.get("digests") or (), strict=False))
        for item in block:
            other = theirs.get(item.key)
            if other and item.digest and other != item.digest:
                raise ValueError(
                    f"image {item.id!r} is not the image another writer (process "
                    f"{holder.get('pid')} on {str(holder.get('host', '?')).split('/')[0]}) is "
                    f"sweeping into the store at {self.store.location} as {item.id!r} (their "
                    f"pixels differ): that writer sweeps other images. Give a new store path, "
                    f"or the same images in the same order"
                )


#: Done images a resumed sweep's model scores to show it is the model that wrote them.
SAMPLE_IMAGES = 4

#: Consecutive positions of the source claimed together.
CLAIM_IMAGES = 256


def _blocks(items):
    """Consecutive items whose positions share a block of :data:`CLAIM_IMAGES`."""
    block: list = []
    for item in items:
        position = getattr(item, "position", 0)
        if block and position // CLAIM_IMAGES != block[0].position // CLAIM_IMAGES:
            yield block
            block = []
        block.append(item)
    if block:
        yield block


def _on_disk(store) -> bool:
    return isinstance(store, DiskStore)


def plan(store, source, params=None) -> Plan:
    """What to sweep of ``source`` into ``store`` (see the module docstring).

    Raises
    ------
    ValueError
        When a list or array holds other images than the store at the same positions.
    """
    repair = isinstance(store, DiskStore)
    table = store.table(repair=repair)
    done = {row.key: row for row in table.itertuples() if row.status == "done"}
    broken = _broken(store, done) if repair else set()
    stream = source.total is None
    named = bool(getattr(source, "named", False))
    redo = set(broken)
    relabel: dict[str, int] = {}
    seen: dict[str, int] = {}

    def pending(item, position) -> bool:
        item.position = position
        item.digest = image_digest(item.image, item.path)
        if stream:
            item.by_content = True
            item.occurrence = seen.get(item.digest, 0)
            seen[item.digest] = item.occurrence + 1
        row = done.get(item.key)
        if row is None:
            return True
        if item.key in broken:
            return True
        if not row.digest or not item.digest or row.digest == item.digest:
            label = int(getattr(item, "label", -1))
            if label >= 0 and label != int(row.label):  # labels given, or the class folders
                relabel[item.key] = label  # changed: the row follows, the maps are the same
            return False
        if named:  # the file changed since it was swept: sweep it again
            redo.add(item.key)
            return True
        hint = _dtype_only(store, item)
        if hint:
            raise ValueError(
                f"image {item.id!r} has the pixel values the store at {store.location} holds "
                f"as {item.id!r}, {hint}. Pass the images as the first sweep did"
            )
        raise ValueError(
            f"image {item.id!r} is not the image the store at {store.location} holds as "
            f"{item.id!r} (their pixels differ): this store was swept with other images. Give "
            f"a new store path, or the same images in the same order"
        )

    if stream:
        items = (item for n, item in enumerate(source.items) if pending(item, n))
        work = Plan(store, items, None, 0, redo)
    else:
        every = list(source.items)
        todo = [item for n, item in enumerate(every) if pending(item, n)]
        work = Plan(store, todo, len(every), len(every) - len(todo), redo)
    work.had_rows = not table.empty
    work.by_position = not stream and not named
    work.sample = [key for key in done if key not in broken][:SAMPLE_IMAGES]
    work.relabel = relabel
    return work


def _dtype_only(store, item) -> str:
    """How ``item`` differs from the image the store holds under its key when only the dtype
    does (the digest covers it): a clause for the refusal, or ""."""
    try:
        stored = store.read_many([item.key], errors="return").get(item.key)
        given = np.asarray(item.image)
    except Exception:  # an image that cannot be read back here: the plain refusal stands
        return ""
    if not isinstance(stored, dict) or "image" not in stored:
        return ""
    held = np.asarray(stored["image"])
    if held.dtype == given.dtype or held.shape != given.shape:
        return ""
    if not np.array_equal(held.astype(np.float64), given.astype(np.float64)):
        return ""
    return f"but as {given.dtype} where the sweep that wrote it had {held.dtype}"


#: Done images whose maps are read back and checked together, at most.
VERIFY_BATCH = 4096


def _broken(store, done) -> set:
    """Keys of done images whose maps are missing or fail their checksum (read them all,
    chunk by chunk)."""
    bad = {}
    keys = list(done)
    for start in range(0, len(keys), VERIFY_BATCH):
        batch = keys[start : start + VERIFY_BATCH]
        for key, arrays in store.read_many(batch, errors="return").items():
            row = done[key]
            try:
                if isinstance(arrays, StoreCorruptError):
                    raise arrays
                place = lambda k=key: f"the maps {store.where(k, True)}"  # noqa: E731
                verify_arrays(arrays, row.checksum, place)
            except StoreCorruptError as exc:
                bad[key] = f"{row.id}: {str(exc).split('. Re-run')[0]}"
    if bad:
        listed = "; ".join(list(bad.values())[:5]) + (" ..." if len(bad) > 5 else "")
        warnings.warn(
            f"{len(bad)} image(s) of the store at {store.location} have missing or damaged "
            f"maps and are swept again: {listed}",
            stacklevel=3,
        )
    return set(bad)
