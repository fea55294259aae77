"""The browser's requests (``docs/protocol.md``): recompute, cancel, probe, export_html.

Every request is ``{type, id, ...}`` and gets exactly one ``{type: "reply", id, ok, error?}``;
an error is one readable line in the reply (the browser shows it), never an exception in the
kernel. Long work reports through synced traits (a recompute returns at once).
"""

from __future__ import annotations

from typing import Any

from ..session.checks import describe_error, reject_unknown
from ..session.probing import probe as probe_session
from ..session.probing import probe_reply, region_from_message
from .page_state import EXPORT_MESSAGE, export_reply

__all__ = ["BROWSER_PARAMS", "MESSAGE_TYPES", "handle"]

#: What a ``recompute`` message from the browser may change.
BROWSER_PARAMS = ("patch_size", "stride", "baseline", "mode")
MESSAGE_TYPES = ("recompute", "cancel", "probe", EXPORT_MESSAGE)

Reply = tuple[dict[str, Any], list[Any]]


def handle(widget: Any, content: Any, buffers: Any) -> None:
    """Answer one message from the browser (the widget's ``on_msg`` handler).

    Examples
    --------
    >>> handle(w, {"type": "recompute", "id": 1, "params": {"stride": 8}}, [])  # replies at once
    >>> w.wait(), w.stride
    ('done', [8, 8])
    """
    if not isinstance(content, dict):
        return
    kind, msg_id = content.get("type"), content.get("id")
    reply: dict[str, Any] = {"type": "reply", "id": msg_id, "ok": True}
    out: list[Any] = []
    try:
        if kind == "recompute":
            recompute(widget, content)
        elif kind == "cancel":
            widget.cancel()
        elif kind == "probe":
            reply["probe"] = probe(widget, content, buffers)
        elif kind == EXPORT_MESSAGE:
            reply, out = export_reply(widget, content)
        else:
            expected = ", ".join(map(repr, MESSAGE_TYPES))
            raise ValueError(f"unknown message type {kind!r}; expected one of {expected}")
    except Exception as exc:  # the reply is the one place the browser shows it
        reply = {"type": "reply", "id": msg_id, "ok": False, "error": describe_error(exc)}
        out = []
    if out:
        widget.send(reply, out)
    else:
        widget.send(reply)


def recompute(widget: Any, content: dict[str, Any]) -> None:
    """``{type: "recompute", id, params: {patch_size, stride, baseline, mode?}}``."""
    params = content.get("params")
    if params is None:  # a frontend older than the params field wrote the traits
        params = {"patch_size": widget.patch_size, "stride": widget.stride}
        params["baseline"] = widget.baseline
    if not isinstance(params, dict):
        raise TypeError(f"recompute params must be an object; got {params!r}")
    reject_unknown(params, "the recompute message", BROWSER_PARAMS)
    widget.recompute(**params)


def probe(widget: Any, content: dict[str, Any], buffers: Any) -> dict[str, Any]:
    """``{type: "probe", id, region}`` -> the reply's ``probe`` field (see
    :func:`~occlusion_widget.session.probing.probe_reply`), with the region echoed."""
    region = content.get("region")
    h, w = widget.session.validated.image.pixels.shape[:2]
    answer = probe_session(widget.session, region_from_message(region, buffers, (h, w)))
    target = widget.target
    if target is None:  # before the first batch: the probed image's own prediction
        target = answer.predicted_class
    classes = tuple(target) if isinstance(target, list) else (target,)
    payload = probe_reply(answer, classes=classes, top_k=widget.top_k)
    payload["region"] = region
    return payload
