"""The table's metric columns for many images at once: :func:`.summary.summarize`'s numbers,
computed with one numpy call per column for a whole group of images.

Per image, ``summarize`` makes some forty small numpy calls; for a 32x32 image with 9
positions they cost about half of what the model does, and a dataset sweep packed at the
model's speed would spend most of its time there. Every value here equals ``summarize``'s
exactly (the same float64 operations along the same axes; the tests compare them).
"""

from __future__ import annotations

import numpy as np

from .summary import _entropy

__all__ = ["summarize_many"]


def summarize_many(probabilities, base_probabilities, labels, tops, lefts) -> list[dict]:
    """The metric columns of :data:`.summary.COLUMNS` for images sharing one grid.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(N, rows, cols, K)`` every image's complete result probabilities.
    base_probabilities : numpy.ndarray
        ``(N, K)`` the unoccluded images' probabilities.
    labels : sequence of int
        True classes, -1 when unknown.
    tops, lefts : numpy.ndarray
        The grid's row and column starts.

    Returns
    -------
    list of dict
        One dict per image, equal to ``summarize(result, label)``.

    Examples
    --------
    >>> probs = np.array([[[[0.9, 0.1], [0.4, 0.6]]]], np.float32)  # 1 image, 1 x 2 positions
    >>> row = summarize_many(probs, np.array([[0.8, 0.2]]), [0], [0], [0, 4])[0]
    >>> row["predicted"], row["flip_fraction"], row["flip_class"], row["correct"]
    (0, 0.5, 1, True)
    """
    probs = np.asarray(probabilities).astype(np.float64)
    base = np.asarray(base_probabilities).astype(np.float64)
    n_images, rows, cols, k = probs.shape
    images = np.arange(n_images)
    pred = np.argmax(base, axis=1)
    classes = np.argmax(np.asarray(probabilities), axis=3).reshape(n_images, -1)
    n = rows * cols
    flips = classes != pred[:, None]
    # Per image and class: positions predicting it (winners), and those among the flips.
    onehot = classes[:, :, None] == np.arange(k)[None, None, :]
    wins = onehot.sum(axis=1)
    flip_counts = wins.copy()
    flip_counts[images, pred] = 0
    flip_class = np.argmax(flip_counts, axis=1)  # the most frequent, the smallest on a tie
    n_flips = flips.sum(axis=1)
    top = base[images, pred]
    drop = (top[:, None, None] - probs[images, :, :, pred]).reshape(n_images, -1)
    at = np.argmax(drop, axis=1)
    if k > 1:
        others = probs.copy()
        others[images, :, :, pred] = -np.inf
        margins = probs[images, :, :, pred] - others.max(axis=3)
        runner_up = np.sort(base, axis=1)[:, -2]
    else:
        margins = probs[images, :, :, pred] - np.zeros((n_images, rows, cols))
        runner_up = np.zeros(n_images)
    entropy = _entropy(probs)
    base_entropy = _entropy(base)
    # Reductions over both grid axes of contiguous images: the same pairwise sums per image.
    margin_min, margin_mean = margins.min(axis=(1, 2)), margins.mean(axis=(1, 2))
    entropy_mean, entropy_max = entropy.mean(axis=(1, 2)), entropy.max(axis=(1, 2))
    out = []
    for i in images:
        label, p = int(labels[i]), int(pred[i])
        has_label = 0 <= label < k
        r, c = divmod(int(at[i]), cols)
        flipped = int(n_flips[i])
        order = np.lexsort((np.arange(k), -wins[i]))
        order = order[wins[i][order] > 0]
        out.append(
            {
                "predicted": p,
                "predicted_probability": float(top[i]),
                "true_probability": float(base[i, label]) if has_label else float("nan"),
                "correct": bool(p == label) if has_label else None,
                "positions": n,
                "flip_fraction": float(flipped / n),
                "flip_class": int(flip_class[i]) if flipped else -1,
                "flip_class_fraction": float(flip_counts[i, flip_class[i]] / flipped)
                if flipped
                else 0.0,
                "max_drop": float(drop[i, at[i]]),
                "max_drop_row": r,
                "max_drop_col": c,
                "max_drop_top": int(tops[r]),
                "max_drop_left": int(lefts[c]),
                "base_margin": float(top[i] - runner_up[i]),
                "margin_min": float(margin_min[i]),
                "margin_mean": float(margin_mean[i]),
                "base_entropy": float(base_entropy[i]),
                "entropy_mean": float(entropy_mean[i]),
                "entropy_max": float(entropy_max[i]),
                "winner_classes": [int(x) for x in order],
                "winner_counts": [int(wins[i, x]) for x in order],
            }
        )
    return out
