"""Tiny models for the dataset-sweep tests (fixed weights: nothing is trained)."""

from __future__ import annotations

import numpy as np

from tests.helpers.models import softmax


def brightness_model(num_classes=3):
    """Class scores from the means of the image's horizontal bands (numpy, any size).

    Hiding a band (black patch) lowers its class, so predictions flip in known places.
    """

    def model(batch):
        batch = np.asarray(batch, np.float32)
        bands = np.array_split(np.arange(batch.shape[1]), num_classes)
        scores = np.stack([batch[:, b].mean(axis=(1, 2, 3)) for b in bands], axis=1)
        return softmax(8.0 * scores, axis=1)

    return model


def tiny_keras_model(size=8, channels=3, num_classes=4, seed=0):
    """A 2-layer Keras CNN with fixed seeded weights, for a .keras file the Ray workers load."""
    import keras

    rng = np.random.default_rng(seed)
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.set_weights([rng.normal(0, 1, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def images(n, size=8, channels=3, seed=0):
    """``n`` seeded uint8 images."""
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


class BandModel:
    """:func:`brightness_model` as a picklable class (Ray ships a plain callable pickled)."""

    def __init__(self, num_classes=3):
        self.num_classes = num_classes

    def __call__(self, batch):
        return brightness_model(self.num_classes)(batch)


class DiesOnce(BandModel):
    """:class:`BandModel` whose process kills itself (SIGKILL, as the kernel's OOM killer or
    ``kill -9`` would) at its ``at_call``-th model call, once per ``marker`` file.

    The marker is created atomically before the kill, so exactly one process dies however many
    share the file, and the restarted one (which finds the marker) sweeps on. The marker holds
    the dead process's id.
    """

    def __init__(self, marker, at_call=3, num_classes=3):
        super().__init__(num_classes)
        self.marker = str(marker)
        self.at_call = at_call
        self.calls = 0

    def __call__(self, batch):
        import os
        import signal

        self.calls += 1
        if self.calls == self.at_call:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(batch)


class DiesEveryTime(BandModel):
    """:class:`BandModel` whose every process kills itself (SIGKILL) at its first model call,
    leaving a file named after its process id in ``folder``: an image that always kills its
    worker (as one that runs it out of memory would)."""

    def __init__(self, folder, num_classes=3):
        super().__init__(num_classes)
        self.folder = str(folder)

    def __call__(self, batch):
        import os
        import signal

        open(os.path.join(self.folder, str(os.getpid())), "w").close()
        os.kill(os.getpid(), signal.SIGKILL)


class ThreadsSeen:
    """A 2-class model that says what thread-pool sizes its process was started with: class 0
    when ``TF_NUM_INTRAOP_THREADS`` and ``OMP_NUM_THREADS`` both equal ``expected``, else 1."""

    def __init__(self, expected):
        self.expected = str(expected)

    def __call__(self, batch):
        import os

        import numpy as np

        names = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")
        ok = all(os.environ.get(name) == self.expected for name in names)
        out = np.zeros((len(batch), 2), np.float32)
        out[:, 0 if ok else 1] = 1.0
        return out


def counting_model():
    """``brightness_model()`` counting what it is asked: ``(model, calls)``, one entry per call,
    the number of rows with a black patch (positions swept; the unoccluded image, a store's
    identity check and a packed call's padding have none)."""
    inner, calls = brightness_model(), []

    def model(batch):
        calls.append(int((np.asarray(batch).reshape(len(batch), -1).min(axis=1) == 0).sum()))
        return inner(batch)

    return model, calls
