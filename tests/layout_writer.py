"""A writer process that hangs in the middle of writing a shard, to be killed (kill -9).

    python layout_writer.py STORE N SYNC MODE

Sweeps the first N banded images (store_writer.banded) into STORE with the store tests'
parameters. MODE ``fold``: the fold writes its first field, then hangs before the others.
MODE ``midfile``: the shard file of the field ``image`` is half written (its temporary file),
then the writer hangs. Either way SYNC/hanging is touched first.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from models_dataset import brightness_model
from store_writer import banded

import occlusion_widget as ow
from occlusion_widget.dataset import layout


def hang(sync: Path) -> None:
    (sync / "hanging").touch()
    time.sleep(600)


def main(store, n, sync, mode):
    sync = Path(sync)
    if mode == "fold":

        def first_field_then_hang(self, start, stacked):
            name = sorted(stacked)[0]
            self.arrays[name][start : start + len(stacked[name])] = stacked[name]
            hang(sync)

        layout.Layout.write = first_field_then_hang
    else:
        from zarr.storage import _local

        put = _local._put

        def half_then_hang(path, value, exclusive=False):
            if "/image/c/" not in str(path):
                return put(path, value, exclusive)
            data = bytes(value.as_buffer_like())
            partial = Path(path).with_suffix(".0123abcd.partial")
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data[: len(data) // 2])
            hang(sync)

        _local._put = half_then_hang
    ow.sweep_dataset(
        brightness_model(),
        banded(n),
        store=store,
        patch_size=4,
        stride=4,
        baseline="black",
        batch_size=64,
        progress=False,
    )
    return 0


if __name__ == "__main__":
    store, n, sync, mode = sys.argv[1:5]
    sys.exit(main(store, int(n), sync, mode))
