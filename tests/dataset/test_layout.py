"""The stacked store layout (format 3, issue 20 item 2): few files, few bytes, crash-safe
folds, reads by chunk, and stores of the old per-image layout still read, resumed, converted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.integrity import StoreCorruptError, verify_arrays
from tests.helpers.legacy_store import write_v2_store
from tests.helpers.models_dataset import brightness_model, counting_model
from tests.helpers.store_writer import banded

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}
ROOT = Path(__file__).resolve().parents[2]


def files(store) -> list:
    return [p for p in Path(store).rglob("*") if p.is_file()]


def same_maps(ds, reference, ids):
    for i in ids:
        np.testing.assert_array_equal(
            ds.result(str(i)).probabilities, reference.result(str(i)).probabilities
        )
        np.testing.assert_array_equal(ds.result(str(i)).image, reference.result(str(i)).image)


# -- files and bytes --------------------------------------------------------------------------


def cifar_like(n):
    """``n`` distinct 32x32 RGB images with smooth content (compressible, as photos are)."""
    y, x = np.mgrid[0:32, 0:32]
    out = np.empty((n, 32, 32, 3), np.uint8)
    for i in range(n):
        out[i] = ((x[..., None] * (1 + i % 7) + y[..., None] * (i % 5) + i) % 256).astype(np.uint8)
    return out


def test_files_grow_by_about_one_per_thousand_images_and_bytes_stay_near_the_data(tmp_path):
    n, store = 2000, tmp_path / "s"
    ds = ow.sweep_dataset(
        brightness_model(10), cifar_like(n), store=store, **dict(PARAMS, patch_size=8, stride=8)
    )
    assert len(ds) == n and (ds.table["status"] == "done").all()
    found = files(store)
    # The per-image layout kept 7 files per image (14,000 here): now a shard per field, the
    # arrays' metadata, a few table parts and the settled parameters.
    assert len(found) <= 20, sorted(str(p.relative_to(store)) for p in found)
    arrays = ds.store.read_many(ds.table["key"][:1])
    per_image = sum(a.nbytes for a in next(iter(arrays.values())).values())
    assert sum(p.stat().st_size for p in found) <= 1.5 * n * per_image


# -- crash safety -----------------------------------------------------------------------------


def killed_writer(store, n, sync, mode):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    module = "tests.helpers.layout_writer"
    args = [sys.executable, "-m", module, str(store), str(n), str(sync), mode]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not (sync / "hanging").exists() and time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.communicate()[0].decode())
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


@pytest.mark.parametrize("mode", ["fold", "midfile"])
def test_a_writer_killed_while_writing_a_shard_loses_no_image_and_the_resume_repairs(
    tmp_path, mode
):
    store, sync = tmp_path / "s", tmp_path / "sync"
    sync.mkdir()
    ow.sweep_dataset(brightness_model(), banded(6), store=store, batch_size=64, **PARAMS)
    # Sweeps images 6-11 into the same shard, writes their rows, then is killed mid-fold.
    killed_writer(store, 12, sync, mode)
    reference = ow.sweep_dataset(brightness_model(), banded(12), batch_size=64, **PARAMS)
    crashed = ow.open_dataset(store)
    assert sorted(crashed.table["id"], key=int) == [str(i) for i in range(12)]
    same_maps(crashed, reference, range(12))  # the old images, and the new ones staged
    model, calls = counting_model()
    resumed = ow.sweep_dataset(model, banded(12), store=store, batch_size=64, **PARAMS)
    # Nothing was lost, so no position is swept again (one call scores stored images: the
    # model must answer as the maps it resumes do).
    assert sum(calls) == 0 and len(calls) <= 1
    same_maps(resumed, reference, range(12))
    left = [p.name for p in files(store) if p.suffix in (".npz", ".partial", ".tmp")]
    assert left == []  # the staged images are folded, the half-written file is gone


def test_corrupt_bytes_in_a_shard_are_named_and_the_other_images_read(tmp_path):
    store = tmp_path / "s"
    # One image per inner chunk at 128 px (49 KB of image each): damage hits one image.
    data = np.stack([np.roll(cifar_like(1)[0], 8 * i, axis=0) for i in range(3)])
    data = np.repeat(np.repeat(data, 4, axis=1), 4, axis=2)
    ow.sweep_dataset(brightness_model(), data, store=store, **dict(PARAMS, patch_size=32))
    shard = next(p for p in (store / "maps.zarr" / "image" / "c").rglob("*") if p.is_file())
    raw = bytearray(shard.read_bytes())
    data_bytes = len(raw) - (4096 * 16 + 4)  # the shard's index at its end: 16 B per chunk
    middle = data_bytes // 2  # three chunks of about the same size: inside the second one
    raw[middle : middle + 64] = bytes(64)
    shard.write_bytes(bytes(raw))
    ds = ow.open_dataset(store)
    with pytest.raises(StoreCorruptError, match=r"maps.zarr/image/c/0/0/0/0"):
        ds.result("1")
    got = ds.store.read_many(ds.table["key"], errors="return")
    bad = [k for k, v in got.items() if isinstance(v, StoreCorruptError)]
    assert bad == [ds.table.set_index("id")["key"]["1"]]
    assert ds.result("0").image.shape == (128, 128, 3)


@pytest.mark.parametrize("lost", ["zarr.json", "whole folder"])
def test_a_field_whose_array_is_lost_is_named_and_rebuilt_by_the_next_run(tmp_path, lost):
    # Before, a read blamed the checksums of three healthy files, and every re-run turned
    # each good row into an error row ("this image's maps hold [...] but the store's hold").
    import shutil

    store = tmp_path / "s"
    reference = ow.sweep_dataset(brightness_model(), banded(4), store=store, **PARAMS)
    expected = [reference.result(str(i)).probabilities for i in range(4)]
    field = store / "maps.zarr" / "probabilities"
    if lost == "zarr.json":
        (field / "zarr.json").unlink()
    else:
        shutil.rmtree(field)
    with pytest.raises(StoreCorruptError, match=r"maps.zarr/probabilities/zarr.json is missing"):
        ow.open_dataset(store).result("0")
    with pytest.warns(UserWarning, match=r"4 image\(s\) .* swept again: .*zarr.json is missing"):
        ow.sweep_dataset(brightness_model(), banded(4), store=store, **PARAMS)
    for _ in range(2):  # rebuilt once, and then stays whole
        ds = ow.sweep_dataset(brightness_model(), banded(4), store=store, **PARAMS)
        assert len(ds.errors) == 0 and len(ds) == 4
        for i in range(4):
            np.testing.assert_array_equal(ds.result(str(i)).probabilities, expected[i])


def test_a_missing_shard_file_is_named_as_missing(tmp_path):
    # The checksum message listed every field's shard file, the missing one among them.
    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(3), store=store, **PARAMS)
    shard = next(p for p in (store / "maps.zarr" / "probabilities" / "c").rglob("*") if p.is_file())
    shard.unlink()
    with pytest.raises(StoreCorruptError, match=r"\(\S*/probabilities/c/0/0/0/0 is missing\)"):
        ow.open_dataset(store).result("0")


def test_a_slot_holding_another_images_maps_is_refused_and_redone(tmp_path):
    import zarr

    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(3), store=store, **PARAMS)
    slots = ow.open_dataset(store).table.set_index("id")["slot"]
    keys = zarr.open_array(str(store / "maps.zarr" / "key"), mode="r+")
    keys[int(slots["1"])] = keys[int(slots["0"])]  # slot of image 1 claims to be image 0's
    with pytest.raises(StoreCorruptError, match=r"the slot holds those of key i"):
        ow.open_dataset(store).result("1")
    model, calls = counting_model()
    with pytest.warns(UserWarning, match=r"1 image\(s\)"):
        ds = ow.sweep_dataset(model, banded(3), store=store, **PARAMS)
    assert sum(calls) == 9  # image 1 again: 3 x 3 positions
    np.testing.assert_array_equal(ds.result("1").image, banded(3)[1])


# -- reads by chunk ---------------------------------------------------------------------------


def test_read_many_reads_a_page_by_chunk_not_by_image(tmp_path, monkeypatch):
    from occlusion_widget.dataset import layout

    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(40), store=store, **PARAMS)
    ds = ow.open_dataset(store)
    reads = []
    original = layout.Layout.read
    monkeypatch.setattr(
        layout.Layout, "read", lambda self, *a, **k: reads.append(a) or original(self, *a, **k)
    )
    page = list(ds.table["key"][::3])  # 14 images, all in one inner chunk of each field
    got = ds.store.read_many(page)
    assert len(reads) == 4  # one per field: probabilities, base_probabilities, image, key
    table = ds.table.set_index("key")
    for key in page:
        verify_arrays(got[key], table.loc[key, "checksum"], key)  # each its own maps
    reads.clear()
    ids = list(table.loc[page, "id"])
    results = ds.results(ids)  # what a gallery page asks for
    assert len(reads) == 4
    for image_id, result in zip(ids, results, strict=True):
        np.testing.assert_array_equal(result.probabilities, ds.result(image_id).probabilities)


# -- stores of the per-image layout -----------------------------------------------------------


def test_an_old_store_is_read_resumed_in_its_layout_and_converted(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    reference = ow.sweep_dataset(brightness_model(), banded(5), **PARAMS)
    write_v2_store(old, brightness_model(), banded(3), **PARAMS)
    ds = ow.open_dataset(old)
    assert ds.store.legacy and len(ds) == 3
    same_maps(ds, reference, range(3))
    model, calls = counting_model()
    resumed = ow.sweep_dataset(model, banded(5), store=old, **PARAMS)
    assert sum(calls) == 2 * 9  # images 3 and 4 only
    assert (old / "maps.zarr" / resumed.table.set_index("id")["key"]["4"]).is_dir()
    same_maps(ow.open_dataset(old), reference, range(5))
    ow.dataset.convert_store(old, new)
    converted = ow.open_dataset(new)
    assert not converted.store.legacy and len(converted) == 5
    same_maps(converted, reference, range(5))
    assert len(files(new)) < len(files(old)) / 2
    with pytest.raises(ValueError, match=r"holds a store already"):
        ow.dataset.convert_store(old, new)


def test_damaged_maps_in_an_old_store_are_named_and_redone(tmp_path):
    import shutil

    store = tmp_path / "old"
    write_v2_store(store, brightness_model(), banded(3), **PARAMS)
    key = ow.open_dataset(store).table.set_index("id")["key"]["1"]
    shutil.rmtree(store / "maps.zarr" / key)
    with pytest.raises(StoreCorruptError, match=rf"maps.zarr/{key}"):
        ow.open_dataset(store).result("1")
    model, calls = counting_model()
    with pytest.warns(UserWarning, match=r"1 image\(s\)"):
        ds = ow.sweep_dataset(model, banded(3), store=store, **PARAMS)
    assert sum(calls) == 9
    np.testing.assert_array_equal(ds.result("1").image, banded(3)[1])


def test_maps_written_by_another_writer_are_found_by_the_one_writing_rows(tmp_path):
    # The Ray backend's actors write maps (store.write_arrays(DiskStore(url).group, ...)) and
    # the driver writes the rows: the rows must point at the actors' slots.
    from occlusion_widget.dataset.sources import Item
    from occlusion_widget.dataset.store import DiskStore, write_arrays
    from occlusion_widget.dataset.sweeper import DatasetParams, finish_row

    store = tmp_path / "s"
    driver = DiskStore(store)
    driver.check_params(DatasetParams(patch_size=4, stride=4).describe((8, 8, 1)), 2, 2)
    actor, rows = DiskStore(store), []
    for i in range(5):
        arrays = {
            "probabilities": np.full((2, 2, 2), i / 10, np.float16),
            "base_probabilities": np.array([i / 10, 1 - i / 10], np.float32),
            "image": np.full((8, 8), i, np.uint8),
        }
        item = Item(str(i), None, "", -1)
        write_arrays(actor.group, item.key, arrays)  # durable when it returns
        rows.append(finish_row(item, 0.1, summary={}, arrays=arrays))
    driver.append_rows(rows)
    read = ow.open_dataset(store).store
    assert [int(read.read_arrays(row["key"])["image"][0, 0]) for row in rows] == list(range(5))
    actor.finish()  # the actor's shard folded
    assert not list((store / "staged").glob("*.npz"))
    read = ow.open_dataset(store).store
    assert [int(read.read_arrays(row["key"])["image"][0, 0]) for row in rows] == list(range(5))
