"""The dataset gallery in a real JupyterLab: thumbnails drawn, sorted from the page, and a click
that opens the single-image widget from the stored result, hovered like any other.

Six rolled copies of the four-colour toy image (``toy_colours.py``), swept with its numpy model,
so the whole scenario runs in seconds; the model counts its calls, which must stay at zero once
the sweep is done.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.notebook_page import ARTIFACTS, read_canvas
from tests.e2e.widget_page import KERNEL_HELPERS, cell_point_on, expect_inspector_shows

pytestmark = pytest.mark.e2e

SWEEP = textwrap.dedent(
    """
    import numpy as np
    import occlusion_widget as ow

    LABELS = ["red", "green", "blue", "yellow"]
    COLOURS = np.array([[220, 30, 30], [30, 200, 30], [30, 30, 220], [220, 220, 30]], np.float32)
    toy = np.zeros((64, 64, 3), np.uint8)
    toy[:36, :32] = COLOURS[0]
    toy[:34, 32:] = COLOURS[1]
    toy[36:, :32] = COLOURS[2]
    toy[34:, 32:] = COLOURS[3]
    calls = {"n": 0}

    def model(batch):
        calls["n"] += 1
        x = np.asarray(batch, np.float32)
        distance = np.linalg.norm(x[..., None, :] - COLOURS, axis=-1)
        z = (distance < 60).sum(axis=(1, 2)).astype(np.float32) / 64.0
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    images = [np.roll(toy, (8 * i, 12 * i), axis=(0, 1)) for i in range(6)]
    ds = ow.sweep_dataset(model, images, labels=[0, 0, 1, 2, 3, 0], patch_size=16, stride=8,
                          progress=False)
    """
).strip()

GALLERY = 'calls["n"] = 0\ng = ow.GalleryWidget(ds, labels=LABELS)\ng'


def test_click_an_image_then_hover_its_map(open_notebook) -> None:
    nb = open_notebook("gallery.ipynb", [SWEEP, GALLERY])
    nb.run_all()
    items = nb.by_test_id("gallery-item")
    expect(items).to_have_count(6)
    expected = nb.py("[item['id'] for item in g.items]")
    assert items.evaluate_all("els => els.map(e => e.dataset.id)") == expected
    # Each thumbnail is drawn: the toy's colours under the map, not a blank canvas.
    thumb = read_canvas(items.first.locator("canvas"))
    assert (thumb.width, thumb.height) == (64, 64)
    assert len(np.unique(thumb.rgba.reshape(-1, 4), axis=0)) > 4

    # Sorting from the page: the kernel re-queries and sends the new page.
    nb.by_test_id("gallery-sort").select_option("confidence")
    nb.kernel.wait_for("g.sort_by", lambda v: v == "confidence", timeout=20)
    expected = nb.py("[item['id'] for item in g.items]")
    expect(items.first).to_have_attribute("data-id", expected[0])
    nb.by_test_id("gallery-sort").select_option("flip_fraction")
    nb.kernel.wait_for("g.sort_by", lambda v: v == "flip_fraction", timeout=20)
    chosen = nb.py("g.items[0]['id']")
    assert chosen == nb.py("ds.fragile(1)['id'].iloc[0]")
    expect(items.first).to_have_attribute("data-id", chosen)

    # Click the most fragile image: the single-image widget appears below, from the store.
    items.first.click()
    nb.kernel.wait_for("g.selected", lambda v: v == chosen, timeout=20)
    nb.wait_for_widget()
    expect(nb.by_test_id("ow-progress")).to_have_attribute("data-status", "done")
    nb.kernel.execute("w = g.opened\n" + KERNEL_HELPERS)
    assert nb.py("[type(w).__name__, w.result.rows]") == ["OcclusionWidget", 7]

    # Hover a cell where hiding the patch flips the prediction: Python's probabilities show.
    row, col = nb.py(
        "[[int(r), int(c)] for r, c in zip(*np.nonzero("
        "w.result.predicted_classes() != w.result.base_class))][0]"
    )
    nb.page.mouse.move(*cell_point_on(nb.py("_ow_grid()"), nb.map, row, col))
    expect_inspector_shows(nb, row, col)
    stored = nb.py(f"ds.result({chosen!r}).probabilities[{row}, {col}].tolist()")
    shown = nb.py(f"w.result.probabilities[{row}, {col}].tolist()")
    assert stored == shown
    assert nb.py("calls['n']") == 0, "opening an image from the gallery ran the model"
    nb.screenshot("gallery-opened")


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_captions_fit_their_cards_and_an_opened_image_is_named_and_probed(
    open_notebook, app: str
) -> None:
    # Issue 18, items 9 and 2: the numbers under a thumbnail overlapped the next card, and a
    # widget opened from the gallery offered a Probe that could only fail, and named nothing.
    nb = open_notebook(f"gallery_fit_{app}.ipynb", [SWEEP, GALLERY], app=app)
    nb.run_all()
    items = nb.by_test_id("gallery-item")
    expect(items).to_have_count(6)
    overflow = items.evaluate_all(
        """cards => cards.flatMap(card => {
          const box = card.getBoundingClientRect();
          return [...card.querySelectorAll('.ow-gallery-caption, .ow-gallery-metrics')]
            .filter(text => {
              const r = text.getBoundingClientRect();
              return r.left < box.left - 0.5 || r.right > box.right + 0.5
                || text.scrollWidth > text.clientWidth + 0.5;
            })
            .map(text => `${card.dataset.id}: "${text.textContent}" ` +
                         `${text.getBoundingClientRect().width}px in ${box.width}px`);
        })"""
    )
    assert overflow == [], f"captions wider than their cards: {overflow}"
    # The whole line is a tooltip away.
    metrics = items.first.locator(".ow-gallery-metrics")
    expect(metrics).to_have_attribute("title", re.compile(r"^flips \d+% · drop [\d.]+ · p [\d.]+$"))
    grid = nb.page.locator(".ow-gallery-grid")
    grid.screenshot(path=str(ARTIFACTS / f"gallery-captions-{app}.png"))

    # Opened from a live sweep_dataset, the widget has the model: it names the image and probes.
    chosen = nb.py("g.items[0]['id']")
    items.first.click()
    nb.wait_for_widget()
    row = nb.py(f"ds.table.set_index('id').loc[{chosen!r}].to_dict()")
    names = nb.py("LABELS")
    true = names[row["label"]] if row["label"] >= 0 else "unknown"
    expect(nb.by_test_id("ow-caption")).to_have_text(
        f"image {chosen} · true {true} · predicted {names[row['predicted']]} "
        f"(p {row['predicted_probability']:.3f})"
    )
    expect(nb.by_test_id("ow-kernel-off")).to_be_hidden()
    assert nb.py("calls['n']") == 0, "opening an image from the gallery ran the model"
    nb.by_test_id("probe-tool").click()
    nb.map.scroll_into_view_if_needed()
    box = nb.map.bounding_box()
    assert box is not None
    nb.page.mouse.move(box["x"] + 10, box["y"] + 10)
    nb.page.mouse.down()
    nb.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
    nb.page.mouse.up()
    expect(nb.page.locator(".ow-probe-predicted")).to_be_visible()
    expect(nb.page.locator(".ow-probe-caption")).to_have_text('"gray" baseline, occlude mode')
    assert nb.py("calls['n']") > 0, "the probe's answer did not come from the model"
    nb.screenshot(f"gallery-opened-probe-{app}")
