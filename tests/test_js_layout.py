"""The frontend's house (issue 21): entries and config at the top of ``js/``, the rest in folders
by role, each unit test beside the module it tests, and no file a reader has to scroll through.
"""

from __future__ import annotations

from pathlib import Path

JS = Path(__file__).resolve().parents[1] / "js"
ROLES = {"state", "widget", "probe", "page", "gallery", "shared", "fixtures"}


def test_the_top_of_js_holds_entries_and_config_only():
    top = sorted(p.name for p in JS.iterdir() if p.is_file())
    assert len(top) <= 12, f"js/ has {len(top)} files at its top: {top}; move modules into folders"
    for entry in ("widget.ts", "standalone.ts", "gallery.ts", "build.mjs"):
        assert entry in top
    folders = {p.name for p in JS.iterdir() if p.is_dir()}
    assert folders <= ROLES, f"js/ folders {sorted(folders - ROLES)} are not among {sorted(ROLES)}"


def test_each_unit_test_sits_beside_a_module_of_its_folder():
    for test in JS.rglob("*.test.ts"):
        modules = [p for p in test.parent.glob("*.ts") if not p.name.endswith(".test.ts")]
        stem = test.name.removesuffix(".test.ts")
        beside = [p for p in modules if stem.startswith(p.stem) or p.stem.startswith(stem)]
        assert beside, f"{test.relative_to(JS)} tests no module of {test.parent.relative_to(JS)}/"


def test_no_frontend_file_is_over_400_lines():
    long = {
        str(p.relative_to(JS)): n
        for p in JS.rglob("*.ts")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, f"split these by job: {long}"
