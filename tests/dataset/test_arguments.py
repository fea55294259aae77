"""A dataset sweep's mistakes get one clear message, and a call that stored nothing binds
nobody (found by a hostile pass over sweep_dataset and open_dataset)."""

from __future__ import annotations

import pytest

import occlusion_widget as ow
from tests.helpers.models_dataset import brightness_model, images

pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}


@pytest.mark.parametrize("top_k", [0, -1, 2.7, True])
def test_top_k_must_be_a_count_of_classes(top_k):
    # top_k=0 was accepted and stored maps of zeros (every sensitivity then wrong).
    with pytest.raises(ValueError, match=rf"top_k must be an int of at least 1.*got {top_k!r}"):
        ow.sweep_dataset(brightness_model(), images(2), top_k=top_k, **PARAMS)


def test_a_mistyped_option_names_sweep_dataset_and_the_keyword_meant():
    with pytest.raises(TypeError, match=r"^sweep_dataset\(\) got .*'value_rang' .*'value_range'"):
        ow.sweep_dataset(brightness_model(), images(2), value_rang=(0, 255), **PARAMS)


def test_bad_store_model_and_images_arguments_are_said_in_words(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(ValueError, match=r"notes.txt' is a file; give a folder"):
        ow.sweep_dataset(brightness_model(), images(2), store=a_file, **PARAMS)
    with pytest.raises(ValueError, match=r"cannot create the store folder"):
        ow.sweep_dataset(brightness_model(), images(2), store=a_file / "inside", **PARAMS)
    with pytest.raises(ValueError, match=r"model path '.*missing.keras' does not exist"):
        ow.sweep_dataset(tmp_path / "missing.keras", images(2), **PARAMS)
    with pytest.raises(TypeError, match=r"images is a dict of 2 entries"):
        ow.sweep_dataset(brightness_model(), {"a": 0, "b": 1}, **PARAMS)
    with pytest.raises(TypeError, match=r"open_dataset needs the store"):
        ow.open_dataset(None)


@pytest.mark.parametrize(
    ("wrong", "right"),
    [
        ({"patch_size": 100}, {}),  # fails on the first image
        ({"baseline": "purple"}, {}),  # an unknown fill, refused by the first image's sweep
    ],
)
def test_a_first_call_that_stored_nothing_does_not_bind_the_store(tmp_path, wrong, right):
    # Its parameters were settled before its first image failed, and the corrected call was
    # refused for differing from them although the store held nothing.
    store = tmp_path / "s"
    with pytest.raises(ValueError):
        ow.sweep_dataset(brightness_model(), images(3), store=store, **{**PARAMS, **wrong})
    ds = ow.sweep_dataset(brightness_model(), images(3), store=store, **{**PARAMS, **right})
    assert len(ds) == 3 and ds.params["patch_size"] == [4, 4]
    # Once an image is stored its parameters bind: another patch is refused as before.
    with pytest.raises(ValueError, match=r"patch_size: store has \[4, 4\], this sweep \[2, 2\]"):
        ow.sweep_dataset(brightness_model(), images(3), store=store, **{**PARAMS, "patch_size": 2})


def test_a_writer_still_starting_keeps_the_parameters_it_settled(tmp_path):
    # A writer between settling its parameters and opening its claims stores nothing yet:
    # another writer must not take its parameters for a failed call's and settle its own.
    from occlusion_widget.dataset.claims import announce, withdraw
    from occlusion_widget.dataset.store import open_store

    store, too_big = tmp_path / "s", {**PARAMS, "patch_size": 100}
    with pytest.raises(ValueError):  # settles patch 100, then fails on the first image
        ow.sweep_dataset(brightness_model(), images(3), store=store, **too_big)
    st = open_store(store)
    starting = announce(st)  # as a writer starting with those parameters is
    try:
        with pytest.raises(ValueError, match=r"patch_size: store has \[100, 100\]"):
            ow.sweep_dataset(brightness_model(), images(3), store=store, **PARAMS)
    finally:
        withdraw(st, starting)
    assert len(ow.sweep_dataset(brightness_model(), images(3), store=store, **PARAMS)) == 3


def test_the_same_pixels_in_another_dtype_are_told_apart_from_other_images(tmp_path):
    # The refusal said "their pixels differ" when only the dtype did.
    store, data = tmp_path / "s", images(3)
    ow.sweep_dataset(brightness_model(), data, store=store, **PARAMS)
    with pytest.raises(ValueError, match=r"has the pixel values .* but as float32 where .* uint8"):
        ow.sweep_dataset(brightness_model(), data.astype("float32"), store=store, **PARAMS)
    with pytest.raises(ValueError, match=r"their pixels differ"):
        ow.sweep_dataset(brightness_model(), data[::-1].copy(), store=store, **PARAMS)


@pytest.mark.parametrize("inside", ["sweep", "cat/sweep"])
def test_a_store_kept_inside_the_image_folder_is_no_class_and_no_image(tmp_path, inside):
    from PIL import Image

    root = tmp_path / "data"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
    pictures = images(2, size=8)
    Image.fromarray(pictures[0]).save(root / "cat" / "a.png")
    Image.fromarray(pictures[1]).save(root / "dog" / "b.png")
    store = root / inside
    first = ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    # The second run finds the store's files in the folder: they are left out, and the
    # classes stay those of the first run (a "sweep" class would have shifted "dog").
    again = ow.sweep_dataset(brightness_model(), root, store=store, **PARAMS)
    for ds in (first, again):
        assert sorted(ds.table["id"]) == ["cat/a.png", "dog/b.png"]
        assert (ds.table["status"] == "done").all(), ds.errors.to_dict("records")
        assert ds.folder_classes == ["cat", "dog"]
        assert ds.table.set_index("id").loc["dog/b.png", "label"] == 1


def test_a_store_that_is_the_image_folder_is_refused(tmp_path):
    from PIL import Image

    root = tmp_path / "data"
    (root / "cat").mkdir(parents=True)
    Image.fromarray(images(1, size=8)[0]).save(root / "cat" / "a.png")
    with pytest.raises(ValueError, match=r"is the image folder .* itself.*data_sweep"):
        ow.sweep_dataset(brightness_model(), root, store=root, **PARAMS)
    assert not (root / "table").exists()
