"""The dataset store never lies: concurrent writers, identity, preprocess, bad files,
corruption, paths and the table as the README reads it (issue 19, items 1-7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.integrity import StoreCorruptError
from tests.helpers.models_dataset import brightness_model, images
from tests.helpers.store_writer import banded

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}
ROOT = Path(__file__).resolve().parents[2]
WRITER = "tests.helpers.store_writer"
AS_WRITER = dict(PARAMS, patch_size=8, batch_size=4)  # what store_writer.py sweeps with


def writer(store, stride, n, sync, mode):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    args = [sys.executable, "-m", WRITER, str(store), str(stride), str(n), str(sync), mode]
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def held_writer(tmp_path, n=6):
    """A writer of ``n`` banded images that blocks inside its first image (its claim on
    images 0 and 1 held) until ``sync / "release"`` exists: ``(store, sync, process)``."""
    store, sync = tmp_path / "s", tmp_path / "sync"
    sync.mkdir()
    proc = writer(store, 4, n, sync, "hold")
    _wait_for(sync / "started", proc)
    return store, sync, proc


def _wait_for(flag, proc, seconds=180):
    """Until the writer made ``flag``: a loaded machine may take long to start Python and
    TensorFlow; a writer that ended first, or never got there, fails here with its output."""
    deadline = time.monotonic() + seconds
    while not flag.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()  # no-op when it ended; else its output would never end
            raise AssertionError(f"the writer never reached {flag.name}: {proc.communicate()}")
        time.sleep(0.05)


def beside_held(store, sync, held, stride, mode):
    """Run a second writer while ``held`` (:func:`held_writer`) blocks, then release that one
    and check it ended well: the second writer's ``(exit code, output)``."""
    second = finish(writer(store, stride, 6, sync, mode))
    (sync / "release").touch()
    code, out = finish(held)
    assert code == 0, out
    return second


def finish(proc, limit=300):
    out, err = proc.communicate(timeout=limit)
    return proc.returncode, out + err


def counting(model=None):
    model = model or brightness_model()
    calls = []

    def counted(batch):
        calls.append(occluded(batch))
        return model(batch)

    return counted, calls


def occluded(batch) -> int:
    """The rows of a model call with a black patch: the positions swept (the unoccluded image
    and the padding of a packed call have no black pixel; banded images are 40 and over)."""
    return int((np.asarray(batch).reshape(len(batch), -1).min(axis=1) == 0).sum())


def passes(n, **params):
    """Positions that sweeping ``n`` of the banded images takes: the local backend packs
    several images into each model call, so calls do not count images."""
    model, calls = counting()
    ow.occlusion_map(model, banded(1)[0], **dict(PARAMS, **params))
    return n * sum(calls)


def raw_rows(store):
    import pandas as pd

    return pd.read_parquet(Path(store) / "table")  # the README's own reading


# -- 1 and 7: two writers, one store ---------------------------------------------------------


def test_two_writers_with_the_same_parameters_share_the_images(tmp_path):
    store, sync, n = tmp_path / "s", tmp_path / "sync", 10
    sync.mkdir()
    # What one writer alone calls the model for these images.
    alone, alone_calls = counting()
    ow.sweep_dataset(alone, banded(n), store=tmp_path / "ref", **AS_WRITER)
    a, b = writer(store, 4, n, sync, "meet"), writer(store, 4, n, sync, "meet")
    (code_a, out_a), (code_b, out_b) = finish(a), finish(b)
    assert code_a == 0 and code_b == 0, out_a + out_b  # no ContainsGroupError, no refusal
    done = [int(line.split("=")[1]) for line in (out_a + out_b).split() if "passes=" in line]
    assert min(done) > 0  # both writers swept images
    assert sum(done) == sum(alone_calls)  # every image swept once, by one of the two writers
    ds = ow.open_dataset(store)
    assert sorted(ds.table["id"], key=int) == [str(i) for i in range(n)]
    rows = raw_rows(store)
    assert len(rows) == n and rows["key"].is_unique  # item 7
    reference = ow.open_dataset(tmp_path / "ref")
    for i in range(n):
        np.testing.assert_array_equal(
            ds.result(str(i)).probabilities, reference.result(i).probabilities
        )


def test_a_second_writer_with_other_parameters_is_refused_at_once(tmp_path):
    store, sync, a = held_writer(tmp_path)
    code_b, out_b = beside_held(store, sync, a, 8, "none")
    assert code_b == 3 and "stride: store has [4, 4], this sweep [8, 8]" in out_b, out_b
    ds = ow.open_dataset(store)
    assert ds.params["stride"] == [4, 4] and len(ds) == 6
    shape = ow.occlusion_map(brightness_model(), banded(1)[0], **AS_WRITER).probabilities.shape
    assert {ds.result(i).probabilities.shape for i in range(6)} == {shape}


def test_a_second_writer_with_other_images_is_refused_before_the_first_has_rows(tmp_path):
    # The table's own check needs rows, and a writer appends its first rows only after a
    # chunk of images: the second writer skipped the first one's claimed blocks, returned
    # having swept nothing, and said nothing.
    store, sync, a = held_writer(tmp_path)
    assert not (store / "table").exists() or raw_rows(store).empty
    code_b, out_b = beside_held(store, sync, a, 4, "other")
    assert code_b == 3 and "image '0' is not the image another writer" in out_b, out_b
    ds = ow.open_dataset(store)
    reference = ow.sweep_dataset(brightness_model(), banded(6), **AS_WRITER)
    for i in range(6):
        np.testing.assert_array_equal(
            ds.result(str(i)).probabilities, reference.result(i).probabilities
        )


def test_a_writer_that_leaves_images_to_a_running_one_says_its_table_is_partial(tmp_path):
    # It returned a dataset short of those images without a word.
    store, sync, a = held_writer(tmp_path)  # holds the claim on images 0 and 1
    with pytest.warns(UserWarning, match=r"2 image\(s\) are being swept by another writer"):
        ds = ow.sweep_dataset(brightness_model(), banded(6), store=store, **AS_WRITER)
    assert sorted(ds.table["id"], key=int) == ["2", "3", "4", "5"]
    (sync / "release").touch()
    code_a, out_a = finish(a)
    assert code_a == 0, out_a
    assert sorted(ow.open_dataset(store).table["id"], key=int) == [str(i) for i in range(6)]


@pytest.mark.filterwarnings("ignore:.*being swept by another writer:UserWarning")
def test_writers_in_threads_of_one_process_sweep_each_image_once(tmp_path):
    import threading

    model, calls = counting()
    failures = []

    def sweep():
        try:
            ow.sweep_dataset(model, banded(24), store=tmp_path / "s", **AS_WRITER)
        except Exception as exc:  # any failure fails the test below
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(calls) == passes(24, **AS_WRITER)  # each image swept once
    assert len(raw_rows(tmp_path / "s")) == 24


def test_a_writer_killed_mid_sweep_is_taken_over_by_the_next(tmp_path):
    store, sync, n = tmp_path / "s", tmp_path / "sync", 6
    sync.mkdir()
    proc = writer(store, 4, n, sync, "hang")
    _wait_for(sync / "hanging", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert list((store / "writers").iterdir())  # the killed writer's heartbeat stays
    model, _ = counting()
    ds = ow.sweep_dataset(model, banded(n), store=store, **AS_WRITER)
    assert sorted(ds.table["id"], key=int) == [str(i) for i in range(n)]
    assert len(raw_rows(store)) == n
    # A store at rest keeps no claim and no heartbeat, the killed writer's included (they
    # stayed forever); the settled parameters stay.
    assert sorted(p.name for p in (store / "claims").iterdir()) == ["_params.json", "_shape.json"]
    assert list((store / "writers").iterdir()) == []
    clean = ow.sweep_dataset(brightness_model(), banded(n), **AS_WRITER)
    for i in range(n):
        np.testing.assert_array_equal(
            ds.result(str(i)).probabilities, clean.result(i).probabilities
        )


# -- 2: identity, not position ----------------------------------------------------------------


def test_a_shuffled_stream_resumed_gives_every_image_once(tmp_path):
    data = banded(12)
    data[11] = data[3]  # a duplicate is an image of the dataset too
    first, second = (
        np.random.default_rng(1).permutation(12),
        np.random.default_rng(2).permutation(12),
    )
    inner = brightness_model()
    calls = []

    def crashing(batch):
        calls.append(1)
        if len(calls) == 6:  # batch 4: in the middle of the sweep
            raise KeyboardInterrupt
        return inner(batch)

    store = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        ow.sweep_dataset(crashing, (data[i] for i in first), store=store, batch_size=4, **PARAMS)
    ds = ow.sweep_dataset(inner, (data[i] for i in second), store=store, batch_size=4, **PARAMS)
    assert len(ds) == 12
    swept = sorted(bytes(ds.result(r).image.astype(np.uint8).tobytes()) for r in range(12))
    assert swept == sorted(image.tobytes() for image in data)  # each image exactly once


def test_other_images_into_a_list_store_are_refused(tmp_path):
    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(3), store=store, **PARAMS)
    with pytest.raises(ValueError, match=r"image '0' is not the image the store .* holds"):
        ow.sweep_dataset(brightness_model(), banded(3)[::-1].copy(), store=store, **PARAMS)


def test_a_changed_file_in_a_folder_is_swept_again(tmp_path):
    from PIL import Image

    root, store = tmp_path / "data", tmp_path / "s"
    root.mkdir()
    data = banded(3)
    for i in range(3):
        Image.fromarray(data[i]).save(root / f"{i}.png")
    ow.sweep_dataset(brightness_model(), root, store=store, batch_size=64, **PARAMS)
    Image.fromarray(data[0][::-1].copy()).save(root / "1.png")  # 1.png now shows other pixels
    model, calls = counting()
    ds = ow.sweep_dataset(model, root, store=store, batch_size=64, **PARAMS)
    np.testing.assert_array_equal(ds.result("1.png").image, data[0][::-1])
    assert sum(calls) == passes(1) and len(ds) == 3 and len(raw_rows(store)) == 3


# -- 3: preprocess by behaviour, top_k --------------------------------------------------------


def test_preprocess_is_compared_by_what_it_does(tmp_path):
    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(2), store=store, preprocess=lambda x: x, **PARAMS)
    with pytest.raises(ValueError, match=r"preprocess: .*output on a fixed probe batch differs"):
        ow.sweep_dataset(
            brightness_model(), banded(3), store=store, preprocess=lambda x: x * 0, **PARAMS
        )

    def same(x):  # another function doing the same: resumes
        return x + 0.0

    ds = ow.sweep_dataset(brightness_model(), banded(3), store=store, preprocess=same, **PARAMS)
    assert len(ds) == 3


def test_a_changed_top_k_is_refused(tmp_path):
    store = tmp_path / "s"
    model = brightness_model(num_classes=6)
    ow.sweep_dataset(model, images(2, size=12), store=store, top_k=2, **PARAMS)
    with pytest.raises(ValueError, match=r"top_k"):
        ow.sweep_dataset(model, images(3, size=12), store=store, top_k=3, **PARAMS)
    assert ow.open_dataset(store).kept_classes == 2


# -- 4: a bad file is a row --------------------------------------------------------------------


def _huge_png(path, width=10_000, height=10_000):
    """A PNG whose header says width x height (the pixels are not there)."""
    import struct
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def test_bad_files_are_rows_and_keep_their_label(tmp_path):
    from PIL import Image

    root = tmp_path / "data"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    data = banded(3)
    Image.fromarray(data[0]).save(root / "cat" / "a.png")
    Image.fromarray(data[1]).save(root / "dog" / "b.png")
    Image.fromarray(data[2]).save(os.path.join(os.fsencode(root / "dog"), b"caf\xe9.png"))
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    _huge_png(root / "dog" / "huge.png")
    ds = ow.sweep_dataset(brightness_model(), root, store=tmp_path / "s", **PARAMS)
    table = ds.table.set_index("id")
    assert table.loc["dog/caf\\xe9.png", "status"] == "done"
    assert ds.result("dog/caf\\xe9.png").image.shape == (12, 12, 3)
    errors = ds.errors.set_index("id")["error"]
    assert sorted(errors.index) == ["dog/broken.png", "dog/huge.png"]
    assert (
        "10000x10000 pixels" in errors["dog/huge.png"] and "not decoded" in errors["dog/huge.png"]
    )
    assert (table.loc[["dog/broken.png", "dog/huge.png"], "label"] == 1).all()  # the folder's
    assert len(raw_rows(tmp_path / "s")) == 5


def test_grey_and_rgba_files_are_converted_to_the_models_channels(tmp_path):
    pytest.importorskip("keras")
    from PIL import Image

    from tests.helpers.models_dataset import tiny_keras_model

    root = tmp_path / "data"
    root.mkdir()
    data = images(3, size=8)
    Image.fromarray(data[0][..., 0]).save(root / "a_grey.png")  # the first file is grey
    Image.fromarray(data[1]).save(root / "b_rgb.png")
    Image.fromarray(np.dstack([data[2], np.full((8, 8), 128, np.uint8)])).save(root / "c_rgba.png")
    ds = ow.sweep_dataset(tiny_keras_model(size=8), root, **dict(PARAMS, stride=2))
    assert (ds.table["status"] == "done").all(), ds.errors.to_dict("records")
    np.testing.assert_array_equal(ds.result("a_grey.png").image, np.dstack([data[0][..., 0]] * 3))
    np.testing.assert_array_equal(ds.result("c_rgba.png").image, data[2])


def test_channels_converts_every_file_for_a_model_that_declares_none(tmp_path):
    from PIL import Image

    root = tmp_path / "data"
    root.mkdir()
    data = banded(2)
    Image.fromarray(data[0][..., 0]).save(root / "a_grey.png")  # the first file is grey
    Image.fromarray(data[1]).save(root / "b_rgb.png")
    ds = ow.sweep_dataset(brightness_model(), root, channels=3, **PARAMS)
    assert (ds.table["status"] == "done").all()
    assert ds.result("a_grey.png").image.shape == (12, 12, 3)
    with pytest.raises(ValueError, match=r"channels must be 1, 3 or 4"):
        ow.sweep_dataset(brightness_model(), root, channels=2, **PARAMS)


def test_an_array_of_other_channels_gets_advice_that_works():
    rgb = banded(2)
    grey = rgb[1].mean(axis=2).astype(np.uint8)
    ds = ow.sweep_dataset(brightness_model(), [rgb[0], grey], **PARAMS)
    advice = ds.errors["error"][0]
    assert "resize" not in advice and ".convert('RGB')" in advice
    from PIL import Image

    fixed = np.asarray(Image.fromarray(grey).convert("RGB"))  # what the advice says
    again = ow.sweep_dataset(brightness_model(), [rgb[0], fixed], **PARAMS)
    assert (again.table["status"] == "done").all()


# -- 5: corruption is detected, named and repaired --------------------------------------------


def _swept(tmp_path, n=3):
    store = tmp_path / "s"
    ow.sweep_dataset(brightness_model(), banded(n), store=store, batch_size=64, **PARAMS)
    return store, ow.open_dataset(store).table.set_index("id")["key"]


def _resume(store, n=3):
    model, calls = counting()
    ds = ow.sweep_dataset(model, banded(n), store=store, batch_size=64, **PARAMS)
    return ds, calls


def _shard(store, name="probabilities"):
    """The one shard file of a field (a few images fill one shard)."""
    return next(p for p in (store / "maps.zarr" / name / "c").rglob("*") if p.is_file())


def _rot_slot(store, slot):
    """Rewrite one image's probabilities with other, well-encoded values (bit rot that the
    compressor cannot notice)."""
    import zarr

    array = zarr.open_array(str(store / "maps.zarr" / "probabilities"), mode="r+")
    array[slot] = np.asarray(array[slot]) + np.float16(0.25)


@pytest.mark.parametrize("damage", ["rot", "flip", "delete_shard"])
def test_damaged_maps_are_named_on_read_and_redone_on_resume(tmp_path, damage):
    store, _ = _swept(tmp_path)
    slots = ow.open_dataset(store).table.set_index("id")["slot"]
    shard = _shard(store)
    if damage == "rot":  # image 1 only
        _rot_slot(store, int(slots["1"]))
        named, redone = rf"slot {int(slots['1'])}: .*maps.zarr/probabilities/c/0", 1
    elif damage == "flip":  # the inner chunk holding the three images
        data = bytearray(shard.read_bytes())
        data[8:24] = bytes(b ^ 0xFF for b in data[8:24])
        shard.write_bytes(bytes(data))
        named, redone = r"maps.zarr/probabilities/c/0/0/0/0", 3
    else:
        shard.unlink()
        named, redone = r"maps.zarr/probabilities/c/0/0/0/0", 3
    with pytest.raises(StoreCorruptError, match=named):
        ow.open_dataset(store).result("1")
    with pytest.warns(UserWarning, match=rf"{redone} image\(s\) .* missing or damaged maps"):
        ds, calls = _resume(store)
    assert sum(calls) == passes(redone)  # the damaged images only
    for i in range(3):
        np.testing.assert_array_equal(ds.result(str(i)).image, banded(3)[i])
    assert len(raw_rows(store)) == 3


def test_a_truncated_table_part_is_named_and_its_images_redone(tmp_path):
    store = tmp_path / "s"
    model = brightness_model()
    ow.sweep_dataset(model, banded(2), store=store, **PARAMS)
    ow.sweep_dataset(model, banded(4), store=store, **PARAMS)  # a second part: images 2, 3
    part = sorted((store / "table").glob("part-*.parquet"))[-1]
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.raises(StoreCorruptError, match=rf"table part .*{part.name} is unreadable"):
        ow.open_dataset(store)
    with pytest.warns(UserWarning, match=rf"{part.name} was unreadable"):
        ds, calls = _resume(store, 4)
    assert sum(calls) == passes(2) and sorted(ds.table["id"]) == ["0", "1", "2", "3"]
    assert len(raw_rows(store)) == 4


def test_truncated_or_lost_store_metadata_is_named_and_repaired(tmp_path):
    store, _ = _swept(tmp_path)
    meta = store / "maps.zarr" / "zarr.json"
    whole = meta.read_bytes()
    meta.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(StoreCorruptError, match=r"maps.zarr/zarr.json is unreadable"):
        ow.open_dataset(store)
    ds, calls = _resume(store)
    assert sum(calls) == 0 and ds.params["stride"] == [4, 4]  # no position swept again
    assert ow.open_dataset(store).result("2").rows == 3
    # Attributes lost: rebuilt from the settled parameters.
    doc = json.loads(meta.read_bytes())
    meta.write_text(json.dumps(dict(doc, attributes={})))
    assert ow.open_dataset(store).result("2").rows == 3
    (store / "claims" / "_params.json").unlink()
    with pytest.raises(StoreCorruptError, match=r"lost its parameters"):
        ow.open_dataset(store).result("2")


# -- 6: paths ---------------------------------------------------------------------------------


def test_an_empty_store_path_is_refused_and_a_file_url_accepted(tmp_path):
    with pytest.raises(ValueError, match=r"store='' is no folder"):
        ow.sweep_dataset(brightness_model(), banded(2), store="", **PARAMS)
    (tmp_path / "existing").mkdir()
    url = (tmp_path / "existing").as_uri()
    ow.sweep_dataset(brightness_model(), banded(2), store=url, **PARAMS)
    assert sorted(ow.open_dataset(url).table["id"]) == ["0", "1"]
    assert (tmp_path / "existing" / "maps.zarr").is_dir()


# -- 7: one row per image as the README reads the table ---------------------------------------


def test_a_retried_error_leaves_one_row(tmp_path):
    from PIL import Image

    root, store = tmp_path / "data", tmp_path / "s"
    root.mkdir()
    data = banded(2)
    Image.fromarray(data[0]).save(root / "a.png")
    (root / "b.png").write_bytes(b"not yet")
    ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    Image.fromarray(data[1]).save(root / "b.png")  # fixed
    ds = ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    assert (ds.table["status"] == "done").all()
    rows = raw_rows(store)
    assert len(rows) == 2 and set(rows["status"]) == {"done"}


def test_a_cancelled_sweep_releases_the_claims_of_the_images_it_read_ahead(tmp_path):
    # The local backend reads (and so claims) images a chunk ahead of the model: a cancel must
    # leave no claim behind on an image without a row, or the next run would skip it as busy.
    import threading

    store, cancel, inner = tmp_path / "s", threading.Event(), brightness_model()
    calls = []

    def model(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            cancel.set()
        return inner(batch)

    ow.sweep_dataset(model, banded(8), store=store, cancel=cancel, batch_size=4, **PARAMS)
    written = set(raw_rows(store)["key"]) if (store / "table").exists() else set()
    claims = (path.name.rsplit(".", 1)[0] for path in (store / "claims").iterdir())
    claimed = {key for key in claims if key != "_params"}  # the settled parameters stay
    assert len(written) < 8 and claimed == written
    again, calls = counting()
    ds = ow.sweep_dataset(again, banded(8), store=store, batch_size=4, **PARAMS)
    assert sum(calls) == passes(8 - len(written)) and len(ds) == 8
