"""Run the Python code blocks of every docs page, so the pages cannot rot.

Each page's ```` ```python ```` blocks run in order in one namespace. A block that must not run here (it needs
several processes, say) is fenced as ```` ```py ```` instead, which renders the same.
"""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"```python\n(.*?)```", re.S)
PAGES = sorted(p.name for p in DOCS.glob("*.md") if FENCE.search(p.read_text()))


@pytest.mark.parametrize("page", PAGES)
def test_docs_code_blocks_run(page):
    path = DOCS / page
    blocks = FENCE.findall(path.read_text())
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)


def test_every_page_is_in_the_site_nav():
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    missing = [p.name for p in DOCS.glob("*.md") if p.name not in nav]
    assert not missing, f"docs pages not linked in mkdocs.yml: {missing}"
