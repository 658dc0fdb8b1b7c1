"""`dot`'s eager cache: a hit is keyed by the identities of the operands' axes, `axis` and `dot_general`, and
never returns a plan for other axes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import haliax as hax
from haliax.quantization import DefaultDotGeneralOp

A, B, C = hax.make_axes(a=3, b=4, c=5)


def test_repeated_calls_agree_with_jnp_and_under_jit_and_grad():
    x = hax.random.normal(jax.random.PRNGKey(0), (A, B))
    y = hax.random.normal(jax.random.PRNGKey(1), (C, B))
    want = jnp.einsum("ab,cb->ac", x.array, y.array)
    for _ in range(3):  # miss, then hits
        out = hax.dot(x, y, axis=B)
        assert out.axes == (A, C)
        np.testing.assert_allclose(out.array, want, rtol=1e-6, atol=1e-6)
    for op in (DefaultDotGeneralOp(), DefaultDotGeneralOp.get(), jax.lax.dot_general):
        np.testing.assert_allclose(hax.dot(x, y, axis=B, dot_general=op).array, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda p, q: hax.dot(p, q, axis=B).array)(x, y), want, rtol=1e-6, atol=1e-6)
    g = jax.grad(lambda p: jnp.sum(jnp.sin(hax.dot(p, y, axis=B).array)))(x)
    gw = jax.grad(lambda p: jnp.sum(jnp.sin(jnp.einsum("ab,cb->ac", p.array, y.array))))(x)
    np.testing.assert_allclose(g.array, gw.array, rtol=1e-6, atol=1e-6)


def test_other_axes_same_sizes_do_not_hit_a_stale_plan():
    x = hax.random.normal(jax.random.PRNGKey(0), (A, B))
    y = hax.random.normal(jax.random.PRNGKey(1), (B, C))
    assert hax.dot(x, y, axis=B).axes == (A, C)
    xt = x.rearrange((B, A))  # same axes, another order: another tuple
    np.testing.assert_allclose(hax.dot(xt, y, axis=B).array, hax.dot(x, y, axis=B).array, rtol=1e-6)
    sel = ["b"]
    assert hax.dot(x, y, axis=sel).axes == (A, C)
    sel[0] = "a"  # a list changed in place is never served from the identity cache
    assert hax.dot(x, y, axis=sel).axes == (B, C)
