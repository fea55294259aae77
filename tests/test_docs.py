"""The documentation site's sources: every public name documented, every page reachable, and
the build's own checks able to fail.

The site itself is built in strict mode by `make docs-check` (part of `make test`) and opened in
Chromium by tests/e2e/test_docs_site.py.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import itertools
import re
import sys
from pathlib import Path

import pytest

import occlusion_widget as ow

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DIRECTIVE = re.compile(r"^:::\s+(occlusion_widget\.[\w.]+)\s*$", re.M)


def documented() -> set[str]:
    """The names the API pages render (`::: occlusion_widget.NAME` in docs/api/*.md)."""
    return {
        name
        for page in (DOCS / "api").glob("*.md")
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }


def nav_pages() -> set[str]:
    return set(re.findall(r":\s*([\w/]+\.(?:md|ipynb))\s*$", _mkdocs_yml(), re.M))


def _mkdocs_yml() -> str:
    return (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_every_public_name_has_a_reference_entry() -> None:
    # A name added to __all__ without an entry on an API page fails here, before any build.
    missing = {f"occlusion_widget.{name}" for name in ow.__all__} - documented()
    assert not missing, f"add a `::: NAME` entry to a page of docs/api/ for: {sorted(missing)}"


@pytest.mark.parametrize("name", ow.__all__)
def test_every_public_name_has_what_its_entry_shows(name: str) -> None:
    # The entry renders the docstring's sections: a function without Parameters, Returns (or
    # Yields) or an example would show a bare signature.
    obj = getattr(ow, name)
    if name == "__version__":
        text = _attribute_docstring(Path(ow.__file__).with_name("_version.py"), name)
    else:
        text = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in text, f"{name}: no example"
    if inspect.isfunction(obj):
        assert "Parameters\n----------" in text, f"{name}: no Parameters section"
        assert re.search(r"Returns\n-------|Yields\n------", text), f"{name}: no Returns section"


def _attribute_docstring(path: Path, name: str) -> str:
    """The string literal right after ``name = ...`` (how griffe documents an attribute)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    for node, after in itertools.pairwise(body):
        targets = getattr(node, "targets", [])
        if any(getattr(t, "id", None) == name for t in targets) and isinstance(after, ast.Expr):
            return inspect.cleandoc(str(getattr(after.value, "value", "")))
    return ""


def test_every_reference_entry_is_a_public_name() -> None:
    # An entry for a name that left the package would fail the build; say which one here.
    public = {f"occlusion_widget.{name}" for name in [*ow.__all__, "demo"]}
    assert documented() <= public, sorted(documented() - public)


def test_every_page_and_notebook_is_in_the_nav() -> None:
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    notebooks = {f"notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert pages | notebooks <= nav_pages(), sorted((pages | notebooks) - nav_pages())


def test_the_site_loads_no_web_fonts_and_links_work_from_disk() -> None:
    text = _mkdocs_yml()
    assert re.search(r"^\s+font: false\s*$", text, re.M), "Material would fetch web fonts"
    assert re.search(r"^use_directory_urls: false\s*$", text, re.M), "folder URLs fail on file://"
    assert re.search(r"^strict: true\s*$", text, re.M)


# -- the build hook's checks ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks():
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (make docs)")
    path = ROOT / "scripts" / "docs" / "hooks.py"
    spec = importlib.util.spec_from_file_location("docs_hooks", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for name in ("docs_figures", "docs_notebooks"):
        sys.modules.pop(name, None)


class _Page:
    def __init__(self, url: str) -> None:
        self.file = type("F", (), {"src_uri": url.replace(".html", ".md"), "url": url})()


def test_a_page_that_loads_from_outside_fails_the_build(hooks) -> None:
    from mkdocs.exceptions import PluginError

    page = _Page("guide.html")
    for tag in (
        '<script src="https://example.org/lib.js"></script>',
        '<link rel="stylesheet" href="//example.org/font.css">',
        '<img src="http://example.org/x.png">',
        '<iframe src="https://example.org/map.html"></iframe>',
    ):
        with pytest.raises(PluginError, match="loads from outside the site"):
            hooks.on_post_page(f"<html><body>{tag}</body></html>", page, {})
    # Links a reader follows are not requests; the notebook template's MathJax loader is removed.
    fine = (
        '<a href="https://anywidget.dev">anywidget</a><link rel="canonical" href="https://x.org/">'
    )
    mathjax = '<script src="https://cdn.example/mathjax/2.7.7/latest.js?config=TeX"> </script>'
    assert hooks.on_post_page(fine + mathjax, page, {}) == fine


def test_a_live_map_that_was_not_built_fails_the_build(hooks) -> None:
    from mkdocs.exceptions import PluginError

    files = [type("F", (), {"url": "maps/toy.html"})()]
    page = _Page("teaching.html")
    html = '<iframe class="ow-live-map" src="maps/toy.html"></iframe>'
    assert hooks.on_page_content(html, page, {}, files) == html
    with pytest.raises(PluginError, match="was not built"):
        hooks.on_page_content(html.replace("toy", "missing"), page, {}, files)
    nested = _Page("notebooks/quickstart.html")
    with pytest.raises(PluginError, match="was not built"):  # resolved from the page's folder
        hooks.on_page_content(html, nested, {}, files)


def test_sphinx_roles_become_links_only_to_documented_names() -> None:
    griffe = pytest.importorskip("griffe", reason="the docs extra is not installed (make docs)")
    path = ROOT / "scripts" / "docs" / "griffe_roles.py"
    spec = importlib.util.spec_from_file_location("griffe_roles", path)
    assert spec and spec.loader
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    package = griffe.load("occlusion_widget", search_paths=[str(ROOT)], extensions=None)
    public = set(roles._all_names(package)) | set(roles.DOCUMENTED_MODULES)
    assert set(ow.__all__) <= public
    widget = package["OcclusionWidget"]
    link = roles._link
    assert link("occlusion_map", package, package, public) == (
        "[`occlusion_map`][occlusion_widget.occlusion_map]"
    )
    assert link("~occlusion_widget.engine.sweep.occlusion_map", package, package, public) == (
        "[`occlusion_map`][occlusion_widget.occlusion_map]"
    )
    # Relative to the class whose docstring it is in.
    assert link("from_result", widget, package, public) == (
        "[`from_result`][occlusion_widget.OcclusionWidget.from_result]"
    )
    # A private helper has no page: plain code, never a link the build cannot resolve.
    assert link("~occlusion_widget.session.SweepSession", package, package, public) == (
        "`SweepSession`"
    )
