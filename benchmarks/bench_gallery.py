"""The gallery at 100,000 images: milliseconds per action in the kernel (issue 20 item 3).

The store is built cheaply: 64 CIFAR-size images (the shared assets tiled, else seeded noise)
are really swept into it with a numpy model (10 classes, patch 8, stride 8), then 100,000 table
rows are appended straight to the table in parts of 64 rows (a sweep flushes every 64
images), each a copy of one swept image's row under its own id and key with seeded metrics
and classes; the store is then finished and compacted, as a sweep leaves it. Maps are written
only for the images whose thumbnails the run shows or opens (a copy of the swept image the row
was copied from, with its checksum): the pages each action will show are worked out
beforehand with the gallery's query.

Each repeat (3 by default, the median is reported) runs, on a fresh ``GalleryWidget``: a sort
(another key), a filter (one true class), the next page, a jump to a far page, opening the
first image of the page, and clearing the filter (back to a page seen before). Every other
action shows a page never seen before, so it reads and draws its page's thumbnails. Before
each action the gallery's look at the store in the background (computing the sort orders
after it opens; listing the table parts after an action) is waited for, as a person's next
click would; both are timed apart (cold sort order, look for new rows). The floor is reading
the table once (``store.table()``) and opening the dataset (``ow.open_dataset``), in the same
run.

Run: ``python -m benchmarks.bench_gallery [--rows 100000] [--repeats 3] [--page-size 24]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

SEED_IMAGES = 64
PART_ROWS = 64
CLASSES = 10
SORTS = ("max_drop", "confidence", "order")


def seed_images(n):
    from PIL import Image

    env = os.environ.get("OCCLUSION_WIDGET_ASSETS")
    folder = Path(env or ROOT.parent / "shared" / "assets") / "cifar10" / "images"
    files = sorted(folder.glob("*.png"))
    if not files:
        return list(np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8))
    base = [np.array(Image.open(f).convert("RGB")) for f in files]
    return [np.ascontiguousarray(np.roll(base[i % len(base)], i, axis=1)) for i in range(n)]


def model(batch):
    """Ten classes from the mean colour of each quadrant: cheap, and occlusion changes it."""
    x = np.asarray(batch, np.float32) / 255.0
    h, w = x.shape[1] // 2, x.shape[2] // 2
    quads = [x[:, :h, :w], x[:, :h, w:], x[:, h:, :w], x[:, h:, w:]]
    feats = np.concatenate([q.mean(axis=(1, 2)) for q in quads], axis=1)  # (n, 12)
    weights = np.random.default_rng(0).normal(0, 8, (feats.shape[1], CLASSES))
    logits = feats @ weights
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def build(folder, rows, repeats, page_size):
    """The store: the seed images swept for real, then ``rows`` table rows in all, the maps
    of the rows the run will show copied from their seed image; finished and compacted as a
    sweep leaves it. A store built before in ``folder`` is reused. Returns how many maps were
    copied."""
    import pandas as pd

    import occlusion_widget as ow

    if (folder / "table").exists():
        return 0
    images = seed_images(SEED_IMAGES)
    labels = [i % CLASSES for i in range(SEED_IMAGES)]
    ds = ow.sweep_dataset(
        model, images, labels=labels, store=folder, patch_size=8, stride=8, progress=False
    )
    seed = ds.table.to_dict("records")
    rng = np.random.default_rng(1)
    made = []
    for i in range(SEED_IMAGES, rows):
        row = dict(seed[i % SEED_IMAGES])
        label, predicted = int(rng.integers(CLASSES)), int(rng.integers(CLASSES))
        winners = sorted({predicted, *rng.integers(0, CLASSES, int(rng.integers(0, 3)))})
        row.update(
            id=str(i),
            key=f"bench{i:07d}",
            label=label,
            predicted=predicted,
            correct=label == predicted,
            flip_fraction=float(rng.integers(0, 17)) / 16,
            max_drop=float(rng.random()),
            predicted_probability=float(rng.random()),
            winner_classes=winners,
            winner_counts=[1] * len(winners),
            flip_class=int(next((c for c in winners if c != predicted), -1)),
        )
        made.append(row)
    store = ds.store
    # Maps first (a row names its maps' slot when it is appended), then the rows.
    shown = plan(pd.DataFrame(seed + made), repeats, page_size, CLASSES)
    copies = [made[p - SEED_IMAGES] for p in shown if p >= SEED_IMAGES]
    for row in copies:
        store.write_arrays(row["key"], store.read_arrays(seed[int(row["id"]) % SEED_IMAGES]["key"]))
    for start in range(0, len(made), PART_ROWS):
        store.append_rows(made[start : start + PART_ROWS])
    store.finish()
    store.compact()
    return len(copies)


def plan(table, repeats, page_size, num_classes):
    """Which table rows each action of each repeat shows (the reference query decides)."""
    from occlusion_widget.dataset.gallery_table import GalleryTable
    from occlusion_widget.dataset.query import check_filters, page_bounds

    shown = set()
    held = GalleryTable(table)

    def page_of(sort, descending, filters, page):
        rows = held.query(sort, descending, check_filters(filters, num_classes))
        _, start, stop = page_bounds(len(rows), page, page_size)
        shown.update(int(r) for r in rows[start:stop])

    page_of("flip_fraction", True, {}, 0)  # the gallery's first page
    for r in range(repeats):
        sort = SORTS[r % len(SORTS)]
        jump = 150 + 10 * r
        page_of(sort, True, {}, 0)
        page_of(sort, True, {"true": r + 1}, 0)
        page_of(sort, True, {"true": r + 1}, 1)
        page_of(sort, True, {"true": r + 1}, jump)
    return sorted(shown)


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def settled(gallery):
    """Wait for the gallery's look at the store in the background (a listing of the table
    parts after each action): a person's next click comes later than it ends."""
    looking = getattr(gallery, "_looking", None)  # (a gallery before issue 20 has none)
    if looking is not None:
        looking.join()
    return gallery


def run_actions(dataset, repeats, page_size):
    import occlusion_widget as ow

    times = {name: [] for name in ("sort", "filter", "page next", "page jump", "open image")}
    times["clear filter"] = []  # back to a page shown before: its thumbnails are kept
    for r in range(repeats):
        gallery = ow.GalleryWidget(dataset, page_size=page_size)
        jump, sort = 150 + 10 * r, SORTS[r % len(SORTS)]

        def act(name, fn, g=gallery):
            settled(g)
            times[name].append(timed(fn))
            assert not g.grid.error, f"{name}: {g.grid.error}"  # (maps only for planned pages)

        act("sort", lambda g=gallery, s=sort: setattr(g, "sort_by", s))
        act("filter", lambda g=gallery, c=r + 1: setattr(g, "filters", {"true": c}))
        act("page next", lambda g=gallery: setattr(g, "page", 1))
        act("page jump", lambda g=gallery, p=jump: setattr(g, "page", p))
        act("open image", lambda g=gallery, i=gallery.items[0]["id"]: g.open_image(i))
        act("clear filter", lambda g=gallery: setattr(g, "filters", {}))
        settled(gallery)
        assert len(gallery.items) == page_size
        gallery.close()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="a store is built for these")
    parser.add_argument("--page-size", type=int, default=24)
    parser.add_argument("--store", help="build the store here and keep it (default: a temp dir)")
    args = parser.parse_args()
    import occlusion_widget as ow

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.store or Path(tmp) / "store")
        start = time.perf_counter()
        copied = build(folder, args.rows, args.repeats, args.page_size)
        built = time.perf_counter() - start
        from occlusion_widget.dataset.store import open_store

        store = open_store(folder, mode="r")
        parts = len(list((folder / "table").glob("*.parquet")))
        files = sum(1 for p in folder.rglob("*") if p.is_file())
        print(
            f"store: {args.rows} rows in {parts} table parts, maps for {SEED_IMAGES} swept "
            f"images + {copied} copies, {files} files in all (built in {built:.1f} s)",
            flush=True,
        )
        floor = [timed(store.table) for _ in range(args.repeats)]
        opened = []
        for _ in range(args.repeats):
            opened.append(timed(lambda: opened.append(ow.open_dataset(folder))))
        dataset = next(x for x in opened if not isinstance(x, float))
        opened = [x for x in opened if isinstance(x, float)]
        times = run_actions(dataset, args.repeats, args.page_size)
        held = ow.GalleryWidget(dataset, page_size=args.page_size)
        settled(held)
        cold = {}
        checks = (
            (
                "sort order, cold (once per key, after rows change)",
                lambda: held.table.order("max_drop", True),
            ),
            ("look for new rows (listing, in the background)", lambda: held.table.fetch()),
        )
        for name, fn in checks if hasattr(held, "table") else ():  # (none before issue 20)
            runs = []
            for _ in range(args.repeats):
                held.table._orders.clear()
                runs.append(timed(fn))
            cold[name] = runs
        held.close()
    table_ms = statistics.median(floor)
    load = os.getloadavg()[0]
    title = f"Gallery at {args.rows:,} images, page of {args.page_size}"
    print(f"\n{title} (load average {load:.1f})\n")
    print("| action | median ms | runs (ms) | x reading the table once |")
    print("|---|---|---|---|")
    print(
        f"| read the table once (floor) | {table_ms:.0f} | "
        f"{', '.join(f'{t:.0f}' for t in floor)} | 1.00 |"
    )
    print(
        f"| open_dataset | {statistics.median(opened):.0f} | "
        f"{', '.join(f'{t:.0f}' for t in opened)} | {statistics.median(opened) / table_ms:.2f} |"
    )
    for name, runs in {**times, **cold}.items():
        median = statistics.median(runs)
        print(
            f"| {name} | {median:.0f} | {', '.join(f'{t:.0f}' for t in runs)} | "
            f"{median / table_ms:.2f} |"
        )


if __name__ == "__main__":
    main()
