"""The ```python blocks of README.md and docs/**/*.md, as a reader pastes them.

Cheap and deterministic on any machine: every block parses; every name a block reads is defined
by an earlier block of its page, imported, or one the reader brings (their model, image,
preprocess, a box); every ``ow.NAME`` (``occlusion_widget.NAME``) and every method of a result
the page made exists; every call to the package binds its arguments (``inspect.signature``). The
pages whose blocks are light run, in page order in one namespace, in a temporary folder, with a
tiny numpy model standing in for the reader's. Pages that need MobileNetV2 weights, a dataset
store or Ray are only checked.

A block that must not run gets ``<!-- snippet: skip (the reason) -->`` on the line before its
fence: it is still parsed and checked.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.params import SWEEP_PARAMETERS
from tests.helpers.models import softmax

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
SKIP = re.compile(r"<!--\s*snippet:\s*skip\b\s*(?P<why>.*?)\s*-->\s*\Z", re.S)
#: Names a page may use without defining them: what the reader brings.
READER = {"model", "image", "preprocess", "top", "left", "height", "width"}
#: What a call's ``**kwargs`` take in this package: sweep parameters (the widget,
#: sweep_dataset) or the widget's display options (``OcclusionWidget.from_result``).
EXTRA_KEYWORDS = set(SWEEP_PARAMETERS) | {
    p.name
    for p in inspect.signature(ow.OcclusionWidget).parameters.values()
    if p.kind == p.KEYWORD_ONLY
}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    source: str
    skip: str | None  # the reason, when marked not to run

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def extract(text: str, page: str) -> list[Block]:
    """The page's ```python / ```py blocks, with the line of their fence and their skip mark."""
    blocks = []
    for m in FENCE.finditer(text):
        if m["lang"] not in ("python", "py"):
            continue
        skip = SKIP.search(text[: m.start()])
        line = text.count("\n", 0, m.start()) + 1
        why = (skip["why"].strip("() ") or "marked") if skip else None
        blocks.append(Block(page, line, textwrap.dedent(m["body"]), why))
    return blocks


def page_blocks() -> dict[str, list[Block]]:
    found = {}
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        blocks = extract(path.read_text(encoding="utf-8"), page)
        if blocks:
            found[page] = blocks
    return found


BLOCKS = page_blocks()
ALL = [block for blocks in BLOCKS.values() for block in blocks]


def test_the_blocks_are_found() -> None:
    # A change to the fence pattern that finds nothing would pass every test below.
    assert len(BLOCKS.get("README.md", [])) >= 2, BLOCKS.keys()
    assert len(ALL) >= 10, [b.name for b in ALL]


def test_the_skip_mark_is_read() -> None:
    text = (
        "a\n\n<!-- snippet: skip (needs a Ray cluster) -->\n```python\nx = 1\n```\n\n"
        "```py\ny\n```\n"
    )
    marked, plain = extract(text, "page.md")
    assert (marked.skip, marked.source, marked.line) == ("needs a Ray cluster", "x = 1\n", 4)
    assert plain.skip is None


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.name)
def test_block_parses(block: Block) -> None:
    compile(block.source, block.name, "exec")


@pytest.mark.parametrize("page", list(BLOCKS))
def test_every_name_is_defined_before_use(page: str) -> None:
    # Pasted in page order into a fresh notebook, no block fails with NameError.
    known = set(dir(builtins)) | READER
    problems = []
    for block in BLOCKS[page]:
        tree = ast.parse(block.source)
        known |= _bound_names(tree)
        loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        problems += [f"{block.name}: {name!r}" for name in sorted(loaded - known)]
    assert not problems, f"names used but never defined on the page: {problems}"


def _bound_names(tree: ast.AST) -> set[str]:
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound


@pytest.mark.parametrize("page", list(BLOCKS))
def test_every_package_name_and_argument_exists(page: str) -> None:
    checker = ApiChecker()
    for block in BLOCKS[page]:
        checker.check(block)
    assert not checker.problems, "\n".join(checker.problems)


class ApiChecker:
    """Follows ``ow`` and the variables a page assigns from the package through its blocks.

    ``w = ow.OcclusionWidget(...)`` makes ``w`` an OcclusionWidget, ``result =
    ow.occlusion_map(...)`` an OcclusionResult (from the return annotation), so ``w.probe``
    and ``result.sensitivity(...)`` are checked too. Anything else (Keras, the reader's model)
    is not followed.
    """

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"ow": ow, "occlusion_widget": ow}
        self.problems: list[str] = []

    def check(self, block: Block) -> None:
        self.block = block
        for node in ast.parse(block.source).body:
            self._statement(node)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            self._import(node)
            return
        for child in ast.walk(node):
            if isinstance(child, ast.Call | ast.Attribute):
                self._resolve(child)  # reports what does not exist
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                self.names.pop(target.id, None)
                value = self._resolve(node.value)
                if value is not None:
                    self.names[target.id] = value

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if isinstance(node, ast.Import) and alias.name.startswith("occlusion_widget"):
                if alias.asname:
                    self.names[alias.asname] = _module(alias.name)
                else:
                    self.names["occlusion_widget"] = ow
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "occlusion_widget"
            ):
                module = _module(node.module or "")
                if not hasattr(module, alias.name):
                    self._report(f"from {node.module} import {alias.name}: no such name")
                else:
                    self.names[alias.asname or alias.name] = getattr(module, alias.name)

    def _resolve(self, node: ast.AST) -> Any:
        """The package object (or ``Instance``) an expression stands for, else None."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self._resolve(node.value)
            if base is None:
                return None
            if isinstance(base, Instance):
                if not base.has(node.attr):
                    self._report(f"{ast.unparse(node)}: {base.cls.__name__} has no {node.attr!r}")
                    return None
                found = inspect.getattr_static(base.cls, node.attr, None)
                if inspect.isfunction(found):  # a method: bound to the instance, `self` given
                    return functools.partial(found, None)
                return getattr(base.cls, node.attr, None)
            if not hasattr(base, node.attr):
                self._report(f"{ast.unparse(node)}: no such name")
                return None
            return getattr(base, node.attr)
        if isinstance(node, ast.Call):
            func = self._resolve(node.func)
            if func is None or not callable(func):
                return None
            self._check_call(node, func)
            if isinstance(func, type):
                return Instance(func)
            returned = _return_class(func)
            return Instance(returned) if returned is not None else None
        return None

    def _check_call(self, node: ast.Call, func: Any) -> None:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return
        try:
            signature = inspect.signature(func)
        except (TypeError, ValueError):
            return
        keywords = {k.arg: None for k in node.keywords if k.arg}
        try:
            signature.bind(*[None] * len(node.args), **keywords)
        except TypeError as error:
            self._report(f"{ast.unparse(node.func)}(...): {error}")
            return
        named = {p.name for p in signature.parameters.values()}
        if any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values()):
            unknown = set(keywords) - named - EXTRA_KEYWORDS
            if unknown:
                self._report(f"{ast.unparse(node.func)}(...): unknown keyword(s) {sorted(unknown)}")

    def _report(self, message: str) -> None:
        problem = f"{self.block.name}: {message}"
        if problem not in self.problems:
            self.problems.append(problem)


@dataclass(frozen=True)
class Instance:
    """An object of one of the package's classes, known by its class alone."""

    cls: type

    def has(self, name: str) -> bool:
        return hasattr(self.cls, name) or name in _instance_attributes(self.cls)


@cache
def _instance_attributes(cls: type) -> frozenset[str]:
    """The ``self.NAME = ...`` assignments of the package's classes in ``cls``'s MRO."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("occlusion_widget"):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return frozenset(names)


def _return_class(func: Any) -> type | None:
    """The package class a function's return annotation names, if it names one."""
    try:
        annotation = inspect.signature(func).return_annotation
    except (TypeError, ValueError):
        return None
    if isinstance(annotation, str):
        plain = getattr(func, "func", getattr(func, "__func__", func))  # partial, bound method
        scope = getattr(inspect.unwrap(plain), "__globals__", {})
        annotation = scope.get(annotation.strip("'\""), getattr(ow, annotation, None))
    if isinstance(annotation, type) and annotation.__module__.startswith("occlusion_widget"):
        return annotation
    return None


def _module(name: str) -> Any:
    return importlib.import_module(name)


# -- Running the light pages ------------------------------------------------------------------


def tiny_model(num_classes: int):
    """A deterministic numpy classifier: softmax of a fixed map of the channel means."""
    weights = np.random.default_rng(0).normal(size=(3, num_classes))

    def model(batch):
        return softmax(np.asarray(batch, dtype=np.float64).mean(axis=(1, 2)) @ weights)

    return model


def _ship_sized_image():
    return np.random.default_rng(1).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)


#: The pages that run, and what stands in for what the reader brings there.
RUN = {
    "docs/teaching.md": {},
    "docs/predicted_class_map.md": {
        "model": lambda: tiny_model(10),
        "image": _ship_sized_image,
        "preprocess": lambda: lambda x: x / 255,
    },
    "docs/where_it_runs.md": {
        "model": lambda: tiny_model(1000),
        "image": _ship_sized_image,
    },
}
NEEDS = {"docs/where_it_runs.md": "marimo"}


def test_every_run_page_has_blocks() -> None:
    assert set(RUN) <= set(BLOCKS), set(RUN) - set(BLOCKS)


@pytest.mark.parametrize("page", list(RUN))
def test_light_page_runs(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if page in NEEDS:
        pytest.importorskip(NEEDS[page])
    from ipywidgets import Widget

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__", **{k: make() for k, make in RUN[page].items()}}
    created: list[Any] = []  # every widget the blocks make, closed after (their sweeps stop)
    monkeypatch.setattr(Widget, "_widget_construction_callback", None)
    Widget.on_widget_constructed(created.append)
    try:
        for block in BLOCKS[page]:
            if block.skip is None:
                exec(compile(block.source, block.name, "exec"), namespace)
    finally:
        for widget in created:
            if isinstance(widget, ow.OcclusionWidget | ow.GalleryWidget):
                widget.close()
