"""The browser's requests (``docs/protocol.md``): recompute, cancel, probe, export_html.

Every request is ``{type, id, ...}`` and gets exactly one ``{type: "reply", id, ok, error?}``;
an error is one readable line in the reply (the browser shows it), never an exception in the
kernel. Long work reports through synced traits (a recompute returns at once).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.probe import ProbeResult, describe_region
from ..session.checks import describe_error, reject_unknown
from ..session.probing import probe as probe_session
from ..session.topk import top_classes
from .page_state import EXPORT_MESSAGE, export_reply

__all__ = ["BROWSER_PARAMS", "MESSAGE_TYPES", "handle", "probe_reply", "region_from_message"]

#: What a ``recompute`` message from the browser may change.
BROWSER_PARAMS = ("patch_size", "stride", "baseline", "mode")
MESSAGE_TYPES = ("recompute", "cancel", "probe", EXPORT_MESSAGE)

Reply = tuple[dict[str, Any], list[Any]]


def handle(widget: Any, content: Any, buffers: Any) -> None:
    """Answer one message from the browser (the widget's ``on_msg`` handler).

    Examples
    --------
    >>> handle(w, {"type": "cancel", "id": 1}, [])  # doctest: +SKIP
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
    :func:`probe_reply`), with the region echoed."""
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


def region_from_message(region: Any, buffers: Any, shape: tuple[int, int]) -> Any:
    """The ``region`` of a probe message -> a box tuple or an ``(H, W)`` bool mask.

    ``{"box": [top, left, height, width]}``, or ``{"mask": true}`` with ``buffers[0]`` the
    uint8 row-major mask of the swept image (1 = inside).

    Raises
    ------
    ValueError
        Neither form, or a mask buffer of the wrong size.

    Examples
    --------
    >>> region_from_message({"box": [0, 0, 2, 2]}, [], (4, 4))
    (0, 0, 2, 2)
    >>> region_from_message({"mask": True}, [bytes([1, 0, 0, 0])], (2, 2)).tolist()
    [[True, False], [False, False]]
    """
    if isinstance(region, dict) and "box" in region:
        box = region["box"]
        if not isinstance(box, (list, tuple)):
            raise ValueError(
                f"region.box must be [top, left, height, width]; got {describe_region(box)}"
            )
        return tuple(box)
    if isinstance(region, dict) and region.get("mask") is True:
        if not buffers:
            raise ValueError("a mask region needs the mask as the message's first binary buffer")
        mask = np.frombuffer(memoryview(buffers[0]), np.uint8)
        h, w = shape
        if mask.size != h * w:
            raise ValueError(
                f"the mask has {mask.size} bytes but the swept image is {h}x{w} = {h * w} "
                f"pixels; send one byte per pixel, row by row"
            )
        return mask.reshape(h, w) != 0
    raise ValueError(
        f"region must be {{box: [top, left, height, width]}} or {{mask: true}} with the mask "
        f"in the first buffer; got {describe_region(region)}"
    )


def probe_reply(answer: ProbeResult, *, classes: tuple[int, ...], top_k: int) -> dict[str, Any]:
    """The ``probe`` field of a probe reply: top classes, their probabilities, the target's
    (a group's summed) probability and the predicted class.

    Examples
    --------
    >>> from occlusion_widget.engine.probe import probe as run
    >>> model = lambda b: np.stack([1 - b.mean(axis=(1, 2, 3)), b.mean(axis=(1, 2, 3))], 1)
    >>> answer = run(model, np.ones((4, 4)), (0, 0, 1, 4), baseline="black")
    >>> probe_reply(answer, classes=(1,), top_k=5)
    {'indices': [1, 0], 'probabilities': [0.75, 0.25], 'target_probability': 0.75, 'predicted': 1}
    """
    probs = answer.probabilities
    indices, values = top_classes(probs[None], top_k)
    return {
        "indices": [int(i) for i in indices[0]],
        "probabilities": [float(v) for v in values[0]],
        "target_probability": float(probs[list(classes)].sum()),
        "predicted": answer.predicted_class,
    }
