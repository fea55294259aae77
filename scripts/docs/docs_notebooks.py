"""The notebooks as documentation pages: executed from the committed files, at build time.

The committed notebooks carry no outputs (tests/test_notebooks.py keeps them clean), so the docs
run each one in a fresh kernel with nbclient, as ``make test`` does, and hand the executed copy to
mkdocs-jupyter. A widget output cannot be drawn without a kernel, so each displayed
``OcclusionWidget`` is exported in the same kernel, once the notebook has run, with
``ow.export_html`` (the page ``w.to_html`` writes) and the output becomes that page in an iframe:
the reader hovers, pins and switches targets in the docs. The page shows the widget as the
notebook leaves it (its last target and pinned cell). Other widgets (the gallery) keep their
text with a note. No widget state is stored, so no page loads a widget manager from outside.
"""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
MARKER = "OW-DOCS-PAGES "
CELL_TIMEOUT_S = 600

# Runs in the notebook's kernel after its last cell: every OcclusionWidget with a result
# becomes a page; prints {model_id: file name}.
EXPORT_CELL = """
import json as _json
from pathlib import Path as _Path
import occlusion_widget as _ow
try:
    from ipywidgets.widgets.widget import _instances as _widgets
except ImportError:  # ipywidgets 7
    from ipywidgets import Widget as _W
    _widgets = _W.widgets
_pages = {}
for _n, (_id, _w) in enumerate(list(_widgets.items())):
    if isinstance(_w, _ow.OcclusionWidget) and _w.result is not None:
        _name = f"{_STEM}-{len(_pages) + 1}.html"
        _ow.export_html(_w, _Path(_OUT) / _name)
        _pages[_id] = _name
print(_MARKER + _json.dumps(_pages))
"""


def execute(source: Path, out_dir: Path, maps_dir: Path, env_note: str | None) -> Path:
    """Execute ``source``; write it to ``out_dir`` with its widgets as pages in ``maps_dir``."""
    import nbclient
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    stem = source.stem
    maps_dir.mkdir(parents=True, exist_ok=True)
    code = f"_STEM, _OUT, _MARKER = {stem!r}, {str(maps_dir)!r}, {MARKER!r}\n" + EXPORT_CELL
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    with tempfile.TemporaryDirectory() as workdir:  # files a notebook writes stay out of git
        nbclient.NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            store_widget_state=False,
            resources={"metadata": {"path": workdir}},
        ).execute()
    export = notebook.cells.pop()
    pages = _pages(export)
    shown = set()
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            shown |= _replace_widget(output, pages, maps_dir.name)
    for model_id, name in pages.items():
        if model_id not in shown:  # a widget inside another (the gallery's): no output of its own
            (maps_dir / name).unlink()
    if env_note:
        notebook.cells.insert(1, nbformat.v4.new_markdown_cell(f"!!! note\n    {env_note}"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / source.name
    nbformat.write(notebook, target)
    return target


def _pages(cell) -> dict[str, str]:
    for output in cell.outputs:
        text = output.get("text", "")
        if output.get("output_type") == "stream" and MARKER in text:
            return json.loads(text.split(MARKER, 1)[1])
    raise RuntimeError("the notebook's widgets were not exported: no page list printed")


def _replace_widget(output, pages: dict[str, str], maps: str) -> set[str]:
    """Swap a widget output for its page (or a note); return the model ids it showed."""
    data = output.get("data")
    if not data or WIDGET_MIME not in data:
        return set()
    model_id = data[WIDGET_MIME].get("model_id")
    del data[WIDGET_MIME]
    if model_id in pages:
        src = f"{maps}/{pages[model_id]}"
        data["text/html"] = (
            f'<iframe class="ow-live-map" src="{html.escape(src)}" '
            f'title="The widget as a standalone page: hover, pin, switch targets"></iframe>'
        )
        data.pop("text/plain", None)
        return {model_id}
    elif "image/png" not in data:
        shown = html.escape(data.get("text/plain", "a widget"))
        data["text/html"] = (
            f'<p class="ow-widget-note"><code>{shown}</code>: a live widget, interactive when '
            f"the notebook runs in Jupyter.</p>"
        )
    return set()
