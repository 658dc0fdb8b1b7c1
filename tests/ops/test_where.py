"""Tests for where (three- and one-argument forms) and nonzero (ops/indexing.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray

X, Z = hax.make_axes(X=2, Z=3)
XA = np.arange(6).reshape(2, 3)


def test_where_three_args_matches_jnp():
    x = hax.named(XA, (X, Z))
    y = hax.named(-XA, (X, Z))
    cond = x > 2
    r = hax.where(cond, x, y)
    assert r.axes == (X, Z)
    np.testing.assert_array_equal(r.array, np.where(XA > 2, XA, -XA))
    # scalars for x / y
    np.testing.assert_array_equal(hax.where(cond, x, 0).array, np.where(XA > 2, XA, 0))
    np.testing.assert_array_equal(hax.where(cond, 1.5, x).array, np.where(XA > 2, 1.5, XA))


def test_where_result_order_c2():
    x = hax.named(XA, (X, Z))
    cond = hax.named((XA > 2).T, (Z, X))
    r = hax.where(cond, x, 0)
    assert r.axes == (Z, X)  # the largest array, ties: the earliest (the condition)
    np.testing.assert_array_equal(r.array, np.where(XA > 2, XA, 0).T)
    # the condition may be a subset: the result follows the biggest operand
    c1 = hax.named(np.array([True, False, True]), Z)
    r = hax.where(c1, x, hax.named(np.array([10, 20, 30]), Z))
    assert r.axes == (X, Z)
    np.testing.assert_array_equal(r.array, np.where([True, False, True], XA, [10, 20, 30]))


def test_where_scalar_condition():
    x = hax.named(XA, (X, Z))
    y = hax.named(np.array([7, 8, 9]), Z)
    for c, pick in [(True, XA), (False, np.broadcast_to([7, 8, 9], (2, 3)))]:
        r = hax.where(c, x, y)
        assert r.axes == (X, Z)
        np.testing.assert_array_equal(r.array, pick)
    f = jax.jit(lambda c, x, y: hax.where(c, x, y))
    np.testing.assert_array_equal(f(jnp.array(False), x, y).array, np.broadcast_to([7, 8, 9], (2, 3)))
    np.testing.assert_array_equal(f(hax.named(jnp.array(True), ()), x, y).array, XA)


def test_where_errors_and_plain_arrays():
    x = hax.named(XA, (X, Z))
    W = Axis("W", 4)
    with pytest.raises(ValueError, match="no subset relationship"):
        hax.where(hax.named(np.ones(4, bool), W), x, 0)
    with pytest.raises(ValueError, match="together"):
        hax.where(x > 1, x)
    with pytest.raises(ValueError, match="non-scalar plain"):
        hax.where(x > 1, x, jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="one-argument form"):
        hax.where(x > 1, x, 0, fill_value=0)
    # no NamedArray at all: plain jnp.where
    np.testing.assert_array_equal(hax.where(XA > 1, XA, 0), np.where(XA > 1, XA, 0))
    # only 0-d NamedArrays with a plain array: the plain result
    r = hax.where(hax.named(jnp.array(True), ()), jnp.ones(3), 0.0)
    assert not isinstance(r, NamedArray)


def test_where_one_argument_and_nonzero():
    N = Axis("N", 4)
    cond = hax.named(XA % 2 == 1, (X, Z))
    ix, iz = hax.where(cond, new_axis=N, fill_value=-1)
    ex, ez = jnp.where(XA % 2 == 1, size=4, fill_value=-1)
    assert ix.axes == (N,) and iz.axes == (N,)
    np.testing.assert_array_equal(ix.array, ex)
    np.testing.assert_array_equal(iz.array, ez)
    # the results index the array
    vals = hax.named(XA, (X, Z))[{"X": ix, "Z": iz}]
    assert vals.axes == (N,)
    nx, nz = hax.nonzero(cond, size=N)
    ex, ez = jnp.nonzero(XA % 2 == 1, size=4, fill_value=0)
    np.testing.assert_array_equal(nx.array, ex)
    np.testing.assert_array_equal(nz.array, ez)
    f = jax.jit(lambda c: hax.nonzero(c, size=N))
    np.testing.assert_array_equal(f(cond)[1].array, ez)
    with pytest.raises(ValueError, match="new_axis"):
        hax.where(cond)
    with pytest.raises(TypeError, match="Axis"):
        hax.nonzero(cond, size="N")
    with pytest.raises(ValueError, match="at least one axis"):
        hax.nonzero(hax.named(jnp.array(True), ()), size=N)
