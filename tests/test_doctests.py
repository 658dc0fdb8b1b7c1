"""Run the ``Example:`` blocks of every public docstring as doctests."""

import doctest
import importlib
import pkgutil

import pytest

import haliax

pytestmark = pytest.mark.slow

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(haliax.__path__, prefix="haliax.")
    if not m.name.split(".")[-1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    for test in finder.find(mod, name, globs={}):
        if test.examples:
            result = runner.run(test, out=failures.append)
            del result
    assert runner.failures == 0, "".join(failures)
