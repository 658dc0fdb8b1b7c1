"""haliax.nn.MultiHeadAttention: named reference, grouped-query attention vs torch, Hugging Face Llama parity,
packed sequences, dropout, transformations, export layout and errors."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.nn.attention import AttentionMask
from haliax.state_dict import from_torch_compatible_state_dict, to_torch_compatible_state_dict

Batch, Pos, Embed, H, KVH, D = hax.make_axes(batch=2, position=6, embed=16, heads=4, kv_heads=2, head_size=8)
KPos = hax.Axis("key_position", Pos.size)


def build(*args, seed=0, **kwargs):
    """`MultiHeadAttention.init` with every array (weights, biases, norm scales) drawn as N(0, 0.3^2) by NumPy.

    Shapes come from `eqx.filter_eval_shape`, so no per-shape initializer is compiled: tests stay fast."""
    shapes = eqx.filter_eval_shape(hnn.MultiHeadAttention.init, *args, key=jax.random.PRNGKey(0), **kwargs)
    leaves, tree = jax.tree_util.tree_flatten(shapes)
    rng = np.random.default_rng(seed)
    new = [
        jnp.asarray(0.3 * rng.standard_normal(x.shape), x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else x
        for x in leaves
    ]
    return jax.tree_util.tree_unflatten(tree, new)


@eqx.filter_jit
def fwd(m, x, mask=None, positions=None):
    return m(x, mask, positions=positions)


def make_x(seed=0, axes=(Batch, Pos, Embed)):
    return hax.random.normal(jax.random.PRNGKey(seed), axes)


def np_rope(x, pos, theta, fraction=1.0):
    """Rotate-half RoPE on the last axis of x [..., P, D] at positions pos [P]."""
    R = int(x.shape[-1] * fraction)
    h = R // 2
    freqs = theta ** (-np.arange(0, R, 2) / R)
    ang = np.asarray(pos, np.float64)[:, None] * freqs
    c, s = np.cos(ang), np.sin(ang)
    x1, x2, rest = x[..., :h], x[..., h:R], x[..., R:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s, rest], axis=-1)


def np_rms(x, w, eps):
    return x / np.sqrt(np.mean(x**2, -1, keepdims=True) + eps) * w


# ------------------------------------------------------------------------------------------------------------
# numerics


def named_reference(m, x, causal):
    """Plain multi-head attention written with named ops."""
    q = hax.dot(x, m.q_proj.weight, axis=Embed) + m.q_proj.bias
    k = (hax.dot(x, m.k_proj.weight, axis=Embed) + m.k_proj.bias).rename({Pos: KPos})
    v = (hax.dot(x, m.v_proj.weight, axis=Embed) + m.v_proj.bias).rename({Pos: KPos})
    scores = hax.dot(q, k, axis=D) / math.sqrt(D.size)
    if causal:
        allowed = hax.arange(KPos).broadcast_axis(Pos) <= hax.arange(Pos)
        scores = hax.where(allowed, scores, -1e9)
    w = hnn.softmax(scores, axis=KPos)
    o = hax.dot(w, v, axis=KPos)
    return hax.dot(o, m.o_proj.weight, axis=(H, D)) + m.o_proj.bias


@pytest.mark.parametrize("causal", [True, False])
def test_mha_equals_named_reference(causal):
    m = build(Embed, H, D, use_bias=True, seed=1)
    assert m.KVHeads == H
    x = make_x()
    out = fwd(m, x, AttentionMask.causal() if causal else None)
    ref = eqx.filter_jit(named_reference)(m, x, causal)
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, ref.rearrange(x.axes).array, atol=1e-5, rtol=1e-5)
    # a dense NamedArray mask over (Pos, KPos) gives the same
    if causal:
        dense = AttentionMask.causal().materialize(Pos, KPos)
        np.testing.assert_allclose(fwd(m, x, dense).array, out.array, atol=1e-6)


@pytest.mark.parametrize("rope,qk_norm", [(False, False), (True, True)])
def test_gqa_equals_torch_sdpa_enable_gqa(rope, qk_norm):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rotary = hnn.RotaryEmbedding.init(D, theta=100.0, partial_rotary_factor=0.5) if rope else None
    m = build(Embed, H, D, KVHeads=KVH, rotary=rotary, qk_norm=qk_norm, use_bias=True, use_output_bias=False, seed=2)
    assert m.o_proj.bias is None and m.QPerKV.size == 2
    x = make_x(3)
    out = fwd(m, x, AttentionMask.causal())

    xn = np.asarray(x.array, np.float64)  # (B, S, E)
    W = {n: np.asarray(getattr(m, n).weight.array, np.float64) for n in ("q_proj", "k_proj", "v_proj", "o_proj")}
    b = {n: np.asarray(getattr(m, n).bias.array, np.float64) for n in ("q_proj", "k_proj", "v_proj")}
    q = np.einsum("bse,hde->bhsd", xn, W["q_proj"]) + b["q_proj"][None, :, None, :]
    k = np.einsum("bse,hde->bhsd", xn, W["k_proj"]) + b["k_proj"][None, :, None, :]
    v = np.einsum("bse,hde->bhsd", xn, W["v_proj"]) + b["v_proj"][None, :, None, :]
    if qk_norm:
        q = np_rms(q, np.asarray(m.q_norm.weight.array), 1e-6)
        k = np_rms(k, np.asarray(m.k_norm.weight.array), 1e-6)
    if rope:
        q, k = np_rope(q, np.arange(6), 100.0, 0.5), np_rope(k, np.arange(6), 100.0, 0.5)
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    o = F.scaled_dot_product_attention(t(q), t(k), t(v), is_causal=True, enable_gqa=True).numpy()
    ref = np.einsum("bhsd,ehd->bse", o, W["o_proj"])
    np.testing.assert_allclose(out.array, ref, atol=2e-5, rtol=1e-5)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_huggingface_llama_attention_parity():
    """Weights of a transformers LlamaAttention (GQA, Llama-3 RoPE) load through the torch-compatible state dict
    and give the same outputs: the export layout and the rotate-half convention are Hugging Face's."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding

    scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16,
    }
    cfg = LlamaConfig(
        hidden_size=16,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        rope_theta=500000.0,
        max_position_embeddings=64,
        rope_scaling=scaling,
    )
    cfg._attn_implementation = "eager"
    torch.manual_seed(0)
    att = LlamaAttention(cfg, 0).eval()
    x = torch.randn(2, 6, 16)
    pos = torch.arange(6)[None].repeat(2, 1) + torch.tensor([[0], [9]])  # second example at offset 9
    cos, sin = LlamaRotaryEmbedding(cfg)(x, pos)
    mask = torch.triu(torch.full((6, 6), float("-inf")), 1)[None, None]
    with torch.no_grad():
        ref, _ = att(x, (cos, sin), mask)

    rope = hnn.RotaryEmbedding.init(
        D, theta=500000.0, scaling=hnn.Llama3RotaryScaling(original_max_position_embeddings=16)
    )
    m = build(Embed, H, D, KVHeads=KVH, rotary=rope)
    sd = {k: v.numpy() for k, v in att.state_dict().items()}
    assert {k: v.shape for k, v in to_torch_compatible_state_dict(m).items()} == {k: v.shape for k, v in sd.items()}
    m = from_torch_compatible_state_dict(m, sd)
    out = fwd(
        m,
        hax.named(x.numpy(), (Batch, Pos, Embed)),
        AttentionMask.causal(),
        hax.named(pos.numpy().astype(np.int32), (Batch, Pos)),
    )
    np.testing.assert_allclose(out.array, ref.numpy(), atol=1e-5)


def test_packed_sequences_equal_separate_runs():
    rope = hnn.RotaryEmbedding.init(D)
    m = build(Embed, H, D, KVHeads=KVH, rotary=rope, seed=5)
    x = make_x(6, (Pos, Embed))
    seg = hax.named(jnp.array([0, 0, 0, 0, 1, 1], jnp.int32), Pos)
    positions = hax.named(jnp.array([0, 1, 2, 3, 0, 1], jnp.int32), Pos)
    packed = fwd(m, x, AttentionMask.causal() & AttentionMask.segment_ids(seg), positions)
    first = fwd(m, x[Pos, :4], AttentionMask.causal())
    second = fwd(m, x[Pos, 4:], AttentionMask.causal())
    np.testing.assert_allclose(packed.array[:4], first.array, atol=1e-5)
    np.testing.assert_allclose(packed.array[4:], second.array, atol=1e-5)


def test_axis_order_and_multi_axis_embed():
    E1, E2 = hax.make_axes(e1=4, e2=4)
    m = build((E1, E2), H, D, seed=7)
    x = hax.random.normal(jax.random.PRNGKey(8), (E2, Pos, E1))
    out = fwd(m, x, AttentionMask.causal())
    assert out.axes == x.axes
    flat = fwd(m, x.rearrange((Pos, E1, E2)), AttentionMask.causal())
    np.testing.assert_allclose(out.rearrange((Pos, E1, E2)).array, flat.array, atol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# dropout and transformations


def test_attention_dropout():
    m = build(Embed, H, D, KVHeads=KVH, dropout=0.5, seed=3)
    assert m.dropout.pdrop == 0.5 and m.dropout.is_active
    x = make_x()
    with pytest.raises(RuntimeError, match="requires a key"):
        fwd(m, x, AttentionMask.causal())
    call = eqx.filter_jit(lambda m, x, key: m(x, AttentionMask.causal(), key=key))
    a = call(m, x, jax.random.PRNGKey(1))
    b = call(m, x, jax.random.PRNGKey(1))
    c = call(m, x, jax.random.PRNGKey(2))
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.allclose(a.array, c.array)
    inf = eqx.nn.inference_mode(m)
    plain = eqx.tree_at(lambda t: t.dropout, m, hnn.Dropout(0.0))
    np.testing.assert_allclose(
        fwd(inf, x, AttentionMask.causal()).array, fwd(plain, x, AttentionMask.causal()).array, atol=1e-6
    )


def test_jit_grad_and_optax_step():
    rope = hnn.RotaryEmbedding.init(D)
    m = build(Embed, H, D, KVHeads=KVH, rotary=rope, qk_norm=True)
    x = make_x()
    target = make_x(1)

    def loss(mod, x):
        return hax.mean(hax.square(mod(x, AttentionMask.causal()) - target)).scalar()

    eager = eqx.filter_jit(loss)(m, x)
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(m, eqx.is_array))

    @eqx.filter_jit
    def step(mod, state, x):
        val, g = eqx.filter_value_and_grad(loss)(mod, x)
        upd, state = opt.update(g, state, mod)
        return eqx.apply_updates(mod, upd), state, val, g

    m2, state, val, g = step(m, state, x)
    np.testing.assert_allclose(val, eager, rtol=1e-5)
    assert float(eqx.filter_jit(loss)(m2, x)) < float(eager)
    assert g.q_norm.weight.axes == (D,) and g.o_proj.weight.axes == m.o_proj.weight.axes
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(g))


def test_state_dict_keys_and_torch_shapes():
    m = build(Embed, H, D, KVHeads=KVH, qk_norm=True, use_bias=True)
    sd = to_torch_compatible_state_dict(m)
    assert {k: v.shape for k, v in sd.items()} == {
        "q_proj.weight": (32, 16),
        "q_proj.bias": (32,),
        "k_proj.weight": (16, 16),
        "k_proj.bias": (16,),
        "v_proj.weight": (16, 16),
        "v_proj.bias": (16,),
        "o_proj.weight": (16, 32),
        "o_proj.bias": (16,),
        "q_norm.weight": (8,),
        "k_norm.weight": (8,),
    }
    back = from_torch_compatible_state_dict(m, sd)
    assert eqx.tree_equal(back, m)


# ------------------------------------------------------------------------------------------------------------
# errors


def test_kv_heads_must_divide_heads():
    with pytest.raises(ValueError, match=r"Heads heads\(4\) must be a multiple of KVHeads kv_heads\(3\)"):
        hnn.MultiHeadAttention.init(Embed, H, D, KVHeads=KVH.resize(3), key=jax.random.PRNGKey(0))
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention.init: axis heads has conflicting sizes: 4 \(Heads\), 2 \(KVHeads\); give grouped",
    ):
        hnn.MultiHeadAttention.init(Embed, H, D, KVHeads=H.resize(2), key=jax.random.PRNGKey(0))


def test_bad_configuration():
    k = jax.random.PRNGKey(0)
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention.init: axis head_size has conflicting sizes: 8 \(HeadSize\), 4 \(rotary.HeadSize\)",
    ):
        hnn.MultiHeadAttention.init(Embed, H, D, rotary=hnn.RotaryEmbedding.init(D.resize(4)), key=k)
    with pytest.raises(ValueError, match="must be distinct"):
        hnn.MultiHeadAttention.init(Embed, H, D, Pos="embed", key=k)
    with pytest.raises(TypeError, match="Heads must be an Axis"):
        hnn.MultiHeadAttention.init(Embed, "heads", D, key=k)


def test_bad_inputs():
    m = build(Embed, H, D, rotary=hnn.RotaryEmbedding.init(D))
    with pytest.raises(
        ValueError,
        match=r"argument 'x \(the sequence axis Pos\)': axis position not found in .*"
        r"Did you mean 'positions'",
    ):
        m(hax.ones((hax.Axis("positions", 3), Embed)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention: argument 'x \(Embed\)': axis embed not found"):
        m(hax.ones((Pos, hax.Axis("hidden", 16))))
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention: argument 'x \(Embed\)': Found axis with same name but different size: "
        r"asked for embed\(16\), the array has embed\(8\)",
    ):
        m(hax.ones((Pos, Embed.resize(8))))
    with pytest.raises(ValueError, match="already has the key axis name KPos='key_position'"):
        m(hax.ones((KPos, Pos, Embed)))
    with pytest.raises(TypeError, match="positions must be an integer NamedArray"):
        m(hax.ones((Pos, Embed)), positions=jnp.arange(6))
    with pytest.raises(TypeError, match="argument 'x' must be a NamedArray"):
        m(jnp.ones((6, 16)))
