"""MoELinear on bad group sizes: negative, too many rows, non-integer; traced sizes are not checked."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

Ex, In, Out, T = hax.make_axes(expert=2, c=3, o=4, tok=4)
KEY = jax.random.PRNGKey(0)


def _moe():
    return hnn.MoELinear.init(Ex, In, Out, key=KEY, use_bias=False)


def _x():
    return hax.random.normal(jax.random.PRNGKey(1), (T, In))


@pytest.mark.parametrize("sizes", [[5, -1], [3, 2], [4, 1]])
def test_group_sizes_negative_or_too_many_rows(sizes):
    with pytest.raises(
        ValueError,
        match=r"^MoELinear: argument 'group_sizes' \[.*\] over expert\(2\) must be non-negative and sum to at most "
        r"the 4 rows of 'inputs' \(axes tok\(4\), c\(3\) without c\(3\)\); got sum",
    ):
        _moe()(_x(), hax.named(jnp.array(sizes), Ex))


@pytest.mark.parametrize("sizes", [jnp.array([2.0, 2.0]), jnp.array([True, True])])
def test_group_sizes_of_non_integer_dtype(sizes):
    with pytest.raises(TypeError, match=r"^MoELinear: argument 'group_sizes' must have an integer dtype, got"):
        _moe()(_x(), sizes)


def test_plain_group_sizes_are_checked_too():
    with pytest.raises(ValueError, match=r"MoELinear: argument 'group_sizes' \[3, 3\]"):
        _moe()(_x(), [3, 3])


def test_fewer_rows_than_tokens_leaves_the_rest_zero():
    moe, x = _moe(), _x()
    out = moe(x, jnp.array([1, 2]))
    w = moe.weight.rearrange((Ex, In, Out)).array
    want = np.concatenate([x.array[:1] @ w[0], x.array[1:3] @ w[1], np.zeros((1, 4))])
    np.testing.assert_allclose(out.array, want, rtol=1e-5, atol=1e-6)


def test_traced_group_sizes_are_not_checked_under_jit():
    moe, x = _moe(), _x()
    out = jax.jit(lambda s: moe(x, s).array)(jnp.array([2, 2]))
    np.testing.assert_allclose(out, moe(x, jnp.array([2, 2])).array, rtol=1e-6)
