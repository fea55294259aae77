"""Where an occluder can change each layer's output: box rules per layer type, pure numpy.

A box is kept per axis as a start offset for every occluder position (an int array) and one
length shared by all positions, so that the incremental forward pass keeps fixed shapes and
stays batched and compiled (Krypton's batched incremental inference). Where the exact affected
interval is shorter (at a border, or from stride alignment), the box keeps the common length and
is shifted inward: it still covers every changed value, and values it covers that did not change
are recomputed to the same numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["conv_geometry", "conv_interval", "fit_interval", "union_interval", "window_interval"]


def conv_geometry(n_in: int, kernel: int, stride: int, dilation: int, padding: str):
    """Output length and zero padding before the first input of a sliding-window layer.

    'same' pads ``total = max((n_out - 1) * stride + span - n_in, 0)`` zeros, with the smaller
    half (``total // 2``) before the first input: with stride 2 and an even input the padding is
    asymmetric, and the window grid starts at ``-pad_before``.

    Parameters
    ----------
    n_in : int
        Input length along the axis.
    kernel, stride, dilation : int
        The layer's window along the axis.
    padding : {"valid", "same"}

    Returns
    -------
    n_out, pad_before : int

    Examples
    --------
    >>> conv_geometry(224, 3, 2, 1, "same")
    (112, 0)
    >>> conv_geometry(7, 3, 1, 1, "same")
    (7, 1)
    >>> conv_geometry(7, 3, 2, 1, "valid")
    (3, 0)
    """
    span = (kernel - 1) * dilation + 1
    if padding == "same":
        n_out = -(-n_in // stride)
        total = max((n_out - 1) * stride + span - n_in, 0)
        return n_out, total // 2
    if padding == "valid":
        return (n_in - span) // stride + 1, 0
    raise ValueError(f"padding must be 'valid' or 'same'; got {padding!r}")


def conv_interval(start, length, n_out, kernel, stride, dilation, pad_before):
    """Output indices that read any input in ``[start, start + length)``, per position.

    Output ``o`` reads inputs ``o * stride - pad_before + j * dilation`` for ``j < kernel``; the
    interval returned covers every such ``o`` (with dilation it may also hold outputs whose taps
    skip the interval: an upper bound, never too small).

    Returns
    -------
    lo, hi : numpy.ndarray
        Inclusive-exclusive output intervals, clipped to ``[0, n_out]`` (``lo == hi`` when the
        layer never reads the changed inputs).

    Examples
    --------
    >>> lo, hi = conv_interval(np.array([0, 8, 14]), 2, 8, 3, 2, 1, 0)
    >>> lo.tolist(), hi.tolist()
    ([0, 3, 6], [1, 5, 8])
    """
    start = np.asarray(start, np.int64)
    span = (kernel - 1) * dilation
    lo = -((-(start + pad_before - span)) // stride)  # ceil division
    hi = (start + length - 1 + pad_before) // stride + 1
    return np.clip(lo, 0, n_out), np.clip(hi, 0, n_out)


def fit_interval(lo, hi, n: int):
    """One length for every position, and starts shifted inward so each box stays in ``[0, n)``.

    Parameters
    ----------
    lo, hi : numpy.ndarray
        Per-position intervals ``[lo, hi)`` that must be covered.
    n : int
        The axis length.

    Returns
    -------
    start : numpy.ndarray
    length : int
        At least 1 and at most ``n``.

    Examples
    --------
    >>> start, length = fit_interval(np.array([0, 3, 6]), np.array([1, 5, 8]), 8)
    >>> start.tolist(), length
    ([0, 3, 6], 2)
    """
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    length = int(min(max(1, int((hi - lo).max())), n))
    start = np.clip(np.minimum(lo, n - length), 0, n - length)
    return start, length


def union_interval(starts, lengths, n: int):
    """The box covering several inputs' boxes (Add, Multiply, Concatenate), per position.

    Examples
    --------
    >>> start, length = union_interval([np.array([0, 4]), np.array([1, 6])], [3, 3], 10)
    >>> start.tolist(), length
    ([0, 4], 5)
    """
    lo = np.min([np.asarray(s, np.int64) for s in starts], axis=0)
    hi = np.max([np.asarray(s, np.int64) + ln for s, ln in zip(starts, lengths, strict=True)], 0)
    return fit_interval(lo, hi, n)


def window_interval(out_start, out_length, kernel, stride, dilation, pad_before):
    """The input window an output box needs: start (may be negative: zero padding) and length.

    Examples
    --------
    >>> start, length = window_interval(np.array([0, 3]), 2, 3, 2, 1, 1)
    >>> start.tolist(), length
    ([-1, 5], 5)
    """
    start = np.asarray(out_start, np.int64) * stride - pad_before
    return start, (out_length - 1) * stride + (kernel - 1) * dilation + 1
