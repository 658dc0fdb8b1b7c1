"""Bad input to NamedArray's conversions and core queries: the errors list the axes and suggest the fix."""

import operator
import re

import jax
import pytest

import haliax as hax
from haliax.core import NotScalarError

X, Y, One = hax.make_axes(X=2, Y=3, One=1)


@pytest.mark.parametrize(
    "conversion, call",
    [
        ("float(x)", float),
        ("int(x)", int),
        ("bool(x)", bool),
        ("complex(x)", complex),
        ("operator.index(x)", operator.index),
    ],
)
def test_conversion_of_non_scalar_lists_axes(conversion, call):
    x = hax.ones((X, Y), dtype=int)
    with pytest.raises(
        TypeError,
        match="^" + re.escape(conversion) + r": x is not a scalar: it "
        r"has axes \(X\(2\), Y\(3\)\) \(6 elements\).*x\.sum\(\).*x\['X', 0\]",
    ):
        call(x)


def test_item_of_non_scalar_lists_axes():
    with pytest.raises(ValueError, match=r"^x\.item\(\): x is not a scalar: it has axes \(X\(2\)\)"):
        hax.ones(X).item()


def test_not_scalar_error_is_both_kinds():
    assert issubclass(NotScalarError, TypeError) and issubclass(NotScalarError, ValueError)
    with pytest.raises(ValueError, match="bool"):  # NumPy's kind for an ambiguous truth value
        bool(hax.ones(X))


def test_float_of_size_one_axis():
    # JAX refuses float() of a 1-d array: so do we, naming the axis
    with pytest.raises(TypeError, match=r"float\(x\): x is not a scalar: it has axes \(One\(1\)\)"):
        float(hax.ones(One))
    # bool and item accept one element, as in JAX
    assert bool(hax.ones(One)) and hax.ones(One).item() == 1.0


def test_conversions_of_scalars():
    s = hax.ones((X, Y)).sum()
    assert float(s) == 6.0 and int(s) == 6 and bool(s) and s.item() == 6.0 and complex(s) == 6.0


def test_conversion_under_jit_names_axes():
    with pytest.raises(TypeError, match=r"float\(x\): x is not a scalar: it has axes \(X\(2\)\)"):
        jax.jit(lambda x: float(x))(hax.ones(X))


def test_axis_size_typo():
    with pytest.raises(
        ValueError,
        match=r"axis_size: argument 'sel': Axis x not found in \(X\(2\), Y\(3\)\)\. Did you "
        r"mean 'X'\?",
    ):
        hax.ones((X, Y)).axis_size("x")


def test_matmul_refused():
    with pytest.raises(ValueError, match="matmul is too ambiguous with NamedArrays. Use dot instead."):
        hax.ones(X) @ hax.ones(X)
