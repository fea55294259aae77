"""The dataset gallery: sort, filters, paging, bounded payloads, thumbnails made once, and a
clicked image opened from the store without the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.summary import COLUMNS
from occlusion_widget.widget.traits import WidgetValueError, array_to_json
from tests.helpers.models_dataset import brightness_model

pd = pytest.importorskip("pandas")
pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}
NAMES = ["top", "middle", "bottom"]


def banded(n=6, size=12):
    """Images whose brightest band decides ``brightness_model``'s class; the runner-up band is
    set by ``i``, so images differ in how often (and to what) the prediction flips."""
    out = np.full((n, size, size, 3), 40, np.uint8)
    for i in range(n):
        band, second = i % 3, (i + 1 + i // 3) % 3
        out[i, band * 4 : band * 4 + 4] = 200
        out[i, second * 4 : second * 4 + 4] = 120 + 10 * i  # always below the brightest band's 200
    return out


class Counting:
    """The model, counting the batches it scores."""

    def __init__(self):
        self.inner, self.calls = brightness_model(), 0

    def __call__(self, batch):
        self.calls += 1
        return self.inner(batch)


@pytest.fixture(scope="module")
def swept():
    model = Counting()
    # Labels chosen so images 1 and 4 are misclassified and image 5's true class is unknown.
    labels = [0, 2, 2, 0, 0, -1]
    ds = ow.sweep_dataset(model, banded(), labels=labels, **PARAMS)
    return model, ds


def ids(gallery):
    return [item["id"] for item in gallery.items]


# -- sorting and filtering -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort_by", "column"),
    [
        ("flip_fraction", "flip_fraction"),
        ("max_drop", "max_drop"),
        ("confidence", "predicted_probability"),
    ],
)
@pytest.mark.parametrize("descending", [True, False])
def test_sorting_orders_by_the_table_column_ties_in_sweep_order(swept, sort_by, column, descending):
    _, ds = swept
    g = ow.GalleryWidget(ds, labels=NAMES, sort_by=sort_by, descending=descending)
    table = ds.table.reset_index(drop=True)
    values = table[column].to_numpy()
    expected = sorted(range(len(table)), key=lambda i: (-values[i] if descending else values[i], i))
    assert ids(g) == [table["id"][i] for i in expected]
    shown = [item["confidence" if sort_by == "confidence" else sort_by] for item in g.items]
    assert shown == sorted(shown, reverse=descending)


def test_each_filter_keeps_exactly_the_images_it_names(swept):
    _, ds = swept
    g = ow.GalleryWidget(ds, labels=NAMES, sort_by="order", descending=False)
    results = {row.id: ds.result(row.id) for row in ds.table.itertuples()}
    table = ds.table.set_index("id")

    g.filters = {"true": 0}
    assert ids(g) == [i for i in table.index if table.loc[i, "label"] == 0]
    g.filters = {"predicted": 2}
    assert ids(g) == [i for i in table.index if results[i].base_class == 2]
    g.filters = {"misclassified": True}
    assert ids(g) == ["1", "4"]  # the unknown label of image 5 is not a mistake
    shown = 0
    for cls in range(3):
        g.filters = {"flips_to": cls}
        # From the maps themselves: some position is won by `cls`, which the image does not
        # predict unoccluded.
        expected = [
            i
            for i, r in results.items()
            if r.base_class != cls and (r.predicted_classes() == cls).any()
        ]
        assert ids(g) == expected and g.total_matching == len(expected)
        shown += len(expected)
    assert shown > 0, "no image flips at all: the filter test would prove nothing"
    g.filters = {"true": 0, "misclassified": True}
    assert ids(g) == ["4"]


def test_filters_are_checked_with_advice(swept):
    _, ds = swept
    g = ow.GalleryWidget(ds, labels=NAMES)
    with pytest.raises(WidgetValueError, match="unknown filter 'flips'; allowed: true, predicted"):
        g.filters = {"flips": 1}
    with pytest.raises(WidgetValueError, match=r"class 3, but the model has 3 classes \(0 to 2\)"):
        g.filters = {"true": 3}
    with pytest.raises(WidgetValueError, match="sort_by must be one of"):
        g.sort_by = "entropy"
    with pytest.raises(WidgetValueError, match="page_size must be at most 200"):
        g.page_size = 1000
    with pytest.raises(TypeError, match=r"OcclusionWidget\.from_result"):
        ow.GalleryWidget(ds.result(0))


def test_images_that_failed_are_not_shown(tmp_path):
    ds = ow.sweep_dataset(brightness_model(), [*banded(2), tmp_path / "missing.png"], **PARAMS)
    g = ow.GalleryWidget(ds)
    assert len(ds) == 3 and sorted(ids(g)) == ["0", "1"] and g.grid.total == 2


# -- opening an image ----------------------------------------------------------------------------


def test_clicking_an_image_opens_its_stored_result_and_never_calls_the_model(swept):
    model, ds = swept
    g = ow.GalleryWidget(ds, labels=NAMES)
    before = model.calls
    chosen = g.items[2]["id"]
    g.grid.selected = chosen  # what a click in the browser sets
    w = g.opened
    assert isinstance(w, ow.OcclusionWidget) and g.detail.children == (w,)
    stored = ds.result(chosen)
    np.testing.assert_array_equal(w.result.probabilities, stored.probabilities)
    np.testing.assert_array_equal(w.result.image, stored.image)
    assert w.status == "done" and w.labels == NAMES and w.target == stored.base_class
    # What hover and the inspector read, and a target switch, all come from the stored maps.
    assert w.grid["rows"] == stored.rows and w.topk_indices is not None
    other = (stored.base_class + 1) % 3
    w.target = other
    np.testing.assert_array_equal(w.target_map, stored.probabilities[:, :, other])
    assert model.calls == before

    # Another click replaces it; clearing the selection empties the detail box.
    g.grid.selected = g.items[0]["id"]
    assert g.opened is not w and g.detail.children == (g.opened,)
    g.grid.selected = None
    assert g.opened is None and g.detail.children == ()
    assert g.open_image(chosen).result.rows == stored.rows and g.selected == chosen
    assert model.calls == before


def test_a_store_on_disk_reopens_into_a_gallery(tmp_path):
    ds = ow.sweep_dataset(brightness_model(), banded(3), store=tmp_path / "s", **PARAMS)
    g = ow.GalleryWidget(ow.open_dataset(tmp_path / "s"))
    assert sorted(ids(g)) == ["0", "1", "2"] and g.grid.labels == ["class 0", "class 1", "class 2"]
    np.testing.assert_array_equal(
        g.open_image("1").result.probabilities, ds.result("1").probabilities
    )


# -- thumbnails ----------------------------------------------------------------------------------


def test_a_thumbnail_shows_the_map_of_the_predicted_class():
    image = np.full((32, 32, 3), 100, np.uint8)
    image[:8, :8] = 250  # the only bright patch: the model's class 1

    def model(batch):
        p = batch[:, :8, :8].mean(axis=(1, 2, 3)) / 255.0
        return np.stack([1 - p, p], axis=1)

    result = ow.occlusion_map(
        model, image, patch_size=8, stride=8, baseline="black", progress=False
    )
    from occlusion_widget.dataset.thumbnails import thumbnail

    t = thumbnail(result, max_side=16)
    assert t.shape == (16, 16, 4) and (t[..., 3] == 255).all()
    corner, elsewhere = t[1, 1, :3].astype(int), t[12, 12, :3].astype(int)
    # The hidden corner drops P(class 1): red in the diverging ramp; elsewhere nothing changes.
    assert corner[0] - corner[2] > 60 and abs(elsewhere[0] - elsewhere[2]) < 5


# -- 10,000 images ------------------------------------------------------------------------------


class SyntheticDataset:
    """A 10,000-row table with seeded metrics (no sweep); every image's result is one real
    96 x 96 sweep, so each thumbnail is a full 64 px one. Counts calls to ``result``."""

    num_classes = 5
    folder_classes = None

    def __init__(self, n=10_000, seed=0):
        rng = np.random.default_rng(seed)
        k = self.num_classes
        label = rng.integers(0, k, n)
        predicted = np.where(rng.random(n) < 0.7, label, rng.integers(0, k, n))
        flip_class = np.where(rng.random(n) < 0.5, (predicted + 1) % k, -1)
        status = np.where(np.arange(n) % 1000 == 999, "error", "done")
        rows = {
            "id": [f"img{i:05d}" for i in range(n)],
            "status": status,
            "label": label,
            "predicted": predicted,
            "correct": predicted == label,
            "flip_fraction": rng.random(n).round(3),  # rounded: many ties, to test their order
            "flip_class": flip_class,
            "max_drop": rng.random(n),
            "predicted_probability": rng.random(n),
            "winner_classes": [
                [int(p), int(f)] if f >= 0 else [int(p)]
                for p, f in zip(predicted, flip_class, strict=True)
            ],
        }
        table = pd.DataFrame(rows)
        for name in COLUMNS:
            if name not in table:
                table[name] = 0
        self.table = table
        image = np.random.default_rng(1).integers(0, 256, (96, 96, 3), dtype=np.uint8)
        self._result = ow.occlusion_map(
            brightness_model(k), image, patch_size=32, stride=32, progress=False
        )
        self.calls: list[str] = []

    def result(self, which):
        self.calls.append(which)
        return self._result


@pytest.fixture(scope="module")
def big():
    return SyntheticDataset()


def test_ten_thousand_images_page_with_a_bounded_payload(big):
    g = ow.GalleryWidget(big, page_size=24)
    done = big.table[big.table["status"] == "done"]
    assert g.total_matching == len(done) == 9990 and g.grid.total == 9990
    assert len(g.items) == 24 and g.grid.thumbnails.shape == (24, 64, 64, 4)
    # What travels per page: the thumbnails' bytes and the rows' JSON, whatever the table size.
    assert array_to_json(g.grid.thumbnails)["view"].nbytes == 24 * 64 * 64 * 4
    assert len(json.dumps(g.items)) < 24 * 300
    expected = done.sort_values("flip_fraction", ascending=False, kind="stable")["id"][:24]
    assert ids(g) == list(expected)

    g.page = 416  # 9990 images = 416 full pages and 6 on the last
    assert len(g.items) == 6 and g.grid.thumbnails.shape[0] == 6
    g.page = 10_000  # past the end: the last page
    assert g.page == 416 and len(g.items) == 6
    g.filters = {"flips_to": 2, "misclassified": True}
    assert g.page == 0  # a new query starts at its first page
    match = done[
        (done["flip_class"] == 2) & ~done["correct"].astype(bool) & (done["predicted"] != 2)
    ]
    assert g.total_matching == len(match) and set(ids(g)) <= set(match["id"])


def test_the_thumbnail_cache_keeps_the_most_recent_within_its_capacity(big):
    from occlusion_widget.dataset.thumbnails import ThumbnailCache

    big.calls.clear()
    cache = ThumbnailCache(big, capacity=3)
    for image_id in ["img00000", "img00001", "img00002", "img00000", "img00003"]:
        cache.get(image_id)
    # img00001 was the least recently used when img00003 came: dropped, the rest kept.
    assert len(cache) == 3 and "img00001" not in cache and "img00000" in cache
    assert cache.made == 4
    cache.get("img00001")  # drawn again
    assert cache.made == 5 and len(cache) == 3
    with pytest.raises(ValueError, match="capacity must be a positive number"):
        ThumbnailCache(big, capacity=0)


def test_thumbnails_are_made_once_per_image(big):
    big.calls.clear()
    g = ow.GalleryWidget(big, page_size=20, sort_by="order", descending=False)
    first = ids(g)
    assert g.thumbnails.made == 20
    g.page = 1
    g.page = 0
    assert ids(g) == first and g.thumbnails.made == 40
    g.descending = True  # the last 20 images: new ones
    g.descending = False  # the first page again, in a new query: all made already
    assert ids(g) == first and g.thumbnails.made == 60
    assert len(big.calls) == len(set(big.calls)) == 60
