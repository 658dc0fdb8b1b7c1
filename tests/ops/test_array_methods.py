"""haliax.ops.array_methods: one table of NamedArray methods, attached once, that type checkers also read."""

import ast
import pathlib

import jax.numpy as jnp
import numpy as np

import haliax as hax
from haliax.ops import array_methods, broadcast, elementwise, indexing, linalg, reductions, shape
from haliax.ops.array_methods import NamedArrayMethods

SRC = pathlib.Path(hax.__file__).parent


def test_every_table_entry_is_on_the_class():
    for name, value in vars(NamedArrayMethods).items():
        if name in array_methods._NOT_METHODS:
            continue
        assert vars(hax.NamedArray)[name] is value, name


def test_forwarded_methods_are_the_op_functions():
    for mod in (reductions, linalg, broadcast, shape, indexing, elementwise):
        for name, value in vars(NamedArrayMethods).items():
            if getattr(mod, name, None) is value:
                assert getattr(hax.NamedArray, name) is getattr(mod, name)
    assert hax.NamedArray.dot is hax.dot and hax.NamedArray.max is hax.max and hax.NamedArray.__add__ is hax.add


def test_runtime_base_is_object():
    assert hax.NamedArray.__mro__ == (hax.NamedArray, object)


def test_core_imports_no_op_module_at_run_time():
    tree = ast.parse((SRC / "core.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []  # the one type-only import is allowed
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert not (node.module or "").startswith(("ops", "haxtyping")), ast.unparse(node)


def test_method_forms_match_functions():
    X, Y = hax.make_axes(X=2, Y=3)
    x = hax.arange((X, Y)).astype(jnp.float32) + 1
    np.testing.assert_array_equal(x.sum("Y", jnp.float32).array, hax.sum(x, "Y", dtype=jnp.float32).array)
    np.testing.assert_array_equal(x.var("Y", None, 1).array, hax.var(x, "Y", ddof=1).array)
    assert (2 - x).tolist() == (2 - x.array).tolist()
    assert divmod(7, x)[0].tolist() == jnp.floor_divide(7, x.array).tolist()
    assert x.at["X", 0].set(0.0)["X", 0].tolist() == [0.0, 0.0, 0.0]
    assert x.matches_axes("X Y") and not x.matches_axes("Y X")
