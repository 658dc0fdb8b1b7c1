"""Language-model cross-entropy without materialising the ``[tokens, Vocab]`` logits.

The vocabulary is processed in blocks with a running logsumexp; a custom VJP recomputes each block's
logits in the backward pass, so neither pass holds a ``[tokens, Vocab]`` array.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import Axis, AxisSelection, AxisSelector, axis_not_found_error
from ..core import NamedArray
from ..util import UNSPECIFIED
from ._helpers import custom_vjp

__all__ = ["fused_cross_entropy_loss", "fused_cross_entropy_loss_and_log_normalizers"]

DEFAULT_BLOCK_SIZE = 2048


# --------------------------------------------------------------------------------------------------
# the raw kernel: x [N, E], w [V, E] or [E, V], y [N] -> (lse [N], logit at target [N], sum of logits [N])
#
# Blocks are read from ``w`` with ``dynamic_slice`` where it lies (no padded or transposed copy of the
# weight). When ``block`` does not divide ``V`` the last block is shifted back to end at ``V`` and the
# columns that an earlier block already covered are masked, so every vocabulary entry counts exactly once.


def _block_start(i: jax.Array, block: int, v: int) -> tuple[jax.Array, jax.Array]:
    """(first column this block owns, first column it reads)."""
    own = i * block
    return own, jnp.minimum(own, v - block)


def _block_logits(x: jax.Array, w: jax.Array, vax: int, read: jax.Array, block: int) -> tuple[jax.Array, jax.Array]:
    wb = jax.lax.dynamic_slice_in_dim(w, read, block, axis=vax)
    contract = ((1,), (1 - vax,))
    logits = jax.lax.dot_general(x, wb, (contract, ((), ())), preferred_element_type=jnp.float32)
    return logits, wb


@custom_vjp(nondiff_argnums=(3, 4))
def _fused_stats(x: jax.Array, w: jax.Array, y: jax.Array, vax: int, block: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    return _fused_fwd(x, w, y, vax, block)[0]


def _fused_fwd(x: jax.Array, w: jax.Array, y: jax.Array, vax: int, block: int) -> Any:
    n, v = x.shape[0], w.shape[vax]
    nb = -(-v // block)
    cols = jnp.arange(block)

    def body(carry: Any, i: jax.Array) -> Any:
        m, s, ly, total = carry
        own, read = _block_start(i, block, v)
        logits, _ = _block_logits(x, w, vax, read, block)
        valid = (read + cols) >= own
        masked = jnp.where(valid[None, :], logits, -jnp.inf)
        new_m = jnp.maximum(m, jnp.max(masked, axis=1))
        s = s * jnp.exp(m - new_m) + jnp.sum(jnp.exp(masked - new_m[:, None]), axis=1)
        local = y - read
        hit = (y >= own) & (local < block)
        picked = jnp.take_along_axis(logits, jnp.clip(local, 0, block - 1)[:, None], axis=1)[:, 0]
        ly = jnp.where(hit, picked, ly)
        total = total + jnp.sum(jnp.where(valid[None, :], logits, 0.0), axis=1)
        return (new_m, s, ly, total), None

    zeros = jnp.zeros((n,), jnp.float32)
    init = (jnp.full((n,), -jnp.inf, jnp.float32), zeros, zeros, zeros)
    (m, s, ly, total), _ = jax.lax.scan(body, init, jnp.arange(nb))
    lse = m + jnp.log(s)
    ly = jnp.where((y >= 0) & (y < v), ly, jnp.nan)
    return (lse, ly, total), (x, w, y, lse)


def _fused_bwd(vax: int, block: int, res: Any, g: Any) -> Any:
    x, w, y, lse = res
    g_lse, g_ly, g_total = g
    v = w.shape[vax]
    nb = -(-v // block)
    cols = jnp.arange(block)

    def body(carry: Any, i: jax.Array) -> Any:
        dx, dw = carry
        own, read = _block_start(i, block, v)
        logits, wb = _block_logits(x, w, vax, read, block)
        valid = ((read + cols) >= own)[None, :]
        onehot = (y - read)[:, None] == cols[None, :]
        dlogits = g_lse[:, None] * jnp.exp(logits - lse[:, None]) + g_total[:, None]
        dlogits = jnp.where(onehot, dlogits + g_ly[:, None], dlogits)
        dlogits = jnp.where(valid, dlogits, 0.0).astype(x.dtype)
        # dx [N, E] += dlogits [N, B] . wb ; dwb = dlogits^T . x laid out like wb
        dx = dx + jax.lax.dot_general(dlogits, wb, (((1,), (vax,)), ((), ())), preferred_element_type=jnp.float32)
        if vax == 0:
            dwb = jax.lax.dot_general(dlogits, x, (((0,), (0,)), ((), ())), preferred_element_type=jnp.float32)
        else:
            dwb = jax.lax.dot_general(x, dlogits, (((0,), (0,)), ((), ())), preferred_element_type=jnp.float32)
        prev = jax.lax.dynamic_slice_in_dim(dw, read, block, axis=vax)
        dw = jax.lax.dynamic_update_slice_in_dim(dw, prev + dwb.astype(dw.dtype), read, axis=vax)
        return (dx, dw), None

    init = (jnp.zeros(x.shape, jnp.float32), jnp.zeros(w.shape, w.dtype))
    (dx, dw), _ = jax.lax.scan(body, init, jnp.arange(nb))
    return dx.astype(x.dtype), dw, None


_fused_stats.defvjp(_fused_fwd, _fused_bwd)


# --------------------------------------------------------------------------------------------------
# the named API


def _sel_tuple(sel: AxisSelection) -> tuple[AxisSelector, ...]:
    if isinstance(sel, (str, Axis)):
        return (sel,)
    if isinstance(sel, dict):
        return tuple(sel.keys())
    return tuple(sel)


def _positions(arr: NamedArray, sels: tuple[AxisSelector, ...], fn: str, arg: str) -> list[int]:
    out = []
    for s in sels:
        name = s.name if isinstance(s, Axis) else s
        i = arr._lookup(name)
        if i is None:
            raise axis_not_found_error(name, arr.axes, fn, arg)
        if isinstance(s, Axis) and arr.axes[i].size != s.size:
            raise ValueError(f"{fn}: argument {arg!r}: axis {name} has size {arr.axes[i].size}, expected {s.size}")
        out.append(i)
    return out


def fused_cross_entropy_loss_and_log_normalizers(
    embeddings: NamedArray,
    unembed_weight: NamedArray,
    Embed: AxisSelection,
    Vocab: AxisSelector,
    targets: NamedArray,
    *,
    block_size: int | None = None,
    label_smoothing: float = 0.0,
    dtype: Any = None,
) -> tuple[NamedArray, NamedArray]:
    """Unreduced per-position loss and log normaliser (logsumexp) without materialising the logits.

    See `fused_cross_entropy_loss` for the arguments. Both results have the targets' axes.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> Pos, Embed, Vocab = hax.make_axes(pos=3, embed=4, vocab=10)
        >>> h = hax.random.normal(jax.random.PRNGKey(0), (Pos, Embed))
        >>> w = hax.random.normal(jax.random.PRNGKey(1), (Vocab, Embed))
        >>> ids = hax.named([1, 5, 9], Pos)
        >>> loss, lse = hnn.fused_cross_entropy_loss_and_log_normalizers(h, w, Embed, Vocab, ids, block_size=4)
        >>> loss.axes == lse.axes == (Pos,)
        True
        >>> logits = hax.dot(h, w, axis=Embed)
        >>> hax.allclose(lse, hnn.logsumexp(logits, Vocab), atol=1e-5)
        True
        >>> hax.allclose(loss, hnn.cross_entropy_loss(logits, Vocab, hnn.one_hot(ids, Vocab), reduction=None), atol=1e-5)
        True
    """
    fn = "fused_cross_entropy_loss"
    if not isinstance(embeddings, NamedArray) or not isinstance(unembed_weight, NamedArray):
        raise TypeError(f"{fn}: embeddings and unembed_weight must be NamedArrays")
    if not isinstance(targets, NamedArray):
        raise TypeError(f"{fn}: targets must be a NamedArray of integer token ids, got {type(targets).__name__}")
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        raise TypeError(f"{fn}: targets must be integer token ids, got dtype {targets.dtype}")
    embed_sels = _sel_tuple(Embed)
    e_pos = _positions(embeddings, embed_sels, fn, "embeddings")
    w_e_pos = _positions(unembed_weight, embed_sels, fn, "unembed_weight")
    (v_pos,) = _positions(unembed_weight, (Vocab,), fn, "unembed_weight")
    for ie, iw in zip(e_pos, w_e_pos, strict=True):
        if embeddings.axes[ie].size != unembed_weight.axes[iw].size:
            raise ValueError(
                f"{fn}: axis {embeddings.axes[ie].name} has size {embeddings.axes[ie].size} in embeddings but "
                f"{unembed_weight.axes[iw].size} in unembed_weight"
            )
    if len(unembed_weight.axes) != len(w_e_pos) + 1:
        extra = [a for i, a in enumerate(unembed_weight.axes) if i not in w_e_pos and i != v_pos]
        raise ValueError(f"{fn}: unembed_weight has axes other than Embed and Vocab: {extra}")
    t_pos = _positions(embeddings, tuple(a.name for a in targets.axes), fn, "embeddings (target axes)")
    for it, ax in zip(t_pos, targets.axes, strict=True):
        if embeddings.axes[it].size != ax.size:
            raise ValueError(f"{fn}: axis {ax.name} has size {embeddings.axes[it].size} in embeddings, {ax.size} in targets")
    if len(t_pos) + len(e_pos) != len(embeddings.axes):
        extra = [a for i, a in enumerate(embeddings.axes) if i not in t_pos and i not in e_pos]
        raise ValueError(f"{fn}: embeddings has axes {extra} that are neither Embed nor in the targets {targets.axes}")
    V = unembed_weight.axes[v_pos].size
    if not isinstance(targets.array, Tracer):
        ids = np.asarray(targets.array)
        if ids.size and (ids.min() < 0 or ids.max() >= V):
            raise ValueError(
                f"{fn}: targets must be in [0, {V}) for Vocab {unembed_weight.axes[v_pos]}; got values out of range "
                f"(min {int(ids.min())}, max {int(ids.max())})"
            )
    n = targets.size
    e = 1
    for i in e_pos:
        e *= embeddings.axes[i].size
    x = jnp.transpose(embeddings.array, t_pos + e_pos).reshape(n, e)
    # keep the weight where it lies when Vocab is its first or last axis (no [E, V] copy)
    if w_e_pos == sorted(w_e_pos) and v_pos < min(w_e_pos):
        vax, w = 0, jnp.transpose(unembed_weight.array, [v_pos] + w_e_pos).reshape(V, e)
    else:
        vax, w = 1, jnp.transpose(unembed_weight.array, w_e_pos + [v_pos]).reshape(e, V)
    if dtype is not None:
        x, w = x.astype(dtype), w.astype(dtype)
    else:
        common = jnp.result_type(x.dtype, w.dtype)
        x, w = x.astype(common), w.astype(common)
    if block_size is not None and block_size <= 0:
        raise ValueError(f"{fn}: block_size must be positive, got {block_size}")
    block = min(V, int(block_size or DEFAULT_BLOCK_SIZE))
    lse, ly, total = _fused_stats(x, w, targets.array.reshape(n).astype(jnp.int32), vax, block)
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    loss = lse - (1.0 - eps) * ly - (eps / V) * total if eps else lse - ly
    shape = tuple(a.size for a in targets.axes)
    return NamedArray(loss.reshape(shape), targets.axes), NamedArray(lse.reshape(shape), targets.axes)


def fused_cross_entropy_loss(
    embeddings: NamedArray,
    unembed_weight: NamedArray,
    Embed: AxisSelection,
    Vocab: AxisSelector,
    targets: NamedArray,
    *,
    block_size: int | None = None,
    reduction: Any = UNSPECIFIED,
    reduction_axis: AxisSelection | None = None,
    where: NamedArray | None = None,
    logsumexp_weight: float = 0.0,
    label_smoothing: float = 0.0,
    dtype: Any = None,
) -> NamedArray:
    """Cross-entropy of ``dot(embeddings, unembed_weight, axis=Embed)`` against integer ``targets``, computed
    block by block over ``Vocab`` so that neither the forward nor the backward pass holds ``[tokens, Vocab]``.

    Same result as ``cross_entropy_loss(hax.dot(embeddings, unembed_weight, axis=Embed), Vocab,
    one_hot(targets, Vocab), reduction=..., where=..., reduction_axis=...)``, plus:

    * ``logsumexp_weight``: z-loss, adds ``logsumexp_weight * logsumexp(logits)**2`` per position;
    * ``label_smoothing``: targets become ``(1 - ε) one_hot + ε / |Vocab|`` (as in torch).

    Args:
        embeddings: hidden states with the ``Embed`` axes and the targets' axes (any order).
        unembed_weight: ``Vocab`` and ``Embed`` axes (any order), e.g. a tied ``Embedding.weight``.
        Embed: the contracted axis (or axes).
        Vocab: the vocabulary axis of ``unembed_weight``.
        targets: integer token ids; the loss has the targets' axes (before reduction).
        block_size: vocabulary block size (default ``min(|Vocab|, 2048)``: two ``[tokens, block]`` fp32 buffers
            are the whole scratch memory); need not divide ``|Vocab|``. The weight is read in place when
            ``Vocab`` is its first or last axis; otherwise one transposed copy is made.
        reduction: a haliax reduction (default ``hax.mean``), or None for no reduction.
        reduction_axis: axes to reduce (default all).
        where: boolean mask over the targets' axes; masked positions do not count.
        logsumexp_weight: z-loss weight.
        label_smoothing: ε in ``[0, 1]``.
        dtype: compute dtype of the matmuls (accumulation is always float32).

    Out-of-range targets raise ``ValueError`` when the check can run eagerly; under ``jit`` they give a
    loss of NaN (never a silently wrong number).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> Pos, Embed, Vocab = hax.make_axes(pos=6, embed=4, vocab=10)
        >>> emb = hnn.Embedding.init(Vocab, Embed, key=jax.random.PRNGKey(0))
        >>> ids = hax.arange(Pos) % 10
        >>> h = emb(ids)
        >>> fused = hnn.fused_cross_entropy_loss(h, emb.weight, Embed, Vocab, ids, block_size=4)
        >>> naive = hnn.cross_entropy_loss(hax.dot(h, emb.weight, axis=Embed), Vocab, hnn.one_hot(ids, Vocab))
        >>> bool(abs(fused.scalar() - naive.scalar()) < 1e-5)
        True
    """
    from .loss import reduce_loss

    loss, lse = fused_cross_entropy_loss_and_log_normalizers(
        embeddings, unembed_weight, Embed, Vocab, targets, block_size=block_size, label_smoothing=label_smoothing,
        dtype=dtype,
    )
    if logsumexp_weight:
        loss = loss + logsumexp_weight * lse * lse
    return reduce_loss(loss, reduction, reduction_axis, where)
