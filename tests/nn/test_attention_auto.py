"""The "auto" implementation rule and the structure that mask builders hand to dot_product_attention."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.core import NamedArray
from haliax.nn.attention import (
    AttentionMask,
    causal_mask,
    combine_masks_and,
    combine_masks_or,
    dot_product_attention,
    prefix_lm_mask,
    sliding_window_mask,
)
from haliax.nn.attention_masks import AttentionLayout, StructuredMaskArray, compile_mask

Pos, KPos, Heads, D = hax.Axis("pos", 40), hax.Axis("kpos", 40), hax.Axis("heads", 2), hax.Axis("d", 8)


def _qkv(seed: int = 0) -> tuple[NamedArray, NamedArray, NamedArray]:
    ks = jax.random.split(jax.random.PRNGKey(seed), 3)
    q = hax.named(jax.random.normal(ks[0], (Pos.size, Heads.size, D.size)), (Pos, Heads, D))
    k = hax.named(jax.random.normal(ks[1], (Heads.size, KPos.size, D.size)), (Heads, KPos, D))
    v = hax.named(jax.random.normal(ks[2], (KPos.size, Heads.size, D.size)), (KPos, Heads, D))
    return q, k, v


def _plain(m: NamedArray) -> NamedArray:
    return NamedArray(m.array, m.axes)


def _plan(m: object) -> object:
    layout = AttentionLayout((Heads,), (), Pos, (KPos,))
    return compile_mask(m, layout, "test")[0]


def _padding() -> NamedArray:
    return hax.named(jnp.arange(KPos.size) < 33, (KPos,))


MASKS = {
    "causal": lambda: causal_mask(Pos, KPos),
    "causal_offset": lambda: causal_mask(Pos, KPos, q_start=5, k_start=2),
    "prefix_lm": lambda: prefix_lm_mask(Pos, KPos, 7),
    "prefix_lm_offset": lambda: prefix_lm_mask(Pos, KPos, 7, q_start=3),
    "prefix_lm_array_len": lambda: prefix_lm_mask(Pos, KPos, jnp.asarray(5)),
    "sliding_window": lambda: sliding_window_mask(Pos, KPos, 9),
    "causal_and_padding": lambda: combine_masks_and(causal_mask(Pos, KPos), _padding()),
    "window_or_prefix": lambda: combine_masks_or(sliding_window_mask(Pos, KPos, 5), prefix_lm_mask(Pos, KPos, 3)),
    "materialized": lambda: AttentionMask.causal().materialize(Pos, KPos),
}


@pytest.mark.parametrize("name", sorted(MASKS))
def test_builders_keep_a_rule_equal_to_their_array(name):
    m = MASKS[name]()
    assert isinstance(m, StructuredMaskArray)
    np.testing.assert_array_equal(np.asarray(m.structure.materialize(Pos, KPos).array), np.asarray(m.array))
    plan = _plan(m)
    assert plan is not None and plan[0] != "explicit"  # the rule, not the array, reaches the kernels


@pytest.mark.parametrize("name", sorted(MASKS))
def test_structured_blockwise_equals_dense_forward_and_gradient(name):
    m = MASKS[name]()
    q, k, v = _qkv()
    ct = jax.random.normal(jax.random.PRNGKey(9), (Pos.size, Heads.size, D.size))

    def loss(qa, ka, va, impl, mask):
        out = dot_product_attention(
            KPos,
            D,
            NamedArray(qa, q.axes),
            NamedArray(ka, k.axes),
            NamedArray(va, v.axes),
            mask=mask,
            implementation=impl,
            block_size=8,
        )
        return jnp.sum(out.rearrange((Pos, Heads, D)).array * ct), out.rearrange((Pos, Heads, D)).array

    args = (q.array, k.array, v.array)
    (ld, od), gd = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(*args, "dense", _plain(m))
    (lb, ob), gb = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(*args, "blockwise", m)
    (ls, osd), gs = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(*args, "dense", m)
    np.testing.assert_allclose(ob, od, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(osd, od, atol=1e-5, rtol=1e-5)
    for a, b, c in zip(gb, gd, gs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(c, b, atol=1e-5, rtol=1e-5)


def test_transformations_drop_the_rule():
    m = causal_mask(Pos, KPos)
    assert type(m["pos", 1:]) is NamedArray
    assert type(m & _padding()) is NamedArray
    assert type(m | _padding()) is NamedArray
    assert type(~m) is NamedArray
    assert type(m.rename({"pos": "p2"})) is NamedArray
    assert type(jax.tree_util.tree_map(lambda x: ~x, m)) is NamedArray
    assert type(jax.tree_util.tree_map(lambda x: x, m)) is NamedArray
    seen = []
    jax.jit(lambda mm: seen.append(type(mm)) or mm.array)(m)  # a jit argument is flattened: plain inside
    assert seen == [NamedArray]
    import copy

    assert type(copy.deepcopy(m)) is NamedArray
    # a transformed mask is read as its array: an inverted causal mask is not causal
    inv = jax.tree_util.tree_map(lambda x: ~x, m)
    assert _plan(inv)[0] == "explicit"


def test_rule_built_inside_jit_and_traced_offsets():
    q, k, v = _qkv(1)

    @jax.jit
    def f(qa, ka, va, start):
        mask = causal_mask(Pos, KPos, q_start=start)
        assert isinstance(mask, StructuredMaskArray)
        out = dot_product_attention(
            KPos,
            D,
            NamedArray(qa, q.axes),
            NamedArray(ka, k.axes),
            NamedArray(va, v.axes),
            mask=mask,
            implementation="blockwise",
            block_size=8,
        )
        return out.rearrange((Pos, Heads, D)).array

    want = dot_product_attention(
        KPos, D, q, k, v, mask=_plain(causal_mask(Pos, KPos, q_start=3)), implementation="dense"
    ).rearrange((Pos, Heads, D))
    np.testing.assert_allclose(f(q.array, k.array, v.array, jnp.asarray(3)), want.array, atol=1e-5, rtol=1e-5)


def test_rule_along_other_axes_falls_back_to_the_array(caplog):
    Other = hax.Axis("other", Pos.size)
    q, k, v = _qkv(2)
    m = causal_mask(Other, KPos)  # its rule runs along Other, but the call's query position is Pos
    q3 = hax.broadcast_axis(q, Other)
    with caplog.at_level(logging.DEBUG, logger="haliax.nn.attention"):
        got = dot_product_attention(KPos, D, q3, k, v, mask=m, QPos=Pos, implementation="blockwise", block_size=8)
    want = dot_product_attention(KPos, D, q3, k, v, mask=_plain(m), QPos=Pos, implementation="dense")
    np.testing.assert_allclose(got.array, want.rearrange(got.axes).array, atol=1e-5, rtol=1e-5)
    assert "using its array" in caplog.text


def test_sliding_window_mask_errors():
    with pytest.raises(ValueError, match="sliding_window_mask: window must be >= 1"):
        sliding_window_mask(Pos, KPos, 0)
    with pytest.raises(TypeError, match="sliding_window_mask: window must be an int"):
        sliding_window_mask(Pos, KPos, 2.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# the "auto" rule (CPU): traced only, with eval_shape


def _choice(caplog, seq: int, heads: int, mask_fn) -> str:
    P, K, H = hax.Axis("pos", seq), hax.Axis("kpos", seq), hax.Axis("heads", heads)
    q = hax.zeros((P, H, D))
    kv = hax.zeros((K, H, D))
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="haliax.nn.attention"):
        jax.eval_shape(lambda: dot_product_attention(K, D, q, kv, kv, mask=mask_fn(P, K)).array)
    lines = [r.getMessage() for r in caplog.records if "implementation=" in r.getMessage()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU rule")
def test_auto_rule_on_cpu(caplog):
    # heads=32: 32 x 128 x 128 x 4 bytes = 2 MiB per block, yet tiles stay at 128
    seed_causal = causal_mask
    new_causal = lambda P, K: AttentionMask.causal()  # noqa: E731
    plain = lambda P, K: _plain(causal_mask(P, K))  # noqa: E731
    assert "implementation=blockwise" in (msg := _choice(caplog, 1024, 32, seed_causal)) and "of 128" in msg
    assert "implementation=blockwise" in _choice(caplog, 1024, 32, new_causal)
    assert "implementation=dense" in _choice(caplog, 512, 32, seed_causal)  # 4 key blocks
    assert "implementation=dense" in _choice(caplog, 1024, 32, plain)  # nothing to skip
    assert "implementation=dense" in _choice(caplog, 1024, 32, lambda P, K: None)
    assert "implementation=blockwise" in _choice(caplog, 1024, 32, lambda P, K: sliding_window_mask(P, K, 64))
    assert "implementation=blockwise" in _choice(caplog, 1024, 32, lambda P, K: prefix_lm_mask(P, K, 64))
    padded = lambda P, K: combine_masks_and(causal_mask(P, K), hax.ones(K, dtype=bool))  # noqa: E731
    assert "implementation=blockwise" in _choice(caplog, 1024, 32, padded)
    # one head: 512 tiles, so 8 blocks need 4096 keys
    assert "implementation=dense" in _choice(caplog, 2048, 1, seed_causal)
    # decoding: a few queries against a long cache stay dense
    P1, K1, H1 = hax.Axis("pos", 4), hax.Axis("kpos", 4096), hax.Axis("heads", 8)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="haliax.nn.attention"):
        jax.eval_shape(
            lambda: (
                dot_product_attention(
                    K1,
                    D,
                    hax.zeros((P1, H1, D)),
                    hax.zeros((K1, H1, D)),
                    hax.zeros((K1, H1, D)),
                    mask=causal_mask(P1, K1, q_start=4092),
                ).array
            )
        )
    assert any("implementation=dense" in r.getMessage() for r in caplog.records)
    # memory: 2**26 scores or more go blockwise whatever the mask
    assert "implementation=blockwise" in _choice(caplog, 4096, 4, lambda P, K: None)


def test_builders_without_a_safe_rule_return_plain_arrays():
    i = np.arange(Pos.size)[:, None]
    j = np.arange(KPos.size)[None, :]
    m = prefix_lm_mask(Pos, KPos, 4, q_start=0, k_start=3)  # negative offset: prefix_lm's own j <= i would add keys
    assert type(m) is NamedArray
    np.testing.assert_array_equal(np.asarray(m.array), (i >= j + 3) | (j < 4))
    w = sliding_window_mask(Pos, KPos, 3, q_start=2)
    assert type(w) is NamedArray
    d = i + 2 - j
    np.testing.assert_array_equal(np.asarray(w.array), (d >= 0) & (d < 3))
