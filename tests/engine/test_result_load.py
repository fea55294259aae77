"""Loading a saved result checks what it loads (issue 19, item 11): hostile files crafted here
are refused with the file's name, before anything large is read; real files, partial ones
included, still load."""

from __future__ import annotations

import json
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import region_model

REGION = (2, 3, 4, 5)


def saved(tmp_path: Path, name: str = "result.npz") -> Path:
    result = ow.occlusion_map(
        region_model(*REGION), np.ones((10, 12)), patch_size=4, stride=4, progress=False
    )
    path = tmp_path / name
    result.save(path)
    return path


def arrays_of(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def rewrite(path: Path, **changes) -> Path:
    arrays = {**arrays_of(path), **changes}
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    return path


def refused(path: Path, *says: str) -> str:
    """Load ``path``; it must fail with a short ValueError naming the file and saying ``says``."""
    with pytest.raises(ValueError) as caught:
        ow.OcclusionResult.load(path)
    message = str(caught.value)
    assert str(path) in message, message
    assert len(message) < 600 and "allow_pickle" not in message, message
    for part in says:
        assert part in message, (part, message)
    return message


# -- dtypes and values ---------------------------------------------------------------------------


def test_a_computed_array_of_ints_is_refused(tmp_path):
    """It loaded, then from_result, export_html and plot_class_map raised IndexError."""
    path = saved(tmp_path)
    rewrite(path, computed=np.full((3, 3), 7, np.int64))
    refused(path, "computed has dtype int64", "bool")


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("probabilities", np.nan, "NaN or infinite values at computed positions"),
        ("probabilities", -0.25, "outside [0, 1] (from -0.25"),
        ("probabilities", 1.5, "outside [0, 1]"),
        ("probabilities", np.inf, "NaN or infinite"),
        ("base_probabilities", np.nan, "base_probabilities holds NaN"),
        ("base_probabilities", -1.0, "base_probabilities holds values outside [0, 1]"),
        ("image", np.inf, "image holds NaN or infinite pixels"),
    ],
)
def test_values_no_sweep_writes_are_refused(tmp_path, key, value, says):
    path = saved(tmp_path)
    arrays = arrays_of(path)
    changed = arrays[key].copy()
    changed.reshape(-1)[0] = value
    rewrite(path, **{key: changed})
    refused(path, "is not a valid saved occlusion result", says)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("probabilities", np.zeros((3, 3, 2), np.int32), "probabilities has dtype int32"),
        ("tops", np.zeros(3, np.float64), "tops has dtype float64"),
        ("image", np.zeros((10, 12, 1), np.complex64), "image has dtype complex64"),
        ("meta", np.array(["{}"]), "metadata is no single JSON string"),
    ],
)
def test_arrays_of_the_wrong_dtype_are_refused(tmp_path, key, value, says):
    path = saved(tmp_path)
    rewrite(path, **{key: value})
    refused(path, says)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"patch_size": [0, 4]}, "patch_size is [0, 4]"),
        ({"patch_size": [4, 99]}, "patch_size is [4, 99]"),
        ({"stride": "4"}, "stride is 4"),
        ({"value_range": [1, 0]}, "value_range is [1, 0]"),
        ({"value_range": [0, None]}, "value_range is [0, None]"),
        ({"format_version": "1"}, "format '1'"),
    ],
)
def test_metadata_no_sweep_could_have_is_refused(tmp_path, change, says):
    path = saved(tmp_path)
    meta = json.loads(str(arrays_of(path)["meta"]))
    rewrite(path, meta=np.array(json.dumps({**meta, **change})))
    refused(path, says)


def test_a_text_file_is_no_archive(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("probabilities: 0.3, 0.7\n")
    refused(path, "no .npz (zip) archive", "result.save(path)")


def test_python_objects_are_refused_without_numpys_pickle_advice(tmp_path):
    path = saved(tmp_path)
    arrays = arrays_of(path)
    arrays["tops"] = np.array([0, 4, "x"], dtype=object)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    refused(path, "'tops' holds Python objects")


def test_an_npy_header_that_disagrees_with_the_archive_is_refused(tmp_path):
    path = saved(tmp_path)
    members = unpacked(path)
    header, data = split_npy(members["probabilities.npy"])
    lying = header.replace(b"(3, 3, 2)", b"(3, 3, 9)")
    assert lying != header
    members["probabilities.npy"] = lying + data
    write_zip(path, {key: deflated(raw) for key, raw in members.items()})
    refused(path, "'probabilities' declares shape (3, 3, 9)", "damaged or altered")


# -- sizes: a small file may not expand to a huge array ------------------------------------------


def test_a_small_file_that_expands_to_300_mb_is_refused_before_it_is_read(tmp_path):
    """A 0.99 MB file expanded to a 1 GB array in 11 s; here 0.4 MB declare 375 MB of zeros."""
    path = saved(tmp_path, "bomb.npz")
    members = unpacked(path)
    k = 300 * 2**20 // (3 * 3 * 4)  # classes: (3, 3, k) float32 probabilities of 300 MiB
    members.pop("probabilities.npy")
    members.pop("base_probabilities.npy")
    packed = {key: deflated(raw) for key, raw in members.items()}
    packed["probabilities.npy"] = zeros_npy((3, 3, k))
    packed["base_probabilities.npy"] = zeros_npy((k,))
    write_zip(path, packed)
    assert path.stat().st_size < 2**20
    tracemalloc.start()
    try:
        message = refused(path, "would take", "bomb.npz", "was not read")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "MB" in message
    assert peak < 16 * 2**20, f"{peak / 1e6:.0f} MB were allocated to refuse it"


def test_partial_results_with_nan_where_nothing_was_computed_still_load(tmp_path):
    for mode in ("occlude", "reveal"):
        partial = next(
            ow.iter_occlusion(
                region_model(*REGION),
                np.ones((10, 12)),
                patch_size=2,
                stride=1,
                batch_size=4,
                mode=mode,
                baseline="black",
            )
        )
        assert not partial.complete and np.isnan(partial.probabilities).any()
        path = tmp_path / f"partial_{mode}.npz"
        partial.save(path)
        loaded = ow.OcclusionResult.load(path)
        assert loaded.done == partial.done and loaded.mode == mode
        np.testing.assert_array_equal(loaded.probabilities, partial.probabilities)


# -- crafting archives by hand -------------------------------------------------------------------


def unpacked(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def split_npy(raw: bytes) -> tuple[bytes, bytes]:
    header_len = struct.unpack("<H", raw[8:10])[0]
    return raw[: 10 + header_len], raw[10 + header_len :]


def deflated(raw: bytes) -> tuple[bytes, int, int]:
    """``raw`` as a raw deflate stream, its CRC-32 and its size."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(raw) + packer.flush(), zlib.crc32(raw), len(raw)


def zeros_npy(shape: tuple[int, ...]) -> tuple[bytes, int, int]:
    """A float32 ``.npy`` of zeros of ``shape``, deflated without ever being built: one
    compressed megabyte of zeros, repeated (each block starts afresh after a full flush)."""
    header = npy_header(shape)
    chunk = bytes(2**20)
    count, rest = divmod(int(np.prod(shape)) * 4, len(chunk))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(header) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(bytes(rest)) + packer.flush()
    crc = zlib.crc32(header)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(bytes(rest), crc)
    return head + block * count + tail, crc, len(header) + count * len(chunk) + rest


def npy_header(shape: tuple[int, ...]) -> bytes:
    text = repr({"descr": "<f4", "fortran_order": False, "shape": shape})
    pad = 64 - (10 + len(text) + 1) % 64
    body = (text + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def write_zip(path: Path, members: dict[str, tuple[bytes, int, int]]) -> None:
    """A zip archive of already deflated members (zipfile can only deflate by itself)."""
    out, central = bytearray(), bytearray()
    for name, (data, crc, size) in members.items():
        encoded, offset = name.encode(), len(out)
        sizes = (crc, len(data), size, len(encoded))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, *sizes, 0) + encoded + data
        fields = (0x02014B50, 20, 20, 0, 8, 0, 0, *sizes, 0, 0, 0, 0, 0, offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", *fields) + encoded
    count = len(members)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def test_saving_to_a_folder_or_into_a_missing_one_says_what_to_give(tmp_path):
    result = ow.OcclusionResult.load(saved(tmp_path))
    with pytest.raises(IsADirectoryError, match=r"cannot write the result to .*: it is a folder"):
        result.save(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"the folder .*nowhere' does not exist"):
        result.save(tmp_path / "nowhere" / "r.npz")
    assert not (tmp_path / "nowhere").exists()
