"""haliax.nn.attention: the seed mask/bias functions, dot_product_attention(_weights) semantics, errors, dispatch."""

import logging

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.nn import attention as attn_mod
from haliax.nn.attention import (
    AttentionMask,
    alibi_attention_bias,
    causal_mask,
    combine_masks_and,
    combine_masks_or,
    dot_product_attention,
    dot_product_attention_weights,
    dropout_mask,
    forgetful_causal_mask,
    mask_to_bias,
    prefix_lm_mask,
)

Batch, Heads, Pos, KPos, D = hax.make_axes(batch=2, heads=3, pos=5, kpos=6, d=4)


def _qkv(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    q = hax.named(rng.standard_normal((2, 3, 5, 4)).astype(dtype), (Batch, Heads, Pos, D))
    k = hax.named(rng.standard_normal((2, 3, 6, 4)).astype(dtype), (Batch, Heads, KPos, D))
    v = hax.named(rng.standard_normal((2, 3, 6, 4)).astype(dtype), (Batch, Heads, KPos, D))
    return q, k, v


# ---------------------------------------------------------------------------------------------- seed masks


def test_causal_mask_and_offsets():
    i, j = np.arange(5)[:, None], np.arange(6)[None, :]
    m = causal_mask(Pos, KPos)
    assert m.axes == (Pos, KPos) and m.dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(m.array), i >= j)
    np.testing.assert_array_equal(np.asarray(causal_mask(Pos, KPos, q_start=2, k_start=1).array), i + 2 >= j + 1)
    ks = hax.named(np.array([0, 2]), (Batch,))
    got = causal_mask(Pos, KPos, k_start=ks)
    assert got.axes == (Pos, Batch, KPos)  # Haliax's order
    np.testing.assert_array_equal(np.asarray(got.array), np.stack([i >= j, i >= j + 2], axis=1))
    # a NamedArray q_start with an int k_start works (Haliax raises a broadcasting error)
    got = causal_mask(Pos, KPos, q_start=ks)
    assert got.axes == (Pos, Batch, KPos)
    np.testing.assert_array_equal(np.asarray(got.array), np.stack([i >= j, i + 2 >= j], axis=1))


def test_prefix_lm_mask():
    Q, K = hax.Axis("q", 4), hax.Axis("k", 6)
    want = [[1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]
    np.testing.assert_array_equal(np.asarray(prefix_lm_mask(Q, K, 3).array).astype(int), want)
    with pytest.raises(ValueError, match="prefix_len must be >= 0"):
        prefix_lm_mask(Q, K, -1)


def test_combine_masks():
    m1 = causal_mask(Pos, KPos)
    m2 = hax.named(np.array([True, True, False, True, True, True]), (KPos,))
    assert combine_masks_and(None, None) is None and combine_masks_or(None, None) is None
    assert combine_masks_and(m1, None) is m1 and combine_masks_or(None, m2) is m2
    for a, b in ((m1, m2), (m2, m1)):
        got = combine_masks_and(a, b)
        assert set(got.axes) == {Pos, KPos}
        np.testing.assert_array_equal(
            np.asarray(got.broadcast_to((Pos, KPos)).array), np.asarray(m1.array) & np.asarray(m2.array)
        )
        got = combine_masks_or(a, b)
        np.testing.assert_array_equal(
            np.asarray(got.broadcast_to((Pos, KPos)).array), np.asarray(m1.array) | np.asarray(m2.array)
        )
    mb = hax.named(np.array([[True] * 6, [False] * 6]), (Batch, KPos))
    assert set(combine_masks_and(mb, m1).axes) == {Batch, Pos, KPos}
    assert isinstance(combine_masks_and(AttentionMask.causal(), m2), AttentionMask)


def test_forgetful_causal_mask_and_dropout_mask():
    key = jax.random.PRNGKey(3)
    K = hax.Axis("k", 64)
    assert np.asarray(forgetful_causal_mask(K, 0.0, key=key).array).all()
    only0 = np.asarray(forgetful_causal_mask(K, 1.0, key=key).array)
    assert only0[0] and not only0[1:].any()
    got = np.asarray(forgetful_causal_mask(K, 0.5, key=key).array)
    k2, sub = jax.random.split(key)
    p = jax.random.uniform(sub, shape=(), minval=0, maxval=0.5)
    want = np.array(jax.random.bernoulli(k2, 1 - p, (64,)))
    want[0] = True
    np.testing.assert_array_equal(got, want)
    got = np.asarray(forgetful_causal_mask(K, 0.5, sample_prob=False, key=key).array)
    want = np.array(jax.random.bernoulli(key, 0.5, (64,)))
    want[0] = True
    np.testing.assert_array_equal(got, want)
    dm = dropout_mask((Heads, K), 0.25, key=key)
    assert dm.axes == (Heads, K)
    np.testing.assert_array_equal(np.asarray(dm.array), np.asarray(jax.random.bernoulli(key, 0.75, (3, 64))))


def test_mask_to_bias_follows_the_mask_convention():
    m = causal_mask(hax.Axis("q", 2), hax.Axis("k", 2))
    b = mask_to_bias(m)
    assert b.axes == m.axes and b.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(b.array), [[0.0, -1e9], [0.0, 0.0]])
    np.testing.assert_array_equal(np.asarray(mask_to_bias(m, -np.inf).array), [[0.0, -np.inf], [0.0, 0.0]])
    with pytest.raises(TypeError, match="mask_to_bias"):
        mask_to_bias(np.ones(3, bool))


def test_alibi_slopes_and_bloom():
    K = hax.Axis("k", 7)
    b8 = alibi_attention_bias(hax.Axis("h", 8), K)
    assert b8.axes[0].name == "h" and b8.axes[1] == K
    np.testing.assert_allclose(np.asarray(b8.array)[:, 1], [0.5 ** (i + 1) for i in range(8)])
    b6 = alibi_attention_bias(hax.Axis("h", 6), K)
    np.testing.assert_allclose(np.asarray(b6.array)[:, 1], [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125])
    np.testing.assert_allclose(np.asarray(b6.array)[:, 3], 3 * np.asarray(b6.array)[:, 1], rtol=1e-6)
    assert alibi_attention_bias(hax.Axis("h", 4), K, dtype=jnp.bfloat16).dtype == jnp.bfloat16
    torch = pytest.importorskip("torch")
    bloom = pytest.importorskip("transformers.models.bloom.modeling_bloom")
    for n in (4, 6, 12):
        want = bloom.build_alibi_tensor(torch.ones(1, 7), n, torch.float32).reshape(n, 7).numpy()
        np.testing.assert_allclose(np.asarray(alibi_attention_bias(hax.Axis("h", n), K).array), want, atol=1e-6)


# ---------------------------------------------------------------------------------------------- weights


def test_weights_follow_the_pinned_order_of_operations():
    q, k, _ = _qkv(1)
    mask = causal_mask(Pos, KPos)
    bias = hax.named(np.where(np.arange(6) == 5, 1e10, 0.0).astype(np.float32), (KPos,))  # huge, but masked for 0..4

    @jax.jit
    def run(q, k):
        w = dot_product_attention_weights(D, KPos, q, k, mask=mask, bias=bias)
        wb = dot_product_attention_weights(D, KPos, q, k, mask=mask, attention_dtype=jnp.bfloat16, scaling_factor=0.3)
        return w, wb

    w, wb = run(q, k)
    assert w.axes == (Batch, Heads, Pos, KPos) and w.dtype == jnp.float32
    s = jnp.einsum("bhqd,bhkd->bhqk", q.array / 2.0, k.array) + bias.array[None, None, None, :]
    s = jnp.where(mask.array, s, -1e9)  # bias added before masking: position 5 stays masked
    np.testing.assert_allclose(np.asarray(w.array), np.asarray(jax.nn.softmax(s, axis=-1)), atol=1e-6)
    assert np.asarray(w.array)[..., 5].max() == 0.0
    # scale (in float32) then cast to bf16; the output is cast back to the query's dtype
    qs = (q.array * 0.3).astype(jnp.bfloat16)
    s = jnp.einsum("bhqd,bhkd->bhqk", qs, k.array.astype(jnp.bfloat16), preferred_element_type=jnp.float32)
    want = jax.nn.softmax(jnp.where(mask.array, s, -1e9), axis=-1)
    assert wb.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(wb.array), np.asarray(want), atol=1e-6)


def test_weights_axes_fully_masked_rows_and_dtypes():
    q, k, _ = _qkv(2)
    kb = hax.named(np.asarray(k.array)[0], (Heads, KPos, D))  # key without Batch
    none = hax.named(np.zeros((5, 6), bool), (Pos, KPos))

    @jax.jit
    def run(q, k, kb):
        w = dot_product_attention_weights(D, KPos, q, kb, mask=none)
        qk = hax.NamedArray(jnp.transpose(q.array, (2, 0, 3, 1)), (Pos, Batch, D, Heads))
        w2 = dot_product_attention_weights(D, KPos, qk, k)
        bf = dot_product_attention_weights(
            D, KPos, q.astype(jnp.bfloat16), k.astype(jnp.bfloat16), attention_dtype=jnp.float32
        )
        return w, w2, bf

    w, w2, bf = run(q, k, kb)
    assert w.axes == (Batch, Heads, Pos, KPos)
    np.testing.assert_allclose(np.asarray(w.array), np.full((2, 3, 5, 6), 1 / 6), atol=1e-7)  # uniform, not NaN
    assert w2.axes == (Pos, Batch, Heads, KPos)  # query axes minus Key, then the key's remaining axes
    assert bf.dtype == jnp.bfloat16


# ---------------------------------------------------------------------------------------------- attention


def test_dense_attention_is_weights_dot_value_and_keeps_the_value_features():
    q, k, _ = _qkv(3)
    F = hax.Axis("f", 7)
    v = hax.named(np.random.default_rng(4).standard_normal((2, 3, 6, 7)).astype(np.float32), (Batch, Heads, KPos, F))
    mask = causal_mask(Pos, KPos, q_start=1)

    @jax.jit
    def run(q, k, v):
        w = dot_product_attention_weights(D, KPos, q, k, mask=mask)
        return (
            hax.dot(w, v, axis=KPos),
            dot_product_attention(KPos, D, q, k, v, mask=mask, implementation="dense"),
            dot_product_attention(KPos, D, q, k, v, mask=mask, implementation="blockwise", block_size=2),
        )

    want, dense, blk = run(q, k, v)
    assert dense.axes == (Batch, Heads, Pos, F) == blk.axes
    np.testing.assert_allclose(np.asarray(dense.array), np.asarray(want.array), atol=1e-6)
    np.testing.assert_allclose(np.asarray(blk.array), np.asarray(want.array), atol=1e-5)
    with pytest.raises(ValueError, match="implementation='jax' cannot serve this call.*head size"):
        dot_product_attention(KPos, D, q, k, v, implementation="jax")


def test_errors():
    q, k, v = _qkv()
    with pytest.raises(TypeError, match="query must be a NamedArray.*QPos"):
        dot_product_attention(Pos, KPos, D, q, k, v)
    with pytest.raises(TypeError, match="query must be a NamedArray"):
        dot_product_attention_weights(D, KPos, q.array, k)
    with pytest.raises(ValueError, match="not found"):
        dot_product_attention("kpso", D, q, k, v)
    with pytest.raises(ValueError, match="not found"):
        dot_product_attention(KPos, "dd", q, k, v)
    with pytest.raises(ValueError, match="must be distinct"):
        dot_product_attention(Pos, D, q, q, q)
    other = hax.named(np.ones((5, 2), bool), (Pos, "other"))
    with pytest.raises(ValueError, match="mask has axes.*in neither the query nor the key"):
        dot_product_attention(KPos, D, q, k, v, mask=other)
    with pytest.raises(ValueError, match="bias has axes.*in neither the query nor the key"):
        dot_product_attention(KPos, D, q, k, v, bias=other.astype(jnp.float32))
    with pytest.raises(ValueError, match="implementation must be one of"):
        dot_product_attention(KPos, D, q, k, v, implementation="flash")
    with pytest.raises(ValueError, match="cannot serve this call: .*no precision"):
        dot_product_attention(KPos, D, q, k, v, implementation="jax", precision=jax.lax.Precision.HIGHEST)
    with pytest.raises(ValueError, match="cannot serve this call: .*one dtype"):
        dot_product_attention(KPos, D, q, k, v, implementation="jax", attention_dtype=jnp.bfloat16)
    with pytest.raises(ValueError, match="block_size"):
        dot_product_attention(KPos, D, q, k, v, implementation="blockwise", block_size=0)
    with pytest.raises(ValueError, match=r"axis kpos has conflicting sizes: 6 \(key\), 7 \(value\)"):
        dot_product_attention(KPos, D, q, k, hax.named(np.ones((7, 4), np.float32), (KPos.resize(7), D)))
    # grouped query: several query-only axes, a structured mask needs QPos
    G = hax.Axis("g", 2)
    qg = hax.named(np.ones((2, 3, 2, 5, 4), np.float32), (Batch, Heads, G, Pos, D))
    with pytest.raises(ValueError, match="pass QPos"):
        dot_product_attention(KPos, D, qg, k, v, mask=AttentionMask.causal())
    with pytest.raises(ValueError, match="QPos 'heads' must be a query axis that key and value lack"):
        dot_product_attention(KPos, D, qg, k, v, mask=AttentionMask.causal(), QPos=Heads)
    with pytest.raises(
        ValueError,
        match=r"argument 'QPos': Found axis with same name but different size: asked for pos\(9\), the array has pos\(5\)",
    ):
        dot_product_attention(KPos, D, qg, k, v, mask=AttentionMask.causal(), QPos=Pos.resize(9))
    with pytest.raises(ValueError, match=r"argument 'Key': Found axis with same name but different size"):
        dot_product_attention(KPos, D.resize(9), q, k, v)
    with pytest.raises(ValueError, match=r"argument 'KPos': Found axis with same name but different size"):
        dot_product_attention(KPos.resize(9), D, q, k, v)


def test_dispatch_is_logged_and_auto_switches_to_blockwise(caplog, monkeypatch):
    q, k, v = _qkv(5)
    f = jax.jit(lambda q, k, v: dot_product_attention(KPos, D, q, k, v, mask=AttentionMask.causal()))
    with caplog.at_level(logging.DEBUG, logger="haliax.nn.attention"):
        small = f(q, k, v)
    assert "implementation=dense" in caplog.text
    caplog.clear()
    monkeypatch.setitem(attn_mod.AUTO_BLOCKWISE_MIN_SCORES, jax.default_backend(), 10)
    with caplog.at_level(logging.DEBUG, logger="haliax.nn.attention"):
        big = jax.jit(lambda q, k, v: dot_product_attention(KPos, D, q, k, v, mask=AttentionMask.causal()))(q, k, v)
    assert "implementation=blockwise" in caplog.text
    np.testing.assert_allclose(np.asarray(big.array), np.asarray(small.array), atol=1e-5)


def test_works_with_equinox_filters_and_masks_as_arguments():
    q, k, v = _qkv(6)

    @eqx.filter_jit
    def loss(q, k, v, mask):
        return jnp.sum(
            dot_product_attention(KPos, D, q, k, v, mask=mask, implementation="blockwise", block_size=4).array
        )

    m = AttentionMask.causal(1) & AttentionMask.sliding_window(3)
    g = eqx.filter_grad(loss)(q, k, v, m)
    assert g.axes == q.axes and np.isfinite(np.asarray(g.array)).all()


# ---------------------------------------------------------------------------------------------- mask kinds


def _additive_mask(dtype=jnp.float32):
    """A causal additive mask (0 allowed, -1e9 not) over (Pos, KPos): what belongs in `bias=`."""
    allowed = causal_mask(Pos, KPos).array
    return hax.named(jnp.where(allowed, 0.0, -1e9).astype(dtype), (Pos, KPos))


@pytest.mark.parametrize("implementation", ["dense", "blockwise", "jax"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_float_mask_is_type_error_pointing_to_bias(implementation, dtype):
    q, k, v = _qkv()
    with pytest.raises(
        TypeError,
        match=rf"dot_product_attention: argument 'mask' must be boolean \(True = may attend\), got dtype "
        rf"{jnp.dtype(dtype).name} with axes \('pos\(5\)', 'kpos\(6\)'\)\. An additive mask .* goes in bias=",
    ):
        dot_product_attention(KPos, D, q, k, v, mask=_additive_mask(dtype), implementation=implementation)


def test_float_mask_in_weights_is_type_error():
    q, k, _ = _qkv()
    with pytest.raises(TypeError, match=r"dot_product_attention_weights: argument 'mask' must be boolean.*bias="):
        dot_product_attention_weights(D, KPos, q, k, mask=_additive_mask())


def test_float_mask_inside_attention_mask_is_type_error():
    q, k, v = _qkv()
    with pytest.raises(TypeError, match=r"dot_product_attention: argument 'mask' must be boolean"):
        dot_product_attention(KPos, D, q, k, v, mask=AttentionMask.causal() & _additive_mask(), QPos=Pos)
    with pytest.raises(TypeError, match=r"dot_product_attention: argument 'mask' must be boolean"):
        dot_product_attention(KPos, D, q, k, v, mask=AttentionMask.explicit(_additive_mask()))


def test_float_mask_in_multihead_module_is_type_error():
    import haliax.nn as hnn

    Embed, H, HD = hax.make_axes(embed=8, heads=2, head_size=4)
    P2, K2 = hax.make_axes(position=5, key_position=5)
    mha = hnn.MultiHeadAttention.init(Embed, H, HD, key=jax.random.PRNGKey(0))
    x = hax.random.normal(jax.random.PRNGKey(1), (P2, Embed))
    additive = hax.named(jnp.where(causal_mask(P2, K2).array, 0.0, -1e9), (P2, K2))
    with pytest.raises(TypeError, match=r"argument 'mask' must be boolean.*bias="):
        mha(x, additive)
    # the same positions as a boolean mask work, and agree with the structured causal mask
    out = mha(x, causal_mask(P2, K2))
    np.testing.assert_allclose(out.array, mha(x, AttentionMask.causal()).array, atol=1e-5)


def test_additive_mask_as_bias_equals_boolean_mask():
    q, k, v = _qkv()
    with_bias = dot_product_attention(KPos, D, q, k, v, bias=_additive_mask(), implementation="dense")
    with_mask = dot_product_attention(KPos, D, q, k, v, mask=causal_mask(Pos, KPos), implementation="dense")
    np.testing.assert_allclose(with_bias.array, with_mask.array, atol=1e-6)


def test_integer_01_mask_is_read_as_boolean():
    q, k, v = _qkv()
    m = causal_mask(Pos, KPos)
    as_int = hax.named(m.array.astype(jnp.int32), m.axes)
    a = dot_product_attention(KPos, D, q, k, v, mask=as_int, implementation="dense")
    b = dot_product_attention(KPos, D, q, k, v, mask=m, implementation="dense")
    np.testing.assert_allclose(a.array, b.array, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("precision", ["foo", 3, ("high", "fastest-ish")])
@pytest.mark.parametrize("implementation", ["dense", "blockwise", "jax"])
def test_invalid_precision_names_the_function_and_argument(precision, implementation):
    q, k, v = _qkv()
    with pytest.raises(ValueError, match=r"dot_product_attention: invalid precision .*precision must be None") as e:
        dot_product_attention(KPos, D, q, k, v, precision=precision, implementation=implementation)
    assert repr(precision) in str(e.value) and "'highest'" in str(e.value)
    with pytest.raises(ValueError, match=r"dot_product_attention_weights: invalid precision"):
        dot_product_attention_weights(D, KPos, q, k, precision=precision)


@pytest.mark.parametrize("precision", ["highest", jax.lax.Precision.HIGH, ("high", "highest")])
def test_valid_precisions_are_accepted(precision):
    q, k, v = _qkv()
    out = dot_product_attention(KPos, D, q, k, v, precision=precision, implementation="dense")
    ref = dot_product_attention(KPos, D, q, k, v, implementation="dense")
    np.testing.assert_allclose(out.array, ref.array, atol=1e-5)


@pytest.mark.parametrize("implementation", ["dense", "blockwise", "jax"])
def test_boolean_bias_is_type_error_pointing_to_mask(implementation):
    q, k, v = _qkv()
    allowed = causal_mask(Pos, KPos)
    with pytest.raises(TypeError, match=r"dot_product_attention: bias is boolean \(axes pos\(5\), kpos\(6\)\).*mask="):
        dot_product_attention(KPos, D, q, k, v, bias=allowed, implementation=implementation)
    with pytest.raises(TypeError, match=r"dot_product_attention_weights: bias is boolean.*mask="):
        dot_product_attention_weights(D, KPos, q, k, bias=allowed)


def test_alibi_with_zero_heads_or_a_non_axis():
    with pytest.raises(ValueError, match=r"alibi_attention_bias: the Heads axis heads\(0\) has size 0"):
        alibi_attention_bias(Heads.resize(0), KPos)
    with pytest.raises(TypeError, match=r"alibi_attention_bias: Heads must be an Axis.*'heads'"):
        alibi_attention_bias("heads", KPos)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"alibi_attention_bias: KPos must be an Axis"):
        alibi_attention_bias(Heads, 6)  # type: ignore[arg-type]
