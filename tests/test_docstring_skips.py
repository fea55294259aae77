"""The package's docstring examples run: few are skipped, and each skip says why."""

from __future__ import annotations

import re
from pathlib import Path

import occlusion_widget

PACKAGE = Path(occlusion_widget.__file__).parent
MAX_SKIPPED = 10
# A skipped example names its reason in a comment before the directive:
#     >>> start_ray(num_cpus=2)  # starts Ray's processes  # doctest: +SKIP
SKIP = re.compile(r"#\s*doctest:[^\n]*\+SKIP")
REASON = re.compile(r"#\s*(?!doctest:)\S[^#]*#\s*doctest:")


def skipped_examples() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SKIP.search(line):
                found.append((f"{path.relative_to(PACKAGE.parent)}:{number}", line.strip()))
    return found


def test_at_most_ten_docstring_examples_are_skipped():
    found = skipped_examples()
    listing = "\n".join(f"  {where}: {line}" for where, line in found)
    assert len(found) <= MAX_SKIPPED, (
        f"{len(found)} docstring examples are skipped (+SKIP); at most {MAX_SKIPPED} may be. "
        f"Make them run on the doctest names in conftest.py (result, w, session, ds, g, cmp), "
        f"or drop the example from an internal method:\n{listing}"
    )


def test_every_skipped_example_says_why():
    silent = [(where, line) for where, line in skipped_examples() if not REASON.search(line)]
    listing = "\n".join(f"  {where}: {line}" for where, line in silent)
    assert not silent, (
        "a skipped docstring example must say why in a comment before the directive "
        f"(`>>> call()  # needs a browser  # doctest: +SKIP`):\n{listing}"
    )
