"""The live occluder: one model call on a hand-drawn region, the way the shown sweep fills a patch.

The browser sends ``{type: "probe", id, region}`` (a box, or a mask in the message's first
binary buffer); the widget answers with the probabilities. The engine does the work
(:func:`occlusion_widget.engine.probe.probe`); this module picks the shown sweep's exact inputs
and turns the answer into the reply of ``docs/protocol.md``.

Threads: a probe is one forward pass, run in the caller's thread (the kernel's, for a message).
It is refused while a sweep runs, and it holds the session's ``model_lock`` as every batch of a
sweep does, so the model is never called by a sweep and a probe together (user callables and
some backends are not safe to call from two threads at once): a sweep started during a probe
waits for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..engine.probe import ProbeResult, describe_region
from ..engine.probe import probe as engine_probe
from .topk import top_classes

__all__ = ["probe", "probe_inputs", "probe_reply", "region_from_message"]


def probe_inputs(session: Any) -> dict[str, Any]:
    """The model, image and keywords of :func:`~occlusion_widget.engine.probe.probe` for the
    session's shown sweep: its own fill image (so ``"noise"`` and ``"blur"`` match), mode,
    preprocess, value range and the output kind it settled on.

    Raises
    ------
    RuntimeError
        No model (a saved result), or a sweep is running.

    Examples
    --------
    >>> sorted(probe_inputs(session))
    ['baseline', 'image', 'mode', 'model', 'output', 'preprocess', 'value_range']
    """
    with session.lock:
        if session.model is None:
            raise RuntimeError(
                "this widget shows a saved result and has no model to probe; pass model= to "
                "OcclusionWidget.from_result (or open_dataset) to probe regions"
            )
        if session.status == "running":
            progress = session.progress
            raise RuntimeError(
                f"the model is busy with the running sweep ({progress['done']} of "
                f"{progress['total']} positions); probe again when it ends, or cancel it"
            )
        validated, params, result = session.validated, session.params, session.result
        output = params["output"]
        # Every probe reads the scores as the sweep did; a result rebuilt from a dataset store
        # does not say how (output_kind ""), so the sweep's `output` decides.
        if result is not None and result.output_kind:
            logits = result.output_kind in ("softmax", "sigmoid_logit")
            output = "logits" if logits else "probabilities"
        return {
            "model": session.model,
            "image": validated.image.pixels,
            "baseline": validated.baseline,
            "preprocess": params["preprocess"],
            "value_range": validated.image.value_range,
            "output": output,
            "mode": validated.mode,
        }


def probe(session: Any, region: Any) -> ProbeResult:
    """Run the session's model once with ``region`` filled as its shown sweep fills a patch.

    A probe on a grid cell's box returns that cell's probabilities.

    Examples
    --------
    >>> probe(session, (0, 0, 8, 8)).probabilities.round(2)  # cell (0, 0)'s box
    array([0.1, 0. , 0.9], dtype=float32)
    """
    inputs = probe_inputs(session)
    # Not holding session.lock: a sweep's worker takes the two locks one at a time, never
    # together, and so does this.
    with session.model_lock:
        return engine_probe(inputs.pop("model"), inputs.pop("image"), region, **inputs)


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
