"""fused_cross_entropy_loss: equal to the naive loss (values and gradients), without [tokens, Vocab] temporaries."""

import functools

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.axis import AxisIndexError

B, S, E, V = hax.make_axes(batch=3, seq=5, embed=8, vocab=37)


def make(key=0, dtype=jnp.float32):
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(key), 4)
    x = hax.random.normal(k1, (S, E, B)).astype(dtype)  # axes deliberately not in target order
    w = hax.random.normal(k2, (V, E)).astype(dtype) * 0.5
    y = hax.random.randint(k3, (B, S), 0, V.size)
    mask = hax.random.bernoulli(k4, (B, S), 0.7)
    return x, w, y, mask


def naive(x, w, y, *, eps=0.0, zw=0.0):
    """Plain jnp: per-position loss over (batch, seq)."""
    xs = jnp.transpose(x.array, (2, 0, 1))  # (B, S, E)
    logits = jnp.einsum("bse,ve->bsv", xs, w.array)
    lse = jax.nn.logsumexp(logits, axis=-1)
    onehot = jax.nn.one_hot(y.array, V.size)
    t = (1 - eps) * onehot + eps / V.size
    return lse - jnp.sum(t * logits, -1) + zw * lse**2


@pytest.mark.parametrize("block", [4, 8, 37, 64])
@pytest.mark.parametrize("eps,zw", [(0.0, 0.0), (0.1, 0.0), (0.0, 1e-2), (0.2, 1e-3)])
def test_unreduced_matches_naive(block, eps, zw):
    x, w, y, _ = make()
    out = hnn.fused_cross_entropy_loss(
        x, w, E, V, y, block_size=block, reduction=None, label_smoothing=eps, logsumexp_weight=zw
    )
    assert out.axes == y.axes
    np.testing.assert_allclose(out.array, naive(x, w, y, eps=eps, zw=zw), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "max", "none", "axis"])
@pytest.mark.parametrize("use_where", [False, True])
def test_reductions_and_gradients(reduction, use_where):
    x, w, y, mask = make(1)
    where = mask if use_where else None
    kwargs = {}
    if reduction == "mean":
        kwargs["reduction"] = hax.mean
    elif reduction == "sum":
        kwargs["reduction"] = hax.sum
    elif reduction == "max":  # max has no identity, so with ``where`` it needs ``initial`` (as in jax.numpy)
        kwargs["reduction"] = functools.partial(hax.max, initial=-jnp.inf) if use_where else hax.max
    elif reduction == "none":
        kwargs["reduction"] = None
    else:
        kwargs["reduction_axis"] = S

    def fused(x, w):
        r = hnn.fused_cross_entropy_loss(
            x, w, E, V, y, block_size=8, where=where, label_smoothing=0.1, logsumexp_weight=1e-3, **kwargs
        )
        return r

    def ref(x, w):
        logits = hax.dot(x, w, axis=E)
        per = hnn.cross_entropy_loss(logits, V, (0.9 * hnn.one_hot(y, V) + 0.1 / V.size), reduction=None)
        per = per + 1e-3 * hnn.logsumexp(logits, V) ** 2
        per = hax.rearrange(per, y.axes)
        return hnn.reduce_loss(per, kwargs.get("reduction", hax.mean), kwargs.get("reduction_axis"), where)

    a, b = fused(x, w), ref(x, w)
    assert a.axes == b.axes
    np.testing.assert_allclose(a.array, b.array, rtol=1e-5, atol=1e-5)

    def scalar(f):
        return lambda x, w: hax.sum(f(x, w)).scalar()

    gf = jax.grad(scalar(fused), argnums=(0, 1))(x, w)
    gr = jax.grad(scalar(ref), argnums=(0, 1))(x, w)
    for p, q in zip(gf, gr):
        assert p.axes == q.axes
        np.testing.assert_allclose(p.array, q.array, rtol=1e-5, atol=1e-5)


def test_check_grads_numerically():
    x, w, y, _ = make(2)

    def f(xa, wa):
        xx = hax.NamedArray(xa, x.axes)
        ww = hax.NamedArray(wa, w.axes)
        return hnn.fused_cross_entropy_loss(
            xx, ww, E, V, y, block_size=16, label_smoothing=0.1, logsumexp_weight=0.01
        ).scalar()

    jax.test_util.check_grads(f, (x.array, w.array), order=1, modes=["rev"], eps=1e-2, atol=2e-2, rtol=2e-2)


def test_matches_torch_cross_entropy_with_label_smoothing():
    torch = pytest.importorskip("torch")
    x, w, y, _ = make(3)
    logits = jnp.einsum("seb,ve->bsv", x.array, w.array)
    for eps in (0.0, 0.25):
        expected = (
            torch.nn.functional.cross_entropy(
                torch.tensor(np.asarray(logits)).reshape(-1, V.size),
                torch.tensor(np.asarray(y.array)).reshape(-1).long(),
                label_smoothing=eps,
                reduction="none",
            )
            .numpy()
            .reshape(B.size, S.size)
        )
        got = hnn.fused_cross_entropy_loss(x, w, E, V, y, block_size=10, reduction=None, label_smoothing=eps)
        np.testing.assert_allclose(got.array, expected, rtol=1e-5, atol=1e-5)


def test_tied_embedding_weights_work_directly():
    emb = hnn.Embedding.init(V, E, key=jax.random.PRNGKey(0))
    ids = hax.random.randint(jax.random.PRNGKey(1), (B, S), 0, V.size)
    h = emb(ids)
    fused = hnn.fused_cross_entropy_loss(h, emb.weight, E, V, ids, block_size=16)
    naive_loss = hnn.cross_entropy_loss(emb.unembed(h), V, hnn.one_hot(ids, V))
    np.testing.assert_allclose(fused.scalar(), naive_loss.scalar(), rtol=1e-5)


def test_out_of_range_targets():
    x, w, y, _ = make()
    bad = hax.NamedArray(y.array.at[0, 0].set(V.size), y.axes)
    with pytest.raises(AxisIndexError, match=r"fused_cross_entropy_loss: argument 'targets'.*axis vocab with size 37"):
        hnn.fused_cross_entropy_loss(x, w, E, V, bad)
    loss = jax.jit(lambda y: hnn.fused_cross_entropy_loss(x, w, E, V, y))(bad)
    assert np.isnan(loss.scalar())


def test_bad_inputs():
    x, w, y, _ = make()
    with pytest.raises(ValueError, match="axis embd not found.*Did you mean 'embed'"):
        hnn.fused_cross_entropy_loss(x, w, "embd", V, y)
    with pytest.raises(TypeError, match="integer"):
        hnn.fused_cross_entropy_loss(x, w, E, V, y.astype(jnp.float32))
    with pytest.raises(ValueError, match="neither Embed nor in the targets"):
        hnn.fused_cross_entropy_loss(x, w, E, V, y["seq", 0])
    with pytest.raises(
        ValueError,
        match=r"fused_cross_entropy_loss: argument 'Embed': Found axis with same name but different size: asked for embed\(9\), the array has embed\(8\)",
    ):
        hnn.fused_cross_entropy_loss(x, w, E.resize(9), V, y)
    with pytest.raises(
        ValueError,
        match=r"argument 'unembed_weight': Found axis with same name but different size: asked for vocab\(36\), the array has vocab\(37\)",
    ):
        hnn.fused_cross_entropy_loss(x, w, E, V.resize(36), y)
    # operands that disagree with each other
    w6 = hax.zeros((V, E.resize(6)))
    with pytest.raises(
        ValueError,
        match=r"fused_cross_entropy_loss: 'embeddings' has embed\(8\) but 'unembed_weight' \(the LM head\) has embed\(6\)",
    ):
        hnn.fused_cross_entropy_loss(x, w6, "embed", V, y)
    y_short = hax.zeros((B, S.resize(2)), dtype=jnp.int32)
    with pytest.raises(
        ValueError, match=r"fused_cross_entropy_loss: 'embeddings' has seq\(5\) but 'targets' has seq\(2\)"
    ):
        hnn.fused_cross_entropy_loss(x, w, E, V, y_short)


def test_gradient_temp_memory_far_below_logits():
    N, Em, Vo = hax.make_axes(tok=2048, embed=64, vocab=16384)
    x = hax.zeros((N, Em))
    w = hax.zeros((Vo, Em))
    y = hax.zeros(N, dtype=jnp.int32)

    def loss(x, w):
        return hnn.fused_cross_entropy_loss(x, w, Em, Vo, y, block_size=1024).scalar()

    compiled = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(x, w).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    logits_bytes = N.size * Vo.size * 4
    assert temp < logits_bytes / 8, (temp, logits_bytes)


@pytest.mark.parametrize("layout", ["vocab_first", "vocab_last", "vocab_middle"])
@pytest.mark.parametrize("block", [8, 10])
def test_weight_layouts_and_split_embed(layout, block):
    """Vocab first / last (read in place) and in the middle (copied): same loss and gradients as jnp."""
    H, D = hax.make_axes(h=2, d=4)
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(7), 3)
    x = hax.random.normal(k1, (B, H, D, S))
    axes = {"vocab_first": (V, H, D), "vocab_last": (H, D, V), "vocab_middle": (H, V, D)}[layout]
    w = hax.random.normal(k2, axes) * 0.5
    y = hax.random.randint(k3, (B, S), 0, V.size)

    def fused(xa, wa):
        return hnn.fused_cross_entropy_loss(
            hax.NamedArray(xa, x.axes), hax.NamedArray(wa, w.axes), (H, D), V, y, block_size=block, label_smoothing=0.1
        ).scalar()

    def ref(xa, wa):
        spec = {"vocab_first": "vhd", "vocab_last": "hdv", "vocab_middle": "hvd"}[layout]
        logits = jnp.einsum(f"bhds,{spec}->bsv", xa, wa)
        lse = jax.nn.logsumexp(logits, axis=-1)
        t = 0.9 * jax.nn.one_hot(y.array, V.size) + 0.1 / V.size
        return jnp.mean(lse - jnp.sum(t * logits, -1))

    got, got_g = jax.value_and_grad(fused, argnums=(0, 1))(x.array, w.array)
    want, want_g = jax.value_and_grad(ref, argnums=(0, 1))(x.array, w.array)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for a, b in zip(got_g, want_g):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
