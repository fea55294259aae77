"""Test models and fixtures shared by the tests and the benchmarks (as Captum's
``captum/testing/helpers``): import them as ``from tests.helpers.models import softmax``.

``models*.py`` are tiny deterministic models with hand-computed answers; ``engine_helpers.py``
the batch sizes, the shared assets folder and a runner for other Keras backends; the
``*_fixture.py`` modules write the JSON fixtures the TypeScript tests share with Python
(``python -m tests.helpers.flat_note_fixture``); ``store_writer.py`` is the writer process of the
store tests (``python -m tests.helpers.store_writer``).
"""
