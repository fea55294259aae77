"""The stacked layout of a store's maps (format 3): one Zarr array per field, images on axis 0.

Every image of a sweep shares one grid, so each field stacks::

    maps.zarr/probabilities       (slots, rows, cols, k) float16
    maps.zarr/classes             (slots, rows, cols, k) int32 (top-k stores only)
    maps.zarr/base_probabilities  (slots, K) float32
    maps.zarr/image               (slots, H, W, C) uint8 or float32
    maps.zarr/key                 (slots, 32) uint8: the image's key, to check every read

Each array is sharded along axis 0 (Zarr v3's sharding codec): one file holds
:data:`SHARD_IMAGES` images, made of inner chunks of up to :data:`CHUNK_BYTES` each (one image
of 224x224 pixels, 256 keys), compressed with zstd (with frame checksums).
A reader reads only the inner chunks it needs (byte ranges of a shard). The arrays' first axis
is nominally :data:`CAPACITY` long: slots never written cost nothing and no writer resizes.
Slot ``s`` lives in shard ``s // shard_images``; each shard is filled by one writer at a time
(:mod:`.shards`).

Examples
--------
>>> chunk_images(3072), chunk_images(150_528)
(16, 1)
>>> decode_key(encode_key("i911c1d19e31b72de"))
'i911c1d19e31b72de'
"""

from __future__ import annotations

import numpy as np

from .integrity import StoreCorruptError

__all__ = ["CAPACITY", "SHARD_IMAGES", "Layout", "chunk_images", "decode_key", "encode_key"]

#: Images per shard file (each field): ~1 file per 1,000 images per field.
SHARD_IMAGES = 4096
#: The nominal length of axis 0: far more slots than any store fills.
CAPACITY = 1 << 40
#: Raw bytes of a field in one inner chunk, at most (and at most 256 images).
CHUNK_BYTES = 1 << 16
KEY_BYTES = 32
ZSTD_LEVEL = 3


def chunk_images(image_bytes: int, limit: int = 256) -> int:
    """Images per inner chunk: a power of two whose chunk of the largest field stays under
    :data:`CHUNK_BYTES` (one image at least)."""
    n = 1
    while n * 2 <= limit and n * 2 * max(int(image_bytes), 1) <= CHUNK_BYTES:
        n *= 2
    return n


def encode_key(key: str) -> np.ndarray:
    """A key as :data:`KEY_BYTES` uint8 (zero padded); keys are short ASCII names."""
    data = key.encode("ascii")
    if len(data) > KEY_BYTES:
        raise ValueError(f"key {key!r} is longer than {KEY_BYTES} bytes")
    out = np.zeros(KEY_BYTES, np.uint8)
    out[: len(data)] = np.frombuffer(data, np.uint8)
    return out


def decode_key(row) -> str:
    """The key stored in one row of the ``key`` array ("" for a slot never written)."""
    return bytes(np.asarray(row, np.uint8)).rstrip(b"\0").decode("ascii", "replace")


class Layout:
    """The stacked arrays of one store: created from the first image's arrays, then opened.

    Parameters
    ----------
    group : zarr.Group
        The store's ``maps.zarr`` group.
    url : str
        Where the group is, for messages.
    path : str
        The same place on the store's fsspec filesystem.
    shard_images : int
        Images per shard (read from the arrays when they exist).
    """

    def __init__(self, group, url: str, path: str = "", shard_images: int | None = None):
        self.group = group
        self.url = url
        self.path = path or url
        self.shard_images = int(shard_images or SHARD_IMAGES)
        self.arrays: dict = {}
        self._expected: dict | None = None
        # Fields the store's parameters call for whose array is gone (its zarr.json deleted
        # or lost): reads name them, and the next image written recreates them.
        self.lost: list[str] = []
        self._open()

    def _open(self) -> None:
        try:
            names = sorted(self.group.array_keys())
        except Exception:  # a group being created: nothing to open yet
            names = []
        if "key" not in names:
            return
        self.arrays = {name: self.group[name] for name in names}
        self.shard_images = int(self.arrays["key"].shards[0])

    @property
    def ready(self) -> bool:
        """Whether the arrays exist (the first image has been written)."""
        if not self.arrays:
            self._open()
        return bool(self.arrays)

    @property
    def chunk(self) -> int:
        """Images per inner chunk of the field with the smallest chunks (the unit of reads)."""
        return min(int(a.chunks[0]) for a in self.arrays.values()) if self.arrays else 1

    @property
    def widest_chunk(self) -> int:
        """Images per inner chunk of the field with the largest chunks (the unit of writes
        that never touch a chunk written before)."""
        return max(int(a.chunks[0]) for a in self.arrays.values()) if self.arrays else 1

    def fields(self) -> list:
        return [name for name in self.arrays if name != "key"]

    def create(self, arrays: dict) -> None:
        """Create the arrays for images like ``arrays`` (another writer may have just done so:
        then theirs are opened, and must match)."""
        import zarr
        from zarr.codecs import ZstdCodec

        if not self.arrays:
            self._open()
        if not self.arrays:
            specs = {name: np.asarray(a) for name, a in arrays.items()}
            specs["key"] = np.zeros(KEY_BYTES, np.uint8)
        else:  # a lost field is made again as it was made: shard files left are read again
            specs = {n: np.asarray(a) for n, a in arrays.items() if n in self.lost}
        # ``key`` last: a reader takes the arrays for complete once it exists.
        for name, a in sorted(specs.items(), key=lambda kv: (kv[0] == "key", kv[0])):
            per_chunk = chunk_images(a.nbytes, min(256, self.shard_images))
            try:
                self.group.create_array(
                    name,
                    shape=(CAPACITY, *a.shape),
                    dtype=a.dtype,
                    chunks=(per_chunk, *a.shape),
                    shards=(self.shard_images, *a.shape),
                    compressors=ZstdCodec(level=ZSTD_LEVEL, checksum=True),
                    fill_value=0,
                )
            except (zarr.errors.ContainsArrayError, FileExistsError):
                pass  # created by another writer meanwhile
        if specs:
            self._open()
            self._expected = None
            self.lost = [name for name in self.lost if name not in self.arrays]
        self.check(arrays)

    def check(self, arrays: dict) -> None:
        """``ValueError`` unless ``arrays`` fit the store's arrays (names, shapes, dtypes)."""
        if self._fits(arrays):
            return
        fields = set(self.fields())
        if set(arrays) != fields:
            raise ValueError(
                f"this image's maps hold {sorted(arrays)} but the store's hold {sorted(fields)}"
            )
        for name, a in arrays.items():
            a = np.asarray(a)
            want = self.arrays[name]
            if a.shape != tuple(want.shape[1:]) or a.dtype != want.dtype:
                raise ValueError(
                    f"{name} is {a.dtype} {a.shape} but the store keeps {want.dtype} "
                    f"{tuple(want.shape[1:])} per image (every image of a store is swept alike; "
                    f"give all images the same dtype)"
                )

    def _fits(self, arrays: dict) -> bool:
        if self._expected is None:
            self._expected = {
                name: (tuple(a.shape[1:]), np.dtype(a.dtype)) for name, a in self.arrays.items()
            }
            self._expected.pop("key")
        if len(arrays) != len(self._expected):
            return False
        for name, a in arrays.items():
            want = self._expected.get(name)
            if want is None or (np.shape(a), np.asarray(a).dtype) != want:
                return False
        return True

    def shard_file(self, field: str, slot: int, on_fs: bool = False) -> str:
        """The file that holds ``field`` of ``slot`` (its URL, or its path on the store's
        filesystem)."""
        dims = len(self.arrays[field].shape) if field in self.arrays else 2
        tail = "/".join(["c", str(slot // self.shard_images)] + ["0"] * (dims - 1))
        return f"{self.path if on_fs else self.url}/{field}/{tail}"

    def files_of(self, slot: int) -> str:
        return ", ".join(self.shard_file(name, slot) for name in sorted(self.arrays))

    def write(self, start: int, stacked: dict) -> None:
        """Write images ``start, start + 1, ...`` (``stacked``: field -> array with the images
        on axis 0, ``key`` included). Each shard file is replaced whole and atomically (Zarr's
        local store writes a temporary file and renames it), so a kill leaves the old file."""
        stop = start + len(stacked["key"])
        for name in sorted(stacked):
            self.arrays[name][start:stop] = stacked[name]

    def read(self, start: int, stop: int, fields=None) -> dict:
        """Images ``start:stop`` of each field; ``StoreCorruptError`` naming the shard file
        that cannot be read."""
        out = {}
        for name in fields or sorted(self.arrays):
            try:
                out[name] = self.arrays[name][start:stop]
            except Exception as exc:
                raise StoreCorruptError(
                    f"the shard {self.shard_file(name, start)} is unreadable "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})"
                ) from exc
        return out

    def used(self, shard: int) -> int:
        """How many leading slots of ``shard`` hold an image (the next free one is after
        the last written)."""
        start = shard * self.shard_images
        try:
            keys = self.arrays["key"][start : start + self.shard_images]
        except Exception:  # a damaged key shard: start a fresh shard instead
            return self.shard_images
        written = np.flatnonzero(keys.any(axis=1))
        return int(written[-1]) + 1 if written.size else 0

    def healthy(self, shard: int) -> bool:
        """Whether every field's shard file can be read (its index at least): a writer adds
        images only to a shard it can rewrite."""
        slot = shard * self.shard_images
        try:
            self.read(slot, slot + 1)
        except StoreCorruptError:
            return False
        return True
