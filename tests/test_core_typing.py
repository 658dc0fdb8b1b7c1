"""The type-checking-only declarations of NamedArray (haliax._core_typing) cover what core.py installs at run time."""

import importlib

import haliax as hax
from haliax import _core_typing, core


def _installed_names() -> set[str]:
    names = {f"__{d.rstrip('_')}__" for d in {**core._BINARY_DUNDERS, **core._COMPARE_DUNDERS, **core._UNARY_DUNDERS}}
    names |= {f"__r{d.rstrip('_')}__" for d in core._BINARY_DUNDERS}
    names |= {n for ns in core._FORWARDED.values() for n in ns.split()}
    return names | {"sum", "mean", "prod", "product", "std", "var"}


def test_every_installed_method_is_declared():
    declared = set(vars(_core_typing.NamedArrayMethods))
    assert _installed_names() - declared == set()


def test_forwarded_declarations_are_the_op_functions():
    for module, names in core._FORWARDED.items():
        mod = importlib.import_module(module)
        for n in names.split():
            assert vars(_core_typing.NamedArrayMethods)[n] is getattr(mod, n), n


def test_runtime_base_is_object():
    assert hax.NamedArray.__mro__ == (hax.NamedArray, object)
