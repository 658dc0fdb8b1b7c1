"""Tests for unique (and its shortcuts), bincount and searchsorted (ops/counting.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray
from haliax.axis import AxisSizeMismatchError
from haliax.ops.counting import (
    bincount,
    searchsorted,
    unique,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
)

U2, U3, U4, U5 = Axis("U", 2), Axis("U", 3), Axis("U", 4), Axis("U", 5)
R, C = hax.make_axes(R=3, C=2)
X2 = np.array([[1, 2], [3, 4], [1, 2]])


def _eq(named, expected, axes=None):
    if axes is not None:
        assert named.axes == tuple(axes)
    np.testing.assert_array_equal(np.asarray(named.array), np.asarray(expected))


# --------------------------------------------------------------------------------------------------
# unique


def test_unique_examples():
    x = hax.named([3, 1, 3, 2, 1, 3], "X")
    _eq(unique(x, U3), [1, 2, 3], (U3,))
    _eq(unique(x, U5), [1, 2, 3, 1, 1], (U5,))  # padded with the smallest value
    _eq(unique(x, U5, fill_value=-1), [1, 2, 3, -1, -1])
    _eq(unique(x, U2), [1, 2])  # truncated
    values, index, inverse, counts = unique_all(x, U3)
    _eq(values, [1, 2, 3], (U3,))
    _eq(index, [1, 3, 0], (U3,))
    _eq(inverse, [2, 0, 2, 1, 0, 2], x.axes)
    _eq(counts, [2, 1, 3], (U3,))


@pytest.mark.parametrize("size", [2, 4, 9])
@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_unique_flat_matches_jnp(size, order):
    A, B = hax.make_axes(A=3, B=4)
    raw = np.array([[5, 1, 5, 2], [7, 1, 0, 2], [5, 9, 9, 1]])
    axes = (A, B)
    raw = raw.transpose(order)
    axes = tuple(axes[i] for i in order)
    x = hax.named(raw, axes)
    U = Axis("U", size)
    values, index, inverse, counts = unique(x, U, return_index=True, return_inverse=True, return_counts=True)
    ev, ei, einv, ec = jnp.unique(raw, return_index=True, return_inverse=True, return_counts=True, size=size)
    _eq(values, ev, (U,))
    _eq(index, ei, (U,))
    _eq(inverse, einv.reshape(raw.shape), axes)  # the input's axes, in the input's order
    _eq(counts, ec, (U,))


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_unique_along_axis_matches_jnp(order):
    raw = X2.transpose(order)
    axes = tuple((R, C)[i] for i in order)
    x = hax.named(raw, axes)
    pos = axes.index(R)
    values, index, inverse, counts = unique(x, U2, axis="R", return_index=True, return_inverse=True, return_counts=True)
    ev, ei, einv, ec = jnp.unique(raw, return_index=True, return_inverse=True, return_counts=True, axis=pos, size=2)
    expected_axes = tuple(U2 if a == R else a for a in axes)  # R replaced in place
    _eq(values, ev, expected_axes)
    _eq(index, ei, (U2,))
    _eq(inverse, einv, (R,))
    _eq(counts, ec, (U2,))
    _eq(values.rearrange((U2.name, "C")), [[1, 2], [3, 4]])
    _eq(inverse, [0, 1, 0])
    _eq(counts, [2, 1])
    # taking the values at the inverse gives the input back
    back = values[{"U": inverse}]
    _eq(back.rearrange(("R", "C")), X2)


def test_unique_along_axis_padding_and_axis_object():
    x = hax.named(X2, (R, C))
    _eq(unique(x, U4, axis=R), jnp.unique(X2, axis=0, size=4), (U4, C))  # pads with the first slice
    _eq(unique(x, U4, axis="R", fill_value=0), jnp.unique(X2, axis=0, size=4, fill_value=0))
    # the output axis may reuse the replaced axis's name
    same = Axis("R", 2)
    _eq(unique(x, same, axis="R"), [[1, 2], [3, 4]], (same, C))


def test_unique_flat_inverse_has_input_axes():
    x = hax.named(X2, (R, C))
    values, inverse = unique_inverse(x, U4)
    _eq(values, [1, 2, 3, 4], (U4,))
    _eq(inverse, [[0, 1], [2, 3], [0, 1]], (R, C))


@pytest.mark.parametrize("axis", [None, "R"])
def test_unique_shortcuts_equal_unique(axis):
    x = hax.named(X2, (R, C))
    full = unique(x, U3, return_index=True, return_inverse=True, return_counts=True, axis=axis, fill_value=7)
    v, i, inv, c = full
    _eq(unique_values(x, U3, axis=axis, fill_value=7), v.array, v.axes)
    sv, sc = unique_counts(x, U3, axis=axis, fill_value=7)
    _eq(sv, v.array, v.axes)
    _eq(sc, c.array, c.axes)
    sv, sinv = unique_inverse(x, U3, axis=axis, fill_value=7)
    _eq(sinv, inv.array, inv.axes)
    for got, want in zip(unique_all(x, U3, axis=axis, fill_value=7), full, strict=True):
        _eq(got, want.array, want.axes)
    # one flag: a 2-tuple; no flag: one NamedArray
    assert isinstance(unique(x, U3), NamedArray)
    vi = unique(x, U3, axis=axis, return_index=True)
    assert isinstance(vi, tuple) and len(vi) == 2
    _eq(vi[1], i.array, i.axes)


def test_unique_named_fill_value():
    x = hax.named([3, 1], "X")
    _eq(unique(x, U3, fill_value=hax.named(jnp.array(9), ())), [1, 3, 9])


def test_unique_under_jit():
    x = hax.named(X2, (R, C))
    flat = jax.jit(lambda a: unique_all(a, U5))(x)
    for got, want in zip(flat, unique_all(x, U5), strict=True):
        _eq(got, want.array, want.axes)
    along = jax.jit(lambda a: unique(a, U2, axis="R", return_inverse=True))(x)
    _eq(along[0], [[1, 2], [3, 4]], (U2, C))
    _eq(along[1], [0, 1, 0], (R,))


def test_unique_errors():
    x = hax.named(X2, (R, C))
    with pytest.raises(TypeError, match=r"unique: argument 'Unique' must be a sized Axis.*Axis\('U', n\)"):
        unique(x, "U")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unique: argument 'Unique' must be a sized Axis"):
        unique_all(x, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unique: argument 'array' must be a NamedArray"):
        unique(X2, U3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"unique: argument 'Unique': Axis C already present"):
        unique(x, Axis("C", 2), axis="R")
    with pytest.raises(ValueError, match=r"unique: argument 'axis': Axis Z not found in \(R\(3\), C\(2\)\)"):
        unique(x, U2, axis="Z")
    with pytest.raises(AxisSizeMismatchError, match="unique: argument 'axis'"):
        unique(x, U2, axis=Axis("R", 5))
    with pytest.raises(TypeError):
        unique(x, U2, True)  # type: ignore[misc]  # the flags are keyword-only


# --------------------------------------------------------------------------------------------------
# bincount

X5 = Axis("X", 5)
XV = np.array([0, 1, 1, 3, 2])


@pytest.mark.parametrize("size,expected", [(4, [1, 2, 1, 1]), (6, [1, 2, 1, 1, 0, 0]), (2, [1, 2])])
def test_bincount_examples(size, expected):
    x = hax.named(XV, X5)
    Cn = Axis("C", size)
    out = bincount(x, Cn)
    _eq(out, expected, (Cn,))
    _eq(out, jnp.bincount(XV, length=size))
    assert out.dtype == jnp.int32


def test_bincount_weights_and_edge_values():
    x = hax.named(XV, X5)
    C4 = Axis("C", 4)
    w = np.arange(1.0, 6.0, dtype=np.float32)
    out = bincount(x, C4, weights=w)
    _eq(out, [1.0, 5.0, 5.0, 4.0], (C4,))
    assert out.dtype == jnp.float32
    _eq(bincount(x, C4, weights=hax.named(w, X5)), out.array)
    # a 0-d NamedArray weight is broadcast to x's axis
    _eq(bincount(x, C4, weights=hax.named(jnp.float32(2.0), ())), [2.0, 4.0, 2.0, 2.0])
    # negative values count in bin 0, too-large ones are dropped, minlength does not change the size
    raw = np.array([-3, 0, 7, 2, 2])
    out = bincount(hax.named(raw, "X"), C4, minlength=10)
    _eq(out, jnp.bincount(raw, length=4), (C4,))
    _eq(out, [2, 0, 2, 0])
    # bool input counts False and True, as in JAX
    flags = np.array([True, False, True])
    _eq(bincount(hax.named(flags, "X"), C4), jnp.bincount(flags, length=4), (C4,))


def test_bincount_under_jit():
    x = hax.named(XV, X5)
    C4 = Axis("C", 4)
    _eq(jax.jit(lambda a, w: bincount(a, C4, weights=w))(x, hax.named(XV * 1.0, X5)), [0.0, 2.0, 2.0, 3.0], (C4,))


def test_bincount_errors():
    x = hax.named(XV, X5)
    C4 = Axis("C", 4)
    with pytest.raises(TypeError, match="bincount: argument 'Counts' must be a sized Axis"):
        bincount(x, "C")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bincount: argument 'x' must be a NamedArray"):
        bincount(XV, C4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bincount: argument 'x': bincount only supports 1D arrays"):
        bincount(hax.named(X2, (R, C)), C4)
    with pytest.raises(TypeError, match=r"bincount: argument 'x' must have an integer \(or bool\) dtype, got float32"):
        bincount(hax.named(XV.astype(np.float32), X5), C4)
    W = Axis("W", 2)
    with pytest.raises(
        ValueError, match=r"bincount: argument 'weights': Cannot broadcast .* extra axes present \['W'\]"
    ):
        bincount(x, C4, weights=hax.ones((X5, W)))
    with pytest.raises(AxisSizeMismatchError, match="bincount: argument 'weights'"):
        bincount(x, C4, weights=hax.ones(Axis("X", 3)))
    with pytest.raises(ValueError, match=r"bincount: argument 'weights': a plain weights array must have shape \(5,\)"):
        bincount(x, C4, weights=np.ones(4))


# --------------------------------------------------------------------------------------------------
# searchsorted

A_RAW = np.array([1, 3, 5, 7, 9])


def test_searchsorted_examples():
    a = hax.named(A_RAW, "A")
    v = hax.named([0, 5, 10], "V")
    out = searchsorted(a, v)
    _eq(out, [0, 2, 5], v.axes)
    assert out.dtype == jnp.int32
    _eq(searchsorted(a, v, side="right"), [0, 3, 5], v.axes)
    s = searchsorted(a, 4)
    assert s.axes == () and int(s.array) == 2
    s = searchsorted(a, jnp.array(6))
    assert s.axes == () and int(s.array) == 3


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("method", ["scan", "scan_unrolled", "sort", "compare_all"])
def test_searchsorted_matches_jnp_any_v_axes(side, method):
    a = hax.named(A_RAW, "whatever")
    P, Q = hax.make_axes(P=2, Q=3)
    vraw = np.array([[0, 3, 6], [9, 10, 2]])
    for v in (hax.named(vraw, (P, Q)), hax.named(vraw.T, (Q, P))):
        out = searchsorted(a, v, side=side, method=method)
        _eq(out, jnp.searchsorted(A_RAW, v.array, side=side, method=method), v.axes)


def test_searchsorted_sorter_named_or_raw():
    u_raw = np.array([5, 1, 3, 7, 4])
    u = hax.named(u_raw, "a")
    v = hax.named([0, 3, 6, 10], "v")
    sorter = hax.argsort(u, "a")
    _eq(searchsorted(u, v, side="right", sorter=sorter), [0, 2, 4, 5])
    _eq(searchsorted(u, v, side="right", sorter=np.argsort(u_raw)), [0, 2, 4, 5])
    _eq(searchsorted(u, v, sorter=sorter), jnp.searchsorted(u_raw, v.array, sorter=np.argsort(u_raw)))


def test_searchsorted_under_jit():
    a = hax.named(A_RAW, "A")
    v = hax.named([0, 5, 10], "V")
    _eq(jax.jit(lambda a, v: searchsorted(a, v, side="right"))(a, v), [0, 3, 5], v.axes)


def test_searchsorted_errors():
    a = hax.named(A_RAW, "A")
    v = hax.named([0, 5, 10], "V")
    with pytest.raises(ValueError, match=r"searchsorted: argument 'a': searchsorted only supports 1D 'a'"):
        searchsorted(hax.named(X2, (R, C)), v)
    with pytest.raises(TypeError, match="searchsorted: argument 'a' must be a NamedArray"):
        searchsorted(A_RAW, v)  # type: ignore[arg-type]
    # a plain array v with dimensions: both a TypeError and (as code written for Haliax expects) a ValueError
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match=r"searchsorted: argument 'v' must be a NamedArray or a scalar.*shape \(2,\)"):
            searchsorted(a, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"searchsorted: argument 'side' must be one of"):
        searchsorted(a, v, side="middle")
    with pytest.raises(ValueError, match=r"searchsorted: argument 'method' must be one of"):
        searchsorted(a, v, method="bisect")
    with pytest.raises(ValueError, match=r"searchsorted: argument 'sorter' must be 1-D with the length"):
        searchsorted(a, v, sorter=np.arange(4))
    with pytest.raises(TypeError):
        searchsorted(a, v, "right")  # type: ignore[misc]  # side is keyword-only
