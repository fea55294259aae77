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

A leaf, as the page builder: :func:`render` takes the state and imports no widget (the widget
gathers its state in :mod:`occlusion_widget.widget.page_state`).
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

__all__ = ["MAX_PROBABILITY_BYTES", "PAGE_FORMAT", "render"]

#: Format tag of the embedded data, checked by ``js/page/model.ts``.
PAGE_FORMAT = "occlusion-widget-page/1"
#: Default ceiling on the float16 probabilities embedded in the page.
MAX_PROBABILITY_BYTES = 8_000_000

_BUNDLE = Path(__file__).parent / "static" / "standalone.js"


_PAGE_CSS = """
body { margin: 24px; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f1f1f; background: #fff; }
h1 { font-size: 18px; margin: 0 0 8px; }
.ow-page-banner { margin: 0 0 8px; padding: 6px 10px; border-left: 4px solid #1a73e8;
                  background: rgba(26, 115, 232, 0.08); font-size: 13px; max-width: 800px; }
.ow-page-note { margin: 8px 0 0; font-size: 12px; color: #555; max-width: 800px; }
"""

# No request of any kind may leave the page: everything it needs is inline.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
)


def render(
    state: dict[str, Any],
    result: OcclusionResult,
    *,
    targets: Any = None,
    title: str | None = None,
    max_probability_bytes: int = MAX_PROBABILITY_BYTES,
) -> str:
    """The standalone page as a string, for a widget's synced ``state`` (serialised as it goes
    to the browser) and its ``result`` (see :func:`occlusion_widget.export_html` for the rest).

    Examples
    --------
    >>> import numpy as np, occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((16, 16)), patch_size=8, stride=8,
    ...                           progress=False)
    >>> render({"labels": ["light", "dark"], "top_k": 2}, result).startswith("<!DOCTYPE html>")
    True
    """
    targets, title = _checked_options(result, targets, title, max_probability_bytes)
    state = {**state, "_kernel": False}  # the browser switches off what needs Python
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


def _checked_options(result: OcclusionResult, targets: Any, title: Any, max_bytes: Any):
    """``targets`` as a list of class indices (or None) and ``title``, each checked whatever
    the page's mode, so a mistake is told the same way on every page."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string or None; got {type(title).__name__} {title!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise TypeError(
            f"max_probability_bytes must be a number of bytes (an int); got "
            f"{type(max_bytes).__name__} {max_bytes!r}"
        )
    if max_bytes < 0:
        raise ValueError(f"max_probability_bytes must be at least 0; got {max_bytes}")
    if targets is None:
        return None, title
    if isinstance(targets, (int, np.integer)) and not isinstance(targets, bool):
        targets = [targets]
    if isinstance(targets, (str, bytes)) or not hasattr(targets, "__iter__"):
        raise TypeError(
            f"targets must be a list of class indices, e.g. targets=[3, 7]; got {targets!r}"
        )
    return [result._target(t) for t in targets], title


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
        picked = _members(current) + list(targets)
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
