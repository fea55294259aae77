"""The widget's picture for wherever no kernel runs: a PNG of the map beside the live widget.

A cell that shows a widget outputs ``application/vnd.jupyter.widget-view+json``, which only a
page with the widget manager and the widget's model can draw. GitHub, nbviewer, nbconvert's
HTML, and JupyterLab for a notebook it does not trust, draw the richest mimetype they can
instead; so the output also carries ``image/png``: the current view, colour bar and title, as
:meth:`~occlusion_widget.widget.outputs.Outputs.save` draws them (without the pinned cell's panel).

The map is rarely finished when the cell shows the widget (the sweep runs in a thread), so the
output has a display id, and :class:`Picture` replaces the output (``update_display_data``)
when the sweep ends and when the target, view, colour scale or opacity changes: a notebook
saved after Run All carries the finished map. Updates come from a timer thread; ipykernel
sends them on its IOPub thread, parented to the request it last received. JupyterLab routes
them by display id whenever they come; nbclient keeps only those that arrive while a cell runs,
so ``w.wait()`` sends the picture again from the waiting cell, and a notebook run by nbclient
should call it before its last cell ends. JupyterLab draws a new view for an updated output;
``js/widget/keep_view.ts`` moves the old view's content into it, so nothing on screen changes.

Rendering costs a few tenths of a second, so it happens once a sweep has ended (never per
batch), off the session's lock, and changes made in quick succession are drawn once.
"""

from __future__ import annotations

import base64
import io
import threading
import uuid
from typing import Any

__all__ = ["DEBOUNCE", "DPI", "PLACEHOLDER", "Picture", "render_png"]

#: Resolution of the picture: 7.2 × 5 inches at 100 dpi, about the widget's size on screen.
DPI = 100
#: Seconds of quiet after a change of target, view, scale or opacity before redrawing.
DEBOUNCE = 0.4
#: What the output says while the map is not finished (no picture yet).
PLACEHOLDER = (
    "OcclusionWidget: the map was still being computed when this output was written; "
    "run the notebook (or w.wait() before saving) to keep a picture of it here"
)


def render_png(result: Any, state: dict[str, Any], dpi: int = DPI) -> bytes:
    """PNG bytes of a result's view as :func:`~occlusion_widget.plot.save_view` draws it.

    Parameters
    ----------
    result : OcclusionResult
    state : dict
        Keyword arguments of :func:`~occlusion_widget.plot.save.render_view` (view, target,
        labels, opacity, scale, ...).
    dpi : int

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> render_png(result, {"view": "sensitivity", "target": 0, "labels": None}, dpi=20)[:4]
    b'\\x89PNG'
    """
    from ..plot.save import render_view

    figure = render_view(result, dpi=dpi, **state)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class Picture:
    """Keeps the static picture in a widget's outputs up to date.

    Parameters
    ----------
    widget : OcclusionWidget
        Read through ``widget._shown_view()``, ``widget.status`` and its ipywidgets bundle.

    Attributes
    ----------
    display_id : str
        The id of every output that shows this widget.
    shown : bool
        Whether the widget was displayed (nothing is drawn for a widget nobody showed).

    Examples
    --------
    >>> w._picture.display_id.startswith("occlusion-widget-")
    True
    """

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.display_id = f"occlusion-widget-{uuid.uuid4().hex}"
        self.shown = False
        # _publishing: one message sent at a time; _lock: the timer and the generation count.
        self._publishing = threading.Lock()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._looks = 0
        # What the outputs show now: the drawn view's key (None: the placeholder) and the
        # generation it was read at.
        self._sent_key: tuple[Any, ...] | None = None
        self._sent_generation = 0
        self._cache: tuple[tuple[Any, ...], bytes, Any] | None = None

    def bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The output's data and metadata: the widget view (none once the widget is closed),
        and the picture or the placeholder.

        Examples
        --------
        >>> sorted(w._picture.bundle()[0])
        ['application/vnd.jupyter.widget-view+json', 'image/png', 'text/plain']
        """
        data, metadata, _ = self._bundle(self._draw(self._look()[1]))
        return data, metadata

    def display(self) -> None:
        """Show the widget with its picture, as an output that later updates can replace."""
        from IPython.display import display

        self.shown = True  # first: a sweep ending from now on updates this output
        generation, shown = self._look()
        data, metadata, key = self._bundle(self._draw(shown))
        with self._publishing:
            display(data, raw=True, metadata=metadata, display_id=self.display_id)
            # An update sent while this was drawn reached no output: send it again.
            stale = generation < self._sent_generation
            self._sent_key = None if stale else key
            self._sent_generation = max(generation, self._sent_generation)
        if stale:
            self.changed(0.0)

    def changed(self, delay: float = DEBOUNCE) -> None:
        """Redraw the shown outputs ``delay`` seconds from now, unless called again before."""
        if not self.shown:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(delay, self._refresh)
            self._timer.daemon = True
            self._timer.name = "occlusion-picture"
            self._timer.start()

    def flush(self, timeout: float | None = None) -> None:
        """Wait for a pending redraw, then send the current picture again (what ``w.wait()``
        does): sent from the waiting cell, it reaches a client that keeps only the outputs of
        the cell it runs (nbclient), even when the sweep ended between two cells."""
        with self._lock:
            timer = self._timer
        # The timer reads the view under the session's lock: a caller holding it (a trait
        # observer during a sweep's update) would wait for it forever; its own send suffices.
        owned = getattr(self.widget.session.lock, "_is_owned", lambda: False)()
        if timer is not None and timer is not threading.current_thread() and not owned:
            timer.join(timeout)
        self._refresh(again=True)

    def stop(self) -> None:
        """Drop a pending redraw (the widget is closing)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.shown = False

    # -- inside ------------------------------------------------------------------------------
    # Locks: the session's lock, then this picture's _lock or _publishing, never the other way
    # (a trait observer runs holding the session's lock and may call w.wait()). A view is read
    # under the session's lock with a generation number, drawn with no lock held, and sent
    # under _publishing unless a newer one was sent meanwhile.

    def _refresh(self, again: bool = False) -> None:
        from IPython.display import update_display

        if not self.shown or self.widget.comm is None:
            return
        generation, shown = self._look()
        drawn = self._draw(shown)
        # While a sweep runs the outputs keep the last finished map (or the placeholder).
        if drawn[0] is None:
            return
        data, metadata, key = self._bundle(drawn)
        with self._publishing:
            if generation < self._sent_generation:
                return  # a newer view was sent meanwhile
            if key == self._sent_key and not again:
                return
            update_display(data, raw=True, metadata=metadata, display_id=self.display_id)
            self._sent_key, self._sent_generation = key, generation

    def _look(self) -> tuple[int, tuple[Any, dict[str, Any]] | None]:
        """A generation number and what the widget shows (None before a result or while a
        sweep runs), read together under the session's lock."""
        with self.widget.session.lock:
            with self._lock:
                self._looks += 1
                generation = self._looks
            shown = self.widget._shown_view()
            if self.widget.status in ("idle", "running"):
                shown = None
        return generation, shown

    def _draw(
        self, shown: tuple[Any, dict[str, Any]] | None
    ) -> tuple[tuple[Any, ...] | None, bytes | None]:
        """The key of a view and its PNG (None, None for no view)."""
        if shown is None:
            return None, None
        result, state = shown
        state["selected"] = None  # the map, not the pinned cell's panel
        target = state["target"]
        key = (
            id(result),
            result.done,
            tuple(target) if isinstance(target, list) else target,
            state["view"],
            state["scale"],
            round(float(state["opacity"]), 3),
            tuple(state["labels"]),
        )
        cache = self._cache
        if cache is not None and cache[0] == key:
            return key, cache[1]
        png = render_png(result, state)
        # The result is kept with its key so that its id is not reused while cached.
        self._cache = (key, png, result)
        return key, png

    def _bundle(
        self, drawn: tuple[tuple[Any, ...] | None, bytes | None]
    ) -> tuple[dict[str, Any], dict[str, Any], tuple[Any, ...] | None]:
        key, png = drawn
        data, metadata = self.widget._widget_bundle()
        if png is None:
            data["text/plain"] = PLACEHOLDER
        else:
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data, metadata, key
