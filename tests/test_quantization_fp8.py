"""FP8 delayed-scaling quantisation: the qdq helpers, dot_general_with_precision and Fp8DotGeneralOp."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.quantization import (
    Fp8DotGeneralOp,
    QuantizationConfig,
    apply_updates,
    compute_amax_history,
    compute_scale,
    dot_general_with_precision,
    in_qdq,
    out_qdq,
    partition_for_grad_overwrite,
    qdq,
    quantize_linear_layers,
)
from tests.helpers import FP8_STATE_FIELDS, linear_grads, relative_error

E4M3_MAX, E5M2_MAX = 448.0, 57344.0
DN = (((1,), (0,)), ((), ()))


def _sgd_step(model, loss, *args, lr=0.1):
    grads = eqx.filter_grad(loss)(model, *args)
    overwrites, grads = partition_for_grad_overwrite(grads)
    updates = jax.tree_util.tree_map(lambda g: -lr * g, grads)
    return apply_updates(model, updates, overwrites)


# --------------------------------------------------------------------------------------------------
# helpers


def test_fresh_op_fields_and_init():
    op = Fp8DotGeneralOp.init(16, jnp.bfloat16)
    assert [f for f in op.__dataclass_fields__] == [*FP8_STATE_FIELDS, "compute_dtype"]
    for name in FP8_STATE_FIELDS[:3]:
        np.testing.assert_array_equal(getattr(op, name), np.ones(1, np.float32))
        assert getattr(op, name).dtype == jnp.float32
    for name in FP8_STATE_FIELDS[3:]:
        np.testing.assert_array_equal(getattr(op, name), np.zeros(16, np.float32))
    assert op.compute_dtype == jnp.bfloat16
    assert Fp8DotGeneralOp.init().input_amax_history.shape == (1024,)
    with pytest.raises(TypeError):
        hash(op)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_init_rejects_bad_history_length(bad):
    with pytest.raises(ValueError, match="Fp8DotGeneralOp.init: amax_history_length"):
        Fp8DotGeneralOp.init(bad)


def test_compute_scale_rule():
    scale = jnp.full((1,), 0.5)
    np.testing.assert_allclose(compute_scale(jnp.float32(224.0), scale, E4M3_MAX), [0.5], rtol=1e-6)
    np.testing.assert_allclose(compute_scale(jnp.float32(0.0), scale, E4M3_MAX), [0.5])
    np.testing.assert_allclose(compute_scale(jnp.float32(jnp.inf), scale, E4M3_MAX), [0.5])
    np.testing.assert_allclose(compute_scale(jnp.float32(4.0), scale, 4.0, margin=1), [2.0])


def test_compute_amax_history_rolls_and_sets():
    hist = jnp.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(compute_amax_history(jnp.array([[-7.0, 2.0]]), hist), [7.0, 3.0, 1.0])


def test_qdq_at_init_is_a_plain_fp8_cast():
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 7)) * 3
    for fmt in (jnp.float8_e4m3fn, jnp.float8_e5m2):
        y, scale, hist = qdq(x, fmt, jnp.ones(1), jnp.zeros(4), jnp.float32)
        np.testing.assert_array_equal(y, x.astype(fmt).astype(jnp.float32))
        np.testing.assert_array_equal(scale, [1.0])
        np.testing.assert_allclose(hist, [float(jnp.max(jnp.abs(x))), 0, 0, 0])


def test_qdq_uses_the_history_before_this_step():
    x = jnp.array([1000.0, -10.0])
    hist = jnp.array([896.0, 0.0, 0.0])
    y, scale, new_hist = qdq(x, jnp.float8_e4m3fn, jnp.ones(1), hist, jnp.float32)
    np.testing.assert_allclose(scale, [2.0])  # 896 / 448, not from max|x| = 1000
    ref = jnp.clip(x / 2.0, -E4M3_MAX, E4M3_MAX).astype(jnp.float8_e4m3fn).astype(jnp.float32) * 2.0
    np.testing.assert_array_equal(y, ref)
    assert float(y[0]) == 896.0  # clipped at fmt_max * scale
    np.testing.assert_allclose(new_hist, [1000.0, 0.0, 896.0])


@pytest.mark.parametrize("stored", [0.0, -1.0, np.nan, np.inf])
def test_qdq_reads_an_unusable_stored_scale_as_one(stored):
    x = jnp.array([0.3, -2.0, 5.0])
    y, scale, _ = qdq(x, jnp.float8_e4m3fn, jnp.full((1,), stored), jnp.zeros(3), jnp.float32)
    np.testing.assert_array_equal(scale, [1.0])
    np.testing.assert_array_equal(y, x.astype(jnp.float8_e4m3fn).astype(jnp.float32))


def test_in_qdq_straight_through_and_state_cotangents():
    x = jnp.array([[0.3, -2.0], [1.0, 4.0]])
    scale, hist = jnp.full((1,), 0.25), jnp.array([4.0, 0.0])
    y = in_qdq(jnp.float32, x, scale, hist)
    np.testing.assert_array_equal(y, qdq(x, jnp.float8_e4m3fn, scale, hist, jnp.float32)[0])
    ct = jnp.arange(4.0).reshape(2, 2)
    _, vjp = jax.vjp(lambda *a: in_qdq(jnp.float32, *a), x, scale, hist)
    gx, gs, gh = vjp(ct)
    np.testing.assert_array_equal(gx, ct)
    np.testing.assert_allclose(gs, [4.0 / E4M3_MAX], rtol=1e-6)
    np.testing.assert_allclose(gh, [4.0, 4.0])


def test_out_qdq_identity_forward_e5m2_backward():
    y = jnp.array([0.3, -2.0])
    scale, hist = jnp.ones(1), jnp.zeros(2)
    np.testing.assert_array_equal(out_qdq(jnp.float32, y, scale, hist), y)
    g = jnp.array([0.1, -3.3])
    _, vjp = jax.vjp(lambda *a: out_qdq(jnp.float32, *a), y, scale, hist)
    gy, gs, gh = vjp(g)
    np.testing.assert_array_equal(gy, g.astype(jnp.float8_e5m2).astype(jnp.float32))
    np.testing.assert_array_equal(gs, [1.0])
    np.testing.assert_allclose(gh, [3.3, 0.0], rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# dot_general_with_precision


def test_dot_general_with_precision_forward_ignores_options():
    a = jax.random.normal(jax.random.PRNGKey(0), (3, 4))
    b = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
    out = dot_general_with_precision(a, b, DN, lax.Precision.HIGHEST, jnp.bfloat16)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, lax.dot_general(a, b, DN), rtol=1e-6)


def test_dot_general_with_precision_jvp_and_grads():
    a = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 4))
    b = jax.random.normal(jax.random.PRNGKey(1), (2, 4, 5))
    da = jax.random.normal(jax.random.PRNGKey(2), a.shape)
    db = jax.random.normal(jax.random.PRNGKey(3), b.shape)
    dn = (((2,), (1,)), ((0,), (0,)))
    out, tangent = jax.jvp(lambda x, y: dot_general_with_precision(x, y, dn), (a, b), (da, db))
    hi = lax.Precision.HIGHEST
    np.testing.assert_allclose(out, lax.dot_general(a, b, dn), rtol=1e-6)
    expect = lax.dot_general(da, b, dn, precision=hi) + lax.dot_general(a, db, dn, precision=hi)
    np.testing.assert_allclose(tangent, expect, rtol=1e-5, atol=1e-6)
    check_grads(lambda x, y: dot_general_with_precision(x, y, dn), (a, b), order=1, modes=("fwd", "rev"))


# --------------------------------------------------------------------------------------------------
# the op in Linear / MLP


def _linear_pair(key=0, dot_general=None):
    In, Out = hax.make_axes(In=8, Out=8)
    lin = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(key), init_scale=0.1)
    return lin, eqx.tree_at(lambda m: m.dot_general, lin, dot_general or Fp8DotGeneralOp.init())


def test_fp8_linear_forward_matches_float():
    lin, fp8 = _linear_pair()
    B = hax.Axis("B", 16)
    x = hax.random.normal(jax.random.PRNGKey(1), (B, lin.In))
    out, ref = fp8(x), lin(x)
    assert out.axes == ref.axes and out.dtype == ref.dtype
    np.testing.assert_allclose(out.array, ref.array, atol=2e-2, rtol=5e-2)


def test_fp8_linear_gradients_close_to_float():
    lin, fp8 = _linear_pair()
    gq, gf, gxq, gxf = linear_grads(fp8, lin)
    assert relative_error(gq.weight, gf.weight) < 0.15
    np.testing.assert_allclose(gq.bias.array, gf.bias.array, rtol=1e-6)
    assert relative_error(gxq, gxf) < 0.15


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_fp8_mlp_matches_float():
    I, O, B = hax.make_axes(I=16, O=32, B=8)
    mlp = hnn.MLP.init(I, O, width=64, depth=3, key=jax.random.PRNGKey(0), init_scale=0.1)
    q = quantize_linear_layers(mlp, QuantizationConfig(fp8=True))
    assert all(isinstance(layer.dot_general, Fp8DotGeneralOp) for layer in q.layers)
    x = hax.random.normal(jax.random.PRNGKey(3), (B, I)) * 10
    out = q(x).array
    np.testing.assert_allclose(out, mlp(x).array, atol=1e-3)
    assert bool(jnp.any(out != 0))


@pytest.mark.parametrize(
    ("lhs_dtype", "rhs_dtype", "out_dtype"),
    [
        (jnp.float32, jnp.float32, jnp.float32),
        (jnp.float32, jnp.bfloat16, jnp.bfloat16),
        (jnp.bfloat16, jnp.float32, jnp.float32),
    ],
)
def test_output_dtype_follows_the_kernel(lhs_dtype, rhs_dtype, out_dtype):
    a = jnp.ones((2, 3), lhs_dtype)
    b = jnp.ones((3, 4), rhs_dtype)
    out = Fp8DotGeneralOp.init(4)(a, b, DN, precision=lax.Precision.HIGHEST, preferred_element_type=jnp.int32)
    assert out.dtype == out_dtype
    np.testing.assert_allclose(out.astype(jnp.float32), np.full((2, 4), 3.0))


def test_compute_dtype_casts_the_input():
    a = jnp.full((2, 3), 0.3)
    b = jnp.ones((3, 4), jnp.float32)
    out = Fp8DotGeneralOp.init(4, jnp.bfloat16)(a, b, DN)
    assert out.dtype == jnp.float32  # bf16 input (cast) with an f32 kernel promotes to f32
    np.testing.assert_allclose(out, np.full((2, 4), 3 * 0.3125))


def test_stacked_state_called_directly_gives_a_clear_error():
    op = jax.tree_util.tree_map(lambda a: jnp.stack([a, a]), Fp8DotGeneralOp.init(4))
    with pytest.raises(ValueError, match="Fp8DotGeneralOp: input_scale must have shape"):
        op(jnp.ones((2, 3)), jnp.ones((3, 4)), DN)


# --------------------------------------------------------------------------------------------------
# training: scales and histories follow the delayed-scaling rule


def _roll_set(hist, amax):
    hist = np.roll(hist, -1)
    hist[0] = amax
    return hist


def _next_scale(hist, scale, fmt_max):
    amax = hist.max()
    return np.array([amax / fmt_max]) if amax > 0 and np.isfinite(amax) else scale


def test_training_loop_updates_scales_and_histories():
    L, steps = 2, 4  # a history shorter than the run: the roll wraps around
    lin, fp8 = _linear_pair(dot_general=Fp8DotGeneralOp.init(L))
    B = hax.Axis("B", 16)

    def loss(m, x):
        y = m(x)
        return hax.mean(y * y).array

    expect = {name: np.zeros(L) for name in FP8_STATE_FIELDS[3:]}
    expect.update({name: np.ones(1) for name in FP8_STATE_FIELDS[:3]})
    model = fp8
    for step in range(steps):
        x = hax.random.normal(jax.random.PRNGKey(10 + step), (B, lin.In)) * (step + 1)
        y = np.asarray(model(x).array)
        g = 2 * y / y.size  # dL/dy
        w = np.asarray(model.weight.array)
        for prefix, value, fmt_max in (
            ("input", np.abs(np.asarray(x.array)).max(), E4M3_MAX),
            ("kernel", np.abs(w).max(), E4M3_MAX),
            ("output_grad", np.abs(g).max(), E5M2_MAX),
        ):
            hist = expect[f"{prefix}_amax_history"]
            expect[f"{prefix}_scale"] = _next_scale(hist, expect[f"{prefix}_scale"], fmt_max)
            expect[f"{prefix}_amax_history"] = _roll_set(hist, value)
        model = _sgd_step(model, loss, x)
        for name in FP8_STATE_FIELDS:
            np.testing.assert_allclose(getattr(model.dot_general, name), expect[name], rtol=1e-3, atol=1e-3)
    assert float(model.dot_general.kernel_scale[0]) != 1.0


def test_training_with_optax_keeps_states_out_of_the_optimizer():
    optax = pytest.importorskip("optax")
    lin, fp8 = _linear_pair(dot_general=Fp8DotGeneralOp.init(8))
    B = hax.Axis("B", 4)
    x = hax.random.normal(jax.random.PRNGKey(1), (B, lin.In))
    opt = optax.adam(1e-2)
    _, params = partition_for_grad_overwrite(fp8)
    opt_state = opt.init(eqx.filter(params, eqx.is_array))

    @eqx.filter_jit
    def step(model, opt_state):
        grads = eqx.filter_grad(lambda m: hax.mean(m(x) ** 2).array)(model)
        overwrites, grads = partition_for_grad_overwrite(grads)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return apply_updates(model, updates, overwrites), opt_state

    model = fp8
    for _ in range(3):
        model, opt_state = step(model, opt_state)
    amax = float(hax.max(hax.abs(x)).array)  # three roll-and-sets of the same value: [a, 0, ..., 0, a, a]
    np.testing.assert_allclose(model.dot_general.input_amax_history, [amax] + [0.0] * 5 + [amax] * 2)
    assert not np.allclose(model.weight.array, fp8.weight.array)


def test_an_fp8_layer_left_out_of_the_loss_keeps_working():
    E, H, B = hax.make_axes(E=8, H=8, B=4)
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    model = {
        "body": hnn.Linear.init(E, H, key=k1, init_scale=0.1),
        "head": hnn.Linear.init(E, H, key=k2, init_scale=0.1),
    }
    q = quantize_linear_layers(model, QuantizationConfig(fp8=True, amax_history_length=4))
    x = hax.random.normal(jax.random.PRNGKey(1), (B, E))

    def loss(m, x):
        return hax.mean(m["body"](x) ** 2).array

    for _ in range(2):
        q = _sgd_step(q, loss, x)
    # the head took no part in the loss: its cotangents were zeros, which were installed
    np.testing.assert_array_equal(q["head"].dot_general.input_scale, [0.0])
    out = q["head"](x).array
    assert bool(jnp.all(jnp.isfinite(out))) and bool(jnp.any(out != 0))
    np.testing.assert_allclose(out, model["head"](x).array, atol=2e-2, rtol=5e-2)
    assert bool(jnp.all(jnp.isfinite(q["head"](hax.zeros((B, E))).array)))
    # and it trains normally once it is used
    q = _sgd_step(q, lambda m, x: hax.mean(m["head"](x) ** 2).array, x)
    np.testing.assert_array_equal(q["head"].dot_general.input_scale, [1.0])
    np.testing.assert_allclose(q["head"].dot_general.input_amax_history[0], float(hax.max(hax.abs(x)).array))


def test_one_op_used_twice_sums_its_state_cotangents():
    # the documented limitation: a shared op's installed state is the sum over its uses
    E, B = hax.make_axes(E=8, B=4)
    layer = hnn.Linear.init(E, hax.Axis("H", 8), key=jax.random.PRNGKey(0), dot_general=Fp8DotGeneralOp.init(4))
    x1 = hax.random.normal(jax.random.PRNGKey(1), (B, E))
    x2 = x1 * 3

    def loss(m):
        return hax.mean(m(x1) + m(x2)).array

    grads = eqx.filter_grad(loss)(layer)
    amax1 = float(hax.max(hax.abs(x1)).array)
    np.testing.assert_allclose(grads.dot_general.input_amax_history[0], amax1 + 3 * amax1, rtol=1e-6)
    np.testing.assert_array_equal(grads.dot_general.input_scale, [2.0])


def test_jit_of_an_fp8_model_matches_eager():
    _, fp8 = _linear_pair()
    x = hax.random.normal(jax.random.PRNGKey(1), (hax.Axis("B", 4), fp8.In))
    np.testing.assert_allclose(eqx.filter_jit(lambda m, x: m(x))(fp8, x).array, fp8(x).array, rtol=1e-6)
