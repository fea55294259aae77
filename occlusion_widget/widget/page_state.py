"""What a widget hands the page builder: its synced state, and the browser's export request.

The widget's side of :mod:`occlusion_widget.page`: :func:`page_state` reads a widget's synced
traits (serialised as they go to the browser) with its result under the session's lock;
:func:`widget_page` renders them; :func:`export_reply` answers the browser's ``export_html``
message with the page. The widget is only read here (duck-typed: its traits, ``session`` and
``result``), so this module never imports the widget class and no import loop closes.
"""

from __future__ import annotations

from typing import Any

import anywidget

from .. import palette
from ..engine import OcclusionResult
from ..page import MAX_PROBABILITY_BYTES, render
from .traits import array_to_json

__all__ = [
    "EXPORT_MESSAGE",
    "PAGE_OPTIONS",
    "export_reply",
    "page_state",
    "page_traits",
    "widget_page",
]

#: The browser's request for the page (the widget's "Export page" button): ``{type, id}``.
EXPORT_MESSAGE = "export_html"


def page_traits(widget: Any) -> list[str]:
    """Every trait the widget itself syncs (not anywidget's own): the page carries exactly
    what the browser draws from, so a trait added to the widget reaches the page too."""
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return [n for n in type(widget).class_trait_names(sync=True) if n not in base]


def page_state(
    widget: Any, *, target: Any = None, view: str | None = None
) -> tuple[dict[str, Any], OcclusionResult]:
    """The widget's synced traits, serialised as they go to the browser, and its result, read
    together (one sweep's, not two); ``target`` and ``view`` change what the page opens on.

    Raises
    ------
    TypeError
        ``widget`` is not a widget.
    RuntimeError
        The widget has no result yet.
    """
    if not isinstance(widget, anywidget.AnyWidget) or not hasattr(widget, "session"):
        raise TypeError(
            f"export_html needs an OcclusionWidget or an OcclusionResult; got "
            f"{type(widget).__name__}"
        )
    with widget.session.lock:  # the result and the traits of one sweep, not two
        result = widget.result
        if result is None:
            raise RuntimeError("the widget has no result yet: wait for the sweep (w.wait())")
        state = dict(widget.get_state(key=page_traits(widget)))
    if target is not None:
        classes = result.classes_of(target)  # the engine's clear out-of-range message
        state["target"] = sorted(classes) if len(classes) > 1 else classes[0]
        state["target_map"] = array_to_json(result.probability(list(classes)))
        state["note"] = result.flat_note(list(classes), labels=state.get("labels")) or ""
    if view is not None:
        state["view"] = palette.check_view(view)
    return state, result


#: The keyword options of a widget's page (:func:`occlusion_widget.export_html` takes them too).
PAGE_OPTIONS = ("target", "view", "targets", "title", "max_probability_bytes")


def widget_page(
    widget: Any,
    *,
    target: Any = None,
    view: str | None = None,
    targets: Any = None,
    title: str | None = None,
    max_probability_bytes: int = MAX_PROBABILITY_BYTES,
) -> str:
    """The standalone page of a widget as a string (the options of
    :func:`occlusion_widget.export_html`)."""
    state, result = page_state(widget, target=target, view=view)
    return render(
        state, result, targets=targets, title=title, max_probability_bytes=max_probability_bytes
    )


def export_reply(widget: Any, content: Any) -> tuple[dict[str, Any], list[bytes]]:
    """Answer the browser's ``{type: "export_html", id}`` with the page, for the widget to send.

    The reply is ``{type: "reply", id, ok: true, filename, bytes}`` with the UTF-8 page as its
    one binary buffer (pages run to megabytes: a buffer, not a JSON string); on failure
    ``{type: "reply", id, ok: false, error}`` and no buffer. The widget's message handler
    sends it; the browser turns the buffer into a download.

    Examples
    --------
    >>> reply, buffers = export_reply(None, {"type": "export_html", "id": "v1-3"})
    >>> reply["ok"], reply["error"].startswith("TypeError"), buffers
    (False, True, [])
    """
    msg_id = content.get("id") if isinstance(content, dict) else None
    try:
        page = widget_page(widget).encode("utf-8")
    except Exception as exc:  # the browser shows the message; the kernel carries on
        text = " ".join(str(exc).split())
        return {
            "type": "reply",
            "id": msg_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {text}",
        }, []
    reply = {
        "type": "reply",
        "id": msg_id,
        "ok": True,
        "filename": "occlusion.html",
        "bytes": len(page),
    }
    return reply, [page]
