"""The standalone page: one HTML file, opened from file:// with the network off, no kernel.

A person opens the exported file and works it like the widget: hover, pin, arrows, Escape, view,
legend, target. Everything they read must be Python's numbers, and nothing may leave the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

import occlusion_widget as ow
from occlusion_widget import export_html
from occlusion_widget.labels import cifar10
from tests.e2e.notebook_page import ARTIFACTS, read_canvas

pytestmark = pytest.mark.e2e

LABELS = cifar10()


def _model(batch: np.ndarray) -> np.ndarray:
    """Ten classes, each the brightness of one horizontal band of the image, as logits."""
    x = np.asarray(batch, np.float32).mean(axis=3)  # (N, 32, 32)
    bands = x[:, :30].reshape(len(x), 10, 3, 32).mean(axis=(2, 3))
    return 12.0 * bands


@pytest.fixture(scope="module")
def result() -> ow.OcclusionResult:
    image = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    image[9:15] += 0.6  # bands 3 and 4 (cat, deer) are the brightest
    image = np.clip(image, 0.0, 1.0)
    return ow.occlusion_map(_model, image, patch_size=8, stride=4, output="logits", progress=False)


@pytest.fixture
def page(browser, tmp_path: Path, result, request: pytest.FixtureRequest) -> Iterator[Page]:
    path = export_html(result, tmp_path / "occlusion.html", labels=LABELS)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    context.set_default_timeout(20_000)
    outside: list[str] = []
    errors: list[str] = []

    def refuse(route) -> None:
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|blob:|about:).*"), refuse)
    page = context.new_page()
    page.on(
        "request",
        lambda req: (
            None
            if req.url.startswith(("file:", "data:", "blob:", "about:"))
            else outside.append(req.url)
        ),
    )
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.resolve().as_uri())
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"standalone-{request.node.name}.png"), full_page=True)
        context.close()
    assert not outside, f"the page requested outside itself: {outside}"
    assert not errors, f"the page logged errors: {errors}"


def by_id(page: Page, test_id: str) -> Locator:
    return page.locator(f'[data-testid="{test_id}"]')


def cell_point(page: Page, result: ow.OcclusionResult, row: int, col: int) -> tuple[float, float]:
    canvas = by_id(page, "ow-map")
    box = canvas.bounding_box()
    assert box is not None, "the map is not on screen"
    top, left, height, width = result.box(row, col)
    h, w = result.image_shape[:2]
    return (
        box["x"] + (left + width / 2) / w * box["width"],
        box["y"] + (top + height / 2) / h * box["height"],
    )


def expect_inspector(page: Page, result: ow.OcclusionResult, row: int, col: int) -> None:
    p = result.probabilities[row, col]
    order = sorted(range(len(p)), key=lambda i: (-float(p[i]), i))[:5]
    base = result.base_probabilities
    expected = [
        re.compile(rf"^\s*{re.escape(LABELS[i])}\s*{p[i]:.3f} \(unoccluded {base[i]:.3f}\)\s*$")
        for i in order
    ]
    expect(by_id(page, "ow-prob-row")).to_have_text(expected)
    expect(by_id(page, "ow-predicted-class")).to_contain_text(f"Predicted: {LABELS[order[0]]}")


def test_the_page_works_offline_like_the_widget(page: Page, result: ow.OcclusionResult) -> None:
    expect(by_id(page, "ow-map")).to_be_visible()
    expect(by_id(page, "ow-page-banner")).to_have_text(
        "Standalone page: hover, pin and switch targets; recomputing needs Python."
    )
    expect(by_id(page, "ow-page-note")).to_contain_text("every class's probability")
    # What needs a kernel is off, and says why.
    expect(by_id(page, "ow-recompute")).to_be_hidden()
    expect(by_id(page, "ow-cancel")).to_be_hidden()
    for control in ("ow-patch-size", "ow-stride", "ow-baseline"):
        expect(by_id(page, control)).to_be_disabled()
        expect(by_id(page, control)).to_have_attribute("title", re.compile("needs Python"))

    # Hover: the inspector shows the image the model saw and Python's probabilities.
    row, col = 2, 3
    page.mouse.move(*cell_point(page, result, row, col))
    expect_inspector(page, result, row, col)
    shown = read_canvas(by_id(page, "ow-inspector-image"))
    fed = np.clip(np.rint(result.occluded_image(row, col) * 255.0), 0, 255).astype(np.int64)
    assert (shown.height, shown.width) == fed.shape[:2]
    assert np.abs(shown.rgba[..., :3].astype(np.int64) - fed).max() <= 1

    # Pin, move with the arrows, unpin with Escape.
    page.mouse.click(*cell_point(page, result, 1, 1))
    inspector_title = page.locator(".ow-inspector-title")
    expect(inspector_title).to_have_text("Row 1, column 1 · pinned")
    page.mouse.move(*cell_point(page, result, 5, 5))
    expect_inspector(page, result, 1, 1)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    expect(inspector_title).to_have_text("Row 2, column 2 · pinned")
    expect_inspector(page, result, 2, 2)
    page.keyboard.press("Escape")
    expect(inspector_title).not_to_contain_text("pinned")

    # The predicted-class view and its legend.
    by_id(page, "ow-view").select_option("predicted_class")
    counts = result.class_counts()
    entries = by_id(page, "ow-legend-entry")
    expect(entries).to_have_count(len(counts))
    entries.first.click()
    expect(entries.first).to_have_attribute("aria-pressed", "true")


def test_switching_target_needs_no_kernel(page: Page, result: ow.OcclusionResult) -> None:
    title = page.locator(".ow-map-title")
    start = result.base_class
    expect(title).to_have_text(f"Where occlusion lowers P({LABELS[start]})")
    before = by_id(page, "ow-map").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join()"
    )
    target = 7 if start != 7 else 8  # a class outside most cells' top-5: the float16 data
    by_id(page, "ow-target").select_option(str(target))
    expect(title).to_have_text(f"Where occlusion lowers P({LABELS[target]})")
    expect(page.locator(".ow-map-badge")).to_be_hidden()  # nothing waits for a kernel
    after = by_id(page, "ow-map").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).join()"
    )
    assert after != before, "the map did not redraw for the new target"

    # The drop the inspector reports is Python's, to the 3 decimals it shows (float16 is within
    # 0.0005 of it, so the shown digit may differ by one in the last place at most).
    row, col = 4, 2
    page.mouse.move(*cell_point(page, result, row, col))
    drop = page.locator(".ow-drop")
    expect(drop).to_contain_text(f"P({LABELS[target]}):")
    match = re.search(r"→ ([\d.]+)", drop.inner_text())
    assert match, drop.inner_text()
    assert abs(float(match[1]) - float(result.probabilities[row, col, target])) <= 0.0011
