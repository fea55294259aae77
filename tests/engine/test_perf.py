"""The engine's performance machinery keeps the answers exact: the overlapped batch pipeline,
automatic batch sizes, out-of-memory back-off and the coarse-to-fine preview (no timings here;
those live in benchmarks/)."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.grid import make_grid
from occlusion_widget.engine.model import is_out_of_memory
from occlusion_widget.engine.sweep import PREVIEW_BATCHES, auto_batch_size
from tests.helpers.models import region_model

IMAGE = np.random.default_rng(0).uniform(0, 1, (24, 20, 3)).astype(np.float32)


def _weights_model(batch):
    """A deterministic linear model over a coarse view of the image (3 classes).

    Summed per row rather than through a matrix product, whose BLAS kernel (and so its last
    bits) changes with the number of rows: the engine must be exact, so must the model."""
    batch = np.asarray(batch)
    x = batch[:, ::4, ::4].reshape(len(batch), -1)
    w = np.linspace(-1, 1, x.shape[1] * 3, dtype=np.float32).reshape(-1, 3)
    return (x[:, :, None] * w[None]).sum(axis=1)


def _sweep(model, batch_size, preprocess=None, image=IMAGE):
    return ow.occlusion_map(
        model,
        image,
        patch_size=(6, 4),
        stride=(3, 2),
        baseline="black",
        preprocess=preprocess,
        batch_size=batch_size,
        progress=False,
    )


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7, 64, 1000, None])
def test_pipelined_sweep_is_identical_for_every_batch_size(batch_size):
    reference = _sweep(_weights_model, 1)
    result = _sweep(_weights_model, batch_size)
    assert result.complete
    np.testing.assert_array_equal(result.probabilities, reference.probabilities)
    np.testing.assert_array_equal(result.base_probabilities, reference.base_probabilities)


@pytest.mark.parametrize("batch_size", [1, 4, 9, None])
def test_in_place_preprocess_and_a_model_returning_views_of_its_input(batch_size):
    # keras' preprocess_input divides numpy batches in place, and a model may hand back a view
    # of its input: neither may leak into the next batch, which is built while this one runs.
    def in_place(batch):
        batch *= 2.0
        batch -= 1.0
        return batch

    def view_model(batch):
        return batch[:, 0, :2, 0]  # a view, not a copy

    def copy_preprocess(batch):
        return batch * 2.0 - 1.0

    expected = _sweep(lambda b: np.array(view_model(b)), 1, copy_preprocess)
    result = _sweep(view_model, batch_size, in_place)
    np.testing.assert_array_equal(result.probabilities, expected.probabilities)


def test_the_model_runs_in_the_callers_thread_and_no_worker_outlives_the_sweep():
    threads = set()

    def model(batch):
        threads.add(threading.current_thread())
        return _weights_model(batch)

    before = threading.active_count()
    _sweep(model, 5)
    assert threads == {threading.current_thread()}
    # Closing the generator early also stops its worker.
    sweep = ow.iter_occlusion(model, IMAGE, patch_size=(6, 4), stride=(3, 2), batch_size=5)
    next(sweep)
    sweep.close()
    assert threading.active_count() == before


class _FakeOOM:
    """A model that runs out of memory above ``limit`` images per call."""

    def __init__(self, limit, error=MemoryError):
        self.limit = limit
        self.error = error
        self.sizes = []

    def __call__(self, batch):
        self.sizes.append(len(batch))
        if len(batch) > self.limit:
            raise self.error(f"failed to allocate a batch of {len(batch)}")
        return _weights_model(batch)


class ResourceExhaustedError(Exception):
    """Named like TensorFlow's out-of-memory error."""


class OutOfMemoryError(RuntimeError):
    """Named like torch's out-of-memory error."""


@pytest.mark.parametrize("error", [MemoryError, ResourceExhaustedError, OutOfMemoryError])
@pytest.mark.parametrize("batch_size", [16, None])
def test_out_of_memory_halves_the_batch_and_keeps_the_answer(error, batch_size):
    reference = _sweep(_weights_model, 1)
    model = _FakeOOM(limit=3, error=error)
    result = _sweep(model, batch_size)
    assert result.complete
    np.testing.assert_array_equal(result.probabilities, reference.probabilities)
    np.testing.assert_array_equal(result.base_probabilities, reference.base_probabilities)
    # Halved until it fits (16 -> 8 -> 4 -> 2), then every later call uses the smaller batch.
    first_fit = next(i for i, size in enumerate(model.sizes) if size <= 3)
    sizes = model.sizes
    assert sizes[: first_fit + 1] == [sizes[0] // 2**i for i in range(first_fit + 1)]
    assert set(model.sizes[first_fit:]) == {model.sizes[first_fit]}


def test_out_of_memory_in_preprocess_also_backs_off():
    def preprocess(batch):
        if len(batch) > 2:
            raise MemoryError("Unable to allocate 1.2 GiB")
        return batch

    reference = _sweep(_weights_model, 1)
    result = _sweep(_weights_model, 8, preprocess)
    np.testing.assert_array_equal(result.probabilities, reference.probabilities)


def test_out_of_memory_even_with_one_image_says_so():
    with pytest.raises(ow.ModelError, match=r"^out of memory even with a batch of 1 image") as info:
        _sweep(_FakeOOM(limit=0), 4)
    assert isinstance(info.value.__cause__, MemoryError)


def test_other_errors_are_not_mistaken_for_out_of_memory():
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert is_out_of_memory(ResourceExhaustedError("OOM when allocating tensor"))
    assert not is_out_of_memory(RuntimeError("shapes do not match"))
    assert not is_out_of_memory(ValueError("out of memory"))  # a ValueError is a user error
    calls = []

    def model(batch):
        calls.append(len(batch))
        raise ValueError("bad input")

    with pytest.raises(ow.ModelError, match=r"^the model raised ValueError"):
        _sweep(model, 8)
    assert calls == [8]  # no retry with smaller batches


def test_automatic_batch_is_a_small_share_of_the_sweep_and_bounded_by_memory():
    assert auto_batch_size(730, 224 * 224 * 3 * 4) == 32
    assert auto_batch_size(11026, 224 * 224 * 3 * 4) == 32
    assert auto_batch_size(11026, 224 * 224 * 3 * 4, accelerator=True) == 256
    assert auto_batch_size(730, 224 * 224 * 3 * 4, accelerator=True) == math.ceil(730 / 16)
    assert auto_batch_size(730, 224 * 224 * 3 * 4, backend="torch") == 16
    assert auto_batch_size(730, 224 * 224 * 3 * 4, accelerator=True, backend="torch") == 46
    assert auto_batch_size(5, 100) == 5
    assert auto_batch_size(10_000, 4096 * 4096 * 3 * 4) == 1  # a huge image: one at a time
    for n in (50, 226, 730, 11026):
        size = auto_batch_size(n, 224 * 224 * 3 * 4)
        assert size <= max(8, math.ceil(n / PREVIEW_BATCHES))


@pytest.mark.parametrize(("backend", "expected"), [("torch", 16), ("tensorflow", 32)])
def test_automatic_batch_follows_the_backend_on_a_cpu(monkeypatch, backend, expected):
    # torch on a CPU runs large batches slower (benchmarks/RESULTS.md): its cap is smaller.
    from occlusion_widget.engine import sweep

    real = sweep.make_forward

    def as_backend(*args, **kwargs):
        forward = real(*args, **kwargs)
        forward.backend = backend
        return forward

    monkeypatch.setattr(sweep, "make_forward", as_backend)
    sizes = []

    def model(batch):
        sizes.append(len(batch))
        return _weights_model(batch)

    image = np.random.default_rng(1).uniform(0, 1, (64, 64, 3)).astype(np.float32)
    auto = ow.occlusion_map(model, image, patch_size=4, stride=1, progress=False)  # 3,721 positions
    assert max(sizes) == expected
    exact = ow.occlusion_map(
        _weights_model, image, patch_size=4, stride=1, batch_size=5, progress=False
    )
    np.testing.assert_array_equal(auto.probabilities, exact.probabilities)


def _coarse_cells(grid):
    """The first level of the coarse-to-fine order: the cells a whole-image preview needs."""
    order = grid.order()
    rows = np.arange(grid.rows)
    cols = np.arange(grid.cols)
    step = 1
    while step * 2 <= max(grid.rows, grid.cols) // 2:
        step *= 2
    r_on = (rows % step == 0) | (rows == grid.rows - 1)
    c_on = (cols % step == 0) | (cols == grid.cols - 1)
    coarse = np.flatnonzero(np.outer(r_on, c_on).ravel())
    assert set(order[: coarse.size].tolist()) == set(coarse.tolist())
    return coarse


@pytest.mark.parametrize(
    ("image_hw", "patch", "stride"),
    [((224, 224), 16, 8), ((224, 224), 16, 2), ((64, 48), 8, 4), ((32, 32), 4, 2)],
)
def test_the_first_batches_cover_the_coarse_grid(image_hw, patch, stride):
    grid = make_grid(image_hw, patch, stride)
    coarse = _coarse_cells(grid)
    # The coarse level spans the whole image: its cells' windows touch every edge region.
    rows, cols = np.divmod(coarse, grid.cols)
    assert {0, grid.rows - 1} <= set(rows.tolist()) and {0, grid.cols - 1} <= set(cols.tolist())

    def model(batch):
        return np.stack([batch.mean(axis=(1, 2, 3)), 1 - batch.mean(axis=(1, 2, 3))], 1)

    image = np.ones((*image_hw, 3), np.float32)
    sweep = ow.iter_occlusion(model, image, patch_size=patch, stride=stride, baseline="black")
    params = ow.engine.validate_params(image, patch_size=patch, stride=stride)
    k = math.ceil((coarse.size + 1) / params.batch_size)  # +1: the unoccluded image rides along
    for _ in range(k):
        partial = next(sweep)
    sweep.close()
    assert partial.computed.ravel()[coarse].all()
    # No batch more than the coarse level needs; on a real image size that is the first batch,
    # a 1/PREVIEW_BATCHES share of the sweep.
    assert (k - 1) * params.batch_size < coarse.size + 1
    if image_hw == (224, 224):
        assert k == 1
        assert params.batch_size <= math.ceil((grid.total + 1) / PREVIEW_BATCHES)


def test_a_region_model_is_exact_with_the_automatic_batch():
    model = region_model(4, 4, 8, 8)
    result = ow.occlusion_map(
        model, np.ones((16, 16)), patch_size=4, stride=4, baseline="black", progress=False
    )
    expected = np.zeros((4, 4))
    expected[1:3, 1:3] = 16 / 64
    np.testing.assert_allclose(result.sensitivity(1), expected, atol=1e-7)
