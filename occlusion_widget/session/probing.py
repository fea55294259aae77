"""The live occluder: one model call on a hand-drawn region, the way the shown sweep fills a patch.

The engine does the work (:func:`occlusion_widget.engine.probe.probe`); this module picks the
shown sweep's exact inputs. The widget's probe message (``docs/protocol.md``) is read and
answered in :mod:`occlusion_widget.widget.messages`.

Threads: a probe is one forward pass, run in the caller's thread (the kernel's, for a message).
It is refused while a sweep runs, and it holds the session's ``model_lock`` as every batch of a
sweep does, so the model is never called by a sweep and a probe together (user callables and
some backends are not safe to call from two threads at once): a sweep started during a probe
waits for it.
"""

from __future__ import annotations

from typing import Any

from ..engine.probe import ProbeResult
from ..engine.probe import probe as engine_probe

__all__ = ["probe", "probe_inputs"]


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
    >>> sorted(probe_inputs(session))  # doctest: +SKIP
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
    >>> probe(session, (0, 0, 8, 8)).probabilities.shape  # doctest: +SKIP
    (6,)
    """
    inputs = probe_inputs(session)
    # Not holding session.lock: a sweep's worker takes the two locks one at a time, never
    # together, and so does this.
    with session.model_lock:
        return engine_probe(inputs.pop("model"), inputs.pop("image"), region, **inputs)
