"""The gallery on its table in memory (issue 20 item 3): sorts, filters and pages equal a plain
pandas reference, rows appended to the store while the gallery is open show up (reading only
what is new), and a page reads only its own thumbnails, together."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.gallery_table import GalleryTable
from occlusion_widget.dataset.query import check_filters
from occlusion_widget.dataset.summary import COLUMNS
from tests.helpers.models_dataset import brightness_model

pd = pytest.importorskip("pandas")
pytest.importorskip("zarr")
pytest.importorskip("pyarrow")

PARAMS = {"patch_size": 4, "stride": 4, "baseline": "black", "progress": False}
K = 4


def synthetic_table(n=2000, seed=3):
    """Seeded rows with many ties, NaN metrics, unknown labels and error rows."""
    rng = np.random.default_rng(seed)
    label = np.where(rng.random(n) < 0.1, -1, rng.integers(0, K, n))
    predicted = rng.integers(0, K, n)
    status = np.where(rng.random(n) < 0.05, "error", "done")
    drop = rng.random(n).round(2)
    drop[rng.random(n) < 0.05] = np.nan
    winners = [
        sorted({int(p), *map(int, rng.integers(0, K, int(rng.integers(0, 3))))}) for p in predicted
    ]
    table = pd.DataFrame(
        {
            "id": [f"im{i}" for i in range(n)],
            "key": [f"k{i}" for i in range(n)],
            "status": status,
            "label": label,
            "predicted": predicted,
            "correct": [
                None if t < 0 else bool(t == p) for t, p in zip(label, predicted, strict=True)
            ],
            "flip_fraction": rng.integers(0, 5, n) / 4,  # five values: ties everywhere
            "max_drop": drop,
            "predicted_probability": rng.random(n),
            "flip_class": -1,
            "winner_classes": winners,
        }
    )
    for name in COLUMNS:
        if name not in table:
            table[name] = 0
    return table


def reference(table, sort_by, descending, filters):
    """What the gallery should list, spelled out in pandas: row positions."""
    t = table.reset_index(drop=True)
    keep = t["status"] == "done"
    if filters.get("true") is not None:
        keep &= t["label"] == filters["true"]
    if filters.get("predicted") is not None:
        keep &= t["predicted"] == filters["predicted"]
    if filters.get("misclassified"):
        keep &= t["correct"].map(lambda c: c is False)
    if filters.get("flips_to") is not None:
        x = filters["flips_to"]
        keep &= t["winner_classes"].map(lambda w: x in w) & (t["predicted"] != x)
    shown = t[keep]
    if sort_by == "order":
        return list(shown.index[::-1] if descending else shown.index)
    column = {"confidence": "predicted_probability"}.get(sort_by, sort_by)
    nan_at = "last" if descending else "first"  # NaN counts as the smallest value
    ordered = shown.sort_values(column, ascending=not descending, kind="stable", na_position=nan_at)
    return list(ordered.index)


FILTERS = [
    {},
    {"true": 2},
    {"predicted": 0},
    {"misclassified": True},
    {"flips_to": 1},
    {"true": 1, "flips_to": 3, "misclassified": True},
]


@pytest.mark.parametrize("sort_by", ["flip_fraction", "max_drop", "confidence", "order"])
def test_sorts_and_filters_equal_a_pandas_reference(sort_by):
    table = synthetic_table()
    held = GalleryTable(table)
    for descending in (True, False):
        for filters in FILTERS:
            got = held.query(sort_by, descending, check_filters(filters, K)).tolist()
            assert got == reference(table, sort_by, descending, filters), (descending, filters)


class Fake:
    """A dataset with the synthetic table: every image's result is one tiny real sweep."""

    num_classes = K
    folder_classes = None

    def __init__(self, table):
        self.table = table
        self._result = ow.occlusion_map(
            brightness_model(K), np.ones((8, 8)), patch_size=4, stride=4, progress=False
        )

    def result(self, which):
        return self._result


def test_pages_of_the_widget_are_slices_of_the_reference():
    table = synthetic_table()
    g = ow.GalleryWidget(Fake(table), page_size=50, sort_by="max_drop", descending=False)
    g.filters = {"flips_to": 2}
    expected = [table["id"][i] for i in reference(table, "max_drop", False, {"flips_to": 2})]
    assert g.total_matching == len(expected)
    g.page = 3
    assert [item["id"] for item in g.items] == expected[150:200]
    g.page = 10_000  # past the end: the last page
    last = (len(expected) - 1) // 50
    assert g.page == last and [item["id"] for item in g.items] == expected[last * 50 :]
    assert len(g.grid.items) <= 50 and g.grid.thumbnails.shape[0] == len(g.items)


def banded(n, start=0, size=12):
    out = np.full((n, size, size, 3), 40, np.uint8)
    for i in range(n):
        j = start + i
        out[i, (j % 3) * 4 : (j % 3) * 4 + 4] = 200
        out[i, ((j + 1) % 3) * 4 : ((j + 1) % 3) * 4 + 4] = 100 + 5 * j
    return list(out)


def test_rows_appended_while_the_gallery_is_open_show_up(tmp_path, monkeypatch):
    model = brightness_model()
    store = tmp_path / "s"
    images = banded(12)
    ow.sweep_dataset(model, images[:6], store=store, **PARAMS)
    # What a sweep still running writes next: images 6 to 9, maps then rows, in two parts.
    later = ow.sweep_dataset(model, images[:10], **PARAMS)
    ds = ow.open_dataset(store)
    g = ow.GalleryWidget(ds, sort_by="order", descending=False, page_size=24)
    g.follow_seconds = 0.0  # look at the store after every action
    assert [item["id"] for item in g.items] == [str(i) for i in range(6)]
    g._looking.join()  # the first look (sort orders, new rows) is done
    reads = []
    original = type(ds.store).table

    def counted(self, *args, **kwargs):
        if self is ds.store:  # the gallery's store, not the sweeps'
            reads.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(ds.store), "table", counted)
    writer = ow.dataset.store.open_store(store)
    for part in ([6, 7], [8, 9]):
        rows = [later.table.iloc[i].to_dict() for i in part]
        for row in rows:
            writer.write_arrays(row["key"], later.store.read_arrays(row["key"]))
        writer.append_rows(rows)
    g.sort_by = "flip_fraction"  # an action: afterwards, a look at the store in a thread
    g._looking.join()
    g.sort_by = "order"  # the next action shows what it found
    assert [item["id"] for item in g.items] == [str(i) for i in range(10)]
    assert g.grid.total == g.total_matching == 10
    assert reads == [], "the table was read whole: only the new parts had to be"
    np.testing.assert_array_equal(
        g.open_image("8").result.probabilities, later.result("8").probabilities
    )
    # The whole sweep, two images longer, resumed to its end (its parts compacted into one):
    # refresh() takes it in at once.
    writer.finish()
    ow.sweep_dataset(model, images, store=store, **PARAMS)
    g.refresh()
    assert [item["id"] for item in g.items] == [str(i) for i in range(12)]
    fresh = ow.open_dataset(store)
    np.testing.assert_array_equal(
        g.open_image("11").result.probabilities, fresh.result("11").probabilities
    )
    held = g.table.query("flip_fraction", True, check_filters({}, 3)).tolist()
    assert held == reference(fresh.table, "flip_fraction", True, {})


def test_a_page_reads_only_its_own_thumbnails_in_one_store_read():
    ds = ow.sweep_dataset(brightness_model(), banded(10), **PARAMS)
    calls = []
    store = ds.store

    def read_many(keys):
        calls.append(list(keys))
        return [store.read_arrays(key) for key in keys]

    store.read_many = read_many  # a store that reads several images together
    key_of = dict(zip(ds.table["id"], ds.table["key"], strict=True))
    g = ow.GalleryWidget(ds, sort_by="order", descending=False, page_size=4)
    assert calls == [[key_of[str(i)] for i in range(4)]]
    g.page = 2  # the last page: two images
    assert calls[1:] == [[key_of["8"], key_of["9"]]]
    g.page = 0  # drawn already: nothing read
    g.sort_by = "confidence"
    seen = {"0", "1", "2", "3", "8", "9"}
    new = [key_of[item["id"]] for item in g.items if item["id"] not in seen]
    assert calls[2:] == ([new] if new else [])
    assert g.thumbnails.made == len({key for call in calls for key in call})


def test_an_id_of_several_rows_is_refused_by_name():
    held = GalleryTable(pd.DataFrame({"id": ["a", "b", "a"], "status": ["done"] * 3}))
    assert held.position("b") == 1
    with pytest.raises(KeyError, match="names several images"):
        held.position("a")
    with pytest.raises(KeyError, match="no image with id 'c'"):
        held.position("c")
