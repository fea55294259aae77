"""Report a sweep's progress: a tqdm bar, a ``callable(done, total)``, or nothing."""

from __future__ import annotations


class _Progress:
    def __init__(self, progress, total):
        self._callback = None
        self._bar = None
        if callable(progress) and not isinstance(progress, bool):
            self._callback = progress
        else:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="occlusion", unit="pos", leave=False)

    def __call__(self, done, total):
        if self._callback is not None:
            self._callback(done, total)
        elif self._bar is not None:
            self._bar.update(done - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _make_progress(progress, total):
    if progress is None or progress is False:
        return None
    return _Progress(progress, total)
