"""The Ray backend against the local one: one small local Ray (2 CPUs) for the whole module,
since starting Ray takes seconds."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import (
    BandModel,
    DiesEveryTime,
    DiesOnce,
    ThreadsSeen,
    images,
    tiny_keras_model,
)

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("zarr")

PARAMS = {"patch_size": 4, "stride": 2, "batch_size": 8, "progress": False}
ROOT = Path(__file__).resolve().parents[2]
# How long an image took and where its arrays landed: Ray writes blocks in completion order, so
# the slot differs from a local run's (a float column once a failed image's null is in it).
PLACEMENT = ("seconds", "slot")


@pytest.fixture(scope="module")
def local_ray():
    # Ray's workers inherit the environment of the Ray they belong to: with the checkout on
    # their path they can unpickle the test models (classes pickled by reference).
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved]))
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    tiny_keras_model().save(path)
    return path


@pytest.mark.slow
def test_ray_equals_local_and_writes_the_same_store(local_ray, model_path, tmp_path):
    data = [*images(5), np.zeros((6, 6, 3), np.uint8)]  # the last one has another size
    labels = [0, 1, 2, 3, 0, 1]
    local = ow.sweep_dataset(model_path, data, labels=labels, store=tmp_path / "l", **PARAMS)
    remote = ow.sweep_dataset(
        model_path, data, labels=labels, store=tmp_path / "r", backend="ray", **PARAMS
    )
    # Ray returns rows in completion order: compare image by image.
    a = local.table.set_index("id").sort_index()
    b = ow.open_dataset(tmp_path / "r").table.set_index("id").sort_index()
    assert list(a.index) == list(b.index) and (a["status"] == b["status"]).all()
    assert list(b["status"]) == ["done"] * 5 + ["error"]
    floats = [c for c in a.columns if a[c].dtype == np.float64 and c not in PLACEMENT]
    # The same engine code with the same batch size runs in both: the issue asks for 1e-6,
    # and float32 CPU inference with identical batches gives identical numbers here.
    np.testing.assert_allclose(b[floats].to_numpy(), a[floats].to_numpy(), atol=1e-6)
    for column in ("predicted", "flip_class", "max_drop_row", "winner_classes", "error"):
        assert a[column].tolist() == b[column].tolist(), column
    for image_id in a.index[:5]:
        np.testing.assert_allclose(
            remote.result(image_id).probabilities, local.result(image_id).probabilities, atol=1e-6
        )
    # Resuming on Ray skips everything already done.
    again = ow.sweep_dataset(
        model_path, data, labels=labels, store=tmp_path / "r", backend="ray", **PARAMS
    )
    assert len(again.table) == 6


@pytest.mark.slow
def test_ray_refuses_a_live_keras_model(local_ray):
    with pytest.raises(TypeError, match="model_factory"):
        ow.sweep_dataset(tiny_keras_model(), images(2), backend="ray", **PARAMS)


def _blocks_logged(caplog) -> dict:
    found = [r.ray_blocks for r in caplog.records if hasattr(r, "ray_blocks")]
    assert found, "run_ray logged no block tally"
    return found[-1]


@pytest.mark.slow
def test_blocks_of_cifar_size_images_equal_local_image_by_image(
    local_ray, tmp_path, caplog, monkeypatch
):
    import logging

    import pandas as pd

    from occlusion_widget.dataset.local import RowWriter

    data = images(40, size=32)
    labels = [i % 3 for i in range(40)]
    params = dict(PARAMS, patch_size=8, stride=8, batch_size=32)
    local = ow.sweep_dataset(BandModel(), data, labels=labels, store=tmp_path / "l", **params)
    appended = []
    flush = RowWriter.flush

    def counted(writer):
        if writer.pending:
            appended.append(len(writer.pending))
        flush(writer)

    monkeypatch.setattr(RowWriter, "flush", counted)
    with caplog.at_level(logging.INFO, logger="occlusion_widget.ray"):
        remote = ow.sweep_dataset(
            BandModel(),
            data,
            labels=labels,
            store=tmp_path / "r",
            backend="ray",
            ray_options={"num_actors": 2, "images_per_block": 8},
            **params,
        )
    # Five blocks of eight, each back once and written in one go (its rows: one append).
    assert _blocks_logged(caplog) == {"blocks": 5, "repeated_rows": 0}
    assert appended == [8] * 5
    a = local.table.set_index("id").sort_index()
    b = remote.table.set_index("id").sort_index()
    assert list(a.index) == list(b.index) and (b["status"] == "done").all()
    for column in ("predicted", "flip_class", "winner_classes", "winner_counts", "checksum"):
        assert a[column].tolist() == b[column].tolist(), column
    floats = [c for c in a.columns if a[c].dtype == np.float64 and c not in PLACEMENT]
    np.testing.assert_allclose(b[floats].to_numpy(), a[floats].to_numpy(), atol=1e-6)
    for image_id in a.index:
        np.testing.assert_array_equal(
            remote.result(image_id).probabilities, local.result(image_id).probabilities
        )
    assert len(pd.read_parquet(tmp_path / "r" / "table")) == 40


@pytest.mark.slow
def test_a_block_lost_to_a_killed_actor_is_recomputed_once(local_ray, tmp_path, caplog):
    import logging

    import pandas as pd
    import psutil

    data = images(8)
    labels = [i % 3 for i in range(8)]
    local = ow.sweep_dataset(BandModel(), data, labels=labels, store=tmp_path / "l", **PARAMS)
    marker = tmp_path / "killed"
    # Two actors, four images a block (five model calls): one actor kills itself in the
    # middle of its first block.
    with caplog.at_level(logging.INFO, logger="occlusion_widget.ray"):
        remote = ow.sweep_dataset(
            DiesOnce(marker, at_call=3),
            data,
            labels=labels,
            store=tmp_path / "r",
            backend="ray",
            ray_options={"num_actors": 2, "images_per_block": 4},
            **PARAMS,
        )
    assert marker.exists(), "no actor died: the test did not test anything"
    dead = int(marker.read_text())
    assert not psutil.pid_exists(dead)
    # The dead try handed nothing back; the block was run again and came back once.
    assert _blocks_logged(caplog) == {"blocks": 2, "repeated_rows": 0}
    workers = [r.ray_workers for r in caplog.records if hasattr(r, "ray_workers")][-1]
    assert sum(workers.values()) == 8 and not any(w.endswith(f":{dead}") for w in workers)
    # Every image exactly once, also in the raw Parquet table (one row per image).
    raw = pd.read_parquet(tmp_path / "r" / "table")
    assert sorted(raw["id"]) == sorted(local.table["id"])
    assert (raw["status"] == "done").all()
    assert (raw["checksum"].str.len() > 0).all()  # the actors checksum every image's maps
    for image_id in local.table["id"]:
        np.testing.assert_allclose(
            remote.result(image_id).probabilities, local.result(image_id).probabilities, atol=1e-6
        )


@pytest.mark.slow
def test_a_stream_on_ray_is_keyed_by_content_and_resumes_each_image_once(local_ray, tmp_path):
    import pandas as pd

    from occlusion_widget.dataset.integrity import StoreCorruptError

    data = list(images(5))
    data.append(data[1].copy())  # a duplicate is an image of the dataset too
    labels = [0, 1, 2, 0, 1, 1]

    def stream(order):  # an iterator: its images are known by content, not position
        return ((data[i], labels[i]) for i in order)

    local = ow.sweep_dataset(BandModel(), stream(range(6)), store=tmp_path / "l", **PARAMS)
    store = tmp_path / "r"
    ray_options = {"num_actors": 2, "images_per_block": 2}
    run = dict(store=store, backend="ray", ray_options=ray_options, **PARAMS)
    ow.sweep_dataset(BandModel(), stream([4, 0, 5, 2]), **run)
    resumed = ow.sweep_dataset(BandModel(), stream([3, 1, 5, 0, 2, 4]), **run)
    raw = pd.read_parquet(store / "table")  # one row per image, as the README reads it
    assert sorted(raw["key"]) == sorted(local.table["key"])
    assert (raw["status"] == "done").all() and len(resumed) == 6
    by_key = resumed.table.set_index("key")
    for key, label in local.table.set_index("key")["label"].items():
        assert by_key.loc[key, "label"] == label
    # A stream's ids are positions, which differ between runs: read its images by row.
    swept = sorted(resumed.result(r).image.astype(np.uint8).tobytes() for r in range(6))
    assert swept == sorted(image.tobytes() for image in data)  # each image exactly once
    # The actors' checksums are verified when a Ray-written image is read back.
    key = resumed.table["key"].iloc[0]
    _invert_image(store, int(resumed.table["slot"].iloc[0]))
    reopened = ow.open_dataset(store)
    with pytest.raises(StoreCorruptError, match=key):
        reopened.result(int(np.flatnonzero(reopened.table["key"] == key)[0]))


def _invert_image(store, slot):
    """Invert one stored image where it is kept: in its staged file (the actors stage what
    they write), else in its shard."""
    import zarr

    for path in (store / "staged").glob("*.npz"):
        first, end = (int(x) for x in path.name.split("-")[:2])
        if first <= slot < end:
            with np.load(path) as npz:
                arrays = {name: npz[name] for name in npz.files}
            arrays["image"][slot - first] = 255 - arrays["image"][slot - first]
            np.savez(path, **arrays)
            return
    array = zarr.open_array(str(store / "maps.zarr" / "image"), mode="r+")
    array[slot] = 255 - np.asarray(array[slot])


@pytest.mark.slow
def test_a_folder_on_ray_converts_channels_and_keeps_labels_on_error_rows(
    local_ray, model_path, tmp_path
):
    from PIL import Image

    root = tmp_path / "data"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    data = images(3)
    (root / "cat" / "0_broken.png").write_bytes(b"\x89PNG not really")  # decoded first
    Image.fromarray(data[0][..., 0]).save(root / "cat" / "1_grey.png")  # first that decodes
    Image.fromarray(data[1]).save(root / "dog" / "2_rgb.png")
    Image.fromarray(np.dstack([data[2], np.full((8, 8), 9, np.uint8)])).save(root / "dog" / "3.png")
    # The model file declares 3 channels: the Ray driver reads that, as the local path does.
    ds = ow.sweep_dataset(model_path, root, store=tmp_path / "r", backend="ray", **PARAMS)
    table = ds.table.set_index("id")
    assert table.loc["cat/0_broken.png", "status"] == "error"
    assert table.loc["cat/0_broken.png", "label"] == 0  # the folder's true label
    done = ["cat/1_grey.png", "dog/2_rgb.png", "dog/3.png"]
    assert (table.loc[done, "status"] == "done").all(), ds.errors.to_dict("records")
    np.testing.assert_array_equal(
        ds.result("cat/1_grey.png").image, np.dstack([data[0][..., 0]] * 3)
    )
    np.testing.assert_array_equal(ds.result("dog/3.png").image, data[2])


def test_a_failed_first_image_in_an_actor_keeps_its_label_and_says_which_channels(
    monkeypatch, model_path, tmp_path
):
    """A ``model_factory`` is not called by the driver: when its model takes other channels
    than the first file has, the error keeps the label and says what to pass."""
    import json

    import pandas as pd
    from PIL import Image

    from occlusion_widget.dataset import ray_blocks
    from occlusion_widget.dataset.sources import Item
    from occlusion_widget.dataset.sweeper import DatasetParams

    monkeypatch.setattr(ray_blocks, "worker_name", lambda: "node:1")
    Image.fromarray(images(1)[0][..., 0]).save(tmp_path / "grey.png")
    actor = ray_blocks.SweepActor(None, lambda: tiny_keras_model(), DatasetParams(4, 2), (8, 8, 1))
    item = Item("cat/grey.png", None, str(tmp_path / "grey.png"), 2)
    out = actor(pd.DataFrame([ray_blocks.record(item)]))
    row = json.loads(out["row"][0])
    assert row["_fatal"] and row["status"] == "error" and row["label"] == 2
    assert "pass channels=3" in row["error"]


#: Far more than the few worker starts the test needs, even on a loaded machine: it only has
#: to tell "ended" from "retries without end" (the old behaviour).
ENDS_WITHIN_S = 300


@pytest.mark.slow
def test_an_image_that_kills_every_worker_ends_the_sweep(local_ray, tmp_path):
    deaths = tmp_path / "deaths"
    deaths.mkdir()
    outcome = {}

    def sweep():
        try:
            ow.sweep_dataset(
                DiesEveryTime(deaths),
                images(2),
                labels=[0, 1],
                store=tmp_path / "r",
                backend="ray",
                ray_options={"num_actors": 1, "max_restarts": 1, "max_task_retries": 1},
                **PARAMS,
            )
        except Exception as exc:  # the outcome the test looks at
            outcome["error"] = exc

    thread = threading.Thread(target=sweep, daemon=True)
    thread.start()
    thread.join(ENDS_WITHIN_S)
    assert not thread.is_alive(), "the sweep reran a worker-killing block without end"
    error = outcome.get("error")
    assert isinstance(error, RuntimeError), repr(error)
    assert "max_restarts=1" in str(error) and "resume" in str(error)
    # One actor, restarted once, its block run twice: two worker processes died, no more.
    assert len(list(deaths.iterdir())) == 2


def test_ray_messages_go_to_logging_not_stderr(capsys, caplog):
    import logging

    from occlusion_widget.dataset.ray_start import ray_output_to_logging

    ray_logger = logging.getLogger("ray")
    before = list(ray_logger.handlers)
    with caplog.at_level(logging.INFO, logger="occlusion_widget.ray"):
        with ray_output_to_logging():
            # What ray.init says on every start (Ray's own logger, its own stderr handler).
            logging.getLogger("ray._private.authentication").warning("Token authentication on")
            logging.getLogger("ray.data").info("Starting execution of Dataset")
    assert capsys.readouterr().err == ""
    routed = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        "occlusion_widget.ray",
        logging.INFO,
        "ray.data: Starting execution of Dataset",
    ) in routed
    assert any("Token authentication on" in message for _, _, message in routed)
    assert ray_logger.handlers == before  # Ray's own console output is back afterwards


@pytest.mark.slow
def test_each_actor_sizes_its_thread_pools_to_its_cpus(local_ray, tmp_path, monkeypatch):
    """Two actors on two CPUs each start their frameworks with one thread per pool, so they
    do not both spread over both cores (throughput grows with actors)."""
    from occlusion_widget.dataset.ray_backend import THREAD_VARIABLES

    for name in THREAD_VARIABLES:  # as in a driver that sets none of them
        monkeypatch.delenv(name, raising=False)
    ds = ow.sweep_dataset(
        ThreadsSeen(1),
        images(4),
        backend="ray",
        store=tmp_path / "s",
        ray_options={"num_actors": 2, "num_cpus": 1, "images_per_block": 2},
        **PARAMS,
    )
    assert len(ds.table) == 4
    assert (ds.table["predicted"] == 0).all(), ds.table[["predicted"]]
