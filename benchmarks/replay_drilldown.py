"""Replay ways of choosing and filling an approximate map's positions on exact maps.

``method="approximate"`` computes some positions and fills the others from their neighbours
(``engine/quincunx.py``). Its time is the share of positions it computes, so the question for
issue 23 is which schemes reach SSIM 0.9 with fewer positions. This script computes each shared
photo's exact map once (``method="full"``: MobileNetV2 with ImageNet weights, patch 16, stride
8, gray), then replays schemes on it, reading only the cells a scheme asks for, and prints the
share computed, the SSIM of the unoccluded class's map and the predicted-class agreement
(benchmarks/RESULTS.md section 8, "Other ways to choose and fill the positions").

    KERAS_HOME=../shared/assets/keras_home python -m benchmarks.replay_drilldown [--cache DIR]

``--cache DIR`` keeps the exact maps between runs. The gradient proxy needs TensorFlow.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from benchmarks.bench_approximate import _load
from occlusion_widget.engine.adaptive import ssim
from occlusion_widget.engine.grid import lattice, make_grid
from occlusion_widget.engine.quincunx import Drill

PHOTOS = ("elephant.jpg", "chelsea.png", "coffee.png")
PATCH, STRIDE, SIZE = 16, 8, 224
# 3x3 neighbourhood weights of one fill pass: 1 along an axis, 1/2 on a diagonal.
WEIGHTS = np.array([[0.5, 1.0, 0.5], [1.0, 0.0, 1.0], [0.5, 1.0, 0.5]])


def exact_maps(cache: Path | None):
    import keras

    import occlusion_widget as ow

    model = keras.applications.MobileNetV2(weights="imagenet")
    prep = keras.applications.mobilenet_v2.preprocess_input
    maps = {}
    for name in PHOTOS:
        path = cache / f"{name}.npz" if cache else None
        if path is not None and path.exists():
            with np.load(path) as saved:
                maps[name] = (saved["p"], saved["base"])
            continue
        r = ow.occlusion_map(
            model,
            _load(name, SIZE),
            patch_size=PATCH,
            stride=STRIDE,
            preprocess=prep,
            method="full",
            progress=False,
        )
        maps[name] = (r.probabilities, r.base_probabilities)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, p=r.probabilities, base=r.base_probabilities)
    return model, prep, maps


def score(p, base, approx, exact):
    c = int(np.argmax(base))
    quality = ssim(base[c] - p[..., c], base[c] - approx[..., c])
    return float(exact.mean()), float(quality), float(np.mean(approx.argmax(2) == p.argmax(2)))


def shipped(p, base, tolerance=0.5):
    """The drill-down as the engine runs it; returns its computed cells too."""
    grid = make_grid((SIZE, SIZE), PATCH, STRIDE)
    flat = p.reshape(grid.total, -1)
    drill = Drill(grid, tolerance)
    cells = drill.first()
    drill.add(cells, flat[cells], base=base)
    while len(cells := drill.advance()):
        drill.add(cells, flat[cells])
    return drill.probabilities, drill.exact


def refill(p, exact, log=False, power=2.0):
    """Fill the cells ``exact`` leaves out, centres of the lattice's blocks first, then the
    rest, each from the known cells of its 3x3 neighbourhood (inverse distance ** power)."""
    values = np.where(exact[..., None], np.log(np.maximum(p, 1e-7)) if log else p, np.nan)
    known = exact.copy()
    centres = np.zeros_like(exact)
    centres[1:-1:2, 1:-1:2] = True
    for stage in (centres, np.ones_like(exact)):
        todo = list(zip(*np.nonzero(stage & ~known), strict=True))
        filled = []
        for i, j in todo:
            r, c = slice(max(i - 1, 0), i + 2), slice(max(j - 1, 0), j + 2)
            ii, jj = np.nonzero(known[r, c])
            ii, jj = ii + r.start, jj + c.start
            w = 1.0 / np.hypot(ii - i, jj - j) ** power
            filled.append(((i, j), (w[:, None] * values[ii, jj]).sum(0) / w.sum()))
        for (i, j), value in filled:
            values[i, j], known[i, j] = value, True
    if log:
        values = np.exp(values - values.max(-1, keepdims=True))
        values /= values.sum(-1, keepdims=True)
    return values.astype(np.float32)


def coarse_start(p, base, tolerances):
    """Every 4th row and column, then at spacing 2 and 1 the centres and the edges, each
    computed where its known neighbours disagree (class, or spread > tolerance x scale)."""
    rows, cols, _ = p.shape
    c = int(np.argmax(base))
    v = np.full(p.shape, np.nan, np.float32)
    known = _lattice_mask(rows, cols, 4)
    v[known], exact = p[known], known.copy()
    level = 0
    for step in (4, 2):
        half = step // 2
        old_r, old_c = set(lattice(rows, step).tolist()), set(lattice(cols, step).tolist())
        new = [(i, j) for i in lattice(rows, half) for j in lattice(cols, half)]
        centres = [(i, j) for i, j in new if i not in old_r and j not in old_c]
        edges = [(i, j) for i, j in new if (i in old_r) != (j in old_c)]
        for candidates in (centres, edges):
            scale = float(np.max(np.abs(base[c] - v[..., c][exact]), initial=0.0))
            asked, fills = [], []
            for i, j in candidates:
                r = slice(max(i - half, 0), i + half + 1)
                q = slice(max(j - half, 0), j + half + 1)
                ii, jj = np.nonzero(known[r, q])
                ii, jj = ii + r.start, jj + q.start
                near = v[ii, jj]
                same = len(set(near.argmax(1).tolist())) == 1
                if not same or np.ptp(near[:, c]) > tolerances[level] * scale:
                    asked.append((i, j))
                else:
                    w = 1.0 / ((ii - i) ** 2 + (jj - j) ** 2)
                    fills.append(((i, j), (w[:, None] * near).sum(0) / w.sum()))
            for i, j in asked:
                v[i, j], known[i, j], exact[i, j] = p[i, j], True, True
            for (i, j), value in fills:
                v[i, j], known[i, j] = value, True
            level += 1
    return v, exact


def _lattice_mask(rows, cols, step=2):
    """The cells of the every-``step``-th-row-and-column lattice (last row and column in)."""
    mask = np.zeros((rows, cols), bool)
    mask[np.ix_(lattice(rows, step), lattice(cols, step))] = True
    return mask


def _fill_one_pass(p, exact):
    def correlate(x):
        padded = np.pad(x, ((1, 1), (1, 1)) + ((0, 0),) * (x.ndim - 2))
        out = np.zeros(x.shape, np.float64)
        for di in range(3):
            for dj in range(3):
                if WEIGHTS[di, dj]:
                    out += WEIGHTS[di, dj] * padded[di : di + x.shape[0], dj : dj + x.shape[1]]
        return out

    num = correlate(np.where(exact[..., None], p, 0.0))
    den = correlate(exact.astype(float))[..., None]
    return np.where(exact[..., None], p, num / np.maximum(den, 1e-12))


def ranked(p, base, tolerance, rule):
    """From the every-second-row-and-column lattice, rounds of the 32 cells that score highest
    (``rule``: "spread" of the known neighbours, or "axes": how much the horizontal, vertical
    and diagonal interpolants disagree), until none scores above ``tolerance`` x scale."""
    rows, cols, _ = p.shape
    c = int(np.argmax(base))
    exact = _lattice_mask(rows, cols)
    top = p.argmax(2)
    while True:
        v = p[..., c]
        scale = np.max(np.abs(base[c] - v[exact]))
        padded = np.pad(np.where(exact, v, np.nan), 1, constant_values=np.nan)
        near = np.stack([padded[i : i + rows, j : j + cols] for i in range(3) for j in range(3)])
        with warnings.catch_warnings():  # cells with no known neighbour in a direction
            warnings.simplefilter("ignore", RuntimeWarning)
            spread = np.nanmax(near, 0) - np.nanmin(near, 0)
        if rule == "axes":
            pairs = [(1, 7), (3, 5), (0, 8), (2, 6)]  # vertical, horizontal, two diagonals
            est = np.stack([(near[a] + near[b]) / 2 for a, b in pairs])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                spread = np.where(
                    np.all(np.isnan(est), 0), spread, np.nanmax(est, 0) - np.nanmin(est, 0)
                )
        classes = np.pad(np.where(exact, top, -1), 1, constant_values=-1)
        stack = np.stack([classes[i : i + rows, j : j + cols] for i in range(3) for j in range(3)])
        disagree = np.where(stack >= 0, stack, -(10**9)).max(0) != np.where(
            stack >= 0, stack, 10**9
        ).min(0)
        value = np.where(disagree, np.inf, spread / scale)
        value[exact] = -1
        order = np.argsort(value.ravel())[::-1][:32]
        pick = order[value.ravel()[order] > tolerance]
        if not len(pick):
            return _fill_one_pass(p, exact), exact
        exact.ravel()[pick] = True


def oracle(p, base, target=0.9):
    """Hindsight: add the 10 cells whose fill is furthest from the truth until SSIM >= target."""
    rows, cols, _ = p.shape
    c = int(np.argmax(base))
    exact = _lattice_mask(rows, cols)
    while True:
        approx = refill(p, exact)
        if ssim(base[c] - p[..., c], base[c] - approx[..., c]) >= target or exact.all():
            return approx, exact
        error = np.abs(approx[..., c] - p[..., c])
        error[exact] = -1
        exact.ravel()[np.argsort(error.ravel())[::-1][:10]] = True


def gradient_proxy(model, prep, name, base):
    """Correlation of gradient x (gray - image), summed over each patch, with the true change."""
    import tensorflow as tf

    image = _load(name, SIZE).astype(np.float32)
    c = int(np.argmax(base))
    x = tf.Variable(image[None])
    with tf.GradientTape() as tape:
        prob = model(prep(x * 1.0), training=False)[0, c]
    grad = tape.gradient(prob, x).numpy()[0] * (128.0 - image)
    n = (SIZE - PATCH) // STRIDE + 1
    return np.array(
        [
            [
                grad[STRIDE * i : STRIDE * i + PATCH, STRIDE * j : STRIDE * j + PATCH].sum()
                for j in range(n)
            ]
            for i in range(n)
        ]
    )


def error_predictors(maps) -> None:
    """Rank correlation of each position's fill error (the lattice alone computed) with what a
    rule could know before computing it."""

    def rank(x):
        return np.argsort(np.argsort(x))

    for name, (p, base) in maps.items():
        rows, cols, _ = p.shape
        c = int(np.argmax(base))
        lattice_only = _lattice_mask(rows, cols)
        approx = refill(p, lattice_only)
        error = np.abs(approx[..., c] - p[..., c])
        padded = np.pad(np.where(lattice_only, p[..., c], np.nan), 2, constant_values=np.nan)
        near3 = np.stack(
            [padded[1 + i : 1 + i + rows, 1 + j : 1 + j + cols] for i in range(3) for j in range(3)]
        )
        near5 = np.stack([padded[i : i + rows, j : j + cols] for i in range(5) for j in range(5)])
        fill = np.pad(approx[..., c], 2, mode="edge")
        centre = fill[2:-2, 2:-2]
        image = _load(name, SIZE).astype(np.float32).mean(-1)
        gradient = np.hypot(*np.gradient(image))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            features = {
                "3x3 spread": np.nanmax(near3, 0) - np.nanmin(near3, 0),
                "5x5 std": np.nanstd(near5, 0),
                "curvature": np.abs(fill[:-4, 2:-2] + fill[4:, 2:-2] - 2 * centre)
                + np.abs(fill[2:-2, :-4] + fill[2:-2, 4:] - 2 * centre),
                "fill's entropy": -(approx * np.log(np.maximum(approx, 1e-9))).sum(-1),
                "patch's image gradient": _per_patch(gradient, rows, cols),
            }
        mask = ~lattice_only
        shown = [
            f"{key} {np.corrcoef(rank(f[mask]), rank(error[mask]))[0, 1]:.2f}"
            for key, f in features.items()
        ]
        print(f"fill error's rank correlation, {name}: " + ", ".join(shown))


def _per_patch(values, rows, cols):
    """The mean of ``values`` (an image-sized array) under each position's patch."""
    out = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            top, left = STRIDE * i, STRIDE * j
            out[i, j] = values[top : top + PATCH, left : left + PATCH].mean()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="keep the exact maps in this folder")
    args = parser.parse_args()
    model, prep, maps = exact_maps(args.cache)
    schemes = {
        "shipped drill-down (tolerance 0.5)": lambda p, b: shipped(p, b),
        "its cells, one-pass refill (probabilities)": lambda p, b: _same(p, b),
        "its cells, refill from log-probabilities": lambda p, b: _same(p, b, log=True),
        "its cells, refill, inverse distance ** 1": lambda p, b: _same(p, b, power=1.0),
        "its cells, refill, inverse distance ** 4": lambda p, b: _same(p, b, power=4.0),
        "every 4th row/column, then adaptive": lambda p, b: coarse_start(
            p, b, [0.05, 0.1, 0.1, 0.5]
        ),
        "ranked rounds by spread (0.3)": lambda p, b: ranked(p, b, 0.3, "spread"),
        "ranked rounds by interpolant disagreement (0.1)": lambda p, b: ranked(p, b, 0.1, "axes"),
        "oracle (true fill error, 10 at a time)": oracle,
    }
    print(f"| scheme | share computed | SSIM | agreement |  ({' / '.join(PHOTOS)})")
    print("|---|---|---|---|")
    for label, scheme in schemes.items():
        rows = [score(p, base, *scheme(p, base)) for p, base in maps.values()]
        share, quality, agree = (" / ".join(f"{r[k]:.3f}" for r in rows) for k in range(3))
        print(f"| {label} | {share} | {quality} | {agree} |")
    error_predictors(maps)
    try:
        corr = []
        for name, (p, base) in maps.items():
            proxy = gradient_proxy(model, prep, name, base)
            c = int(np.argmax(base))
            corr.append(np.corrcoef(proxy.ravel(), (p[..., c] - base[c]).ravel())[0, 1])
        print(
            "gradient proxy's correlation with the true change:",
            " / ".join(f"{v:.2f}" for v in corr),
        )
    except ImportError:
        print("gradient proxy: needs TensorFlow (KERAS_BACKEND=tensorflow)")


def _same(p, base, **kw):
    _, exact = shipped(p, base)
    return refill(p, exact, **kw), exact


if __name__ == "__main__":
    main()
