"""``export_html``: a widget or a result as one self-contained HTML page.

A result is shown through a widget made for the purpose (:meth:`OcclusionWidget.from_result`),
so the page carries the same synced state as a widget would; the page itself is rendered by
:mod:`occlusion_widget.page`, which imports no widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine import OcclusionResult
from ..engine.paths import checked_output_path
from ..page import MAX_PROBABILITY_BYTES
from .page_state import widget_page
from .widget import OcclusionWidget

__all__ = ["export_html", "page_html"]


def page_html(
    source: Any,
    *,
    labels: Any = None,
    target: int | None = None,
    view: str | None = None,
    targets: Any = None,
    title: str | None = None,
    max_probability_bytes: int = MAX_PROBABILITY_BYTES,
) -> str:
    """The standalone page as a string (see :func:`export_html` for the parameters).

    Examples
    --------
    >>> import numpy as np, occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((16, 16)), patch_size=8, stride=8,
    ...                           progress=False)
    >>> page_html(result, labels=["light", "dark"]).startswith("<!DOCTYPE html>")
    True
    """
    options: dict[str, Any] = {"targets": targets, "title": title}
    options["max_probability_bytes"] = max_probability_bytes
    if isinstance(source, OcclusionResult):
        given: dict[str, Any] = {"target": target, "view": view}
        display = {k: v for k, v in given.items() if v is not None}
        widget = OcclusionWidget.from_result(source, labels=labels, **display)
        try:
            return widget_page(widget, **options)
        finally:
            widget.close()
    if isinstance(source, OcclusionWidget) and labels is not None:
        raise TypeError("labels are taken from the widget; pass labels only with a result")
    return widget_page(source, target=target, view=view, **options)


def export_html(
    source: Any,
    path: str | Path,
    *,
    labels: Any = None,
    target: int | None = None,
    view: str | None = None,
    targets: Any = None,
    title: str | None = None,
    max_probability_bytes: int = MAX_PROBABILITY_BYTES,
) -> Path:
    """Write one self-contained HTML page that shows a result the way the widget does.

    The file needs no kernel, no server and no network: open it in any browser, mail it, put it
    on a web page. Hover, pin, arrow keys, Escape, view, legend and the target switch all work;
    Recompute and Cancel are switched off (they need Python).

    Parameters
    ----------
    source : OcclusionWidget or OcclusionResult
        A widget (the page opens in its current view, target and pinned cell) or a result.
    path : str or Path
        Where to write the ``.html`` file.
    labels : list of str or dict or str, optional
        Class names for a result (a widget already has its own).
    target : int, optional
        The class the page opens on (default: the widget's target, or the unoccluded
        prediction).
    view : {"sensitivity", "probability", "predicted_class"}, optional
        The view the page opens on.
    targets : list of int, optional
        In top-k mode (see below), the classes whose maps the page carries (default: the
        target and the five most probable unoccluded classes).
    title : str, optional
        The page's heading.
    max_probability_bytes : int
        Every class probability goes into the page as float16 when that takes at most this
        many bytes (8 MB by default; 729 positions x 1000 classes take 1.5 MB), so any target
        can be chosen. Beyond it the page carries the top-k classes per position and the maps
        of ``targets`` only, and says so.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    TypeError
        ``source`` is neither a widget nor a result.
    IsADirectoryError, FileNotFoundError
        ``path`` is a folder, or its folder does not exist (said before the page is built).
    RuntimeError
        The widget has no result yet.

    Examples
    --------
    >>> import tempfile
    >>> import occlusion_widget as ow
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     names = ["sky", "square", "other"]
    ...     page = ow.export_html(result, f"{folder}/square.html", labels=names)
    ...     page.name, "square" in page.read_text()
    ('square.html', True)
    """
    out = checked_output_path(path, "the page", "occlusion.html")  # before building it
    text = page_html(
        source,
        labels=labels,
        target=target,
        view=view,
        targets=targets,
        title=title,
        max_probability_bytes=max_probability_bytes,
    )
    out.write_text(text, encoding="utf-8")
    return out
