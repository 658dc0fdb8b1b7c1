"""The eager paths of softmax, log_softmax, logsumexp and standardize (one cached jitted call each): values equal
to the jnp reference, under jit and grad, in low precision, and for plain arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

A, B, C = hax.make_axes(a=3, b=5, c=4)
X = hax.random.normal(jax.random.PRNGKey(0), (A, B, C)) * 3


def _ref(name, raw, axis):
    if name == "softmax":
        return jax.nn.softmax(raw, axis=axis)
    if name == "log_softmax":
        return jax.nn.log_softmax(raw, axis=axis)
    return jax.nn.logsumexp(raw, axis=axis)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
@pytest.mark.parametrize("axis", ["b", ("a", "c")])
def test_values_jit_and_grad(name, axis):
    fn = getattr(hnn, name)
    pos = (1,) if axis == "b" else (0, 2)
    want = _ref(name, X.array, pos)
    got = fn(X, axis)
    np.testing.assert_allclose(got.array, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda x: fn(x, axis).array)(X), want, rtol=1e-6, atol=1e-6)
    g = jax.grad(lambda r: jnp.sum(jnp.sin(fn(hax.NamedArray(r, X.axes), axis).array)))(X.array)
    gw = jax.grad(lambda r: jnp.sum(jnp.sin(_ref(name, r, pos))))(X.array)
    np.testing.assert_allclose(g, gw, rtol=1e-5, atol=1e-6)
    # a second call hits the cache and gives the same values
    np.testing.assert_array_equal(fn(X, axis).array, got.array)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_low_precision_upcasts_and_casts_back(name):
    fn = getattr(hnn, name)
    xb = X.astype(jnp.bfloat16)
    got = fn(xb, "b")
    assert got.dtype == jnp.bfloat16
    want = _ref(name, xb.array.astype(jnp.float32), 1).astype(jnp.bfloat16)
    # two programs (ours fused, the reference eager) may round the float32 result apart before the bfloat16 cast:
    # allow one bfloat16 step (2**-7 relative), nothing more
    np.testing.assert_allclose(np.asarray(got.array, np.float32), np.asarray(want, np.float32), rtol=2**-7, atol=0)
    xi = hax.arange((A,))
    assert jnp.issubdtype(fn(xi, "a").dtype, jnp.floating)


def test_plain_arrays_and_axis_none():
    raw = X.array
    np.testing.assert_allclose(hnn.softmax(X, None), jax.nn.softmax(raw, axis=None), rtol=1e-6)
    np.testing.assert_allclose(hnn.logsumexp(X).array, jax.nn.logsumexp(raw), rtol=1e-6)
    with pytest.raises(ValueError, match="softmax"):
        hnn.softmax(X, "nope")
    with pytest.raises(ValueError, match="log_softmax"):
        hnn.log_softmax(X, "nope")


@pytest.mark.parametrize("eps", [1e-5, 1e-3])
def test_standardize_values_jit_grad(eps):
    raw = X.array
    m = raw.mean(axis=(0, 2), keepdims=True)
    v = ((raw - m) ** 2).mean(axis=(0, 2), keepdims=True)
    want = (raw - m) * jax.lax.rsqrt(v + eps)
    got = hnn.standardize(X, ("a", "c"), epsilon=eps)
    np.testing.assert_allclose(got.array, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.nn.standardize(raw, axis=(0, 2), epsilon=eps), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        jax.jit(lambda x: hnn.standardize(x, ("a", "c"), epsilon=eps).array)(X), want, rtol=1e-5, atol=1e-6
    )
    g = jax.grad(lambda r: jnp.sum(jnp.sin(hnn.standardize(hax.NamedArray(r, X.axes), "b", epsilon=eps).array)))(raw)
    gw = jax.grad(lambda r: jnp.sum(jnp.sin(jax.nn.standardize(r, axis=1, epsilon=eps))))(raw)
    np.testing.assert_allclose(g, gw, rtol=1e-4, atol=1e-5)
    # given statistics, a where mask and a traced epsilon
    mean = hax.mean(X, "b")
    var = hax.var(X, "b")
    want2 = (raw - mean.array[:, None]) * jax.lax.rsqrt(var.array[:, None] + eps)
    got2 = hnn.standardize(X, "b", mean=mean, variance=var, epsilon=eps)
    np.testing.assert_allclose(got2.array, want2, rtol=1e-5, atol=1e-6)
    traced = jax.jit(lambda e: hnn.standardize(X, "b", epsilon=e).array)(jnp.float32(eps))
    np.testing.assert_allclose(traced, hnn.standardize(X, "b", epsilon=eps).array, rtol=1e-6, atol=1e-6)
    where = X > 0
    w = where.array
    mw = jnp.mean(raw, axis=1, keepdims=True, where=w)
    vw = jnp.mean((raw - mw) ** 2, axis=1, keepdims=True, where=w)
    np.testing.assert_allclose(
        hnn.standardize(X, "b", where=where, epsilon=eps).array, (raw - mw) * jax.lax.rsqrt(vw + eps), rtol=1e-5
    )
