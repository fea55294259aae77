"""The four-colour toy model of the browser tests, importable by a marimo app and a test alike.

Four colour regions of different sizes; each class scores how many pixels have its colour, so
hiding part of the red region (the largest) makes green win there.
"""

from __future__ import annotations

import numpy as np

LABELS = ["red", "green", "blue", "yellow"]
COLOURS = np.array([[220, 30, 30], [30, 200, 30], [30, 30, 220], [220, 220, 30]], np.float32)


def toy_image() -> np.ndarray:
    image = np.zeros((64, 64, 3), np.uint8)
    image[:36, :32] = COLOURS[0]  # 1152 red pixels: the unoccluded prediction
    image[:34, 32:] = COLOURS[1]  # 1088 green
    image[36:, :32] = COLOURS[2]  # 896 blue
    image[34:, 32:] = COLOURS[3]  # 960 yellow
    noise = np.random.default_rng(0).integers(-10, 11, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def toy_model(batch: np.ndarray) -> np.ndarray:
    x = np.asarray(batch, np.float32)
    distance = np.linalg.norm(x[..., None, :] - COLOURS, axis=-1)
    z = (distance < 60).sum(axis=(1, 2)).astype(np.float32) / 64.0
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
