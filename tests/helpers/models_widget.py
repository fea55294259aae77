"""Tiny numpy models for the widget and session tests (milliseconds per sweep).

The slow cases block on an Event instead of sleeping, so they are deterministic.
"""

from __future__ import annotations

import threading

import numpy as np

from tests.helpers.models import softmax

IMAGE = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
NAMES = ["zero", "one", "two", "three", "four", "five"]


def corner_model(batch: np.ndarray) -> np.ndarray:
    """Class 1 = mean brightness of the top-left 8x8 corner, class 0 = the rest."""
    p = batch[:, :8, :8].mean(axis=(1, 2, 3))
    return np.stack([1 - p, p], axis=1)


def band_model(batch: np.ndarray, k: int = 6) -> np.ndarray:
    """Softmax over the mean brightness of k horizontal bands: k classes, all position-dependent."""
    bands = np.array_split(np.arange(batch.shape[1]), k)
    z = np.stack([batch[:, rows].mean(axis=(1, 2, 3)) for rows in bands], axis=1) * 6.0
    return softmax(z, axis=1)


def softmax_model(num_classes: int, seed: int = 1):
    """A fixed random linear layer + softmax over a coarse subsample: ``num_classes`` classes
    whose probabilities all depend on where the patch is."""
    weights = None

    def model(batch: np.ndarray) -> np.ndarray:
        nonlocal weights
        x = np.asarray(batch)[:, ::4, ::4].reshape(len(batch), -1)
        if weights is None:
            rng = np.random.default_rng(seed)
            weights = rng.normal(size=(x.shape[1], num_classes)).astype(np.float32)
        return softmax(x @ weights, axis=1)

    return model


class CountingModel:
    """Counts calls; blocks on call number ``block_at`` until released (to pause a sweep).

    ``inside`` is set while a call is running, so a test can see that the model is still busy.
    """

    def __init__(
        self,
        inner=band_model,
        block_at: int | None = None,
        fail: bool = False,
        fail_at: int | None = None,
    ) -> None:
        self.inner = inner
        self.block_at = block_at
        self.fail = fail
        self.fail_at = fail_at  # fail on this call number only
        self.calls = 0
        self.reached = threading.Event()
        self.release = threading.Event()
        self.inside = threading.Event()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.inside.set()
        try:
            self.calls += 1
            if self.fail or self.calls == self.fail_at:
                raise ZeroDivisionError("the model divided by zero")
            if self.block_at is not None and self.calls == self.block_at:
                self.reached.set()
                assert self.release.wait(10), "the test never released the model"
            return self.inner(batch)
        finally:
            self.inside.clear()


def flat_model(batch: np.ndarray) -> np.ndarray:
    """Three classes whose probabilities no patch changes: every map of it says nothing."""
    return np.tile(np.array([[0.25, 0.5, 0.25]], np.float32), (len(batch), 1))


class Recording:
    """An ``on_update`` callback that keeps (event, generation, done, status) of every call."""

    def __init__(self) -> None:
        self.session = None
        self.events: list[tuple[str, int, int, str]] = []

    def __call__(self, event: str) -> None:
        s = self.session
        self.events.append((event, s.generation, s.progress["done"], s.status))
