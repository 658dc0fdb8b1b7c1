"""AttentionMask: construction, materialize, combination, errors; each mask kind in every attention implementation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.nn.attention import AttentionMask, causal_mask, dot_product_attention, prefix_lm_mask

Batch, Heads, Pos, KPos, D = hax.make_axes(batch=2, heads=2, pos=13, kpos=13, d=4)
I = np.arange(13)[:, None]
J = np.arange(13)[None, :]
SEG = np.array([[0] * 4 + [1] * 6 + [2] * 3, [5] * 2 + [7] * 11])


def _mat(mask, Q=Pos, K=KPos):
    return np.asarray(mask.materialize(Q, K).array)


# ---------------------------------------------------------------------------------------------- construction


def test_causal_offsets_and_windows():
    np.testing.assert_array_equal(_mat(AttentionMask.causal()), J <= I)
    np.testing.assert_array_equal(_mat(AttentionMask.causal(2)), J <= I + 2)
    np.testing.assert_array_equal(_mat(AttentionMask.causal(-1)), J <= I - 1)
    np.testing.assert_array_equal(_mat(AttentionMask.sliding_window(3)), (J <= I) & (J > I - 3))
    np.testing.assert_array_equal(_mat(AttentionMask.prefix_lm(4)), (J < 4) | (J <= I))
    # the seed functions agree with the structured masks
    np.testing.assert_array_equal(_mat(AttentionMask.causal()), np.asarray(causal_mask(Pos, KPos).array))
    np.testing.assert_array_equal(_mat(AttentionMask.prefix_lm(4)), np.asarray(prefix_lm_mask(Pos, KPos, 4).array))


def test_rectangular_and_combinations():
    Q4, K6 = hax.Axis("q", 4), hax.Axis("k", 6)
    i, j = np.arange(4)[:, None], np.arange(6)[None, :]
    np.testing.assert_array_equal(_mat(AttentionMask.causal(2), Q4, K6), j <= i + 2)
    first = hax.named(np.arange(6) == 0, (K6,))
    m = AttentionMask.causal() & AttentionMask.sliding_window(2) | AttentionMask.explicit(first)
    np.testing.assert_array_equal(_mat(m, Q4, K6), ((j <= i) & (j > i - 2)) | (j < 1))
    np.testing.assert_array_equal(
        _mat(AttentionMask.prefix_lm(2) & AttentionMask.causal(-1), Q4, K6), ((j < 2) | (j <= i)) & (j <= i - 1)
    )
    keep = hax.named(np.array([True, False, True, True, True, True]), (K6,))
    np.testing.assert_array_equal(_mat(AttentionMask.causal() & keep, Q4, K6), (j <= i) & np.asarray(keep.array))
    np.testing.assert_array_equal(
        _mat(AttentionMask.explicit(keep) | AttentionMask.causal(), Q4, K6), (j <= i) | np.asarray(keep.array)
    )


def test_segment_ids_and_batched_parameters():
    seg = hax.named(SEG, (Batch, Pos))
    m = AttentionMask.segment_ids(seg)
    out = m.materialize(Pos, KPos)
    assert out.axes == (Batch, Pos, KPos)
    np.testing.assert_array_equal(np.asarray(out.array), SEG[:, :, None] == SEG[:, None, :])
    kv = hax.named(SEG[:, ::-1].copy(), (Batch, KPos))
    np.testing.assert_array_equal(_mat(AttentionMask.segment_ids(seg, kv)), SEG[:, :, None] == SEG[:, None, ::-1])
    packed = _mat(AttentionMask.segment_ids(seg) & AttentionMask.causal())
    np.testing.assert_array_equal(packed, (SEG[:, :, None] == SEG[:, None, :]) & (J <= I))
    # per-example offsets and prefix lengths
    off = hax.named(np.array([0, 3]), (Batch,))
    got = AttentionMask.causal(off).materialize(Pos, KPos)
    assert got.axes == (Batch, Pos, KPos)
    np.testing.assert_array_equal(np.asarray(got.array), np.stack([J <= I, J <= I + 3]).astype(bool))
    pre = _mat(AttentionMask.prefix_lm(hax.named(np.array([2, 5]), (Batch,))))
    np.testing.assert_array_equal(pre, np.stack([(J < 2) | (J <= I), (J < 5) | (J <= I)]))


def test_masks_are_immutable_pytrees_usable_under_jit():
    m = AttentionMask.causal(1) & AttentionMask.segment_ids(hax.named(SEG, (Batch, Pos)))
    with pytest.raises(Exception):  # noqa: B017 (frozen dataclass error type is an implementation detail)
        m.a = None
    leaves = jax.tree_util.tree_leaves(m)
    assert len(leaves) == 2  # the offset and the segment array
    f = jax.jit(lambda m: m.materialize(Pos, KPos))
    np.testing.assert_array_equal(np.asarray(f(m).array), _mat(m))
    # a traced window size: blockwise uses it for its loop bounds
    q = hax.named(np.random.default_rng(0).standard_normal((13, 4), dtype=np.float32), (Pos, D))
    k = hax.named(np.random.default_rng(1).standard_normal((13, 4), dtype=np.float32), (KPos, D))

    @jax.jit
    def attend(size):
        m = AttentionMask.sliding_window(size)
        return [
            dot_product_attention(KPos, D, q, k, k, mask=m, implementation=impl, block_size=4).array
            for impl in ("dense", "blockwise", "jax")
        ]

    outs = attend(jnp.int32(3))
    for o in outs[1:]:
        np.testing.assert_allclose(np.asarray(o), np.asarray(outs[0]), atol=1e-5, rtol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="size must be >= 1"):
        AttentionMask.sliding_window(0)
    with pytest.raises(ValueError, match="prefix_len must be >= 0"):
        AttentionMask.prefix_lm(-1)
    with pytest.raises(TypeError, match="q_segments must be a NamedArray"):
        AttentionMask.segment_ids(SEG)
    with pytest.raises(TypeError, match="explicit: mask must be a NamedArray"):
        AttentionMask.explicit(np.ones((2, 2), bool))
    with pytest.raises(TypeError, match="expected an AttentionMask or a boolean NamedArray"):
        AttentionMask.causal() & 1
    with pytest.raises(TypeError, match="must be Axis objects"):
        AttentionMask.causal().materialize("pos", "kpos")
    with pytest.raises(ValueError, match="must have the query position axis"):
        AttentionMask.segment_ids(hax.named(SEG, (Batch, "other"))).materialize(Pos, KPos)
    with pytest.raises(ValueError, match="equal query and key lengths"):
        AttentionMask.segment_ids(hax.named(SEG, (Batch, Pos))).materialize(Pos, KPos.resize(5))
    with pytest.raises(ValueError, match="batch axes only"):
        AttentionMask.causal(hax.named(np.arange(13), (Pos,))).materialize(Pos, KPos)
    q = hax.named(np.zeros((2, 13, 4), np.float32), (Batch, Pos, D))
    k = hax.named(np.zeros((2, 13, 4), np.float32), (Batch, KPos, D))
    with pytest.raises(ValueError, match="in neither the query nor the key"):
        dot_product_attention(KPos, D, q, k, k, mask=AttentionMask.segment_ids(hax.named(SEG, ("seq", Pos))))
    seg3 = hax.named(np.zeros((3, 13), np.int32), (Batch.resize(3), Pos))
    with pytest.raises(
        ValueError,
        match=r"argument 'q_segments': axis batch has conflicting sizes: 2 \(query/key\), 3 \(q_segments\)",
    ):
        dot_product_attention(KPos, D, q, k, k, mask=AttentionMask.segment_ids(seg3))
    with pytest.raises(
        ValueError, match=r"argument 'mask': axis pos has conflicting sizes: 13 \(query/key\), 5 \(mask\)"
    ):
        dot_product_attention(KPos, D, q, k, k, mask=hax.named(np.ones((5, 13), bool), (Pos.resize(5), KPos)))


# ---------------------------------------------------------------------------------------------- in attention


def _case(name):
    if name == "sliding_window":
        return AttentionMask.sliding_window(4), ((J <= I) & (J > I - 4))[None, None]
    if name == "segment_ids":
        return AttentionMask.segment_ids(hax.named(SEG, (Batch, Pos))), (SEG[:, :, None] == SEG[:, None, :])[:, None]
    if name == "packed_causal":
        m = AttentionMask.segment_ids(hax.named(SEG, (Batch, Pos))) & AttentionMask.causal()
        return m, ((SEG[:, :, None] == SEG[:, None, :]) & (J <= I))[:, None]
    if name == "prefix_lm":
        return AttentionMask.prefix_lm(5), ((J < 5) | (J <= I))[None, None]
    if name == "explicit":
        m = (np.random.default_rng(7).random((2, 13, 13)) < 0.5) | np.eye(13, dtype=bool)
        return hax.named(m, (Batch, Pos, KPos)), m[:, None]
    raise AssertionError(name)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
@pytest.mark.parametrize("case", ["sliding_window", "segment_ids", "packed_causal", "prefix_lm", "explicit"])
def test_mask_kinds_agree_with_jnp_and_torch_in_every_implementation(case):
    torch = pytest.importorskip("torch")
    mask, dense = _case(case)
    rng = np.random.default_rng(1)
    q, k, v, ct = (rng.standard_normal((2, 2, 13, 4), dtype=np.float32) for _ in range(4))
    qn = hax.named(q, (Batch, Heads, Pos, D))
    kn, vn = hax.named(k, (Batch, Heads, KPos, D)), hax.named(v, (Batch, Heads, KPos, D))

    def ref(q, k, v):
        s = jnp.einsum("bhqd,bhkd->bhqk", q / 2.0, k)
        return jnp.einsum("bhqk,bhkd->bhqd", jax.nn.softmax(jnp.where(dense, s, -1e9), axis=-1), v)

    @jax.jit
    def run(qn, kn, vn):
        res = {"ref": jax.value_and_grad(lambda *a: jnp.sum(ref(*a) * ct), argnums=(0, 1, 2))(q, k, v)}
        for impl in ("dense", "blockwise", "jax"):

            def loss(q, k, v, impl=impl):
                out = dot_product_attention(KPos, D, q, k, v, mask=mask, implementation=impl, block_size=4)
                return jnp.sum(out.array * ct)

            _, g = jax.value_and_grad(loss, argnums=(0, 1, 2))(qn, kn, vn)
            out = dot_product_attention(KPos, D, qn, kn, vn, mask=mask, implementation=impl, block_size=4)
            res[impl] = (out.array, tuple(x.array for x in g))
        res["ref"] = (ref(q, k, v), res["ref"][1])
        return res

    res = run(qn, kn, vn)
    tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(dense))
    (t_out * torch.tensor(ct)).sum().backward()
    want = (t_out.detach().numpy(), (tq.grad.numpy(), tk.grad.numpy(), tv.grad.numpy()))
    for impl, (out, grads) in res.items():
        np.testing.assert_allclose(np.asarray(out), want[0], atol=1e-5, rtol=1e-5, err_msg=impl)
        for g, w in zip(grads, want[1], strict=True):
            np.testing.assert_allclose(np.asarray(g), w, atol=1e-5, rtol=1e-5, err_msg=impl)
