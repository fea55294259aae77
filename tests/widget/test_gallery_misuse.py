"""The gallery used the wrong way: a store deleted under it, traits only the kernel writes,
calls from several threads, calls after close, and numpy scalars for its options."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import brightness_model

pytest.importorskip("pandas")
pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


def seeded(n=6, size=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def swept():
    return ow.sweep_dataset(brightness_model(), seeded(), labels=[0, 1, 2] * 2, **PARAMS)


def test_a_store_deleted_under_the_gallery_is_said_not_shown_as_empty(tmp_path):
    ow.sweep_dataset(brightness_model(), seeded(4), store=tmp_path / "s", **PARAMS)
    g = ow.GalleryWidget(ow.open_dataset(tmp_path / "s"))
    g.refresh()
    shutil.rmtree(tmp_path / "s")
    with pytest.raises(FileNotFoundError, match=r"has no table any more.*keeps showing the 4"):
        g.refresh()
    # The rows read stay: the gallery did not turn into "no swept image".
    assert g.grid.total == 4 and len(g.items) == 4


@pytest.mark.parametrize(
    ("name", "value", "advice"),
    [
        ("items", [], "change page, page_size, sort_by or filters"),
        ("total_matching", 99, "change filters instead"),
    ],
)
def test_the_page_the_kernel_fills_cannot_be_set_from_python(swept, name, value, advice):
    g = ow.GalleryWidget(swept)
    before = list(g.items)
    with pytest.raises(AttributeError, match=rf"{name} cannot be set from Python: .*{advice}"):
        setattr(g, name, value)
    for grid_name in ("thumbnails", "total", "labels", "error"):
        with pytest.raises(AttributeError, match=f"{grid_name} cannot be set from Python"):
            setattr(g.grid, grid_name, getattr(g.grid, grid_name))
    assert g.items == before and g.total_matching == 6
    g.page_size = 4  # what the person chooses still goes through
    assert len(g.items) == 4 and g.grid.thumbnails.shape[0] == 4 and g.total_matching == 6


def test_images_opened_from_two_threads_take_turns_and_the_last_one_shows(swept):
    g = ow.GalleryWidget(swept)
    read, entered, go = g._read, threading.Event(), threading.Event()

    def slow_read(rows):  # the first thread's read waits until the second one has started
        if threading.current_thread().name == "first":
            entered.set()
            go.wait(60)
        return read(rows)

    g._read = slow_read
    errors = []

    def open_(image_id):
        try:
            g.open_image(image_id)
        except Exception as exc:  # pragma: no cover - what the test is about
            errors.append(exc)

    first = threading.Thread(target=open_, args=("1",), name="first")
    second = threading.Thread(target=open_, args=("2",), name="second")
    first.start()
    assert entered.wait(60), "the first open never read its image"  # no hang if it fails
    second.start()
    second.join(0.5)  # given the time to cut in while the first reads (it must not)
    go.set()
    first.join()
    second.join()
    assert errors == []
    assert g.selected == "2" and g.opened.caption.startswith("image 2 ")
    assert g.detail.children == (g.opened,)


def test_a_closed_gallery_says_so_instead_of_working_unseen(swept):
    g = ow.GalleryWidget(swept, page_size=2)
    g.close()
    for call in (
        lambda: g.open_image("1"),  # made a widget nobody could see, never closed
        g.refresh,
        lambda: setattr(g, "page", 1),
        lambda: setattr(g, "sort_by", "order"),
    ):
        with pytest.raises(RuntimeError, match=r"gallery is closed: make a new one"):
            call()
    assert g.opened is None and g.page == 0 and g.sort_by == "flip_fraction"
    g.close()  # twice is fine


def test_numpy_scalars_are_taken_and_a_bool_is_no_count(swept):
    g = ow.GalleryWidget(swept, descending=np.bool_(False), max_side=np.int64(8), page_size=4)
    assert g.descending is False and g.thumbnails.max_side == 8
    assert g.grid.thumbnails.shape[1:3] == (8, 8)
    with pytest.raises(TypeError, match=r"max_side must be a whole number of pixels; got 2\.5"):
        ow.GalleryWidget(swept, max_side=2.5)
    with pytest.raises(ValueError, match="max_side must be at least 1 pixel; got 0"):
        ow.GalleryWidget(swept, max_side=0)
    with pytest.raises(ValueError, match="page_size must be a whole number, at least 1; got True"):
        g.page_size = True
    assert g.page_size == 4 and len(g.items) == 4


def test_filters_take_class_names_and_a_wrong_name_gets_the_close_ones(swept):
    g = ow.GalleryWidget(swept, labels=["cat", "dog", "car"], sort_by="order")
    g.filters = {"true": "dog", "flips_to": "car"}
    assert g.filters["true"] == 1 and g.filters["flips_to"] == 2
    by_index = ow.GalleryWidget(swept, labels=["cat", "dog", "car"], sort_by="order")
    by_index.filters = {"true": 1, "flips_to": 2}
    assert g.items == by_index.items
    with pytest.raises(
        ValueError,
        match=r"filter 'predicted' is 'dgo', which is no class name; "
        r"did you mean 'dog'\?",
    ):
        g.filters = {"predicted": "dgo"}
    with pytest.raises(ValueError, match=r"must be a class name, a class index \(int\) or None"):
        g.filters = {"true": 1.0}
    assert g.filters["true"] == 1  # a refused filter changes nothing


def test_closing_an_image_that_failed_to_open_clears_its_error(swept):
    g = ow.GalleryWidget(swept)
    g.grid.selected = "nope"  # what a stale click in the browser sets
    assert g.grid.error.startswith("could not open image 'nope'")
    g.grid.selected = None
    assert g.grid.error == "" and g.opened is None


def test_a_class_filter_on_a_dataset_where_every_image_failed_says_why(tmp_path):
    # Files that do not decode are error rows: nothing swept, so the gallery knows no class.
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"\x89PNG not really")
    failed = ow.sweep_dataset(brightness_model(), tmp_path, **PARAMS)
    assert (failed.table["status"] == "error").all()
    g = ow.GalleryWidget(failed)
    with pytest.raises(ValueError, match=r"no image of this dataset swept without error") as got:
        g.filters = {"true": 0}
    assert "-1" not in str(got.value)


def test_open_image_raises_the_stores_own_error_as_the_browser_shows_it(swept, monkeypatch):
    from occlusion_widget.dataset.integrity import StoreCorruptError

    g = ow.GalleryWidget(swept)
    image_id = str(swept.table["id"].iloc[0])

    def corrupt(rows):
        raise StoreCorruptError(f"maps.zarr/image/c/0 does not match its checksum ({image_id})")

    monkeypatch.setattr(g, "_read", corrupt)
    with pytest.raises(StoreCorruptError, match="does not match its checksum"):
        g.open_image(image_id)  # catchable as what it is, not a RuntimeError around it
    assert "does not match its checksum" in g.grid.error and g.opened is None
