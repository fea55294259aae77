"""One self-contained HTML file that shows a result the way the widget does, with no kernel.

The page inlines the frontend bundle (``static/standalone.js``) and the widget's synced state,
read through the widget's own serialisers, so it draws exactly what the notebook draws. Hover,
pin, arrow keys, Escape, view, legend and target all work offline; Recompute and Cancel need
Python and are switched off with a banner that says so. A Content-Security-Policy forbids every
network request, so opening the file never reaches out.

To let the target switch work without a kernel, the page carries every class probability as
float16 when that fits in ``max_probability_bytes`` (8 MB: 729 positions x 1000 classes is
1.5 MB); otherwise it carries the top-k per position and the maps of chosen targets, and a note
in the page says which.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .engine import OcclusionResult

__all__ = ["EXPORT_MESSAGE", "export_html", "export_reply", "page_html"]

#: The browser's request for the page (the widget's "Export page" button): ``{type, id}``.
EXPORT_MESSAGE = "export_html"
#: Format tag of the embedded data, checked by ``js/page_model.ts``.
PAGE_FORMAT = "occlusion-widget-page/1"
#: Default ceiling on the float16 probabilities embedded in the page.
MAX_PROBABILITY_BYTES = 8_000_000

_BUNDLE = Path(__file__).parent / "static" / "standalone.js"


def _page_traits() -> list[str]:
    """Every trait the widget itself syncs (not anywidget's own): the page carries exactly
    what the browser draws from, so a trait added to the widget reaches the page too."""
    import anywidget

    from .widget import OcclusionWidget

    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return [n for n in OcclusionWidget.class_trait_names(sync=True) if n not in base]


_PAGE_CSS = """
body { margin: 24px; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f1f1f; background: #fff; }
h1 { font-size: 18px; margin: 0 0 8px; }
.ow-page-banner { margin: 0 0 8px; padding: 6px 10px; border-left: 4px solid #1a73e8;
                  background: rgba(26, 115, 232, 0.08); font-size: 13px; max-width: 800px; }
.ow-page-note { margin: 8px 0 0; font-size: 12px; color: #555; max-width: 800px; }
#ow-root [data-testid="ow-recompute"], #ow-root [data-testid="ow-cancel"],
#ow-root .ow-pending { display: none !important; }
"""

# No request of any kind may leave the page: everything it needs is inline.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
)


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
    state, result = _synced_state(source, labels=labels, target=target, view=view)
    data = _page_data(state, result, targets, max_probability_bytes)
    if not _BUNDLE.is_file():
        raise FileNotFoundError(
            f"the page's script {_BUNDLE} is missing: build the frontend with `npm run build` "
            f"(an installed wheel ships it)"
        )
    bundle = _BUNDLE.read_text(encoding="utf-8")
    heading = title or "Occlusion sensitivity"
    # "<" escaped everywhere in the JSON, so no label can close the <script> element.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(heading)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(heading)}</h1>\n"
        '<div id="ow-root"></div>\n'
        f'<script type="application/json" id="ow-state">{payload}</script>\n'
        f"<script>{_script_safe(bundle)}</script>\n"
        "</body>\n</html>\n"
    )


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
    text = page_html(
        source,
        labels=labels,
        target=target,
        view=view,
        targets=targets,
        title=title,
        max_probability_bytes=max_probability_bytes,
    )
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out


def export_reply(widget: Any, content: Any) -> tuple[dict[str, Any], list[bytes]]:
    """Answer the browser's ``{type: "export_html", id}`` with the page, for the widget to send.

    The reply is ``{type: "reply", id, ok: true, filename, bytes}`` with the UTF-8 page as its
    one binary buffer (pages run to megabytes: a buffer, not a JSON string); on failure
    ``{type: "reply", id, ok: false, error}`` and no buffer. The widget's message handler does
    ``self.send(*export_reply(self, content))``; the browser turns the buffer into a download.

    Examples
    --------
    >>> reply, buffers = export_reply(None, {"type": "export_html", "id": "v1-3"})
    >>> reply["ok"], reply["error"].startswith("TypeError"), buffers
    (False, True, [])
    """
    msg_id = content.get("id") if isinstance(content, dict) else None
    try:
        page = page_html(widget).encode("utf-8")
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


# -- the state ---------------------------------------------------------------------------------


def _synced_state(
    source: Any, *, labels: Any, target: int | None, view: str | None
) -> tuple[dict[str, Any], OcclusionResult]:
    """The widget's synced traits, serialised as they go to the browser, and the result."""
    from .widget import OcclusionWidget

    if isinstance(source, OcclusionResult):
        kwargs: dict[str, Any] = {}
        if target is not None:
            kwargs["target"] = target
        if view is not None:
            kwargs["view"] = view
        widget = OcclusionWidget.from_result(source, labels=labels, **kwargs)
        try:
            state = dict(widget.get_state(key=_page_traits()))
        finally:
            widget.close()
        result = source
    elif isinstance(source, OcclusionWidget):
        if labels is not None:
            raise TypeError("labels are taken from the widget; pass labels only with a result")
        with source.session.lock:  # the result and the traits of one sweep, not two
            result = source.result
            if result is None:
                raise RuntimeError("the widget has no result yet: wait for the sweep (w.wait())")
            state = dict(source.get_state(key=_page_traits()))
        if target is not None:
            classes = result.classes_of(target)  # the engine's clear out-of-range message
            state["target"] = sorted(classes) if len(classes) > 1 else classes[0]
            state["target_map"] = _array_json(result.probability(list(classes)))
            state["note"] = result.flat_note(list(classes), labels=state.get("labels")) or ""
        if view is not None:
            if view not in ("sensitivity", "probability", "predicted_class"):
                raise ValueError(
                    f"view must be 'sensitivity', 'probability' or 'predicted_class'; got {view!r}"
                )
            state["view"] = view
    else:
        raise TypeError(
            f"export_html needs an OcclusionWidget or an OcclusionResult; got "
            f"{type(source).__name__}"
        )
    # False on the page: the browser switches off what needs Python and says why.
    state["_kernel"] = False
    return state, result


def _array_json(array: np.ndarray) -> dict[str, Any]:
    from .traits import array_to_json

    return array_to_json(array)  # type: ignore[return-value]


def _page_data(
    state: dict[str, Any], result: OcclusionResult, targets: Any, max_bytes: int
) -> dict[str, Any]:
    rows, cols, classes = result.probabilities.shape
    full_bytes = rows * cols * classes * 2
    names = list(state.get("labels") or [f"class {i}" for i in range(classes)])
    data: dict[str, Any] = {
        "format": PAGE_FORMAT,
        "traits": _embed(state),
        "probabilities": None,
        "target_maps": {},
    }
    if full_bytes <= max_bytes:
        half = np.asarray(result.probabilities, "<f2")
        data["probabilities"] = _embedded(half)
        data["note"] = (
            f"This page holds every class's probability at each of the {rows * cols} positions "
            f"(float16, within 0.0005; the top-{state.get('top_k')} values are exact), so any "
            f"target can be chosen."
        )
        return data
    current = state.get("target")
    chosen = _chosen_targets(targets, current, result)
    for cls in chosen:
        data["target_maps"][str(cls)] = _embedded(result.probabilities[:, :, cls].astype("<f4"))
    shown = ", ".join(names[c] if c < len(names) else f"class {c}" for c in chosen)
    data["note"] = (
        f"All {classes} classes at {rows * cols} positions would take {full_bytes / 1e6:.1f} MB, "
        f"so this page holds the top-{state.get('top_k')} classes at each position and the maps "
        f"of {shown} only; other targets show as not computed. Export with targets=[...] "
        f"(or a larger max_probability_bytes) to include others."
    )
    return data


def _chosen_targets(targets: Any, current: Any, result: OcclusionResult) -> list[int]:
    if targets is None:
        order = np.argsort(-result.base_probabilities, kind="stable")[:5]
        picked = _members(current) + [int(c) for c in order]
    else:
        picked = _members(current) + [result._target(int(t)) for t in targets]
    return list(dict.fromkeys(picked))


def _members(target: Any) -> list[int]:
    # The classes of the page's opening target: one, a group (a list), or none yet.
    if isinstance(target, list):
        return [int(t) for t in target]
    return [int(target)] if isinstance(target, int) else []


def _embedded(array: np.ndarray) -> dict[str, Any]:
    contiguous = np.ascontiguousarray(array)
    return {
        "dtype": contiguous.dtype.name,
        "shape": list(contiguous.shape),
        "base64": base64.b64encode(contiguous.tobytes()).decode("ascii"),
    }


def _embed(value: Any) -> Any:
    """Serialised widget state -> JSON: binary views become base64, non-finite floats null."""
    if isinstance(value, dict):
        if isinstance(value.get("view"), memoryview) and "dtype" in value:
            raw = bytes(value["view"])
            return {
                "dtype": value["dtype"],
                "shape": list(value["shape"]),
                "base64": base64.b64encode(raw).decode("ascii"),
            }
        return {str(k): _embed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_embed(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _embed(value.item())
    return value


def _script_safe(code: str) -> str:
    # Inside <script>, only "</script" (any case) and "<!--" change how HTML parses the text;
    # a minified bundle has them only inside strings, where "<\/" and "<\!--" mean the same.
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return code.replace("<!--", "<\\!--")
