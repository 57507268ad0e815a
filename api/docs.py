"""README sections generated from the code: ``python -m api.docs`` rewrites them.

``tests/test_docs.py`` fails when README.md and the code disagree, so the
configuration table and the rule catalogue cannot drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from api.config import settings_markdown
from api.rules.catalogue import render_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS: dict[str, Callable[[], str]] = {
    "settings-table": settings_markdown,
    "rule-catalogue": render_markdown,
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:start -->\n)(.*?)(<!-- {name}:end -->)", re.DOTALL)


def read_block(text: str, name: str) -> str:
    match = _pattern(name).search(text)
    if match is None:
        raise ValueError(f"README has no {name} markers")
    return match.group(2).strip()


def write_blocks(text: str) -> str:
    for name, render in BLOCKS.items():
        read_block(text, name)  # the markers must exist
        content = render().strip()

        def fill(match: re.Match[str], content: str = content) -> str:
            return f"{match.group(1)}{content}\n{match.group(3)}"

        text = _pattern(name).sub(fill, text)
    return text


def main() -> int:
    README.write_text(write_blocks(README.read_text()))
    print(f"rewrote {', '.join(BLOCKS)} in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
