"""Run the Python code blocks of the docs pages, so the tutorials cannot rot."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["index.md", "tutorial.md", "partitioning.md", "scan.md", "state_dict.md"]
FENCE = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("page", PAGES)
def test_docs_code_blocks_run(page):
    path = DOCS / page
    if not path.exists():
        pytest.skip(f"{page} not written yet")
    blocks = FENCE.findall(path.read_text())
    if page == "partitioning.md":
        blocks = blocks[:1]  # the multi-host block needs several processes (see tests/test_multihost.py)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)
