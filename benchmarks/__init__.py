"""The benchmarks, a package: run each from the repository root as a module,
``python -m benchmarks.bench_engine`` (``python -m benchmarks.run_all`` runs the set). They share
``benchmarks.common`` and the tests' tiny models (``tests.helpers``), imported normally.
"""
