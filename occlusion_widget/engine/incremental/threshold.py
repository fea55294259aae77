"""Projective-field thresholding: cap how far a layer's updated box may grow (an approximation).

The region an occluder can change grows layer by layer (its projective field) until, in the
deep layers, it covers most of the map and the incremental pass saves little there. Krypton
(Nakandala et al., SIGMOD 2019, section 4.2) caps it: a layer's updated box is at most a share
``tau`` of the map's height and width, centred on the exact box; outside the capped box the
unoccluded image's activations are reused as they are. The values there did change a little, so
the map is approximate; ``tau = 1`` is the exact pass. Pure numpy, like :mod:`.regions`.
"""

from __future__ import annotations

import numpy as np

from .regions import fit_interval

__all__ = ["capped_interval", "capped_union", "check_tau", "limit"]


def check_tau(tau) -> float:
    """Validate a projective-field threshold: a share of the map in ``(0, 1]``.

    Examples
    --------
    >>> check_tau(0.5)
    0.5
    >>> check_tau(0)
    Traceback (most recent call last):
    ...
    ValueError: tau must be a number in (0, 1] (the largest share of a layer's map an updated \
box may cover; 1 is exact); got 0
    """
    ok = isinstance(tau, (int, float, np.floating, np.integer)) and not isinstance(tau, bool)
    if not ok or not 0 < float(tau) <= 1:
        raise ValueError(
            f"tau must be a number in (0, 1] (the largest share of a layer's map an updated box "
            f"may cover; 1 is exact); got {tau!r}"
        )
    return float(tau)


def limit(n: int, tau: float) -> int:
    """The longest box a map of length ``n`` keeps under threshold ``tau`` (at least 1).

    Examples
    --------
    >>> limit(7, 0.5), limit(14, 0.5), limit(112, 1.0)
    (4, 7, 112)
    """
    return int(min(n, max(1, np.floor(tau * n + 0.5))))


def capped_interval(lo, hi, n: int, tau: float):
    """:func:`~.regions.fit_interval` with the length capped at ``limit(n, tau)``.

    A position whose exact interval ``[lo, hi)`` fits under the cap keeps all of it (the box is
    only shortened, never moved off it); a longer one keeps the cap's length centred on it.

    Examples
    --------
    >>> start, length = capped_interval(np.array([0, 2]), np.array([6, 5]), 8, 0.5)
    >>> start.tolist(), length
    ([1, 1], 4)
    """
    start, length = fit_interval(lo, hi, n)
    cap = limit(n, tau)
    if length <= cap:
        return start, length
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    centred = (lo + hi) // 2 - cap // 2
    # Where the exact interval fits, keep it inside the box: start within [hi - cap, lo].
    fits = hi - lo <= cap
    centred = np.where(fits, np.clip(centred, hi - cap, lo), centred)
    return np.clip(centred, 0, n - cap), cap


def capped_union(starts, lengths, n: int, tau: float):
    """The box covering several inputs' boxes (a merge layer), capped like
    :func:`capped_interval`.

    Examples
    --------
    >>> start, length = capped_union([np.array([0]), np.array([3])], [3, 3], 10, 0.4)
    >>> start.tolist(), length
    ([1], 4)
    """
    lo = np.min([np.asarray(s, np.int64) for s in starts], axis=0)
    hi = np.max([np.asarray(s, np.int64) + ln for s, ln in zip(starts, lengths, strict=True)], 0)
    return capped_interval(lo, hi, n, tau)
