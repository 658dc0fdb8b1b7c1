"""Attention kernels on canonical arrays: blockwise ("flash") attention and dense attention, each with its VJP.

These are the engines behind `dot_product_attention(..., implementation="blockwise" | "dense")`; use that function,
which handles names, scaling, masks and biases. Here everything is positional:

* `q`: `[B, G, Q, D]` (already scaled), `k`: `[B, K, D]`, `v`: `[B, K, F]`;
* `bias`: `None` or 4-D, broadcastable to `[B, G, Q, K]` (each dimension 1 or full);
* the mask is a static plan plus canonical arrays (see `haliax.nn.attention_masks`).

Blockwise: queries are tiled in blocks of `block_q` rows and keys in blocks of `block_k`. The forward pass keeps a
running maximum and normaliser per row (online softmax) and saves only the output and the row log-sum-exp. The
backward pass recomputes each block of scores. Neither pass holds a `[Q, K]` array. Key blocks that the mask proves
empty for a query block (causal, sliding window, prefix-LM) are never visited, in either pass.

Semantics match the dense path: masked logits never contribute; a row with no visible key (or only logits at or
below the bias cut-off -1e9) returns the mean of the values, as the dense path's uniform weights do.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from ..jax_utils import custom_vjp
from .attention_masks import MASK_VALUE, Plan, evaluate_plan, is_positional_plan, key_range, mask_block, query_range

__all__: list[str] = []


@dataclasses.dataclass(frozen=True)
class BlockwiseConfig:
    """Static configuration of one blockwise call (hashable)."""

    block_q: int
    block_k: int
    q_len: int
    k_len: int
    plan: Plan | None
    precision: Any
    out_dtype: Any
    has_bias: bool


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pad_to(x: jax.Array, axis: int, full: int, size: int) -> jax.Array:
    """Pad dimension `axis` of `x` from `full` to `size` (dimensions of size 1 are broadcast ones: left alone)."""
    if x.shape[axis] != full or full == size:
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (0, size - full)
    return jnp.pad(x, widths)


def blockwise_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    bias: jax.Array | None,
    plan: Plan | None,
    arrays: list[jax.Array],
    *,
    block_q: int,
    block_k: int,
    precision: Any = None,
    out_dtype: Any = None,
) -> jax.Array:
    """Blockwise attention on canonical arrays; returns `[B, G, Q, F]`. Lengths need not divide the block sizes.

    Args:
        q: the scaled queries, `[B, G, Q, D]`.
        k: the keys, `[B, K, D]`.
        v: the values, `[B, K, F]`.
        bias: None or a 4-D bias broadcastable to `[B, G, Q, K]`.
        plan: the static mask plan, or None for no mask (see `haliax.nn.attention_masks`).
        arrays: the canonical arrays the plan refers to.
        block_q: the number of query rows per block.
        block_k: the number of keys per block.
        precision: the precision of the matrix products (as in `jax.lax.dot_general`).
        out_dtype: the dtype of the result (default: the dtype of ``v``).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from haliax.nn.blockwise_attention import blockwise_attention
        >>> q, k, v = (jax.random.normal(jax.random.PRNGKey(i), (1, 1, 5, 4)) for i in range(3))
        >>> out = blockwise_attention(q, k[:, 0], v[:, 0], None, None, [], block_q=2, block_k=2)
        >>> ref = jax.nn.softmax(q[:, 0] @ k[:, 0].mT, axis=-1) @ v[:, 0]
        >>> bool(jnp.allclose(out[:, 0], ref, atol=1e-5))
        True
    """
    Q, K = q.shape[2], k.shape[1]
    bq, bk = max(1, min(block_q, Q)), max(1, min(block_k, K))
    Qp, Kp = _ceil_div(Q, bq) * bq, _ceil_div(K, bk) * bk
    q = _pad_to(q, 2, Q, Qp)
    k = _pad_to(k, 1, K, Kp)
    v = _pad_to(v, 1, K, Kp)
    if bias is not None:
        bias = _pad_to(_pad_to(bias, 2, Q, Qp), 3, K, Kp)
    arrays = [_pad_to(_pad_to(a, 2, Q, Qp), 3, K, Kp) for a in arrays]
    if out_dtype is None:
        out_dtype = jnp.result_type(q.dtype, v.dtype)
    cfg = BlockwiseConfig(bq, bk, Q, K, plan, precision, jnp.dtype(out_dtype), bias is not None)
    out = _attention(cfg, q, k, v, bias, tuple(arrays))
    return out[:, :, :Q] if Qp != Q else out


# ------------------------------------------------------------------------------------------------------------
# the dense kernel (implementation="dense" and the weights function)


def dense_weights(
    q: jax.Array,
    k: jax.Array,
    bias: Any,
    plan: Any,
    arrays: Any,
    precision: Any,
    out_dtype: Any,
    batch_shape: tuple[int, ...] | None = None,
) -> jax.Array:
    """Softmax of `dense_logits`, in float32 at least, cast to `out_dtype` (if not None).

    Args:
        q: the scaled queries, `[B, G, Q, D]`.
        k: the keys, `[B, K, D]`.
        bias: None or a 4-D bias broadcastable to `[B, G, Q, K]`.
        plan: the static mask plan, or None for no mask (see `haliax.nn.attention_masks`).
        arrays: the canonical arrays the plan refers to.
        precision: the precision of the score product.
        out_dtype: the dtype to cast the weights to (None: keep float32 or wider).
        batch_shape: the sizes of the caller's batch axes, to unmerge the canonical batch dimension (None: keep `B`).
    """
    s = dense_logits(q, k, bias, plan, arrays, precision, batch_shape)
    w = jax.nn.softmax(s.astype(jnp.promote_types(s.dtype, jnp.float32)), axis=-1)
    return w.astype(out_dtype) if out_dtype is not None else w


def dense_logits(
    q: jax.Array,
    k: jax.Array,
    bias: Any,
    plan: Any,
    arrays: Any,
    precision: Any,
    batch_shape: tuple[int, ...] | None = None,
) -> jax.Array:
    """Biased, masked logits `[*batch_shape, G, Q, K]` (`[*batch_shape, Q, K]` when G == 1) of canonical `q`, `k`.

    `batch_shape` unmerges the canonical batch dimension into the sizes of the caller's batch axes, so the
    score product is one `dot_general` with those batch dimensions, exactly as a hand-written `einsum` over the
    caller's axes would be (merging them costs reshapes in the optimized HLO).

    Args:
        q: the scaled queries, `[B, G, Q, D]`.
        k: the keys, `[B, K, D]`.
        bias: None or a 4-D bias broadcastable to `[B, G, Q, K]`.
        plan: the static mask plan, or None for no mask (see `haliax.nn.attention_masks`).
        arrays: the canonical arrays the plan refers to.
        precision: the precision of the score product.
        batch_shape: the sizes of the caller's batch axes, to unmerge the canonical batch dimension (None: keep `B`).
    """
    B, G, Q, D = q.shape
    K = k.shape[1]
    bs = tuple(batch_shape) if batch_shape else (B,)
    nb = len(bs)
    acc = jnp.promote_types(q.dtype, jnp.float32)
    # with one group, elementwise work runs on [..., Q, K] (XLA:CPU is slower with a size-1 dimension)
    shape = bs + ((Q, K) if G == 1 else (G, Q, K))

    def fit(x: jax.Array) -> jax.Array:  # [b|1, g|1, q|1, k|1] -> broadcastable to `shape`
        lead = bs if x.shape[0] != 1 else (1,) * nb
        return x.reshape(lead + ((x.shape[1],) if G != 1 else ()) + x.shape[2:])

    batch = tuple(range(nb))
    s = lax.dot_general(
        q.reshape(bs + (G * Q, D)),
        k.reshape(bs + (K, D)),
        (((nb + 1,), (nb + 1,)), (batch, batch)),
        precision=precision,
        preferred_element_type=acc,
    ).reshape(shape)
    if bias is not None:
        s = s + fit(bias)
    if plan is not None:
        if is_positional_plan(plan) and all(a.shape[:2] == (1, 1) for a in arrays):  # one [Q, K] mask for all rows
            m = evaluate_plan(plan, [a.reshape(a.shape[2:]) for a in arrays], 0, Q, 0, K, ndim=2)
        else:
            m = fit(evaluate_plan(plan, arrays, 0, Q, 0, K))
        s = jnp.where(m, s, MASK_VALUE)
    if bias is not None:
        s = jnp.maximum(s, MASK_VALUE)  # -inf bias entries act as masked: no NaN
    return s


def dense_attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    bias: Any,
    plan: Any,
    arrays: Any,
    precision: Any,
    orig_dtype: Any,
    batch_shape: tuple[int, ...] | None = None,
) -> jax.Array:
    """Dense attention `[B, G, Q, F]`: `dense_weights` (cast to `orig_dtype`) times `v`.

    The forward pass is the plain order of operations. Its VJP is hand-written: it keeps the float32 weights and
    uses `rowsum(w * dp) = rowsum(dout * out)`, so the backward pass reads the `[Q, K]` arrays fewer times than
    autodiff through softmax would (about 10% faster on CPU and a third less temp memory), with the same values.

    Args:
        q: the scaled queries, `[B, G, Q, D]`.
        k: the keys, `[B, K, D]`.
        v: the values, `[B, K, F]`.
        bias: None or a 4-D bias broadcastable to `[B, G, Q, K]`.
        plan: the static mask plan, or None for no mask (see `haliax.nn.attention_masks`).
        arrays: the canonical arrays the plan refers to.
        precision: the precision of the matrix products.
        orig_dtype: the dtype the weights are cast to before they multiply ``v``.
        batch_shape: the sizes of the caller's batch axes, to unmerge the canonical batch dimension (None: keep `B`).
    """
    bs = tuple(batch_shape) if batch_shape else (q.shape[0],)
    cfg = (plan, precision, jnp.dtype(orig_dtype), bs)
    return _dense_vjp(cfg, q, k, v, bias, tuple(arrays))


def _dg(a: jax.Array, b: jax.Array, contract: tuple[int, int], nb: int, acc: Any) -> jax.Array:
    """`dot_general` over `nb` leading batch dims, contracting `a`'s dim `contract[0]` with `b`'s `contract[1]`."""
    dt = jnp.promote_types(a.dtype, b.dtype)
    batch = tuple(range(nb))
    return lax.dot_general(
        a.astype(dt), b.astype(dt), (((contract[0],), (contract[1],)), (batch, batch)), preferred_element_type=acc
    )


def _dense_out(cfg: Any, w: jax.Array, v: jax.Array, q_shape: tuple[int, ...]) -> jax.Array:
    _, _, orig_dtype, bs = cfg
    B, G, Q, _ = q_shape
    K, F = v.shape[1], v.shape[-1]
    nb = len(bs)
    batch = tuple(range(nb))
    return lax.dot_general(
        w.astype(orig_dtype).reshape(bs + (G * Q, K)), v.reshape(bs + (K, F)), (((nb + 1,), (nb,)), (batch, batch))
    ).reshape(B, G, Q, F)


def _dense_fwd(cfg: Any, q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, arrays: Any) -> Any:
    plan, precision, _, bs = cfg
    s = dense_logits(q, k, bias, plan, arrays, precision, bs)
    s = s.astype(jnp.promote_types(s.dtype, jnp.float32))
    m = jnp.max(s, axis=-1, keepdims=True)  # softmax as jax.nn.softmax computes it, keeping the row maximum
    e = jnp.exp(s - m)
    w = e / jnp.sum(e, axis=-1, keepdims=True)
    out = _dense_out(cfg, w, v, q.shape)
    # rows with nothing visible get uniform weights but no gradient (their logits are the constant fill)
    empty = None if plan is None and bias is None else m[..., 0] <= MASK_VALUE
    return out, (q, k, v, bias, arrays, w, out, empty)


def _dense_bwd(cfg: Any, res: Any, dout: jax.Array) -> Any:
    plan, precision, orig_dtype, bs = cfg
    q, k, v, bias, arrays, w, out, empty = res
    B, G, Q, D = q.shape
    K, F = k.shape[1], v.shape[-1]
    nb = len(bs)
    acc = w.dtype
    rows = bs + (G * Q,)
    do = dout.reshape(rows + (F,))
    dp = _dg(do, v.reshape(bs + (K, F)), (nb + 1, nb + 1), nb, acc).reshape(w.shape)
    delta = jnp.sum(dout.astype(acc) * out.astype(acc), axis=-1).reshape(w.shape[:-1])
    ds = w * (dp - delta[..., None])
    if empty is not None:
        ds = jnp.where(empty[..., None], 0.0, ds)
    ds2 = ds.reshape(rows + (K,)).astype(q.dtype)
    dq = _dg(ds2, k.reshape(bs + (K, D)), (nb + 1, nb), nb, acc).reshape(q.shape)
    dk = _dg(ds2, q.reshape(rows + (D,)), (nb, nb), nb, acc).reshape(k.shape)
    dv = _dg(w.astype(orig_dtype).reshape(rows + (K,)), do, (nb, nb), nb, acc).reshape(v.shape)
    dbias = None
    if bias is not None:
        ds4 = ds.reshape(B, G, Q, K)
        axes = tuple(d for d in range(4) if bias.shape[d] == 1 and ds4.shape[d] != 1)
        dbias = jnp.sum(ds4, axis=axes, keepdims=True).astype(bias.dtype)
    return dq.astype(q.dtype), dk.astype(k.dtype), dv.astype(v.dtype), dbias, tuple(None for _ in arrays)


@custom_vjp(nondiff_argnums=(0,))
def _dense_vjp(cfg: Any, q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, arrays: Any) -> jax.Array:
    plan, precision, _, bs = cfg
    return _dense_out(cfg, dense_weights(q, k, bias, plan, arrays, precision, None, bs), v, q.shape)


_dense_vjp.defvjp(_dense_fwd, _dense_bwd)


# ------------------------------------------------------------------------------------------------------------
# shared block computation
#
# Inside the kernel the group dimension is dropped when G == 1: queries are [B, Qp, D] and scores [B, bq, bk]
# (XLA:CPU runs elementwise work and matmuls noticeably slower with a size-1 dimension). `rs` is the "row shape"
# between batch and query position: () or (G,).


def _acc_dtype(q: jax.Array) -> Any:
    return jnp.promote_types(q.dtype, jnp.float32)


def _mm(a: jax.Array, b: jax.Array, ca: int, cb: int, acc: Any, precision: Any = None) -> jax.Array:
    """Batched (over dim 0) matmul of operands merged to 3-D `[B, rows, last]`, contracting dim `ca` of `a` with
    dim `cb` of `b` (1 = rows, 2 = last)."""
    a = a.reshape(a.shape[0], -1, a.shape[-1])
    b = b.reshape(b.shape[0], -1, b.shape[-1])
    return lax.dot_general(a, b, (((ca,), (cb,)), ((0,), (0,))), precision=precision, preferred_element_type=acc)


def _fit(x: jax.Array, rs: tuple[int, ...]) -> jax.Array:
    """A canonical 4-D `[b, g, q, k]` array in the kernel's rank (dim 1 dropped when there is no group dim)."""
    return x if rs else x.reshape(x.shape[:1] + x.shape[2:])


def _scores(
    cfg: BlockwiseConfig, rs: tuple[int, ...], qi: jax.Array, kj: jax.Array, bias: Any, arrays: Any, q0: Any, k0: Any
) -> jax.Array:
    """Masked, biased logits of one block: `[B, *rs, bq, bk]`, -inf where a key may not be attended."""
    acc = _acc_dtype(qi)
    s = _mm(qi, kj, 2, 2, acc, cfg.precision).reshape(qi.shape[:-1] + (kj.shape[1],))
    valid = None
    if bias is not None:
        s = s + _fit(mask_block(bias, q0, cfg.block_q, k0, cfg.block_k), rs).astype(acc)
        valid = s > MASK_VALUE
    if cfg.plan is not None:
        m = _fit(evaluate_plan(cfg.plan, arrays, q0, cfg.block_q, k0, cfg.block_k), rs)
        valid = m if valid is None else valid & m
    if cfg.k_len % cfg.block_k:
        kv = ((k0 + jnp.arange(cfg.block_k)) < cfg.k_len).reshape((1,) * (s.ndim - 1) + (cfg.block_k,))
        valid = kv if valid is None else valid & kv
    if valid is not None:
        s = jnp.where(valid, s, -jnp.inf)
    return s


def _block_range(lo: Any, hi: Any, block: int, n: int) -> tuple[Any, Any]:
    """Block indices `[first, last)` covering element range `[lo, hi)`, clipped to `[0, n)`."""
    first = jnp.clip(jnp.floor_divide(lo, block), 0, n)
    last = jnp.clip(jnp.floor_divide(hi + block - 1, block), 0, n)
    return first, jnp.maximum(first, last)


def _dims(q: jax.Array) -> tuple[int, tuple[int, ...], int, int]:
    B, G, Qp, D = q.shape
    return B, ((G,) if G != 1 else ()), Qp, D


# ------------------------------------------------------------------------------------------------------------
# forward


def _forward(cfg: BlockwiseConfig, q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, arrays: Any) -> Any:
    B, rs, Qp, D = _dims(q)
    q = q.reshape(B, *rs, Qp, D)
    qa = q.ndim - 2  # the query position dimension
    Kp, F = k.shape[1], v.shape[2]
    bq, bk = cfg.block_q, cfg.block_k
    nq, nk = Qp // bq, Kp // bk
    acc = _acc_dtype(q)
    vmean = jnp.sum(v, axis=1, dtype=acc) / cfg.k_len  # padded rows of v are zero
    vmean = vmean.reshape((B,) + (1,) * (len(rs) + 1) + (F,))

    def q_step(i: Any, carry: Any) -> Any:
        out, lse = carry
        q0 = i * bq
        qi = lax.dynamic_slice_in_dim(q, q0, bq, axis=qa)
        klo, khi = key_range(cfg.plan, arrays, q0, q0 + bq, cfg.k_len)
        jlo, jhi = _block_range(klo, khi, bk, nk)

        def k_step(j: Any, c: Any) -> Any:
            m, l, o = c
            k0 = j * bk
            kj = lax.dynamic_slice_in_dim(k, k0, bk, axis=1)
            vj = lax.dynamic_slice_in_dim(v, k0, bk, axis=1)
            s = _scores(cfg, rs, qi, kj, bias, arrays, q0, k0)
            m_new = jnp.maximum(m, jnp.max(s, axis=-1))
            m_safe = jnp.where(jnp.isneginf(m_new), 0.0, m_new)
            p = jnp.exp(s - m_safe[..., None])
            corr = jnp.exp(m - m_safe)
            l = l * corr + jnp.sum(p, axis=-1)
            pv = _mm(p.astype(v.dtype), vj, 2, 1, acc).reshape(o.shape)
            return m_new, l, o * corr[..., None] + pv

        row = (B, *rs, bq)
        init = (jnp.full(row, -jnp.inf, acc), jnp.zeros(row, acc), jnp.zeros((*row, F), acc))
        m, l, o = lax.fori_loop(jlo, jhi, k_step, init)
        empty = l == 0
        o = jnp.where(empty[..., None], vmean, o / jnp.where(empty, 1.0, l)[..., None])
        lse_i = jnp.where(empty, jnp.inf, m + jnp.log(jnp.where(empty, 1.0, l)))
        out = lax.dynamic_update_slice_in_dim(out, o.astype(out.dtype), q0, axis=qa)
        lse = lax.dynamic_update_slice_in_dim(lse, lse_i, q0, axis=qa)
        return out, lse

    init = (jnp.zeros((B, *rs, Qp, F), cfg.out_dtype), jnp.zeros((B, *rs, Qp), acc))
    out, lse = lax.fori_loop(0, nq, q_step, init)
    return out.reshape(B, -1, Qp, F), lse


# ------------------------------------------------------------------------------------------------------------
# backward


def _backward(cfg: BlockwiseConfig, res: Any, dout: jax.Array) -> Any:
    q4, k, v, bias, arrays, out, lse = res
    B, rs, Qp, D = _dims(q4)
    q = q4.reshape(B, *rs, Qp, D)
    qa = q.ndim - 2
    Kp, F = k.shape[1], v.shape[2]
    dout = dout.reshape(B, *rs, Qp, F)
    out = out.reshape(B, *rs, Qp, F)
    bq, bk = cfg.block_q, cfg.block_k
    nq, nk = Qp // bq, Kp // bk
    acc = _acc_dtype(q)
    delta = jnp.sum(dout.astype(acc) * out.astype(acc), axis=-1)  # [B, *rs, Qp]

    def k_step(j: Any, carry: Any) -> Any:
        dq, dk, dv, db = carry
        k0 = j * bk
        kj = lax.dynamic_slice_in_dim(k, k0, bk, axis=1)
        vj = lax.dynamic_slice_in_dim(v, k0, bk, axis=1)
        qlo, qhi = query_range(cfg.plan, arrays, k0, k0 + bk, cfg.q_len)
        ilo, ihi = _block_range(qlo, qhi, bq, nq)

        def q_step(i: Any, c: Any) -> Any:
            dq, dkj, dvj, db = c
            q0 = i * bq
            qi = lax.dynamic_slice_in_dim(q, q0, bq, axis=qa)
            doi = lax.dynamic_slice_in_dim(dout, q0, bq, axis=qa)
            lse_i = lax.dynamic_slice_in_dim(lse, q0, bq, axis=qa)
            d_i = lax.dynamic_slice_in_dim(delta, q0, bq, axis=qa)
            s = _scores(cfg, rs, qi, kj, bias, arrays, q0, k0)
            p = jnp.exp(s - lse_i[..., None])
            dvj = dvj + _mm(p.astype(dout.dtype), doi, 1, 1, acc)
            dp = _mm(doi, vj, 2, 2, acc).reshape(p.shape)
            ds = p * (dp - d_i[..., None])
            dkj = dkj + _mm(ds.astype(q.dtype), qi, 1, 1, acc)
            dqi = _mm(ds.astype(k.dtype), kj, 2, 1, acc).reshape(qi.shape)
            dq = lax.dynamic_update_slice_in_dim(dq, lax.dynamic_slice_in_dim(dq, q0, bq, axis=qa) + dqi, q0, axis=qa)
            if db is not None:
                ds4 = ds if rs else ds[:, None]
                sum_axes = tuple(d for d in range(4) if db.shape[d] == 1 and ds4.shape[d] != 1)
                blk = jnp.sum(ds4, axis=sum_axes, keepdims=True)
                start = (0, 0, q0 if db.shape[2] != 1 else 0, k0 if db.shape[3] != 1 else 0)
                cur = lax.dynamic_slice(db, start, blk.shape)
                db = lax.dynamic_update_slice(db, cur + blk, start)
            return dq, dkj, dvj, db

        init = (dq, jnp.zeros((B, bk, D), acc), jnp.zeros((B, bk, F), acc), db)
        dq, dkj, dvj, db = lax.fori_loop(ilo, ihi, q_step, init)
        dk = lax.dynamic_update_slice_in_dim(dk, dkj, k0, axis=1)
        dv = lax.dynamic_update_slice_in_dim(dv, dvj, k0, axis=1)
        return dq, dk, dv, db

    db0 = jnp.zeros(bias.shape, acc) if bias is not None else None
    init = (jnp.zeros(q.shape, acc), jnp.zeros(k.shape, acc), jnp.zeros(v.shape, acc), db0)
    dq, dk, dv, db = lax.fori_loop(0, nk, k_step, init)
    # rows with no visible key output mean(v): each real key gets 1/K of their cotangent
    empty = jnp.isposinf(lse)
    extra = jnp.sum(jnp.where(empty[..., None], dout.astype(acc), 0.0), axis=tuple(range(1, q.ndim - 1)))
    dv = dv + (extra / cfg.k_len)[:, None, :]
    dbias = db.astype(bias.dtype) if bias is not None else None
    dq = dq.astype(q.dtype).reshape(q4.shape)
    return dq, dk.astype(k.dtype), dv.astype(v.dtype), dbias, tuple(None for _ in arrays)


@custom_vjp(nondiff_argnums=(0,))
def _attention(cfg: BlockwiseConfig, q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, arrays: Any) -> jax.Array:
    return _forward(cfg, q, k, v, bias, arrays)[0]


def _attention_fwd(cfg: BlockwiseConfig, q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, arrays: Any) -> Any:
    out, lse = _forward(cfg, q, k, v, bias, arrays)
    return out, (q, k, v, bias, arrays, out, lse)


_attention.defvjp(_attention_fwd, _backward)
