"""Int8DotGeneralOp: int8 forward and backward written with jax.lax, checked against hand-written references."""

import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import haliax as hax
import haliax.nn as hnn
from haliax.quantization import (
    Int8DotGeneralOp,
    OverwriteWithGradient,
    QuantizationConfig,
    apply_updates,
    partition_for_grad_overwrite,
    quantize_linear_layers,
)
from haliax.state_dict import from_state_dict, to_state_dict
from tests.helpers import linear_grads, relative_error

DN = (((1,), (0,)), ((), ()))


def _quant_rows(x, noise=None):
    """Reference: int8-quantise each row of a 2-D array (scale shared along axis 1)."""
    amax = jnp.max(jnp.abs(x), axis=1, keepdims=True)
    amax = jnp.where(amax == 0, 1.0, amax).astype(x.dtype)
    s = amax / 127.5
    inv = jnp.where(jnp.isinf(1 / s), 1.0, 1 / s).astype(x.dtype)
    y = x * inv
    if noise is not None:
        y = (y + noise).astype(x.dtype)
    return jnp.round(jnp.clip(y, -127, 127)).astype(jnp.int8), s


def _ref_matmul(a, b, a_noise=None):
    """Reference for ``a @ b.T`` on int8: a (M, K) per row, b (N, K) per row, int32 accumulation."""
    qa, sa = _quant_rows(a, a_noise)
    qb, sb = _quant_rows(b)
    acc = jnp.matmul(qa.astype(jnp.int32), qb.astype(jnp.int32).T)
    return acc.astype(a.dtype) * sa * sb.T


def _ref_forward(lhs, rhs, dn):
    """Reference forward for any dimension numbers: move every operand to (batch, free, contract), flatten,
    quantise per row, multiply batch by batch, and unflatten to dot_general's (batch, lhs free, rhs free)."""
    (lc, rc), (lb, rb) = dn
    lf = [d for d in range(lhs.ndim) if d not in lc and d not in lb]
    rf = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    bshape = [lhs.shape[d] for d in lb]
    k = int(np.prod([lhs.shape[d] for d in lc]))
    L = jnp.transpose(lhs, [*lb, *lf, *lc]).reshape(int(np.prod(bshape)), -1, k)
    R = jnp.transpose(rhs, [*rb, *rf, *rc]).reshape(int(np.prod(bshape)), -1, k)
    out = jnp.stack([_ref_matmul(L[i], R[i]) for i in range(L.shape[0])])
    return out.reshape(bshape + [lhs.shape[d] for d in lf] + [rhs.shape[d] for d in rf])


@jax.jit
def _ref_matmul_jit(a, b, a_noise=None):
    return _ref_matmul(a, b, a_noise)


@functools.partial(jax.jit, static_argnums=2)
def _op(lhs, rhs, dn):
    return Int8DotGeneralOp.init()(lhs, rhs, dn)


@functools.partial(jax.jit, static_argnums=3)
def _vjps(lhs, rhs, g, dn):
    """(int8 cotangents, float cotangents) of ``dot_general(lhs, rhs, dn)`` for the output cotangent ``g``."""
    _, vjp = jax.vjp(lambda a, b: Int8DotGeneralOp.init()(a, b, dn), lhs, rhs)
    _, vjp_f = jax.vjp(lambda a, b: lax.dot_general(a, b, dn), lhs, rhs)
    return vjp(g), vjp_f(g)


def _noise(shape):
    key = jax.random.split(jax.random.split(jax.random.PRNGKey(42), 3)[1], 2)[0]
    return jax.random.uniform(key, shape) - 0.5


def _normal(seed, shape, dtype=jnp.float32):
    return jax.random.normal(jax.random.PRNGKey(seed), shape).astype(dtype)


# --------------------------------------------------------------------------------------------------
# forward


def test_forward_2d_matches_reference():
    lhs, rhs = _normal(0, (5, 16)), _normal(1, (16, 6))
    out = Int8DotGeneralOp.init()(lhs, rhs, DN)  # eager
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, _ref_matmul_jit(lhs, rhs.T), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out, lhs @ rhs, rtol=5e-2, atol=5e-2)


@pytest.mark.parametrize(
    ("lshape", "rshape", "dn"),
    [
        ((3, 4, 5), (5, 4, 2), (((1, 2), (1, 0)), ((), ()))),  # two contracting dims, in another order
        ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),  # a batch dim
        ((4, 2, 3), (2, 5, 4), (((0,), (2,)), ((1,), (0,)))),  # contracting first, batch in the middle
        ((3, 4), (5, 4), (((1,), (1,)), ((), ()))),  # x @ w.T (PyTorch layout)
    ],
)
def test_forward_general_dimension_numbers(lshape, rshape, dn):
    lhs, rhs = _normal(0, lshape), _normal(1, rshape)
    out = _op(lhs, rhs, dn)
    exact = lax.dot_general(lhs, rhs, dn)
    assert out.shape == exact.shape
    ref = jax.jit(_ref_forward, static_argnums=2)(lhs, rhs, dn)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, exact, rtol=5e-2, atol=5e-2)


def test_zero_rows_and_bf16_keep_the_dtype():
    lhs = _normal(0, (3, 8), jnp.bfloat16).at[1].set(0)
    rhs = _normal(1, (8, 4), jnp.bfloat16)
    out = _op(lhs, rhs, DN)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_array_equal(out[1], jnp.zeros(4, jnp.bfloat16))
    ref = _ref_matmul_jit(lhs, rhs.T).astype(jnp.float32)
    np.testing.assert_allclose(out.astype(jnp.float32), ref, rtol=1e-2)


def test_mixed_dtypes_promote_and_options_are_ignored():
    lhs = _normal(0, (3, 8), jnp.bfloat16)
    rhs = _normal(1, (8, 4))
    op = Int8DotGeneralOp.init()
    out = op(lhs, rhs, DN, precision=lax.Precision.HIGHEST, preferred_element_type=jnp.bfloat16)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, op(lhs.astype(jnp.float32), rhs, DN))
    np.testing.assert_array_equal(op(lhs, rhs, DN, precision="highest"), out)


def test_integer_operands_are_rejected():
    with pytest.raises(TypeError, match="Int8DotGeneralOp: lhs and rhs must be floating point"):
        Int8DotGeneralOp.init()(jnp.ones((2, 3), jnp.int32), jnp.ones((3, 2), jnp.int32), DN)


# --------------------------------------------------------------------------------------------------
# backward


def test_backward_2d_matches_reference():
    lhs, rhs = _normal(0, (5, 16)), _normal(1, (16, 6))
    g = _normal(2, (5, 6))
    (dlhs, drhs), _ = _vjps(lhs, rhs, g, DN)
    # dlhs = g @ rhs.T as an int8 product: g per row with stochastic rounding, rhs re-quantised per row
    np.testing.assert_allclose(dlhs, _ref_matmul_jit(g, rhs, _noise(g.shape)), rtol=1e-6, atol=1e-6)
    # drhs is the float gradient
    np.testing.assert_allclose(drhs, lhs.T @ g, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("lshape", "rshape", "dn"),
    [
        ((3, 4, 5), (5, 4, 2), (((1, 2), (1, 0)), ((), ()))),
        ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
        ((4, 2, 3), (2, 5, 4), (((0,), (2,)), ((1,), (0,)))),
    ],
)
def test_backward_general_dimension_numbers_close_to_float(lshape, rshape, dn):
    lhs, rhs = _normal(0, lshape), _normal(1, rshape)
    out_shape = lax.dot_general(lhs, rhs, dn).shape
    g = _normal(2, out_shape)
    (dl, dr), (dl_f, dr_f) = _vjps(lhs, rhs, g, dn)
    assert dl.shape == lhs.shape and dr.shape == rhs.shape
    np.testing.assert_allclose(dr, dr_f, rtol=1e-5, atol=1e-5)
    assert float(jnp.linalg.norm(dl - dl_f) / jnp.linalg.norm(dl_f)) < 0.03


def test_backward_of_mixed_dtypes_keeps_each_dtype():
    lhs = _normal(0, (3, 8), jnp.bfloat16)
    rhs = _normal(1, (8, 4))
    dl, dr = jax.grad(lambda a, b: Int8DotGeneralOp.init()(a, b, DN).sum(), argnums=(0, 1))(lhs, rhs)
    assert dl.dtype == jnp.bfloat16 and dr.dtype == jnp.float32


# --------------------------------------------------------------------------------------------------
# in Linear


def _linear_pair():
    In, Out = hax.make_axes(In=8, Out=8)
    lin = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0), init_scale=0.1)
    return lin, quantize_linear_layers(lin, QuantizationConfig(int8=True))


def test_int8_linear_matches_float():
    lin, q = _linear_pair()
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 16), lin.In))
    out, ref = q(x), lin(x)
    assert isinstance(q.dot_general, Int8DotGeneralOp)
    assert out.axes == ref.axes and out.dtype == ref.dtype
    np.testing.assert_allclose(out.array, ref.array, atol=1e-2, rtol=5e-2)


def test_int8_linear_gradients_close_to_float():
    lin, q = _linear_pair()
    gq, gf, gxq, gxf = linear_grads(q, lin)
    np.testing.assert_allclose(gq.weight.array, gf.weight.array, rtol=1e-5, atol=1e-6)
    assert relative_error(gxq, gxf) < 0.03


# --------------------------------------------------------------------------------------------------
# the op as a module


def test_op_is_stateless_equal_and_hashable():
    a, b = Int8DotGeneralOp.init(), Int8DotGeneralOp.init()
    assert a == b and hash(a) == hash(b)
    assert isinstance(a, OverwriteWithGradient)
    assert jax.tree_util.tree_leaves(a) == []


def test_op_survives_a_training_step():
    lin, q = _linear_pair()
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), lin.In))
    grads = eqx.filter_grad(lambda m: hax.mean(m(x) ** 2).array)(q)
    overwrites, grads = partition_for_grad_overwrite(grads)
    assert overwrites.dot_general == Int8DotGeneralOp.init()
    updates = jax.tree_util.tree_map(lambda g: -0.1 * g, grads)
    new = apply_updates(q, updates, overwrites)
    assert new.dot_general == Int8DotGeneralOp.init()
    assert not np.allclose(new.weight.array, q.weight.array)
    assert bool(jnp.all(jnp.isfinite(new(x).array)))


def test_state_dict_is_empty_with_a_warning():
    lin, q = _linear_pair()
    with pytest.warns(UserWarning, match="Ignore all int8 states"):
        assert Int8DotGeneralOp.init().to_state_dict("x") == {}
    with pytest.warns(UserWarning, match="Ignore all int8 states"):
        sd = to_state_dict(q, "fc")
    assert sorted(sd) == ["fc.bias", "fc.weight"]
    sd = {k: v + 1 for k, v in sd.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        back = from_state_dict(q, sd, "fc")
    assert back.dot_general == Int8DotGeneralOp.init()
    np.testing.assert_allclose(back.weight.array, q.weight.array + 1)


def test_jit_of_an_int8_model_matches_eager():
    _, q = _linear_pair()
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), q.In))
    np.testing.assert_allclose(eqx.filter_jit(lambda m, x: m(x))(q, x).array, q(x).array, rtol=1e-6, atol=1e-7)
    grads = eqx.filter_jit(eqx.filter_grad(lambda m, x: hax.mean(m(x) ** 2).array))(q, x)
    assert bool(jnp.all(jnp.isfinite(grads.weight.array)))
