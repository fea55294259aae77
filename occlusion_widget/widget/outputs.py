"""What a person takes out of a widget: the pinned cell, a picture, a probe, a page.

:class:`Outputs` sits between the synced traits (:class:`~.synced.WidgetTraits`, its base) and
:class:`~occlusion_widget.widget.OcclusionWidget` (its subclass): one class per file, each
adding one job. It reads the traits and the session and never changes them; what the widget
must set for it (session, mirror, picture) is declared below with its type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..engine import OcclusionResult
from ..session import SweepSession
from ..session.checks import reject_unknown
from ..session.probing import probe as probe_session
from ..session.selection import Selection, select
from .mirror import Mirror
from .page_state import PAGE_OPTIONS, widget_page
from .picture import Picture
from .synced import WidgetTraits

__all__ = ["Outputs"]


class Outputs(WidgetTraits):
    """The widget's read-only outputs (``selection``, ``save``, ``probe``, ``to_html``) and
    its cell output (the live view with a picture beside it).

    Examples
    --------
    >>> from occlusion_widget import OcclusionWidget
    >>> issubclass(OcclusionWidget, Outputs)
    True
    """

    # Set by OcclusionWidget.__init__; the traits read here are WidgetTraits' own.
    _session: SweepSession
    _mirror: Mirror
    _picture: Picture

    @property
    def selection(self) -> Selection | None:
        """The pinned cell's :class:`Selection`, or None when nothing is selected.

        Examples
        --------
        >>> w.selected = (0, 0)  # the patch that hides the whole square
        >>> w.selection.top_names[:2]
        ['other', 'sky']
        """
        with self._session.lock:
            result, selected, target = self._mirror.adopted, self.selected, self.target
            if result is None or selected is None or target is None:
                return None
            names, k = list(self.labels), self.top_k
            return select(result, *selected, target=target, names=names, top_k=k)

    # -- the cell's output: the live widget, and a picture for where no kernel runs ------------

    def _ipython_display_(self) -> None:
        """Show the widget with a picture of its map, in an output the picture updates."""
        if getattr(self, "comm", None) is None:  # closed: only the picture is left to show
            from IPython.display import display

            data, metadata = self._picture.bundle()
            display(data, raw=True, metadata=metadata)
            return
        self._picture.display()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The widget view, and the map as ``image/png`` (see :mod:`.picture`)."""
        return self._picture.bundle()

    def _widget_bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """anywidget's data (``text/plain`` and the widget view) and metadata, as new dicts."""
        if getattr(self, "comm", None) is None:  # closed: no model for a view to show
            return {"text/plain": repr(self)}, {}
        bundle = super()._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return dict(data), dict(metadata)

    def save(self, path: str | Path, dpi: int = 150) -> Path:
        """Write the current view as a picture drawn with matplotlib in the browser's colours.

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     w.save(f"{folder}/square_sensitivity.png").stat().st_size > 0
        True
        """
        from ..plot import save_view

        shown = self._shown_view()
        if shown is None:
            refused = self._mirror.target_error
            raise RuntimeError(
                f"nothing to save: {refused.split(': ', 1)[1]}"
                if refused
                else "nothing to save yet: no batch has finished; try w.wait()"
            )
        result, state = shown
        return save_view(path, result=result, dpi=dpi, **state)

    def _shown_view(self) -> tuple[OcclusionResult, dict[str, Any]] | None:
        """The shown result and what :func:`~occlusion_widget.plot.save_view` needs to draw it
        as the browser does, read together under the session's lock; None before a result."""
        with self._session.lock:
            result, target = self._mirror.adopted, self.target
            if result is None or target is None:
                return None
            state: dict[str, Any] = {
                "view": self.view,
                "target": target,
                "labels": list(self.labels),
            }
            state.update(opacity=self.opacity, selected=self.selected, top_k=self.top_k)
            state.update(scale=self.color_scale)
        return result, state

    def probe(self, region: Any) -> np.ndarray:
        """The model's ``(K,)`` probabilities with one region hidden as the sweep hides a patch.

        One forward pass in this thread, with the shown sweep's own fill, mode, preprocess and
        image (resized, if the sweep was): a probe on a grid cell's box equals that cell of
        :attr:`result`. In reveal mode only the region is kept. Refused while a sweep runs.

        Parameters
        ----------
        region : tuple of int or array-like of bool
            A ``(top, left, height, width)`` box, or an ``(H, W)`` (or ``(H, W, 1)``) boolean
            mask of the swept image.

        Raises
        ------
        TypeError, ValueError
            A bad box or mask (the message says what is wrong).
        RuntimeError
            A sweep is running, or the widget shows a saved result and has no model.

        Examples
        --------
        >>> w.probe((0, 0, 8, 8)).argmax()  # the square hidden: "other" wins
        np.int64(2)
        """
        return probe_session(self._session, region).probabilities

    def to_html(self, path: str | Path, **options: Any) -> Path:
        """Write the widget as one self-contained HTML page (no kernel, no network needed);
        ``options`` as for :func:`occlusion_widget.export_html` (``target``, ``view``,
        ``targets``, ``title``, ``max_probability_bytes``).

        Examples
        --------
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     w.to_html(f"{folder}/square.html").read_text().startswith("<!DOCTYPE html>")
        True
        """
        if "labels" in options:
            raise TypeError("labels are taken from the widget; pass labels only with a result")
        reject_unknown(options, "to_html()", PAGE_OPTIONS)
        out = Path(path)
        out.write_text(widget_page(self, **options), encoding="utf-8")
        return out
