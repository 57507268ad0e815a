from __future__ import annotations

import pytest

from api.docs import BLOCKS, README, read_block


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_readme_block_matches_the_code(name: str) -> None:
    assert read_block(README.read_text(), name) == BLOCKS[name]().strip(), (
        f"README's {name} is out of date: run `python -m api.docs`"
    )
