"""Every attention implementation agrees with a plain jnp reference and torch SDPA; blockwise memory and skipping."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.nn.attention import AttentionMask, alibi_attention_bias, dot_product_attention

torch = pytest.importorskip("torch")

IMPLS = ("dense", "blockwise", "jax")
Batch, Heads, Pos, KPos, D = hax.make_axes(batch=2, heads=2, pos=21, kpos=21, d=8)
BLOCK = 8  # 21 is not a multiple of it


def _inputs(seed=0, dtype=jnp.float32):
    rng = np.random.default_rng(seed)
    q, k, v, ct = (rng.standard_normal((2, 2, 21, 8), dtype=np.float32) for _ in range(4))
    return (
        hax.named(jnp.asarray(q, dtype), (Batch, Heads, Pos, D)),
        hax.named(jnp.asarray(k, dtype), (Batch, Heads, KPos, D)),
        hax.named(jnp.asarray(v, dtype), (Batch, Heads, KPos, D)),
        jnp.asarray(ct),
    )


def _positions():
    i = np.arange(21)[:, None]
    j = np.arange(21)[None, :]
    return i, j


def _case(name):
    """(haliax mask, haliax bias, dense boolean mask [B|1, H|1, Q, K] or None, dense bias [.., Q, K] or None)."""
    i, j = _positions()
    if name == "causal":
        return AttentionMask.causal(), None, (j <= i)[None, None], None
    if name == "alibi_causal":
        b = alibi_attention_bias(Heads, KPos)
        return AttentionMask.causal(), b, (j <= i)[None, None], np.asarray(b.array)[None, :, None, :]
    if name == "bias":
        b = hax.named(np.random.default_rng(8).standard_normal((2, 21, 21), dtype=np.float32), (Heads, Pos, KPos))
        return None, b, None, np.asarray(b.array)[None]
    raise AssertionError(name)


# the mask kinds (sliding window, segment ids, prefix-LM, explicit) are checked the same way in test_attention_masks.py
CASES = ("causal", "alibi_causal", "bias")


def _ref(q, k, v, mask, bias):
    """Plain jnp: [B, H, Q, D] arrays, dense boolean mask, dense bias."""
    s = jnp.einsum("bhqd,bhkd->bhqk", q / np.sqrt(q.shape[-1]), k)
    if bias is not None:
        s = s + bias
    if mask is not None:
        s = jnp.where(mask, s, -1e9)
    return jnp.einsum("bhqk,bhkd->bhqd", jax.nn.softmax(s, axis=-1), v)


def _torch(q, k, v, mask, bias, **kw):
    tq, tk, tv = (torch.tensor(np.asarray(x), requires_grad=True) for x in (q, k, v))
    attn = None
    if bias is not None:
        attn = torch.tensor(np.asarray(bias, np.float32))
        if mask is not None:
            attn = torch.where(torch.tensor(np.asarray(mask)), attn, torch.tensor(-float("inf")))
    elif mask is not None:
        attn = torch.tensor(np.asarray(mask))
    out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=attn, **kw)
    return out, (tq, tk, tv)


def _all_impls(mask, with_bias, dmask, dbias):
    """One jitted function: the jnp reference and every implementation, (output, gradients) of sum(out * ct)."""
    argnums = (0, 1, 2, 3) if with_bias else (0, 1, 2)

    def run(q, k, v, bias, ct, qp, kp):
        def ref_loss(q, k, v, b):
            out = _ref(q, k, v, dmask, b)
            return jnp.sum(out * ct), out

        (_, out), grads = jax.value_and_grad(ref_loss, argnums=argnums, has_aux=True)(q.array, k.array, v.array, dbias)
        res = {"ref": (out, grads)}
        for impl in IMPLS:

            def loss(q, k, v, bias, impl=impl):
                out = dot_product_attention(
                    KPos, D, q, k, v, mask=mask, bias=bias, implementation=impl, block_size=BLOCK
                )
                ct_ = ct if out.axes[0] == Batch else jnp.transpose(ct, (2, 0, 1, 3))
                return jnp.sum(out.array * ct_), out

            res[impl] = jax.value_and_grad(loss, argnums=argnums, has_aux=True)(q, k, v, bias)
            if impl != "jax":
                res[impl + "_permuted"] = jax.value_and_grad(loss, argnums=argnums, has_aux=True)(qp, kp, v, bias)
        return res

    return jax.jit(run)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
@pytest.mark.parametrize("case", CASES)
def test_implementations_agree_with_jnp_and_torch(case):
    q, k, v, ct = _inputs()
    mask, bias, dmask, dbias = _case(case)
    # the query and key in other axis orders than the value: results come back in the query's order
    qp = hax.NamedArray(jnp.transpose(q.array, (2, 0, 3, 1)), (Pos, Batch, D, Heads))
    kp = hax.NamedArray(jnp.transpose(k.array, (2, 3, 0, 1)), (KPos, D, Batch, Heads))
    results = _all_impls(mask, bias is not None, dmask, dbias)(q, k, v, bias, ct, qp, kp)
    ref_out, ref_grads = results.pop("ref")

    t_out, t_in = _torch(q.array, k.array, v.array, dmask, dbias)
    (t_out * torch.tensor(np.asarray(ct))).sum().backward()
    np.testing.assert_allclose(np.asarray(ref_out), t_out.detach().numpy(), atol=1e-5, rtol=1e-5)
    for g, t in zip(ref_grads[:3], t_in, strict=True):
        np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), atol=1e-5, rtol=1e-5)

    for impl, ((_, out), grads) in results.items():
        if impl.endswith("_permuted"):
            assert out.axes == (Pos, Batch, Heads, D)
            out = hax.NamedArray(jnp.transpose(out.array, (1, 2, 0, 3)), (Batch, Heads, Pos, D))
            grads = (
                hax.NamedArray(jnp.transpose(grads[0].array, (1, 3, 0, 2)), q.axes),
                hax.NamedArray(jnp.transpose(grads[1].array, (2, 3, 0, 1)), k.axes),
                *grads[2:],
            )
        assert out.axes == (Batch, Heads, Pos, D)
        np.testing.assert_allclose(np.asarray(out.array), np.asarray(ref_out), atol=1e-5, rtol=1e-5, err_msg=impl)
        for g, r in zip(grads[:3], ref_grads[:3], strict=True):
            np.testing.assert_allclose(np.asarray(g.array), np.asarray(r), atol=1e-5, rtol=1e-5, err_msg=impl)
        if bias is not None:  # bias gradient, summed over the axes the bias lacks
            rb = np.asarray(ref_grads[3]).sum(axis=tuple(d for d in range(4) if dbias.shape[d] == 1))
            gb = np.asarray(grads[3].array)
            np.testing.assert_allclose(gb.reshape(rb.shape), rb, atol=1e-5, rtol=1e-5, err_msg=impl)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_grouped_query_attention_matches_torch_enable_gqa():
    KVH, QPerKV, Q, K, Dh = hax.make_axes(kv_heads=2, q_per_kv=3, q=19, k=19, d=8)
    rng = np.random.default_rng(3)
    q = hax.named(rng.standard_normal((2, 3, 19, 8), dtype=np.float32), (KVH, QPerKV, Q, Dh))
    k = hax.named(rng.standard_normal((2, 19, 8), dtype=np.float32), (KVH, K, Dh))
    v = hax.named(rng.standard_normal((2, 19, 8), dtype=np.float32), (KVH, K, Dh))
    ct = rng.standard_normal((2, 3, 19, 8), dtype=np.float32)

    tq = torch.tensor(np.asarray(q.array).reshape(1, 6, 19, 8), requires_grad=True)
    tk = torch.tensor(np.asarray(k.array)[None], requires_grad=True)
    tv = torch.tensor(np.asarray(v.array)[None], requires_grad=True)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True, enable_gqa=True)
    (t_out * torch.tensor(np.asarray(ct).reshape(1, 6, 19, 8))).sum().backward()

    for impl in IMPLS:

        def loss(q, k, v, impl=impl):
            out = dot_product_attention(
                K, Dh, q, k, v, mask=AttentionMask.causal(), QPos=Q, implementation=impl, block_size=8
            )
            return jnp.sum(out.array * ct), out

        (_, out), (gq, gk, gv) = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))(q, k, v)
        assert out.axes == (KVH, QPerKV, Q, Dh)
        np.testing.assert_allclose(
            np.asarray(out.array).reshape(1, 6, 19, 8), t_out.detach().numpy(), atol=1e-5, rtol=1e-5, err_msg=impl
        )
        np.testing.assert_allclose(np.asarray(gq.array).reshape(1, 6, 19, 8), tq.grad.numpy(), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(gk.array)[None], tk.grad.numpy(), atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(gv.array)[None], tv.grad.numpy(), atol=1e-5, rtol=1e-5)


def test_blockwise_gradient_holds_no_score_matrix():
    L = 4096
    P, KP, H1 = hax.Axis("pos", L), hax.Axis("kpos", L), hax.Axis("d", 16)
    x = jax.ShapeDtypeStruct((L, 16), jnp.float32)

    def loss(q, k, v):
        out = dot_product_attention(
            KP,
            H1,
            hax.NamedArray(q, (P, H1)),
            hax.NamedArray(k, (KP, H1)),
            hax.NamedArray(v, (KP, H1)),
            mask=AttentionMask.causal(),
            implementation="blockwise",
            block_size=256,
        )
        return jnp.sum(out.array)

    compiled = jax.jit(jax.grad(loss, argnums=(0, 1, 2))).lower(x, x, x).compile()
    temp = compiled.memory_analysis().temp_size_in_bytes
    score_bytes = L * L * 4
    assert temp < score_bytes / 20, (temp, score_bytes)


def test_blockwise_skips_fully_masked_blocks():
    # NaN values in keys that no query of the first block may see: visiting such a block gives NaN (0 * NaN)
    Q, K, Dh = hax.make_axes(q=32, k=32, d=4)
    rng = np.random.default_rng(0)
    q, k, v, v2 = (rng.standard_normal((32, 4), dtype=np.float32) for _ in range(4))
    v[8:] = np.nan
    v2[:8] = np.nan
    q, k, v, v2 = hax.named(q, (Q, Dh)), hax.named(k, (K, Dh)), hax.named(v, (K, Dh)), hax.named(v2, (K, Dh))

    @jax.jit
    def run(q, k, v, v2):
        def f(q, impl):
            return dot_product_attention(
                K, Dh, q, k, v, mask=AttentionMask.causal(), implementation=impl, block_size=8
            ).array

        gq = jax.grad(lambda q: jnp.sum(f(q, "blockwise")[:8]))(q)
        window = dot_product_attention(
            K, Dh, q, k, v2, mask=AttentionMask.sliding_window(4), implementation="blockwise", block_size=8
        ).array
        return f(q, "blockwise"), gq.array, f(q, "dense"), window

    out, gq, dense, window = (np.asarray(x) for x in run(q, k, v, v2))
    assert np.isfinite(out[:8]).all() and np.isfinite(gq[:8]).all()
    assert not np.isfinite(dense[:8]).all()  # dense visits everything
    assert np.isfinite(window[16:]).all()  # the last rows' windows never reach the first block


@pytest.mark.parametrize("impl", IMPLS)
def test_fully_masked_rows_inf_bias_and_bf16_are_finite(impl):
    q, k, v, ct = _inputs(2)
    i, j = _positions()
    shifted = (j <= i - 3)[None, None]  # rows 0..2 see nothing: uniform weights over all keys -> mean of v
    bias = hax.named(np.where(j <= i, 0.0, -np.inf).astype(np.float32), (Pos, KPos))  # every row keeps an entry

    def attn(q, k, v, **kw):
        return dot_product_attention(KPos, D, q, k, v, implementation=impl, block_size=BLOCK, **kw).array

    @jax.jit
    def run(q, k, v):
        mask = AttentionMask.causal(-3)
        out = attn(q, k, v, mask=mask)
        g = jax.grad(lambda q, k, v: jnp.sum(attn(q, k, v, mask=mask) * ct), argnums=(0, 1, 2))(q, k, v)
        gr = jax.grad(lambda q, k, v: jnp.sum(_ref(q, k, v, shifted, None) * ct), argnums=(0, 1, 2))(
            q.array, k.array, v.array
        )
        out_inf = attn(q, k, v, bias=bias)
        g_inf = jax.grad(lambda q: jnp.sum(attn(q, k, v, bias=bias)))(q)
        qb, kb, vb = (x.astype(jnp.bfloat16) for x in (q, k, v))
        out_bf16 = attn(qb, kb, vb, mask=mask)
        g_bf16 = jax.grad(lambda q, k, v: jnp.sum(attn(q, k, v, mask=mask).astype(jnp.float32)), argnums=(0, 1, 2))(
            qb, kb, vb
        )
        ref_bf16 = _ref(*(x.array.astype(jnp.float32) for x in (qb, kb, vb)), shifted, None)
        return out, g, gr, out_inf, g_inf, out_bf16, ref_bf16, g_bf16

    out, g, gr, out_inf, g_inf, out_bf16, ref_bf16, g_bf16 = run(q, k, v)
    for x in g_bf16:
        assert x.dtype == jnp.bfloat16 and np.isfinite(np.asarray(x.array, np.float32)).all()
    mean_v = np.broadcast_to(np.asarray(v.array).mean(axis=2, keepdims=True), (2, 2, 3, 8))
    np.testing.assert_allclose(np.asarray(out[:, :, :3]), mean_v, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(out), np.asarray(_ref(q.array, k.array, v.array, shifted, None)), atol=1e-5, rtol=1e-5
    )
    for a, b in zip(g, gr, strict=True):
        np.testing.assert_allclose(np.asarray(a.array), np.asarray(b), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(out_inf), np.asarray(_ref(q.array, k.array, v.array, j <= i, None)), atol=1e-5, rtol=1e-5
    )
    assert np.isfinite(np.asarray(g_inf.array)).all()
    assert out_bf16.dtype == jnp.bfloat16
    assert np.isfinite(np.asarray(out_bf16, np.float32)).all()
    np.testing.assert_allclose(np.asarray(out_bf16, np.float32), np.asarray(ref_bf16), atol=5e-2)


def test_block_size_pair_and_query_without_position_axis():
    q, k, v, _ = _inputs(4)
    q1 = hax.NamedArray(q.array[:, :, 0], (Batch, Heads, D))  # one decoding step: no query position axis

    @jax.jit
    def run(q, k, v, q1):
        m = AttentionMask.sliding_window(3)
        want = dot_product_attention(KPos, D, q, k, v, mask=m, implementation="dense")
        got = dot_product_attention(KPos, D, q, k, v, mask=m, implementation="blockwise", block_size=(4, 16))
        single = {
            impl: dot_product_attention(KPos, D, q1, k, v, implementation=impl, block_size=BLOCK) for impl in IMPLS
        }
        return want, got, single

    want, got, single = run(q, k, v, q1)
    np.testing.assert_allclose(np.asarray(got.array), np.asarray(want.array), atol=1e-5, rtol=1e-5)
    ref = _ref(q1.array[:, :, None], k.array, v.array, None, None)[:, :, 0]
    for impl, out in single.items():
        assert out.axes == (Batch, Heads, D)
        np.testing.assert_allclose(np.asarray(out.array), np.asarray(ref), atol=1e-5, rtol=1e-5, err_msg=impl)


def test_check_grads_blockwise():
    from jax.test_util import check_grads

    Q, K, Dh = hax.make_axes(q=10, k=10, d=4)
    rng = np.random.default_rng(5)
    args = [jnp.asarray(rng.standard_normal((10, 4), dtype=np.float32)) for _ in range(3)]

    @jax.jit
    def f(q, k, v):
        return dot_product_attention(
            K,
            Dh,
            hax.NamedArray(q, (Q, Dh)),
            hax.NamedArray(k, (K, Dh)),
            hax.NamedArray(v, (K, Dh)),
            mask=AttentionMask.causal(),
            implementation="blockwise",
            block_size=4,
        ).array

    check_grads(f, args, order=1, modes=("rev",), eps=1e-2, atol=2e-2, rtol=2e-2)
