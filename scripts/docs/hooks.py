"""MkDocs hook: the pictures, live maps and notebooks of the site, made from today's code.

Before MkDocs collects the pages, this writes into ``build/docs-gen/`` (git-ignored):

- ``figures/*.png`` and ``maps/*.html``: the guides' figures and standalone pages
  (``scripts/docs/docs_figures.py``);
- ``notebooks/*.ipynb``: the committed notebooks, executed
  (``scripts/docs/docs_notebooks.py``), with their widgets as standalone pages under
  ``notebooks/maps/``.

and adds them to the site as if they were in ``docs/``, so a guide's ``![](figures/x.png)`` is
checked by the strict build like any link. Each part is redone when its inputs change (the
package, the notebook, these scripts, whether the shared assets are there); otherwise the copy
from the last build is reused. ``OW_DOCS_FRESH=1`` redoes everything.

After rendering, every ``<iframe src>`` of a page must name a file of the site: a live map that
was not made fails the build.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
import shutil
import sys
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# OW_DOCS_GEN puts it elsewhere (a build without the shared assets beside one with them).
GEN = Path(os.environ.get("OW_DOCS_GEN") or ROOT / "build" / "docs-gen")
NOTEBOOKS = ("quickstart", "predicted_class_map", "classroom", "dataset_debugging")
# Notebooks that fall back to the demo model without the shared assets.
NEED_ASSETS = {"quickstart", "predicted_class_map", "dataset_debugging"}
IFRAME = re.compile(r"<iframe\b[^>]*\bsrc=\"([^\"]+)\"")

log = logging.getLogger("mkdocs.hooks.occlusion_widget")
sys.path.insert(0, str(HERE))

import docs_figures as figures  # noqa: E402
import docs_notebooks as notebooks  # noqa: E402


def _environment() -> Path | None:
    """The shared assets, for this process and the notebooks' kernels (as the Makefile does)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    assets = figures.assets_dir()
    if assets is not None:
        os.environ.setdefault("OCCLUSION_WIDGET_ASSETS", str(assets))
        if (assets / "keras_home").is_dir():
            os.environ.setdefault("KERAS_HOME", str(assets / "keras_home"))
    return assets


def _digest(paths: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _package_files() -> list[Path]:
    package = ROOT / "occlusion_widget"
    return [
        p
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def _fresh(key_file: Path, key: str) -> bool:
    return (
        os.environ.get("OW_DOCS_FRESH") != "1"
        and key_file.is_file()
        and key_file.read_text() == key
    )


def _make_figures(assets: Path | None, package: list[Path]) -> None:
    key = _digest([*package, HERE / "docs_figures.py"], f"assets={assets}")
    key_file = GEN / "figures.key"
    if _fresh(key_file, key):
        log.info("figures and live maps: unchanged, reused")
        return
    for folder in ("figures", "maps"):
        shutil.rmtree(GEN / folder, ignore_errors=True)
    start = time.perf_counter()
    for line in figures.make_all(GEN):
        log.info(line)
    log.info("figures and live maps: %.0f s", time.perf_counter() - start)
    key_file.write_text(key)


def _make_notebooks(assets: Path | None, package: list[Path]) -> None:
    out = GEN / "notebooks"
    for stem in NOTEBOOKS:
        source = ROOT / "notebooks" / f"{stem}.ipynb"
        key = _digest([*package, source, HERE / "docs_notebooks.py"], f"assets={assets}")
        key_file = out / f"{stem}.key"
        if _fresh(key_file, key):
            log.info("notebook %s: unchanged, reused", stem)
            continue
        note = None
        if assets is None and stem in NEED_ASSETS:
            note = (
                "This page was built without the project's shared assets (real weights and "
                "photos), so it shows the notebook's fallback: the built-in demo model."
            )
        start = time.perf_counter()
        notebooks.execute(source, out, out / "maps", note)
        log.info("notebook %s: executed in %.0f s", stem, time.perf_counter() - start)
        key_file.write_text(key)


@event_priority(100)  # before mkdocs-jupyter, which must see the executed notebooks
def on_files(files: Files, config) -> Files:
    GEN.mkdir(parents=True, exist_ok=True)
    assets = _environment()
    package = _package_files()
    _make_figures(assets, package)
    _make_notebooks(assets, package)
    made = [
        p.relative_to(GEN).as_posix()
        for p in GEN.rglob("*")
        if p.is_file() and p.suffix in (".png", ".html", ".ipynb")
    ]
    for rel in sorted(made):
        if rel.endswith(".ipynb") and Path(rel).stem not in NOTEBOOKS:
            continue
        files.append(
            File(
                rel,
                src_dir=str(GEN),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_page_content(html: str, page, config, files: Files) -> str:
    """A live map that points at no file of the site fails the build."""
    urls = {f.url for f in files}
    here = posixpath.dirname(page.file.url)
    for src in IFRAME.findall(html):
        if "://" in src or src.startswith("//"):
            raise PluginError(f"{page.file.src_uri}: an iframe loads from outside the site: {src}")
        target = posixpath.normpath(posixpath.join(here, src))
        if target not in urls:
            raise PluginError(f"{page.file.src_uri}: the live map {src} was not built")
    return html


# mkdocs-jupyter's template loads MathJax from the web on every notebook page; the site loads
# nothing from outside, so that one script goes (formulas stay as their TeX source).
MATHJAX_LOADER = re.compile(r"<script\s+src=\"https?://[^\"]*mathjax[^\"]*\">\s*</script>", re.I)
# What a browser would fetch on its own: scripts, stylesheets, images, frames, media.
OUTSIDE = re.compile(
    r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=\"((?:https?:)?//[^\"]+)\""
    r"|<link\b[^>]*\bhref=\"((?:https?:)?//[^\"]+)\"[^>]*>",
    re.I,
)


def on_post_page(output: str, page, config) -> str:
    """No page of the site may make the browser fetch anything from outside it."""
    output = MATHJAX_LOADER.sub("", output)
    for match in OUTSIDE.finditer(output):
        tag = match.group(0)
        if "<link" in tag.lower() and not re.search(r"rel=\"(?:stylesheet|preload|icon)", tag):
            continue  # rel="canonical" and the like are not fetched
        raise PluginError(f"{page.file.src_uri} loads from outside the site: {tag[:200]}")
    return output
