"""Creation routines: zeros, ones, full, arange, linspace and friends, and their dtypes under x64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray

X, Y = hax.make_axes(X=2, Y=3)


@pytest.mark.parametrize("shape", [(X, Y), [X, Y], {"X": 2, "Y": 3}])
def test_shape_forms(shape):
    for fn in (hax.zeros, hax.ones):
        out = fn(shape)
        assert out.axes == (X, Y) and out.array.shape == (2, 3)
    assert hax.full(shape, 1.5).axes == (X, Y)
    assert hax.zeros(X).axes == (X,)
    assert hax.zeros(()).axes == ()


def test_zeros_ones_full_values_and_dtypes():
    np.testing.assert_array_equal(hax.zeros((X, Y)).array, jnp.zeros((2, 3)))
    np.testing.assert_array_equal(hax.ones((X, Y)).array, jnp.ones((2, 3)))
    assert hax.zeros(X).dtype == jnp.float32
    assert hax.ones(X).dtype == jnp.float32
    assert hax.zeros(X, dtype=jnp.int8).dtype == jnp.int8
    assert hax.ones(X, np.dtype("int32")).dtype == jnp.int32
    assert hax.full(X, 3).dtype == jnp.int32  # inferred from the value
    assert hax.full(X, 3.0).dtype == jnp.float32
    assert hax.full(X, True).dtype == jnp.bool_
    assert hax.full(X, 3, dtype=jnp.float16).dtype == jnp.float16
    np.testing.assert_array_equal(hax.full((X, Y), 7).array, jnp.full((2, 3), 7))


def test_x64_defaults():
    with jax.enable_x64(True):
        assert hax.zeros(X).dtype == jnp.float32  # zeros/ones stay float32
        assert hax.ones(X).dtype == jnp.float32
        assert hax.full(X, 3).dtype == jnp.int64  # the default int under x64, as in JAX
        assert hax.arange(X).dtype == jnp.int64


def test_like_functions():
    a = hax.arange((X, Y))
    for fn, jfn in ((hax.zeros_like, jnp.zeros_like), (hax.ones_like, jnp.ones_like)):
        out = fn(a)
        assert out.axes == a.axes and out.dtype == a.dtype
        np.testing.assert_array_equal(out.array, jfn(a.array))
        assert fn(a, dtype=jnp.float16).dtype == jnp.float16
    out = hax.full_like(a, 4)
    assert out.axes == a.axes and out.tolist() == [[4] * 3] * 2
    assert hax.full_like(a, 4.5, dtype=jnp.float32).dtype == jnp.float32
    assert hax.empty_like(a).axes == a.axes
    with pytest.raises(TypeError, match="zeros_like: argument 'a' must be a NamedArray"):
        hax.zeros_like(jnp.ones(3))


def test_arange():
    assert hax.arange(Axis("X", 4)).tolist() == [0, 1, 2, 3]
    assert hax.arange(X).dtype == jnp.int32
    assert hax.arange(Axis("X", 3), start=2, step=3).tolist() == [2, 5, 8]
    out = hax.arange(Axis("X", 4), step=0.5)
    assert out.dtype == jnp.float32 and out.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert hax.arange(Axis("X", 2), start=1.5).tolist() == [1.5, 2.5]
    assert hax.arange(X, dtype=jnp.float16).dtype == jnp.float16
    multi = hax.arange((X, Y))
    assert multi.axes == (X, Y)
    np.testing.assert_array_equal(multi.array, jnp.arange(6).reshape(2, 3))  # row-major
    np.testing.assert_array_equal(hax.arange({"X": 2, "Y": 3}, start=1).array, jnp.arange(1, 7).reshape(2, 3))

    @jax.jit
    def traced(start):
        return hax.arange(Axis("X", 3), start=start)

    assert traced(jnp.int32(5)).tolist() == [5, 6, 7]
    assert traced(jnp.float32(0.5)).tolist() == [0.5, 1.5, 2.5]


@pytest.mark.parametrize(
    "fn, jfn, kw",
    [
        (hax.linspace, jnp.linspace, {"start": 0.0, "stop": 1.0}),
        (hax.linspace, jnp.linspace, {"start": -1.0, "stop": 1.0, "endpoint": False}),
        (hax.logspace, jnp.logspace, {"start": 0.0, "stop": 2.0}),
        (hax.logspace, jnp.logspace, {"start": 0.0, "stop": 3.0, "base": 2.0}),
        (hax.geomspace, jnp.geomspace, {"start": 1.0, "stop": 1000.0}),
    ],
)
def test_spaces(fn, jfn, kw):
    out = fn(Axis("X", 5), **kw)
    assert out.axes == (Axis("X", 5),)
    np.testing.assert_allclose(out.array, jfn(num=5, **kw), rtol=1e-5)
    default = fn("Q", **kw)  # a name means 50 samples
    assert default.axes == (Axis("Q", 50),)
    np.testing.assert_allclose(default.array, jfn(num=50, **kw), rtol=1e-5)
    assert fn(Axis("X", 5), dtype=jnp.float16, **kw).dtype == jnp.float16


def test_creation_errors_name_the_function():
    with pytest.raises(TypeError, match="zeros: argument 'shape': Expected an Axis or a sequence of Axis"):
        hax.zeros("X")
    with pytest.raises(TypeError, match="ones: argument 'shape': Expected Axis, got 'Y'"):
        hax.ones((X, "Y"))
    with pytest.raises(TypeError, match="full: argument 'shape'"):
        hax.full("X", 1)
    with pytest.raises(TypeError, match="arange: argument 'axis'"):
        hax.arange("X")
    with pytest.raises(TypeError, match="linspace: argument 'axis'"):
        hax.linspace((X,), start=0.0, stop=1.0)
    with pytest.raises(ValueError, match="unique"):
        hax.zeros((X, X))


def test_results_are_named_arrays_under_jit():
    out = jax.jit(lambda: hax.ones((X, Y)) + hax.arange(Y))()
    assert isinstance(out, NamedArray) and out.axes == (X, Y)
    np.testing.assert_array_equal(out.array, jnp.broadcast_to(1 + jnp.arange(3.0), (2, 3)))
