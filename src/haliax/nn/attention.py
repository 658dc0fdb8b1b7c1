"""Attention over named axes: `dot_product_attention`, its weights, masks and biases.

Mask convention everywhere: boolean, **True = may attend**. Masks are NamedArrays or structured
`AttentionMask`s (causal, sliding window, prefix-LM, segment ids, explicit; combined with `&` / `|`).

## Implementations

`dot_product_attention(..., implementation=...)` has four settings; all take the same named axes and agree to
float32 rounding (outputs and gradients):

* `"dense"`: Haliax's order of operations (scale the query, cast, scores, add bias, mask with -1e9, softmax
  over KPos in float32, cast back, weight the values). Holds the `[QPos, KPos]` scores. Its VJP is hand-written
  (same values as autodiff, fewer passes over the scores: see `haliax.nn.blockwise_attention.dense_attention`).
* `"blockwise"`: tiles queries and keys (`block_size`), online softmax, and a custom VJP that recomputes scores in
  the backward pass, so neither pass holds a `[QPos, KPos]` array. Blocks that the mask proves fully masked
  (causal, sliding window, prefix-LM) are skipped. The mask may be an `AttentionMask` or an array built by
  `causal_mask`, `prefix_lm_mask`, `sliding_window_mask` (or `combine_masks_and`/`_or` of them, or
  `AttentionMask.materialize`): such an array remembers its rule until it is transformed (sliced, combined with
  `&`/`|`, renamed, passed through a `jit` boundary, ...), after which it is an ordinary array whose every tile is
  computed. See `haliax.nn.blockwise_attention`.
* `"jax"`: `jax.nn.dot_product_attention` (cuDNN on GPUs that support the call, else its XLA version). It needs one
  dtype for query, key and value, equal key and value head sizes, and no `precision`; otherwise it raises a
  `ValueError` that says which. Masks that it has no flag for are materialized and passed as `mask`.
* `"auto"` (default), the rule:
    1. on a GPU, when cuDNN can serve the call (bf16/f16, equal head sizes that are a multiple of 8 and at most
       128, no bias, and a mask that is None, causal or a sliding window): `"jax"` with cuDNN;
    2. else, on CPU, when the mask lets blockwise skip tiles (it has a causal, sliding-window or prefix-LM rule,
       possibly combined with other masks by "and") and both the queries and the keys span at least 8 blocks
       (so a few decoding queries against a long cache stay dense): `"blockwise"`
       (measured with bench/attention.py: skipping the empty tiles beats the dense kernel from there, and without
       tiles to skip, or with fewer blocks, the dense kernel is faster);
    3. else, when the score matrix has at least `AUTO_BLOCKWISE_MIN_SCORES[backend]` entries (batch x heads x
       QPos x KPos; 2**26, i.e. 256 MiB of float32 scores): `"blockwise"`, for memory;
    4. else `"dense"`.
  The default tile is the largest of 512, 256 and 128 that keeps one block of float32 scores (batch x heads x
  tile x tile) near 1 MiB, and never below 128 (smaller tiles halve the matmul throughput on CPU). The choice and
  its reason are logged at DEBUG level on the `haliax.nn.attention` logger, once per trace.

## Grouped-query attention and axis roles

Axes are matched by name. Axes of the query that the key and value share are batch axes (batch, heads); extra
query axes that key and value lack are batch axes too, broadcast over the key/value, which is how grouped-query
attention is written without repeating key/value: query `(..., KVHeads, QPerKV, QPos, HeadSize)`, key/value
`(..., KVHeads, KPos, HeadSize)`. Internally operands are laid out batch-first, positions and head size last, so the
caller's axis order costs no time.

## Fully masked rows

A query row with no key it may attend gets uniform weights over all keys (the -1e9 fill of the dense path), so its
output is the mean of the values: never NaN, in every implementation. Logits at or below -1e9 (e.g. a `-inf` bias
entry) count as masked. (With `"jax"`, a row whose only unmasked entries have `-inf` bias is the one corner that
differs: it averages those entries instead of all keys.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from ..axis import Axis, AxisSelection, AxisSelector, conflicting_sizes_error, locate_axis, lookup_axis, to_selectors
from ..core import NamedArray
from ..ops.broadcast import broadcast_to
from ..partitioning import auto_sharded, explicit_auto_axes, explicit_out_sharding
from .attention_masks import (
    MASK_VALUE,
    AttentionLayout,
    AttentionMask as AttentionMask,
    causal_mask as causal_mask,
    combine_masks_and as combine_masks_and,
    combine_masks_or as combine_masks_or,
    compile_mask,
    dropout_mask as dropout_mask,
    evaluate_plan,
    forgetful_causal_mask as forgetful_causal_mask,
    mask_to_bias as mask_to_bias,
    prefix_lm_mask as prefix_lm_mask,
    sliding_window_mask as sliding_window_mask,
)
from .blockwise_attention import blockwise_attention, dense_attention, dense_weights

__all__ = [
    "dot_product_attention",
    "dot_product_attention_weights",
    "alibi_attention_bias",
    "AUTO_BLOCKWISE_MIN_SCORES",
    # the mask helpers of haliax.nn.attention_masks, re-exported here
    "AttentionMask",
    "causal_mask",
    "prefix_lm_mask",
    "sliding_window_mask",
    "combine_masks_and",
    "combine_masks_or",
    "forgetful_causal_mask",
    "dropout_mask",
    "mask_to_bias",
]

logger = logging.getLogger(__name__)

AUTO_BLOCKWISE_MIN_SCORES: dict[str, int] = {"cpu": 2**26, "default": 2**26}
"""`implementation="auto"` uses blockwise attention, for memory, from this many score entries (batch x heads x
QPos x KPos; 2**26 float32 scores are 256 MiB), per backend (`jax.default_backend()`; "default" for the others).
Below it, CPU picks blockwise only when the mask lets it skip tiles and queries and keys span at least 8 blocks."""
_AUTO_MIN_KEY_BLOCKS = 8
"""On CPU, `implementation="auto"` picks blockwise when the mask lets it skip tiles (causal, sliding window,
prefix-LM, including the arrays `causal_mask` & co. build) and queries and keys span at least this many blocks.
Measured with bench/attention.py: with fewer blocks, or without tiles to skip, the dense kernel is faster."""
_MIN_BLOCK = 128  # smaller tiles run the matmuls at about half the throughput on CPU
_IMPLEMENTATIONS = ("auto", "dense", "blockwise", "jax")


# ------------------------------------------------------------------------------------------------------------
# axis roles


class _Call:
    """Everything resolved about one attention call: axis roles, the layout and the canonical operands."""

    def __init__(
        self,
        fn: str,
        KPos: AxisSelection,
        Key: AxisSelector,
        query: Any,
        key: Any,
        value: Any,
        mask: Any,
        QPos: AxisSelector | None,
    ):
        if not isinstance(query, NamedArray):
            raise TypeError(
                f"{fn}: query must be a NamedArray, got {type(query).__name__}. The signature is "
                f"{fn}(KPos, Key, query, key, value, ...); the old form with a leading QPos argument is not supported"
                if fn == "dot_product_attention"
                else f"{fn}: query must be a NamedArray, got {type(query).__name__}"
            )
        for name, x in (("key", key), ("value", value)):
            if x is not None and not isinstance(x, NamedArray):
                raise TypeError(f"{fn}: {name} must be a NamedArray, got {type(x).__name__}")
        kname = Key.name if isinstance(Key, Axis) else Key
        if not isinstance(kname, str):
            raise TypeError(f"{fn}: Key must be one axis (a name or an Axis), got {Key!r}")
        for name, x in (("query", query), ("key", key)):
            locate_axis(x.axes, kname, fn, f"Key (in {name})")
        self.Key = query.axes[locate_axis(query.axes, Key, fn, "Key")]
        self.kpos = tuple(key.axes[locate_axis(key.axes, s, fn, "KPos")] for s in to_selectors(KPos, fn, "KPos"))
        knames = {a.name for a in self.kpos}
        for a in self.kpos:
            if lookup_axis(query.axes, a.name, fn, "query") is not None:
                raise ValueError(
                    f"{fn}: Axis {a.name} in KPos is also in query {tuple(str(x) for x in query.axes)}. "
                    "Attended-to axes must be distinct from query axis names: rename the key position axis"
                )
        if kname in knames:
            raise ValueError(f"{fn}: the head axis {kname} cannot also be a KPos axis")
        qnames = set(query.shape)
        self.weight_axes = tuple(a for a in query.axes if a.name != kname) + tuple(
            a for a in key.axes if a.name not in qnames and a.name != kname
        )
        wnames = {a.name for a in self.weight_axes}
        rows = tuple(a for a in self.weight_axes if a.name not in knames)
        if value is not None:
            for a in self.kpos:
                locate_axis(value.axes, a.name, fn, "KPos (in value)")
            self.features = tuple(a for a in value.axes if a.name not in wnames)
        else:
            self.features = ()
        self.out_axes = rows + self.features
        sizes: dict[str, tuple[int, str]] = {}  # name -> (size, the first operand that has it)
        for name, x in (("query", query), ("key", key), ("value", value)):
            for a in x.axes if x is not None else ():
                size, first = sizes.setdefault(a.name, (a.size, name))
                if size != a.size:
                    raise conflicting_sizes_error(a.name, {first: size, name: a.size}, fn)
        kv = set(key.shape) | (set(value.shape) if value is not None else set())
        batch = tuple(a for a in rows if a.name in kv)
        cand = tuple(a for a in rows if a.name not in kv)
        self.qpos = self._pick_qpos(fn, cand, mask, QPos)
        group = tuple(a for a in cand if self.qpos is None or a.name != self.qpos.name)
        self.layout = AttentionLayout(batch, group, self.qpos, self.kpos)
        self.fn = fn

    @staticmethod
    def _pick_qpos(fn: str, cand: tuple[Axis, ...], mask: Any, QPos: AxisSelector | None) -> Axis | None:
        if QPos is not None:
            n = QPos.name if isinstance(QPos, Axis) else QPos
            i = lookup_axis(cand, QPos, fn, "QPos")  # an Axis of another size raises AxisSizeMismatchError
            if i is not None:
                return cand[i]
            raise ValueError(
                f"{fn}: QPos {n!r} must be a query axis that key and value lack; candidates: {[str(a) for a in cand]}"
            )
        if len(cand) <= 1:
            return cand[0] if cand else None
        if isinstance(mask, AttentionMask) and mask._needs_positions():
            raise ValueError(
                f"{fn}: cannot tell which query axis is the query position among {[str(a) for a in cand]} "
                "for a structured AttentionMask; pass QPos=..."
            )
        if isinstance(mask, NamedArray):
            in_mask = [a for a in cand if a.name in mask.shape]
            if len(in_mask) == 1:
                return in_mask[0]
        # without positional masks any choice is correct; tile the longest axis
        return max(reversed(cand), key=lambda a: a.size)

    def canon(self, x: NamedArray, groups: Sequence[Sequence[Axis]]) -> jax.Array:
        """Broadcast/transpose a query/key/value operand to the concatenated groups and merge each group."""
        target = tuple(a for g in groups for a in g)
        y = broadcast_to(x, target)
        return jnp.reshape(y.array, tuple(math.prod(a.size for a in g) for g in groups))

    def prepare(self, query: NamedArray, key: NamedArray, value: NamedArray | None, bias: Any, mask: Any) -> Any:
        L = self.layout
        q_groups = (L.batch, L.group, (L.qpos,) if L.qpos else (), (self.Key,))
        q = self.canon(query, q_groups)
        k = self.canon(key, (L.batch, L.kpos, (self.Key,)))
        v = self.canon(value, (L.batch, L.kpos, self.features)) if value is not None else None
        if bias is not None:
            if not isinstance(bias, NamedArray):
                raise TypeError(f"{self.fn}: bias must be a NamedArray, got {type(bias).__name__}")
            if bias.dtype == jnp.bool_:  # it would be added as 0/1, not used as a mask
                raise TypeError(
                    f"{self.fn}: bias is boolean (axes {', '.join(str(a) for a in bias.axes)}); bias is added to "
                    "the scores, so a boolean goes in mask= (True = may attend)"
                )
            bias = L.canonical(bias, "bias", self.fn)
        if mask is not None and not isinstance(mask, (NamedArray, AttentionMask)):
            raise TypeError(f"{self.fn}: mask must be a NamedArray or an AttentionMask, got {type(mask).__name__}")
        plan, arrays = compile_mask(mask, L, self.fn)
        return q, k, v, bias, plan, arrays

    def unflatten(self, x: jax.Array, groups: Sequence[Sequence[Axis]], order: tuple[Axis, ...]) -> NamedArray:
        axes = tuple(a for g in groups for a in g)
        y = NamedArray(jnp.reshape(x, tuple(a.size for a in axes)), axes)
        return auto_sharded(broadcast_to(y, order) if axes != order else y)


def _scale_and_cast(
    query: NamedArray, key: NamedArray, scaling_factor: float | None, attention_dtype: Any, Key: Axis
) -> tuple[NamedArray, NamedArray]:
    if scaling_factor is None:
        scaling_factor = 1.0 / math.sqrt(Key.size)
    query = NamedArray(query.array * scaling_factor, query.axes)
    if attention_dtype is not None:
        query = query.astype(attention_dtype)
        key = key.astype(attention_dtype)
    return query, key


# ------------------------------------------------------------------------------------------------------------
# implementations on canonical arrays: q [B, G, Q, D], k [B, K, D], v [B, K, F]


_PRECISION_FORMS = (
    "None, a jax.lax.Precision, one of the strings 'default', 'high', 'highest' (or another jax.lax.Precision "
    "name), a pair of those, or a jax.lax.DotAlgorithmPreset"
)


def _check_precision(precision: Any, fn: str) -> None:
    """Raise a ValueError naming ``fn`` and ``precision`` unless JAX's ``dot_general`` accepts ``precision``."""

    def one(p: Any) -> bool:
        if isinstance(p, jax.lax.Precision):
            return True
        if isinstance(p, str):
            try:
                jax.lax.Precision(p)
            except ValueError:
                return False
            return True
        return False

    if precision is None or one(precision):
        return
    if isinstance(precision, (jax.lax.DotAlgorithm, jax.lax.DotAlgorithmPreset)):
        return
    if isinstance(precision, tuple) and len(precision) == 2 and all(p is None or one(p) for p in precision):
        return
    raise ValueError(f"{fn}: invalid precision {precision!r}; precision must be {_PRECISION_FORMS}")


def _static_int(a: jax.Array) -> int | None:
    try:
        x = np.asarray(a)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None
    return int(x.reshape(-1)[0]) if x.size == 1 else None


def _native_flags(plan: Any, arrays: Any) -> tuple[bool, int | None, list[Any]]:
    """Split a top-level AND of a mask plan into jax.nn.dot_product_attention flags and the rest."""
    terms: list[Any] = []

    def flatten(p: Any) -> None:
        if p is not None and p[0] == "and":
            flatten(p[1])
            flatten(p[2])
        elif p is not None:
            terms.append(p)

    flatten(plan)
    causal, window, rest = False, None, []
    for t in terms:
        if t[0] == "causal" and _static_int(arrays[t[1]]) == 0:
            causal = True
        elif t[0] == "window" and (w := _static_int(arrays[t[1]])) is not None:
            window = w if window is None else min(window, w)
        else:
            rest.append(t)
    return causal, window, rest


def _jax_problems(q: jax.Array, k: jax.Array, v: jax.Array, precision: Any) -> list[str]:
    out = []
    if not (q.dtype == k.dtype == v.dtype):
        out.append(
            f"jax.nn.dot_product_attention needs one dtype for query, key and value, got {q.dtype} "
            f"(query, after attention_dtype), {k.dtype} (key) and {v.dtype} (value)"
        )
    if q.shape[-1] != v.shape[-1]:
        out.append(
            f"jax.nn.dot_product_attention needs value features of the key head size {q.shape[-1]}, got {v.shape[-1]}"
        )
    if precision is not None:
        out.append("jax.nn.dot_product_attention takes no precision argument")
    return out


def _cudnn_ok(q: jax.Array, v: jax.Array, bias: Any, plan: Any, arrays: Any, precision: Any, k: jax.Array) -> bool:
    if jax.default_backend() != "gpu" or _jax_problems(q, k, v, precision) or bias is not None:
        return False
    if q.dtype not in (jnp.bfloat16, jnp.float16) or q.shape[-1] % 8 or q.shape[-1] > 128:
        return False
    return not _native_flags(plan, arrays)[2]


def _jax(
    q: jax.Array, k: jax.Array, v: jax.Array, bias: Any, plan: Any, arrays: Any, precision: Any, fn: str, cudnn: bool
) -> jax.Array:
    problems = _jax_problems(q, k, v, precision)
    if problems:
        raise ValueError(f"{fn}: implementation='jax' cannot serve this call: " + "; ".join(problems))
    B, G, Q, D = q.shape
    K = k.shape[1]
    causal, window, rest = _native_flags(plan, arrays)
    mask = None
    for t in rest:
        m = evaluate_plan(t, arrays, 0, Q, 0, K)
        m = jnp.broadcast_to(m, jnp.broadcast_shapes(m.shape, (1, 1, Q, K)))
        mask = m if mask is None else mask & m
    if bias is not None:
        bias = jnp.maximum(bias, MASK_VALUE)
    args = (jnp.swapaxes(q, 1, 2), k[:, :, None, :], v[:, :, None, :])
    kw: dict[str, Any] = dict(
        bias=bias,
        mask=mask,
        scale=1.0,
        is_causal=causal,
        local_window_size=(window - 1, 0) if window is not None else None,
    )
    out = None
    if cudnn:
        try:
            out = jax.nn.dot_product_attention(*args, **kw, implementation="cudnn")
        except (ValueError, NotImplementedError, RuntimeError) as e:  # cuDNN refused this shape: use XLA's version
            logger.debug("%s: cuDNN attention refused the call (%s); using jax.nn's XLA implementation", fn, e)
    if out is None:
        out = jax.nn.dot_product_attention(*args, **kw, implementation="xla")
    return jnp.swapaxes(out, 1, 2)


def _skips_tiles(plan: Any) -> bool:
    """Whether blockwise attention can prove some tiles of this mask plan empty (a positional rule under "and")."""
    if plan is None:
        return False
    if plan[0] == "and":
        return _skips_tiles(plan[1]) or _skips_tiles(plan[2])
    if plan[0] == "or":
        return _skips_tiles(plan[1]) and _skips_tiles(plan[2])
    return plan[0] in ("causal", "window", "prefix")


def _auto_choice(plan: Any, scores: int, Q: int, K: int, bq: int, bk: int) -> tuple[str, str]:
    """The `"auto"` rule after the cuDNN case: (implementation, reason)."""
    backend = jax.default_backend()
    limit = AUTO_BLOCKWISE_MIN_SCORES.get(backend, AUTO_BLOCKWISE_MIN_SCORES["default"])
    skips = _skips_tiles(plan)
    n = _AUTO_MIN_KEY_BLOCKS
    big = K >= n * bk and Q >= n * min(bq, Q) and Q >= n  # decoding (a few queries) has little to skip
    if backend == "cpu" and skips and big:
        return "blockwise", f"CPU, the mask skips tiles and {Q} x {K} positions span >= {n} blocks of {bq} x {bk}"
    if scores >= limit:
        return "blockwise", f"{scores} score entries >= {limit} (memory)"
    why = "no tiles to skip" if not skips else f"{Q} x {K} positions span < {n} blocks of {bq} x {bk}"
    return "dense", f"{scores} score entries < {limit}; on {backend}: {why}"


def _block_sizes(block_size: Any, rows: int, fn: str) -> tuple[int, int]:
    if block_size is None:
        # keep one block of float32 scores (rows x bq x bk) around 1 MiB, in [_MIN_BLOCK, 512]
        b = 512
        while b > _MIN_BLOCK and rows * b * b * 4 > 2**20:
            b //= 2
        return b, b
    if isinstance(block_size, int) and block_size >= 1:
        return block_size, block_size
    if (
        isinstance(block_size, tuple)
        and len(block_size) == 2
        and all(isinstance(b, int) and b >= 1 for b in block_size)
    ):
        return block_size
    raise ValueError(
        f"{fn}: block_size must be None, a positive int or a (query, key) pair of them, got {block_size!r}"
    )


# ------------------------------------------------------------------------------------------------------------
# public functions


def dot_product_attention_weights(
    Key: AxisSelector,
    KPos: AxisSelection,
    query: NamedArray,
    key: NamedArray,
    mask: NamedArray | AttentionMask | None = None,
    bias: NamedArray | None = None,
    attention_dtype: Any = None,
    precision: Any = None,
    scaling_factor: float | None = None,
    *,
    QPos: AxisSelector | None = None,
) -> NamedArray:
    """Attention weights: softmax over `KPos` of the scaled query-key scores.

    Order of operations (Haliax's, so results match it): scale the query by `scaling_factor` (default
    `1/sqrt(size of Key)`) in its own dtype; cast query and key to `attention_dtype` if given; scores =
    `dot(query, key, axis=Key)` (accumulated in float32 at least); add `bias`; replace masked entries (`mask` False)
    by -1e9; softmax over `KPos` in float32 at least; cast back to the query's original dtype. A fully masked row
    gets uniform weights.

    Args:
        Key: the head-size axis contracted between query and key.
        KPos: the attended-to axis (or axes) of `key`; its names must not appear in `query`.
        query: `(..., QPos, Key)`.
        key: `(..., KPos, Key)`.
        mask: boolean NamedArray (axes a subset of the weights' axes) or `AttentionMask`; True = may attend.
            A float mask raises `TypeError` (additive masks go in `bias`); Haliax reads it as a boolean,
            which inverts a 0 / -1e9 mask.
        bias: float NamedArray added to the scores (axes a subset of the weights' axes). A boolean bias raises
            `TypeError` (it belongs in `mask`); Haliax adds it as 0/1.
        attention_dtype: dtype for the score computation.
        precision: passed to the score `dot_general`; an invalid value raises `ValueError` naming this function
            and the accepted forms (Haliax lets JAX's message through).
        scaling_factor: multiplies the query; default `1/sqrt(size of Key)`.
        QPos: the query position axis; only needed for a structured `AttentionMask` when the query has several
            axes that the key lacks.

    Returns:
        Weights with the query's axes minus `Key`, then the key's other axes (including `KPos`).

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import dot_product_attention_weights, causal_mask
        >>> Q, K, D = hax.Axis("q", 3), hax.Axis("k", 3), hax.Axis("d", 4)
        >>> w = dot_product_attention_weights(D, K, hax.ones((Q, D)), hax.ones((K, D)), mask=causal_mask(Q, K))
        >>> [a.name for a in w.axes], w.array[1].round(2).tolist()
        (['q', 'k'], [0.5, 0.5, 0.0])
    """
    fn = "dot_product_attention_weights"
    if precision is not None:
        _check_precision(precision, fn)
    call = _Call(fn, KPos, Key, query, key, None, mask, QPos)
    if explicit_out_sharding(call.weight_axes, fn) is not None:  # explicit mesh: the kernel runs on Auto axes

        def inner(query: NamedArray, key: NamedArray, mask: Any, bias: Any) -> NamedArray:
            return dot_product_attention_weights(
                Key, KPos, query, key, mask, bias, attention_dtype, precision, scaling_factor, QPos=QPos
            )

        return explicit_auto_axes(inner, call.weight_axes, fn)(query, key, mask, bias)
    orig_dtype = query.dtype
    query, key = _scale_and_cast(query, key, scaling_factor, attention_dtype, call.Key)
    q, k, _, b, plan, arrays = call.prepare(query, key, None, bias, mask)
    w = dense_weights(q, k, b, plan, arrays, precision, orig_dtype).reshape(q.shape[:-1] + k.shape[1:2])
    L = call.layout
    groups = (L.batch, L.group, (L.qpos,) if L.qpos else (), L.kpos)
    return call.unflatten(w, groups, call.weight_axes)


def dot_product_attention(
    KPos: AxisSelection,
    Key: AxisSelector,
    query: NamedArray,
    key: NamedArray,
    value: NamedArray,
    mask: NamedArray | AttentionMask | None = None,
    bias: NamedArray | None = None,
    attention_dtype: Any = None,
    precision: Any = None,
    *,
    QPos: AxisSelector | None = None,
    scaling_factor: float | None = None,
    implementation: Literal["auto", "dense", "blockwise", "jax"] = "auto",
    block_size: int | tuple[int, int] | None = None,
) -> NamedArray:
    """Scaled dot-product attention over named axes (multi-head, grouped-query or single-head).

    Computes `softmax(query . key / sqrt(d) + bias, masked) . value` with the order of operations of
    `dot_product_attention_weights` (its weights, then `dot(weights, value, axis=KPos)`; `precision` applies to
    the scores only). See the module docs for the implementations and the `"auto"` rule.

    Args:
        KPos: the attended-to axis (or axes); resolved against `key`, must not appear in `query`.
        Key: the head-size axis contracted between query and key.
        query: `(..., QPos, Key)`. Axes shared with key/value are batch axes; query axes that key/value lack
            (other than `QPos`) are batch axes broadcast over key/value (grouped-query attention).
        key: `(..., KPos, Key)`.
        value: `(..., KPos, ...)`; its axes not in query/key (e.g. its head size) are the output features.
        mask: boolean NamedArray or `AttentionMask`; True = may attend. A float mask raises `TypeError`
            (additive masks go in `bias`); Haliax reads it as a boolean, which inverts a 0 / -1e9 mask.
        bias: float NamedArray added to the scores (e.g. `alibi_attention_bias`). A boolean bias raises
            `TypeError` (it belongs in `mask`); Haliax adds it as 0/1.
        attention_dtype: dtype for the score computation.
        precision: precision of the score product; an invalid value raises `ValueError` naming this function
            and the accepted forms (Haliax lets JAX's message through).
        QPos: the query position axis, needed only to place a structured `AttentionMask` when the query has
            several axes that key/value lack (as in grouped-query attention).
        scaling_factor: multiplies the query; default `1/sqrt(size of Key)`.
        implementation: `"auto"`, `"dense"`, `"blockwise"` or `"jax"`.
        block_size: blockwise tile size, an int or a `(query, key)` pair; default: chosen from the shapes.

    Returns:
        The weights' axes minus `KPos`, then value's remaining axes: query `(B, H, QPos, D)` gives `(B, H, QPos, D)`.

    Examples:
        Grouped-query attention: 4 query heads share each of 2 key/value heads, with no repeat of key/value.

        >>> import jax
        >>> import haliax as hax
        >>> from haliax.nn.attention import AttentionMask, dot_product_attention
        >>> KVH, QPerKV, Q, K, D = hax.make_axes(kv_heads=2, q_per_kv=4, q=8, k=8, d=16)
        >>> q = hax.named(jax.random.normal(jax.random.PRNGKey(0), (2, 4, 8, 16)), (KVH, QPerKV, Q, D))
        >>> k = hax.named(jax.random.normal(jax.random.PRNGKey(1), (2, 8, 16)), (KVH, K, D))
        >>> v = hax.named(jax.random.normal(jax.random.PRNGKey(2), (2, 8, 16)), (KVH, K, D))
        >>> out = dot_product_attention(K, D, q, k, v, mask=AttentionMask.causal(), QPos=Q)
        >>> [a.name for a in out.axes]
        ['kv_heads', 'q_per_kv', 'q', 'd']
        >>> blk = dot_product_attention(K, D, q, k, v, mask=AttentionMask.causal(), QPos=Q,
        ...                             implementation="blockwise", block_size=4)
        >>> bool(abs(out.array - blk.array).max() < 1e-5)
        True
    """
    fn = "dot_product_attention"
    if implementation not in _IMPLEMENTATIONS:
        raise ValueError(f"{fn}: implementation must be one of {_IMPLEMENTATIONS}, got {implementation!r}")
    if precision is not None:
        _check_precision(precision, fn)
    call = _Call(fn, KPos, Key, query, key, value, mask, QPos)
    if explicit_out_sharding(call.out_axes, fn) is not None:  # explicit mesh: the kernels run on Auto axes

        def inner(query: NamedArray, key: NamedArray, value: NamedArray, mask: Any, bias: Any) -> NamedArray:
            return dot_product_attention(
                KPos,
                Key,
                query,
                key,
                value,
                mask,
                bias,
                attention_dtype,
                precision,
                QPos=QPos,
                scaling_factor=scaling_factor,
                implementation=implementation,
                block_size=block_size,
            )

        return explicit_auto_axes(inner, call.out_axes, fn)(query, key, value, mask, bias)
    orig_dtype = query.dtype
    query, key = _scale_and_cast(query, key, scaling_factor, attention_dtype, call.Key)
    q, k, v, b, plan, arrays = call.prepare(query, key, value, bias, mask)
    B, G, Q, _ = q.shape
    K = k.shape[1]
    bq, bk = _block_sizes(block_size, B * G, fn)
    impl, reason = implementation, "requested"
    if impl == "auto":
        if _cudnn_ok(q, v, b, plan, arrays, precision, k):
            impl, reason = "jax", "GPU with cuDNN support for this call"
        else:
            impl, reason = _auto_choice(plan, B * G * Q * K, Q, K, bq, bk)
    logger.debug("%s: implementation=%s (%s)", fn, impl, reason)
    if impl == "dense":
        out = dense_attention(q, k, v, b, plan, arrays, precision, orig_dtype, tuple(a.size for a in call.layout.batch))
    elif impl == "blockwise":
        out_dtype = jnp.result_type(orig_dtype, v.dtype)
        out = blockwise_attention(
            q, k, v, b, plan, arrays, block_q=bq, block_k=bk, precision=precision, out_dtype=out_dtype
        )
    else:
        out = _jax(q, k, v, b, plan, arrays, precision, fn, _cudnn_ok(q, v, b, plan, arrays, precision, k))
    L = call.layout
    groups = (L.batch, L.group, (L.qpos,) if L.qpos else (), call.features)
    return call.unflatten(out, groups, call.out_axes)


# ------------------------------------------------------------------------------------------------------------
# biases


def _alibi_slopes(n: int, bias_max: float) -> list[float]:
    def power_of_two(m: int) -> list[float]:
        start = 2 ** (-bias_max / m)
        return [start ** (i + 1) for i in range(m)]

    if n & (n - 1) == 0:
        return power_of_two(n)
    p = 2 ** math.floor(math.log2(n))
    return power_of_two(p) + power_of_two(2 * p)[0::2][: n - p]


def alibi_attention_bias(Heads: Axis, KPos: Axis, bias_max: float = 8, dtype: Any = jnp.float32) -> NamedArray:
    """ALiBi attention bias (https://arxiv.org/abs/2108.12409), `(Heads, KPos)`: `slope[h] * k` for k = 0..K-1.

    Positive and increasing with the key index; under softmax this equals the usual `-slope * distance` for causal
    attention. Slopes follow BLOOM's `build_alibi_tensor` (geometric, `2^(-bias_max/n)`, with the interleaving rule
    for a head count that is not a power of two).

    Args:
        Heads: the attention-head axis; one slope per head. Size 0 raises `ValueError` (Haliax divides by it).
        KPos: the key-position axis.
        bias_max: the exponent scale of the slopes (8 in the ALiBi paper).
        dtype: the dtype of the result.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import alibi_attention_bias
        >>> alibi_attention_bias(hax.Axis("h", 2), hax.Axis("k", 3)).array.tolist()
        [[0.0, 0.0625, 0.125], [0.0, 0.00390625, 0.0078125]]
    """
    for arg, ax in (("Heads", Heads), ("KPos", KPos)):
        if not isinstance(ax, Axis):
            raise TypeError(f"alibi_attention_bias: {arg} must be an Axis (a name and a size), got {ax!r}")
    if Heads.size == 0:  # the slopes divide by the head count
        raise ValueError(f"alibi_attention_bias: the Heads axis {Heads} has size 0; ALiBi needs at least one head")
    slopes = jnp.asarray(_alibi_slopes(Heads.size, bias_max), dtype=jnp.float32)
    bias = slopes[:, None] * jnp.arange(KPos.size, dtype=jnp.float32)[None, :]
    return NamedArray(bias.astype(dtype), (Heads, KPos))
