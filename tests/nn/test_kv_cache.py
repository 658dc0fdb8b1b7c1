"""KVCache and MultiHeadAttention.decode: cached decoding equals the full causal forward pass for a 2-layer Stacked
model (token by token and chunked prefill, under jax.jit with a fixed cache size), ragged lengths, overflow, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.nn.attention import AttentionMask
from tests.helpers import names

Batch, Vocab, Embed, H, KVH, D, Pos, L = hax.make_axes(
    batch=2, vocab=11, embed=16, heads=4, kv_heads=2, head_size=8, position=7, layers=2
)
Cache = hax.Axis("cache_position", 8)
P1 = Pos.resize(1)


class Block(eqx.Module):
    """Pre-norm transformer block: RmsNorm + grouped-query attention with RoPE and QK-norm + SiLU MLP."""

    ln1: hnn.RmsNorm
    attn: hnn.MultiHeadAttention
    ln2: hnn.RmsNorm
    mlp: hnn.MLP

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        rope = hnn.RotaryEmbedding.init(D, theta=1000.0, partial_rotary_factor=0.5)
        attn = hnn.MultiHeadAttention.init(Embed, H, D, KVHeads=KVH, rotary=rope, qk_norm=True, key=k1)
        mlp = hnn.MLP.init(Embed, Embed, 32, 1, activation=hnn.silu, key=k2)
        return Block(hnn.RmsNorm.init(Embed), attn, hnn.RmsNorm.init(Embed), mlp)

    def __call__(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))

    def decode(self, x, cache, positions=None):
        a, cache = self.attn.decode(self.ln1(x), cache, positions)
        x = x + a
        return x + self.mlp(self.ln2(x)), cache


class Model(eqx.Module):
    embed: hnn.Embedding
    blocks: hnn.Stacked
    ln_f: hnn.RmsNorm

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        blocks = hnn.Stacked.init(L, Block)(key=jax.random.split(k2, L.size))
        return Model(hnn.Embedding.init(Vocab, Embed, key=k1), blocks, hnn.RmsNorm.init(Embed))

    def __call__(self, ids):
        x = self.blocks.fold(self.embed(ids), AttentionMask.causal())
        return self.embed.unembed(self.ln_f(x))

    def init_cache(self, batch=()):
        return self.blocks.stacked.attn.init_cache(Cache, batch=batch, Layers=self.blocks.Block)

    def decode(self, ids, cache, positions=None):
        cache.check_room(ids.axis_size(Pos.name), "Model.decode")
        x, cache = self.blocks.scan_via(Block.decode)(self.embed(ids), cache, positions)
        return self.embed.unembed(self.ln_f(x)), cache


def randomized(fn, *args, seed=0, **kwargs):
    """Build a module through `eqx.filter_eval_shape` (no initializer compiled) with N(0, 0.3^2) arrays."""
    shapes = eqx.filter_eval_shape(fn, *args, **kwargs)
    leaves, tree = jax.tree_util.tree_flatten(shapes)
    rng = np.random.default_rng(seed)
    new = [
        jnp.asarray(0.3 * rng.standard_normal(x.shape), x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else x
        for x in leaves
    ]
    return jax.tree_util.tree_unflatten(tree, new)


@pytest.fixture(scope="module")
def model():
    return randomized(Model.init, key=jax.random.PRNGKey(0))


@pytest.fixture(scope="module")
def ids():
    return hax.random.randint(jax.random.PRNGKey(1), (Batch, Pos), 0, Vocab.size)


TRACES = []


@eqx.filter_jit
def full_forward(model, ids):
    return model(ids)


@eqx.filter_jit
def decode_step(model, ids, cache):
    TRACES.append(ids.axes)
    return model.decode(ids, cache)


# ------------------------------------------------------------------------------------------------------------
# decode == full forward


def test_stacked_params_and_cache_layout(model):
    assert model.blocks.stacked.attn.q_proj.weight.axes == (L, H, D, Embed)
    cache = model.init_cache(batch=Batch)
    assert names(cache.k) == ["layers", "batch", "kv_heads", "cache_position", "head_size"]
    assert cache.length.axes == (L,) and cache.length.dtype == jnp.int32 and cache.size == 8
    assert len(jax.tree_util.tree_leaves(cache)) == 3


def test_token_by_token_decode_matches_full_forward(model, ids):
    full = full_forward(model, ids)  # (batch, position, vocab)
    cache = model.init_cache(batch=Batch)
    TRACES.clear()
    for i in range(Pos.size):
        logits, cache = decode_step(model, ids[Pos, i : i + 1], cache)
        assert logits.axes == (Batch, P1, Vocab)
        np.testing.assert_allclose(logits.array[:, 0], full.array[:, i], atol=1e-5, rtol=1e-5)
    assert len(TRACES) == 1  # one compilation for every step: fixed cache size, traced length
    assert cache.length.tolist() == [Pos.size] * L.size
    assert cache.k.axes[0] == L


def test_chunked_prefill_then_decode(model, ids):
    full = full_forward(model, ids)
    cache = model.init_cache(batch=Batch)
    logits, cache = decode_step(model, ids[Pos, :4], cache)
    np.testing.assert_allclose(logits.array, full.array[:, :4], atol=1e-5, rtol=1e-5)
    logits, cache = decode_step(model, ids[Pos, 4:6], cache)
    np.testing.assert_allclose(logits.array, full.array[:, 4:6], atol=1e-5, rtol=1e-5)
    logits, cache = decode_step(model, ids[Pos, 6:], cache)
    np.testing.assert_allclose(logits.array[:, 0], full.array[:, 6], atol=1e-5, rtol=1e-5)
    assert cache.length.tolist() == [7, 7]
    # slots past the length are still empty
    assert float(hax.abs(cache.k[Cache.name, 7:]).max().array) == 0.0


def test_explicit_positions_match_default():
    m = randomized(
        hnn.MultiHeadAttention.init,
        Embed,
        H,
        D,
        KVHeads=KVH,
        rotary=hnn.RotaryEmbedding.init(D),
        key=jax.random.PRNGKey(0),
    )
    x = hax.random.normal(jax.random.PRNGKey(2), (Pos.resize(3), Embed))
    cache = m.init_cache(Cache)
    step = eqx.filter_jit(lambda m, x, c, p: m.decode(x, c, p))
    a, ca = step(m, x, cache, None)
    b, cb = step(m, x, cache, hax.arange(Pos.resize(3), dtype=jnp.int32))
    np.testing.assert_allclose(a.array, b.array, atol=1e-6)
    np.testing.assert_allclose(ca.k.array, cb.k.array, atol=1e-6)


# ------------------------------------------------------------------------------------------------------------
# ragged batches: one length per example


def test_per_example_lengths_match_separate_decoding():
    m = randomized(
        hnn.MultiHeadAttention.init,
        Embed,
        H,
        D,
        KVHeads=KVH,
        rotary=hnn.RotaryEmbedding.init(D),
        key=jax.random.PRNGKey(0),
        seed=3,
    )
    xs = hax.random.normal(jax.random.PRNGKey(4), (Batch, Pos.resize(5), Embed))
    step = eqx.filter_jit(lambda m, x, c: m.decode(x, c))
    prefix = [2, 4]
    caches, outs = [], []
    for b, n in enumerate(prefix):
        xb = xs[Batch, b]
        _, c = step(m, xb[Pos.name, :n], m.init_cache(Cache))
        caches.append(c)
        out, _ = step(m, xb[Pos.name, n : n + 1], c)
        outs.append(out)
    ragged = hnn.KVCache(
        hax.stack(Batch, [c.k for c in caches]),
        hax.stack(Batch, [c.v for c in caches]),
        hax.named(jnp.array(prefix, jnp.int32), Batch),
        Cache,
    )
    new = hax.stack(Batch, [xs[Batch, b][Pos.name, n : n + 1] for b, n in enumerate(prefix)])
    out, c2 = step(m, new, ragged)
    np.testing.assert_allclose(out.array, np.stack([o.array for o in outs]), atol=1e-5)
    assert c2.length.tolist() == [3, 5]


# ------------------------------------------------------------------------------------------------------------
# overflow and errors


def test_overflow_raises_eagerly_and_gives_nan_under_jit(model, ids):
    m = randomized(hnn.MultiHeadAttention.init, Embed, H, D, key=jax.random.PRNGKey(0))
    C4 = hax.Axis("cache_position", 4)
    x3 = hax.random.normal(jax.random.PRNGKey(5), (Pos.resize(3), Embed))
    step = eqx.filter_jit(lambda m, x, c: m.decode(x, c))
    out, cache = step(m, x3, m.init_cache(C4))
    assert bool(hax.all(hax.isfinite(out)).array)
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention.decode: 3 new positions do not fit: the cache has 3 of "
        r"cache_position\(4\) slots filled \(positions 3..5 are beyond",
    ):
        m.decode(x3, cache)
    out, cache = step(m, x3, cache)  # traced length: not checkable, so NaN instead of wrong numbers
    assert bool(hax.all(hax.isnan(out)).array) and int(cache.length.array) == 6
    # a stacked model checks before its scan
    full = model.init_cache(batch=Batch)
    with pytest.raises(ValueError, match="Model.decode: 9 new positions do not fit"):
        model.decode(hax.zeros((Batch, Pos.resize(9)), dtype=jnp.int32), full)


def test_bad_decode_inputs():
    m = randomized(hnn.MultiHeadAttention.init, Embed, H, D, key=jax.random.PRNGKey(0))
    x = hax.zeros((Batch, P1, Embed))
    with pytest.raises(ValueError, match=r"x has batch axes \['batch\(2\)'\] that the cache .* lacks"):
        m.decode(x, m.init_cache(Cache))
    other = hnn.init_cache(H, Cache, D.resize(4))
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention.decode: argument 'cache': Found axis with same name but different size: "
        r"asked for head_size\(8\), the array has head_size\(4\)",
    ):
        m.decode(x, other)
    with pytest.raises(ValueError, match=r"9 new positions are more than the cache size cache_position\(8\)"):
        m.decode(hax.zeros((Batch, Pos.resize(9), Embed)), m.init_cache(Cache, batch=Batch))
    with pytest.raises(ValueError, match=r"the cache has axes \['layers\(2\)'\] that x .* lacks; a stacked cache"):
        m.decode(x, m.init_cache(Cache, batch=Batch, Layers=L))
    with pytest.raises(TypeError, match="cache must be a KVCache"):
        m.decode(x, {"k": 0})
    with pytest.raises(ValueError, match="must not be named like Pos or KPos"):
        m.init_cache(hax.Axis("position", 8))
    with pytest.raises(ValueError, match="axis names must be distinct"):
        hnn.init_cache(KVH, Cache, D, batch=hax.Axis("kv_heads", 2))
    with pytest.raises(TypeError, match="CachePos must be an Axis"):
        hnn.init_cache(KVH, "cache_position", D)
