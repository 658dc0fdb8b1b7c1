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

from ..axis import Axis, AxisIndexError, AxisSelection, AxisSelector, locate_axis, to_selectors
from ..core import NamedArray
from ..jax_utils import custom_vjp
from ..partitioning import explicit_auto_axes, explicit_out_sharding
from ..util import UNSPECIFIED
from .loss import reduce_loss_as

__all__ = ["fused_cross_entropy_loss", "fused_cross_entropy_loss_and_log_normalizers"]

DEFAULT_BLOCK_SIZE = 2048


# --------------------------------------------------------------------------------------------------
# the raw kernel: x [N, E], w [V, E] or [E, V], y [N] -> (lse [N], logit at target [N], sum of logits [N])
#
# Blocks are read from ``w`` with ``dynamic_slice`` where it lies (no padded or transposed copy of the
# weight). When ``block`` does not divide ``V`` the last block is shifted back to end at ``V`` and the
# columns that an earlier block already covered are masked, so every vocabulary entry counts exactly once.


def _block_ids(w: jax.Array, vax: int, block: int) -> jax.Array:
    """The scan's block indices: ``ceil(V / block)`` of them."""
    return jnp.arange(-(-w.shape[vax] // block))


def _block(x: jax.Array, w: jax.Array, vax: int, i: jax.Array, block: int) -> tuple[jax.Array, ...]:
    """Block ``i``: its logits ``[N, block]`` (float32), the weight slice, the first column it reads, the first
    column it owns, and which of its columns it owns (``[block]`` bool)."""
    own = i * block
    read = jnp.minimum(own, w.shape[vax] - block)
    wb = jax.lax.dynamic_slice_in_dim(w, read, block, axis=vax)
    logits = jax.lax.dot_general(x, wb, (((1,), (1 - vax,)), ((), ())), preferred_element_type=jnp.float32)
    owned = (read + jnp.arange(block)) >= own
    return logits, wb, read, own, owned


@custom_vjp(nondiff_argnums=(3, 4))
def _fused_stats(
    x: jax.Array, w: jax.Array, y: jax.Array, vax: int, block: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    return _fused_fwd(x, w, y, vax, block)[0]


def _fused_fwd(x: jax.Array, w: jax.Array, y: jax.Array, vax: int, block: int) -> Any:
    def body(carry: Any, i: jax.Array) -> Any:
        m, s, ly, total = carry
        logits, _, read, own, owned = _block(x, w, vax, i, block)
        masked = jnp.where(owned[None, :], logits, -jnp.inf)
        new_m = jnp.maximum(m, jnp.max(masked, axis=1))
        s = s * jnp.exp(m - new_m) + jnp.sum(jnp.exp(masked - new_m[:, None]), axis=1)
        local = y - read
        hit = (y >= own) & (local < block)
        picked = jnp.take_along_axis(logits, jnp.clip(local, 0, block - 1)[:, None], axis=1)[:, 0]
        ly = jnp.where(hit, picked, ly)
        total = total + jnp.sum(jnp.where(owned[None, :], logits, 0.0), axis=1)
        return (new_m, s, ly, total), None

    zeros = jnp.zeros((x.shape[0],), jnp.float32)
    init = (jnp.full((x.shape[0],), -jnp.inf, jnp.float32), zeros, zeros, zeros)
    (m, s, ly, total), _ = jax.lax.scan(body, init, _block_ids(w, vax, block))
    lse = m + jnp.log(s)
    ly = jnp.where((y >= 0) & (y < w.shape[vax]), ly, jnp.nan)
    return (lse, ly, total), (x, w, y, lse)


def _fused_bwd(vax: int, block: int, res: Any, g: Any) -> Any:
    x, w, y, lse = res
    g_lse, g_ly, g_total = g

    def body(carry: Any, i: jax.Array) -> Any:
        dx, dw = carry
        logits, wb, read, _, owned = _block(x, w, vax, i, block)
        onehot = (y - read)[:, None] == jnp.arange(block)[None, :]
        dlogits = g_lse[:, None] * jnp.exp(logits - lse[:, None]) + g_total[:, None]
        dlogits = jnp.where(onehot, dlogits + g_ly[:, None], dlogits)
        dlogits = jnp.where(owned[None, :], dlogits, 0.0).astype(x.dtype)
        # dx [N, E] += dlogits [N, B] . wb ; dwb = dlogits^T . x laid out like wb
        dx = dx + jax.lax.dot_general(dlogits, wb, (((1,), (vax,)), ((), ())), preferred_element_type=jnp.float32)
        if vax == 0:
            dwb = jax.lax.dot_general(dlogits, x, (((0,), (0,)), ((), ())), preferred_element_type=jnp.float32)
        else:
            dwb = jax.lax.dot_general(x, dlogits, (((0,), (0,)), ((), ())), preferred_element_type=jnp.float32)
        # columns this block does not own get a zero gradient here, so adding keeps the earlier block's values
        prev = jax.lax.dynamic_slice_in_dim(dw, read, block, axis=vax)
        dw = jax.lax.dynamic_update_slice_in_dim(dw, prev + dwb.astype(dw.dtype), read, axis=vax)
        return (dx, dw), None

    init = (jnp.zeros(x.shape, jnp.float32), jnp.zeros(w.shape, w.dtype))
    (dx, dw), _ = jax.lax.scan(body, init, _block_ids(w, vax, block))
    return dx.astype(x.dtype), dw, None


_fused_stats.defvjp(_fused_fwd, _fused_bwd)


# --------------------------------------------------------------------------------------------------
# the named API


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

    Args:
        embeddings: hidden states with the ``Embed`` axes and the targets' axes (any order).
        unembed_weight: ``Vocab`` and ``Embed`` axes (any order), e.g. a tied ``Embedding.weight``.
        Embed: the contracted axis (or axes).
        Vocab: the vocabulary axis of ``unembed_weight``.
        targets: integer token ids.
        block_size: vocabulary block size (default ``min(|Vocab|, 2048)``); need not divide ``|Vocab|``.
        label_smoothing: ε in ``[0, 1]``.
        dtype: compute dtype of the matmuls (accumulation is always float32).

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
    embed_sels = to_selectors(Embed, fn, "Embed")
    names = [a.name if isinstance(a, Axis) else a for a in embed_sels]
    e_pos = [locate_axis(embeddings.axes, n, fn, "embeddings") for n in names]
    w_e_pos = [locate_axis(unembed_weight.axes, n, fn, "unembed_weight") for n in names]
    for ie, iw in zip(e_pos, w_e_pos, strict=True):
        if embeddings.axes[ie].size != unembed_weight.axes[iw].size:
            raise ValueError(
                f"{fn}: 'embeddings' has {embeddings.axes[ie]} but 'unembed_weight' (the LM head) has "
                f"{unembed_weight.axes[iw]}; the contracted Embed axes must have the same size"
            )
    for a in embed_sels:  # an Axis given as Embed must also have the arrays' size
        locate_axis(embeddings.axes, a, fn, "Embed")
    v_pos = locate_axis(unembed_weight.axes, Vocab, fn, "unembed_weight")
    if len(unembed_weight.axes) != len(w_e_pos) + 1:
        extra = [a for i, a in enumerate(unembed_weight.axes) if i not in w_e_pos and i != v_pos]
        raise ValueError(f"{fn}: unembed_weight has axes other than Embed and Vocab: {extra}")
    t_pos = [locate_axis(embeddings.axes, a.name, fn, "embeddings (target axes)") for a in targets.axes]
    for it, ax in zip(t_pos, targets.axes, strict=True):
        if embeddings.axes[it].size != ax.size:
            raise ValueError(f"{fn}: 'embeddings' has {embeddings.axes[it]} but 'targets' has {ax}")
    if len(t_pos) + len(e_pos) != len(embeddings.axes):
        extra = [a for i, a in enumerate(embeddings.axes) if i not in t_pos and i not in e_pos]
        raise ValueError(f"{fn}: embeddings has axes {extra} that are neither Embed nor in the targets {targets.axes}")
    V = unembed_weight.axes[v_pos].size
    if not isinstance(targets.array, Tracer):
        ids = np.asarray(targets.array)
        if ids.size and (ids.min() < 0 or ids.max() >= V):
            Vax = unembed_weight.axes[v_pos]
            raise AxisIndexError(
                f"{fn}: argument 'targets' has ids out of bounds for axis {Vax.name} with size {V} (valid: 0 to "
                f"{V - 1}); got min {int(ids.min())}, max {int(ids.max())}"
            )
    if explicit_out_sharding(targets.axes, fn) is not None:  # an explicit mesh: the blocked kernel runs on Auto axes

        def inner(embeddings: NamedArray, unembed_weight: NamedArray, targets: NamedArray) -> Any:
            return fused_cross_entropy_loss_and_log_normalizers(
                embeddings,
                unembed_weight,
                Embed,
                Vocab,
                targets,
                block_size=block_size,
                label_smoothing=label_smoothing,
                dtype=dtype,
            )

        run = explicit_auto_axes(inner, (targets.axes, targets.axes), fn)
        return run(embeddings, unembed_weight, targets)
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

    Out-of-range targets raise `haliax.axis.AxisIndexError` (an ``IndexError`` and a ``ValueError``) naming the
    ``Vocab`` axis and its size when the ids are concrete; under ``jit`` they are traced and give a loss of NaN
    at their positions (never a silently wrong number; a ``where`` that excludes them keeps the mean finite).
    With ``where`` all False (a padding-only batch) the mean is 0 with zero gradients rather than 0/0; Haliax's
    loss gives NaN there.

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

    loss, lse = fused_cross_entropy_loss_and_log_normalizers(
        embeddings,
        unembed_weight,
        Embed,
        Vocab,
        targets,
        block_size=block_size,
        label_smoothing=label_smoothing,
        dtype=dtype,
    )
    if logsumexp_weight:
        loss = loss + logsumexp_weight * lse * lse
    return reduce_loss_as("fused_cross_entropy_loss", loss, reduction, reduction_axis, where)
