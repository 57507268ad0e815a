"""README and docs/ sections generated from the code: ``python -m api.docs`` rewrites them.

``tests/test_docs.py`` and ``tests/test_contract_docs.py`` fail when the documents and the
code disagree, so the configuration table and the rule catalogue cannot drift.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from api.config import settings_markdown
from api.rules.catalogue import render_markdown

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = {"clinical-rules": ROOT / "docs" / "clinical-rules.md"}
BLOCKS: dict[str, Callable[[], str]] = {
    "settings-table": settings_markdown,
    "rule-catalogue": render_markdown,
}
# Every generated block, by the file that holds it.
FILES: dict[Path, dict[str, Callable[[], str]]] = {
    README: BLOCKS,
    DOCS["clinical-rules"]: {"rule-catalogue": render_markdown},
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {name}:start -->\n)(.*?)(<!-- {name}:end -->)", re.DOTALL)


def read_block(text: str, name: str) -> str:
    match = _pattern(name).search(text)
    if match is None:
        raise ValueError(f"README has no {name} markers")
    return match.group(2).strip()


def write_blocks(text: str, blocks: dict[str, Callable[[], str]] = BLOCKS) -> str:
    for name, render in blocks.items():
        read_block(text, name)  # the markers must exist
        content = render().strip()

        def fill(match: re.Match[str], content: str = content) -> str:
            return f"{match.group(1)}{content}\n{match.group(3)}"

        text = _pattern(name).sub(fill, text)
    return text


def main() -> int:
    for path, blocks in FILES.items():
        path.write_text(write_blocks(path.read_text(), blocks))
        print(f"rewrote {', '.join(blocks)} in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
