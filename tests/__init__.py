"""The test suite, a package so that its helpers import normally (``tests.helpers``).

Folders mirror the package's: ``engine/``, ``dataset/``, ``session/``, ``widget/``, ``plot/``,
``demo/``, ``page/``; the top level holds the tests of the top-level modules and of the project
as a whole (notebooks, docs, packaging); ``e2e/`` drives a real browser.
"""
