"""Griffe extension: the package's Sphinx roles become links the API pages can resolve.

Docstrings say :func:`occlusion_map` or :meth:`~occlusion_widget.OcclusionWidget.to_html`, as
the numpy style does. mkdocstrings reads Markdown, so each role becomes an autorefs link to
the public name it means when that name has a page
(``[`occlusion_map`][occlusion_widget.occlusion_map]``), and plain code otherwise (private
helpers have no page). A link made here always points at something the API pages render; a
link written by hand in a guide is checked by the strict build.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc):`([^`]+)`")
PACKAGE = "occlusion_widget"
# Modules documented on the API pages besides the names in __all__.
DOCUMENTED_MODULES = ("demo", "labels")


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`name``` in every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != PACKAGE:
            return
        public = set(_all_names(pkg)) | set(DOCUMENTED_MODULES)
        for obj in _walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = ROLE.sub(
                    lambda m, o=obj: _link(m.group(1), o, pkg, public), obj.docstring.value
                )


def _all_names(pkg: griffe.Module) -> list[str]:
    member = pkg.members.get("__all__")
    value = getattr(member, "value", None)
    names = getattr(value, "elements", None) or []
    return [str(n).strip("'\"") for n in names]


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if member.is_alias:
            continue
        if isinstance(member, (griffe.Module, griffe.Class, griffe.Function, griffe.Attribute)):
            found.extend(_walk(member) if not isinstance(member, griffe.Attribute) else [member])
    return found


def _link(text: str, obj: griffe.Object, pkg: griffe.Module, public: set[str]) -> str:
    shown = text.split(".")[-1] if text.startswith("~") else text
    target = _public_path(text.lstrip("~").lstrip("."), obj, pkg, public)
    return f"[`{shown}`][{target}]" if target else f"`{shown}`"


def _public_path(name: str, obj: griffe.Object, pkg: griffe.Module, public: set[str]) -> str | None:
    parts = name.split(".")
    if parts[0] == PACKAGE:
        parts = parts[1:]
    candidates = []
    # Relative to the class the docstring belongs to: :meth:`from_result` in OcclusionWidget.
    owner = obj if obj.is_class else obj.parent
    if owner is not None and owner.is_class and owner.name in public:
        candidates.append([owner.name, *parts])
    # The last one or two components, as public names: engine.sweep.occlusion_map.
    for start in range(len(parts)):
        candidates.append(parts[start:])
    for candidate in candidates:
        if candidate and candidate[0] in public and _documented(pkg, candidate):
            return ".".join([PACKAGE, *candidate])
    return None


def _documented(pkg: griffe.Module, parts: list[str]) -> bool:
    """True when the API pages render this name: a public name, or a documented member."""
    try:
        target = pkg.get_member(".".join(parts))
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    if len(parts) == 1:
        return True
    try:
        return target.docstring is not None and not parts[-1].startswith("_")
    except (griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
