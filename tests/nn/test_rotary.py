"""haliax.nn.rotary: RoPE (rotate-half) against a NumPy reference, Llama-3 scaling, relative positions, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
import haliax.nn as hnn
from haliax.nn.rotary import Llama3RotaryScaling, RotaryEmbedding, apply_rotary, rotary_frequencies

Batch, Pos, Heads, D = hax.make_axes(batch=2, position=5, heads=3, head_size=8)

# Hugging Face transformers' ROPE_INIT_FUNCTIONS["llama3"] for head_dim 16, theta 500000 and the Llama-3.1
# defaults (factor 8, low 1, high 4, original 8192), float32; indices 0-3 high, 4 medium, 5-7 low frequency.
HF_LLAMA3_16 = [
    1.0,
    0.193922758102417,
    0.03760603070259094,
    0.00729266507551074,
    0.0005248460220173001,
    3.428102354519069e-05,
    6.647869668086059e-06,
    1.289173155782919e-06,
]


# ------------------------------------------------------------------------------------------------------------
# NumPy references (float64), written from the formulas


def np_llama3(freqs, factor=8.0, low=1.0, high=4.0, old=8192):
    """Meta's `apply_scaling`, one frequency at a time."""
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / f
        if wavelen < old / high:
            out.append(f)
        elif wavelen > old / low:
            out.append(f / factor)
        else:
            s = (old / wavelen - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return np.array(out)


def np_rope(x, pos, theta=10000.0, fraction=1.0, scaling=None):
    """x [..., P, D] and pos broadcastable to [..., P]: rotate-half RoPE on the first int(D*fraction) coords."""
    Dn = x.shape[-1]
    R = int(Dn * fraction)
    h = R // 2
    freqs = np.array([theta ** (-2 * i / R) for i in range(h)])
    if scaling is not None:
        freqs = np_llama3(
            freqs,
            scaling.factor,
            scaling.low_freq_factor,
            scaling.high_freq_factor,
            scaling.original_max_position_embeddings,
        )
    ang = np.asarray(pos, np.float64)[..., None] * freqs
    c, s = np.cos(ang), np.sin(ang)
    x1, x2, rest = x[..., :h], x[..., h:R], x[..., R:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s, rest], axis=-1)


def rnd(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------------------------------------------------------
# frequencies


def test_frequencies_standard():
    np.testing.assert_allclose(rotary_frequencies(8, 10000.0), [10000.0 ** (-i / 4) for i in range(4)], rtol=1e-15)


def test_llama3_scaling_matches_hf_values_and_numpy_reference():
    f = rotary_frequencies(16, 500000.0, Llama3RotaryScaling())
    np.testing.assert_allclose(f, HF_LLAMA3_16, rtol=1e-6)  # HF computes in float32 (a few ulps)
    plain = rotary_frequencies(16, 500000.0)
    np.testing.assert_allclose(f, np_llama3(plain), rtol=1e-12)
    # the three bands: kept, smoothed, divided by the factor
    assert f[0] == plain[0] and plain[4] / 8 < f[4] < plain[4] and math.isclose(f[7], plain[7] / 8)


def test_llama3_scaling_other_parameters():
    sc = Llama3RotaryScaling(
        factor=32.0, low_freq_factor=2.0, high_freq_factor=8.0, original_max_position_embeddings=64
    )
    plain = rotary_frequencies(32, 10000.0)
    np.testing.assert_allclose(sc.scale_frequencies(plain), np_llama3(plain, 32.0, 2.0, 8.0, 64), rtol=1e-12)


# ------------------------------------------------------------------------------------------------------------
# rotation vs NumPy


@pytest.mark.parametrize(
    "theta,fraction,scaling",
    [
        (10000.0, 1.0, None),
        (500000.0, 1.0, Llama3RotaryScaling(original_max_position_embeddings=16)),
        (100.0, 0.5, None),
        (10000.0, 0.25, Llama3RotaryScaling(factor=4.0, original_max_position_embeddings=4)),
    ],
)
def test_apply_rotary_matches_numpy(theta, fraction, scaling):
    x = rnd((2, 5, 3, 8))
    pos = np.array([[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]])
    xn = hax.named(x, (Batch, Pos, Heads, D))
    out = apply_rotary(
        xn, hax.named(pos, (Batch, Pos)), D, theta=theta, partial_rotary_factor=fraction, scaling=scaling
    )
    assert out.axes == xn.axes and out.dtype == jnp.float32
    ref = np_rope(np.moveaxis(x, 2, 1), pos[:, None, :], theta, fraction, scaling)  # [B, H, P, D]
    np.testing.assert_allclose(np.moveaxis(np.asarray(out.array), 2, 1), ref, atol=1e-5, rtol=1e-5)


def test_axis_order_is_free_and_positions_broadcast():
    """HeadSize in the middle; positions (Pos,) shared over batch and heads."""
    x = rnd((8, 5, 2))  # (D, Pos, Batch)
    xn = hax.named(x, (D, Pos, Batch))
    pos = np.array([3, 1, 4, 1, 5])
    out = hnn.RotaryEmbedding.init(D)(xn, hax.named(pos, Pos))
    assert out.axes == (D, Pos, Batch)
    ref = np_rope(np.transpose(x, (2, 1, 0)), pos)  # [B, P, D]
    np.testing.assert_allclose(np.transpose(np.asarray(out.array), (2, 1, 0)), ref, atol=1e-5, rtol=1e-5)


def test_packed_sequences_restart_positions():
    """Two sequences packed along Pos: positions restart, each half equals its own unpacked rotation."""
    x = hax.named(rnd((5, 8), 3), (Pos, D))
    packed = apply_rotary(x, hax.named([0, 1, 2, 0, 1], Pos), D)
    P3, P2 = Pos.resize(3), Pos.resize(2)
    first = apply_rotary(x[Pos, :3], hax.arange(P3), D)
    second = apply_rotary(x[Pos, 3:], hax.arange(P2), D)
    np.testing.assert_allclose(packed.array[:3], first.array, atol=1e-6)
    np.testing.assert_allclose(packed.array[3:], second.array, atol=1e-6)


def test_partial_rotary_passes_tail_through_and_position_zero_is_identity():
    x = hax.named(rnd((5, 8), 4), (Pos, D))
    rope = RotaryEmbedding.init(D, partial_rotary_factor=0.5)
    assert rope.rotary_dim == 4 and rope.frequencies.shape == (2,)
    out = rope(x, hax.arange(Pos) + 3)
    np.testing.assert_array_equal(out.array[:, 4:], x.array[:, 4:])
    zero = rope(x, hax.zeros(Pos, dtype=jnp.int32))
    np.testing.assert_allclose(zero.array, x.array, atol=1e-7)


def test_norm_preserved_bf16_dtype_and_jit():
    x = hax.named(rnd((5, 8), 5), (Pos, D))
    pos = hax.arange(Pos) * 7
    rope = RotaryEmbedding.init(D, theta=50.0)
    out = rope(x, pos)
    np.testing.assert_allclose(np.linalg.norm(out.array, axis=-1), np.linalg.norm(x.array, axis=-1), rtol=1e-5)
    jitted = jax.jit(lambda a, p: rope(a, p))(x, pos)
    np.testing.assert_allclose(jitted.array, out.array, atol=1e-6)
    xb = x.astype(jnp.bfloat16)
    ob = rope(xb, pos)
    assert ob.dtype == jnp.bfloat16
    ref = np_rope(np.asarray(xb.array, np.float64), np.asarray(pos.array), theta=50.0)
    np.testing.assert_allclose(np.asarray(ob.array, np.float64), ref, atol=2e-2)


def test_grad_matches_transpose_rotation():
    from jax.test_util import check_grads

    x = hax.named(rnd((5, 8), 6), (Pos, D))
    pos = hax.arange(Pos)

    def f(a):
        return apply_rotary(hax.named(a, (Pos, D)), pos, D, partial_rotary_factor=0.5).array

    check_grads(f, (x.array,), order=1, modes=("rev",), eps=1e-2, atol=1e-2, rtol=1e-2)
    # the rotation is orthogonal: the vjp of the output is the inverse rotation
    g = jax.grad(lambda a: jnp.sum(f(a) * f(x.array)))(x.array)
    np.testing.assert_allclose(g, x.array, atol=1e-5)


# ------------------------------------------------------------------------------------------------------------
# relative positions


@settings(max_examples=30, deadline=None)
@given(m=st.integers(0, 40), n=st.integers(0, 40), shift=st.integers(-20, 40), seed=st.integers(0, 2**16))
def test_qk_depends_only_on_position_difference(m, n, shift, seed):
    if min(m + shift, n + shift) < 0:
        shift = -min(m, n)
    q = hax.named(rnd((8,), seed), D)
    k = hax.named(rnd((8,), seed + 1), D)
    rope = RotaryEmbedding.init(D, theta=100.0)
    P1 = hax.Axis("position", 1)

    def score(a, b):
        qa = rope(q.broadcast_axis(P1), hax.full(P1, a, dtype=jnp.int32))
        kb = rope(k.broadcast_axis(P1), hax.full(P1, b, dtype=jnp.int32))
        return float(hax.dot(qa, kb, axis=(D, P1)).array)

    np.testing.assert_allclose(score(m, n), score(m + shift, n + shift), atol=3e-5)
    # and equals the NumPy value from the formula
    ref = float(np_rope(q.array[None], [m], 100.0)[0] @ np_rope(k.array[None], [n], 100.0)[0])
    np.testing.assert_allclose(score(m, n), ref, atol=2e-5)


def test_relative_property_exact_in_float64():
    with jax.enable_x64(True):
        q = hax.named(rnd((5, 8), 7).astype(np.float64), (Pos, D))
        K = Pos.alias("key_position")
        k = hax.named(rnd((5, 8), 8).astype(np.float64), (K, D))
        rope = RotaryEmbedding.init(D)

        def scores(off):
            qr = rope(q, hax.arange(Pos, start=off))
            kr = rope(k, hax.arange(K, start=off))
            return np.asarray(hax.dot(qr, kr, axis=D).array)

        s0 = scores(0)
        assert s0.dtype == np.float64
        np.testing.assert_allclose(scores(1000), s0, atol=1e-9)


# ------------------------------------------------------------------------------------------------------------
# errors


def test_wrong_head_size():
    rope = RotaryEmbedding.init(D)
    x = hax.ones((Pos, D.resize(6)))
    with pytest.raises(
        ValueError,
        match=r"apply_rotary: argument 'HeadSize': Found axis with same name but different size: "
        r"asked for head_size\(8\), the array has head_size\(6\)",
    ):
        rope(x, hax.arange(Pos))
    with pytest.raises(ValueError, match="apply_rotary: argument 'HeadSize': axis head_sz not found.*head_size"):
        apply_rotary(hax.ones((Pos, D)), hax.arange(Pos), "head_sz")


def test_bad_positions():
    x = hax.ones((Pos, D))
    with pytest.raises(TypeError, match="integer dtype"):
        apply_rotary(x, hax.arange(Pos) * 1.0, D)
    with pytest.raises(TypeError, match="must be an integer NamedArray"):
        apply_rotary(x, jnp.arange(5), D)
    with pytest.raises(ValueError, match="argument 'positions': axis batch not found in .*position"):
        apply_rotary(x, hax.zeros((Batch, Pos), dtype=jnp.int32), D)
    with pytest.raises(
        ValueError,
        match=r"apply_rotary: argument 'positions': axis position has conflicting sizes: 5 \(x\), 3 \(positions\)",
    ):
        apply_rotary(x, hax.arange(Pos.resize(3)), D)
    with pytest.raises(ValueError, match="must not have the HeadSize axis"):
        apply_rotary(x, hax.zeros((Pos, D), dtype=jnp.int32), D)
    with pytest.raises(TypeError, match="argument 'x' must be a NamedArray"):
        apply_rotary(jnp.ones((5, 8)), hax.arange(Pos), D)


def test_bad_configuration():
    with pytest.raises(ValueError, match="must be even"):
        RotaryEmbedding.init(hax.Axis("head_size", 6), partial_rotary_factor=0.5)
    with pytest.raises(ValueError, match=r"partial_rotary_factor must be in \(0, 1\]"):
        RotaryEmbedding.init(D, partial_rotary_factor=1.5)
    with pytest.raises(ValueError, match="theta must be > 0"):
        RotaryEmbedding.init(D, theta=0.0)
    with pytest.raises(TypeError, match="HeadSize must be an Axis"):
        RotaryEmbedding.init("head_size")
    with pytest.raises(ValueError, match="rotary_dim must be a positive even integer"):
        rotary_frequencies(7)
    with pytest.raises(ValueError, match="low_freq_factor < high_freq_factor"):
        Llama3RotaryScaling(low_freq_factor=4.0, high_freq_factor=1.0)
    with pytest.raises(ValueError, match="factor must be > 0"):
        Llama3RotaryScaling(factor=0.0)


def test_module_is_static_pytree():
    rope = RotaryEmbedding.init(D, scaling=Llama3RotaryScaling())
    assert jax.tree_util.tree_leaves(rope) == []
    assert hash(rope.scaling) == hash(Llama3RotaryScaling())
