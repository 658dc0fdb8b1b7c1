"""Structured attention masks (`AttentionMask`) and the canonical layout shared by every attention implementation.

An `AttentionMask` is an immutable description ("causal", "sliding window of 128", "packed sequences with these
segment ids", ...), not a `[QPos, KPos]` array. `dot_product_attention` evaluates it one block at a time in the
blockwise implementation (and skips blocks it proves empty); `AttentionMask.materialize` builds the dense array.

Convention everywhere: boolean, **True = may attend**. Query position `i` and key position `j` are the plain indices
along `QPos` and `KPos` (0-based).

The rest of this module is internal: `AttentionLayout` says which named axes of a call are batch axes, query-only
("group") axes, the query position axis and the key position axes; every implementation works on 4-D arrays
`[batch, group, q, k]` built from it (`AttentionLayout.canonical`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..axis import Axis, axis_spec_to_tuple, conflicting_sizes_error, lookup_axis
from ..core import NamedArray, from_validated
from ..ops.broadcast import broadcast_axis, broadcast_to

logger = logging.getLogger("haliax.nn.attention")

__all__ = [
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

MASK_VALUE = -1e9
"""The fill value of masked logits in the dense path (as in Haliax)."""

Plan = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class AttentionLayout:
    """Internal: how the named axes of an attention call map onto `[batch, group, q, k]`.

    `batch` axes are shared by the query and the key/value, `group` axes are query-only axes other than the query
    position (e.g. `QPerKV` in grouped-query attention), `qpos` is the query position axis (or None when the query
    has none) and `kpos` the attended-to axes.
    """

    batch: tuple[Axis, ...]
    group: tuple[Axis, ...]
    qpos: Axis | None
    kpos: tuple[Axis, ...]

    @property
    def groups(self) -> tuple[tuple[Axis, ...], ...]:
        return (self.batch, self.group, (self.qpos,) if self.qpos is not None else (), self.kpos)

    @property
    def sizes(self) -> tuple[int, int, int, int]:
        b, g, q, k = (math.prod(a.size for a in grp) for grp in self.groups)
        return b, g, q, k

    def canonical(self, x: NamedArray, what: str, fn: str) -> jax.Array:
        """`x` as a 4-D array `[b, g, q, k]`; a dimension is 1 when `x` has none of that group's axes, else full
        (a group that `x` only partly covers is broadcast). Axes outside the layout raise `ValueError`."""
        known = tuple(a for grp in self.groups for a in grp)
        pos = [lookup_axis(known, a.name, fn, what) for a in x.axes]
        extra = [a for a, j in zip(x.axes, pos, strict=True) if j is None]
        if extra:
            raise ValueError(
                f"{fn}: {what} has axes {[str(a) for a in extra]} that are in neither the query nor the key "
                f"(attention axes: {', '.join(map(str, known))}); {what} axes must be a subset of them"
            )
        for a, j in zip(x.axes, pos, strict=True):
            if j is not None and known[j].size != a.size:
                raise conflicting_sizes_error(a.name, {"query/key": known[j].size, what: a.size}, fn, what)
        target: list[Axis] = []
        shape: list[int] = []
        for grp in self.groups:
            if any(lookup_axis(x.axes, a.name, fn, what) is not None for a in grp):
                target.extend(grp)
                shape.append(math.prod(a.size for a in grp))
            else:
                shape.append(1)
        return jnp.reshape(broadcast_to(x, tuple(target)).array, shape)

    def param(self, x: Any, what: str, fn: str) -> jax.Array:
        """A mask parameter (offset, window size, prefix length) as an array broadcastable to `[b, g, 1, 1]`."""
        if isinstance(x, NamedArray):
            positions = {k.name for k in self.kpos} | ({self.qpos.name} if self.qpos is not None else set())
            for a in x.axes:
                if a.name in positions:
                    raise ValueError(f"{fn}: {what} may vary over batch axes only, but has axis {a}")
            return self.canonical(x, what, fn)
        x = jnp.asarray(x)
        if x.ndim != 0:
            raise TypeError(
                f"{fn}: {what} must be an int, a 0-d array or a NamedArray over batch axes, got shape {x.shape}"
            )
        return jnp.reshape(x, (1, 1, 1, 1))


class AttentionMask(eqx.Module):
    """An immutable, structured attention mask (True = may attend), evaluated lazily.

    Build one with `AttentionMask.causal`, `.sliding_window`, `.prefix_lm`, `.segment_ids` or `.explicit`;
    combine with `&` and `|` (a NamedArray right operand is taken as `.explicit`; put the AttentionMask on the
    left, since `NamedArray & AttentionMask` is NamedArray's own operator). Pass it as the `mask` of
    `haliax.nn.attention.dot_product_attention`, or build the dense array with `materialize(QPos, KPos)`.

    Positions are the 0-based indices along the query and key position axes. Parameters (offset, window size,
    prefix length) may be ints, 0-d arrays, or NamedArrays over batch axes (one value per example).

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import AttentionMask
        >>> Q, K = hax.Axis("q", 4), hax.Axis("k", 4)
        >>> m = AttentionMask.causal() & AttentionMask.sliding_window(2)
        >>> m.materialize(Q, K).array.astype(int).tolist()
        [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """

    # ---------------------------------------------------------------------------------------- constructors
    @staticmethod
    def causal(offset: Any = 0) -> AttentionMask:
        """Query `i` may attend key `j` iff `j <= i + offset` (offset > 0: the queries are the last ones of a
        longer key sequence, as in decoding with a cache of `offset` earlier keys)."""
        return _Causal(offset)

    @staticmethod
    def sliding_window(size: Any) -> AttentionMask:
        """Causal local attention: query `i` sees keys `j` with `i - size < j <= i` (itself and the `size - 1`
        keys before it). The window includes causality; combine with `&` for other rules."""
        if isinstance(size, int) and size < 1:
            raise ValueError(f"AttentionMask.sliding_window: size must be >= 1, got {size}")
        return _SlidingWindow(size)

    @staticmethod
    def prefix_lm(prefix_len: Any) -> AttentionMask:
        """Prefix-LM: every query sees the first `prefix_len` keys, and is causal after them
        (`j < prefix_len or j <= i`)."""
        if isinstance(prefix_len, int) and prefix_len < 0:
            raise ValueError(f"AttentionMask.prefix_lm: prefix_len must be >= 0, got {prefix_len}")
        return _PrefixLM(prefix_len)

    @staticmethod
    def segment_ids(q_segments: NamedArray, kv_segments: NamedArray | None = None) -> AttentionMask:
        """Packed sequences: a query sees a key only if their segment ids are equal. `q_segments` has the query
        position axis (plus any batch axes), `kv_segments` the key position axis; if omitted, `q_segments` is used
        for the keys too (self-attention, renamed to the key position axis). Combine with `.causal()` for packed
        causal language modelling."""
        for name, s in (("q_segments", q_segments), ("kv_segments", kv_segments)):
            if s is not None and not isinstance(s, NamedArray):
                raise TypeError(f"AttentionMask.segment_ids: {name} must be a NamedArray, got {type(s).__name__}")
        return _SegmentIds(q_segments, kv_segments)

    @staticmethod
    def explicit(mask: NamedArray) -> AttentionMask:
        """A dense boolean NamedArray (any subset of the query/key axes) as an `AttentionMask`."""
        if not isinstance(mask, NamedArray):
            raise TypeError(f"AttentionMask.explicit: mask must be a NamedArray, got {type(mask).__name__}")
        return _Explicit(mask)

    # ---------------------------------------------------------------------------------------- combination
    def __and__(self, other: Any) -> AttentionMask:
        return _And(self, _as_mask(other, "&"))

    def __or__(self, other: Any) -> AttentionMask:
        return _Or(self, _as_mask(other, "|"))

    # ---------------------------------------------------------------------------------------- evaluation
    def materialize(self, QPos: Axis, KPos: Axis) -> NamedArray:
        """The dense boolean mask with axes `(batch axes of the parameters..., QPos, KPos)`.

        Examples:
            >>> import haliax as hax
            >>> from haliax.nn.attention import AttentionMask
            >>> Q, K = hax.Axis("q", 3), hax.Axis("k", 3)
            >>> AttentionMask.prefix_lm(2).materialize(Q, K).array.astype(int).tolist()
            [[1, 1, 0], [1, 1, 0], [1, 1, 1]]
        """
        if not isinstance(QPos, Axis) or not isinstance(KPos, Axis):
            raise TypeError(f"AttentionMask.materialize: QPos and KPos must be Axis objects, got {QPos!r}, {KPos!r}")
        batch: list[Axis] = []
        for leaf in jax.tree_util.tree_leaves(self, is_leaf=lambda x: isinstance(x, NamedArray)):
            if isinstance(leaf, NamedArray):
                for a in leaf.axes:
                    if a.name not in (QPos.name, KPos.name) and all(a.name != b.name for b in batch):
                        batch.append(a)
        layout = AttentionLayout(tuple(batch), (), QPos, (KPos,))
        arrays: list[jax.Array] = []
        plan = self._compile(layout, arrays, "AttentionMask.materialize")
        m = evaluate_plan(plan, arrays, 0, QPos.size, 0, KPos.size)
        nb = math.prod(a.size for a in batch)
        m = jnp.broadcast_to(m, (nb, 1, QPos.size, KPos.size))
        out = jnp.reshape(m, tuple(a.size for a in batch) + (QPos.size, KPos.size))
        return StructuredMaskArray(out, (*batch, QPos, KPos), self, QPos, KPos)

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        """Internal: append the canonical arrays this mask needs to `arrays`; return a static plan."""
        raise NotImplementedError

    def _needs_positions(self) -> bool:
        return True


def _as_mask(x: Any, op: str) -> AttentionMask:
    if isinstance(x, AttentionMask):
        return x
    if isinstance(x, NamedArray):
        return _Explicit(x)
    raise TypeError(f"AttentionMask {op}: expected an AttentionMask or a boolean NamedArray, got {type(x).__name__}")


def _need_structure(layout: AttentionLayout, fn: str, kind: str) -> None:
    if layout.qpos is None:
        raise ValueError(f"{fn}: a {kind} mask needs a query position axis, but the query has none (pass QPos=...)")
    if len(layout.kpos) != 1:
        raise ValueError(f"{fn}: a {kind} mask needs a single KPos axis, got {[str(a) for a in layout.kpos]}")


def _push(arrays: list[jax.Array], a: jax.Array) -> int:
    arrays.append(a)
    return len(arrays) - 1


class _Causal(AttentionMask):
    offset: Any

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        _need_structure(layout, fn, "causal")
        return ("causal", _push(arrays, layout.param(self.offset, "causal offset", fn)))


class _SlidingWindow(AttentionMask):
    size: Any

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        _need_structure(layout, fn, "sliding-window")
        return ("window", _push(arrays, layout.param(self.size, "window size", fn)))


class _PrefixLM(AttentionMask):
    prefix_len: Any

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        _need_structure(layout, fn, "prefix-LM")
        return ("prefix", _push(arrays, layout.param(self.prefix_len, "prefix_len", fn)))


class _SegmentIds(AttentionMask):
    q_segments: NamedArray
    kv_segments: NamedArray | None

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        _need_structure(layout, fn, "segment-ids")
        Q, (K,) = layout.qpos, layout.kpos
        assert Q is not None
        qs = self.q_segments
        if lookup_axis(qs.axes, Q.name, fn, "q_segments") is None:
            raise ValueError(f"{fn}: q_segments {tuple(str(a) for a in qs.axes)} must have the query position axis {Q}")
        ks = self.kv_segments
        if ks is None:
            if qs.shape[Q.name] != K.size:
                raise ValueError(
                    f"{fn}: segment_ids without kv_segments needs equal query and key lengths, got {Q} and {K}"
                )
            ks = NamedArray(qs.array, tuple(K if a.name == Q.name else a for a in qs.axes))
        if lookup_axis(ks.axes, K.name, fn, "kv_segments") is None:
            raise ValueError(f"{fn}: kv_segments {tuple(str(a) for a in ks.axes)} must have the key position axis {K}")
        if lookup_axis(ks.axes, Q.name, fn, "kv_segments") is not None:
            raise ValueError(f"{fn}: kv_segments must not have the query position axis {Q}")
        i = _push(arrays, layout.canonical(qs, "q_segments", fn))
        j = _push(arrays, layout.canonical(ks, "kv_segments", fn))
        return ("segment", i, j)


def check_boolean_mask(m: NamedArray, fn: str) -> None:
    """A dense mask must be boolean (True = may attend); a float one is almost surely an additive mask, which
    a boolean reading would invert (0 -> False, -1e9 -> True). Integer 0/1 masks are read as booleans."""
    if jnp.issubdtype(m.dtype, jnp.inexact):
        raise TypeError(
            f"{fn}: argument 'mask' must be boolean (True = may attend), got dtype {m.dtype} with axes "
            f"{tuple(str(a) for a in m.axes)}. An additive mask (0 where allowed, a large negative value where "
            "not) goes in bias=...; for a 0/1 float mask pass mask.astype(bool)"
        )


class _Explicit(AttentionMask):
    mask: NamedArray

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        m = self.mask
        check_boolean_mask(m, fn)
        if m.dtype != jnp.bool_:
            m = NamedArray(m.array.astype(jnp.bool_), m.axes)
        return ("explicit", _push(arrays, layout.canonical(m, "mask", fn)))

    def _needs_positions(self) -> bool:
        return False


class _And(AttentionMask):
    a: AttentionMask
    b: AttentionMask

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        return ("and", self.a._compile(layout, arrays, fn), self.b._compile(layout, arrays, fn))

    def _needs_positions(self) -> bool:
        return self.a._needs_positions() or self.b._needs_positions()


class _Or(AttentionMask):
    a: AttentionMask
    b: AttentionMask

    def _needs_positions(self) -> bool:
        return self.a._needs_positions() or self.b._needs_positions()

    def _compile(self, layout: AttentionLayout, arrays: list[jax.Array], fn: str) -> Plan:
        return ("or", self.a._compile(layout, arrays, fn), self.b._compile(layout, arrays, fn))


# ------------------------------------------------------------------------------------------------------------
# dense mask arrays that remember the rule that built them


class StructuredMaskArray(NamedArray):
    """A boolean mask NamedArray that remembers the `AttentionMask` rule it was built from.

    `causal_mask`, `prefix_lm_mask`, `sliding_window_mask`, `combine_masks_and`/`combine_masks_or` (of such
    masks) and `AttentionMask.materialize` return one. It is a NamedArray in every respect (its array is the
    dense mask); in addition `dot_product_attention` reads `structure` to skip the tiles the rule proves empty.

    The structure holds only for this very object, which is immutable: any operation on it (slicing, `&`, `|`,
    `~`, renaming, `tree_map`, passing it through a `jit` boundary as an argument, ...) returns a plain
    NamedArray, so a transformed mask is used as the array it is, never as a stale rule. `QPos`/`KPos` are the
    axes the rule's positions run along; the rule is used only when the attention call's query and key position
    axes are exactly these.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import causal_mask
        >>> m = causal_mask(hax.Axis("q", 3), hax.Axis("k", 3))
        >>> type(m).__name__, type(m["q", 1:]).__name__
        ('StructuredMaskArray', 'NamedArray')
    """

    __slots__ = ("structure", "QPos", "KPos")
    structure: AttentionMask
    QPos: Axis
    KPos: Axis

    def __init__(self, array: Any, axes: Any, structure: AttentionMask, QPos: Axis, KPos: Axis):
        super().__init__(array, axes)
        object.__setattr__(self, "structure", structure)
        object.__setattr__(self, "QPos", QPos)
        object.__setattr__(self, "KPos", KPos)

    def __reduce__(self) -> tuple[Any, ...]:
        return (NamedArray, (self.array, self.axes))  # a copy is a plain mask


# flattening and unflattening (jit arguments, tree_map, ...) gives a plain NamedArray: the leaves may have changed
def _flatten_structured(x: StructuredMaskArray) -> tuple[tuple[Any], tuple[Axis, ...]]:
    return (x.array,), x.axes


def _unflatten_plain(axes: tuple[Axis, ...], children: Any) -> Any:
    return from_validated(children[0], axes)


jax.tree_util.register_pytree_node(StructuredMaskArray, _flatten_structured, _unflatten_plain)


def mask_structure(mask: Any, layout: AttentionLayout, fn: str) -> AttentionMask | None:
    """Internal: the rule of a `StructuredMaskArray` if it applies to this call's layout (else None, logged)."""
    if not isinstance(mask, StructuredMaskArray):
        if isinstance(mask, NamedArray):
            logger.debug(
                "%s: the mask is a plain NamedArray (no rule known: masks from causal_mask & co. lose theirs once "
                "transformed); every tile is computed",
                fn,
            )
        return None
    if layout.qpos != mask.QPos or layout.kpos != (mask.KPos,):
        logger.debug(
            "%s: the mask's rule runs along (%s, %s) but the call's positions are (%s, %s); using its array",
            fn,
            mask.QPos,
            mask.KPos,
            layout.qpos,
            ", ".join(map(str, layout.kpos)),
        )
        return None
    return mask.structure


def _static_int(x: Any) -> int | None:
    """``x`` as a Python int if it is an int or a concrete 0-d integer array, else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (jax.Array, np.ndarray)) and x.ndim == 0 and jnp.issubdtype(x.dtype, jnp.integer):
        try:
            return int(x)
        except (jax.errors.TracerIntegerConversionError, jax.errors.ConcretizationTypeError):
            return None
    return None


def _scalar_int(x: Any) -> Any:
    """``x`` if it is an int or a 0-d integer array (possibly traced), else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (jax.Array, np.ndarray)) and x.ndim == 0 and jnp.issubdtype(x.dtype, jnp.integer):
        return x
    return None


# ------------------------------------------------------------------------------------------------------------
# evaluation of a compiled plan on a block of queries x keys


def mask_block(a: jax.Array, q0: Any, bq: int, k0: Any, bk: int) -> jax.Array:
    """The `[.., q0:q0+bq, k0:k0+bk]` block of a canonical array (size-1 dimensions stay).

    Args:
        a: a canonical mask array `[..., Q, K]` (size-1 dimensions broadcast).
        q0: the first query position of the block (may be traced).
        bq: the number of query positions in the block.
        k0: the first key position of the block (may be traced).
        bk: the number of key positions in the block.
    """
    if a.shape[2] != 1 and a.shape[2] != bq:
        a = jax.lax.dynamic_slice_in_dim(a, q0, bq, axis=2)
    if a.shape[3] != 1 and a.shape[3] != bk:
        a = jax.lax.dynamic_slice_in_dim(a, k0, bk, axis=3)
    return a


def evaluate_plan(
    plan: Plan, arrays: list[jax.Array] | tuple[jax.Array, ...], q0: Any, bq: int, k0: Any, bk: int, *, ndim: int = 4
) -> jax.Array:
    """Internal: the boolean mask for queries `q0..q0+bq` and keys `k0..k0+bk`, broadcastable to `[b, g, bq, bk]`.

    `ndim=2` builds a `[bq, bk]` mask instead; only for positional plans (see `is_positional_plan`) whose arrays
    have been reshaped to `[1, 1]` (the dense path uses it so its HLO matches a hand-written 2-D causal mask).

    Args:
        plan: the mask's plan (see `AttentionMask`).
        arrays: the arrays the plan refers to, in canonical layout.
        q0: the first query position of the block (may be traced).
        bq: the number of query positions in the block.
        k0: the first key position of the block (may be traced).
        bk: the number of key positions in the block.
        ndim: 4 for a `[b, g, bq, bk]`-broadcastable mask, 2 for `[bq, bk]` (positional plans only).
    """
    lead = (1,) * (ndim - 2)
    qi = (q0 + jnp.arange(bq, dtype=jnp.int32)).reshape(*lead, bq, 1)
    ki = (k0 + jnp.arange(bk, dtype=jnp.int32)).reshape(*lead, 1, bk)

    def go(p: Plan) -> jax.Array:
        kind = p[0]
        if kind == "and":
            return go(p[1]) & go(p[2])
        if kind == "or":
            return go(p[1]) | go(p[2])
        if kind == "causal":
            return ki <= qi + arrays[p[1]]
        if kind == "window":
            return (ki <= qi) & (ki > qi - arrays[p[1]])
        if kind == "prefix":
            return (ki < arrays[p[1]]) | (ki <= qi)
        if kind == "segment":
            return mask_block(arrays[p[1]], q0, bq, k0, bk) == mask_block(arrays[p[2]], q0, bq, k0, bk)
        if kind == "explicit":
            return mask_block(arrays[p[1]], q0, bq, k0, bk)
        raise AssertionError(kind)

    return go(plan)


def is_positional_plan(plan: Plan) -> bool:
    """Internal: whether `plan` uses only the position rules (causal, window, prefix) combined with and/or."""
    if plan[0] in ("and", "or"):
        return is_positional_plan(plan[1]) and is_positional_plan(plan[2])
    return plan[0] in ("causal", "window", "prefix")


# bounds of one position rule, from (lo, hi, n) of the other side and m = max of the rule's array:
# which keys a query block [lo, hi) may attend, and which queries may attend a key block [lo, hi)
_KEY_RULES: dict[str, Callable[[Any, Any, Any, int], tuple[Any, Any]]] = {
    "causal": lambda lo, hi, m, n: (0, hi + m),
    "window": lambda lo, hi, m, n: (lo - m + 1, hi),
    "prefix": lambda lo, hi, m, n: (0, jnp.maximum(m, hi)),
}
_QUERY_RULES: dict[str, Callable[[Any, Any, Any, int], tuple[Any, Any]]] = {
    "causal": lambda lo, hi, m, n: (lo - m, n),
    "window": lambda lo, hi, m, n: (lo, hi - 1 + m),
    "prefix": lambda lo, hi, m, n: (jnp.where(lo < m, 0, lo), n),
}


def _range(rules: dict[str, Any], plan: Plan | None, arrays: Any, lo: Any, hi: Any, n: int) -> tuple[Any, Any]:
    """``[lo, hi)`` of the other side for a block ``[lo, hi)``: intersect for "and", join for "or"; the whole
    ``[0, n)`` for rules without a bound."""
    if plan is None:
        return 0, n
    kind = plan[0]
    if kind in ("and", "or"):
        (a, b), (c, d) = _range(rules, plan[1], arrays, lo, hi, n), _range(rules, plan[2], arrays, lo, hi, n)
        if kind == "and":
            return jnp.maximum(a, c), jnp.minimum(b, d)
        return jnp.minimum(a, c), jnp.maximum(b, d)
    rule = rules.get(kind)
    return (0, n) if rule is None else rule(lo, hi, jnp.max(arrays[plan[1]]), n)


def key_range(plan: Plan | None, arrays: Any, qlo: Any, qhi: Any, K: int) -> tuple[Any, Any]:
    """Internal: `[lo, hi)` containing every key that a query in `[qlo, qhi)` may attend (conservative).

    Args:
        plan: the mask's plan, or None (no mask: every key).
        arrays: the arrays the plan refers to.
        qlo: the first query position of the range.
        qhi: one past the last query position.
        K: the number of keys.
    """
    return _range(_KEY_RULES, plan, arrays, qlo, qhi, K)


def query_range(plan: Plan | None, arrays: Any, klo: Any, khi: Any, Q: int) -> tuple[Any, Any]:
    """Internal: `[lo, hi)` containing every query that may attend a key in `[klo, khi)` (conservative).

    Args:
        plan: the mask's plan, or None (no mask: every query).
        arrays: the arrays the plan refers to.
        klo: the first key position of the range.
        khi: one past the last key position.
        Q: the number of queries.
    """
    return _range(_QUERY_RULES, plan, arrays, klo, khi, Q)


def compile_mask(mask: Any, layout: AttentionLayout, fn: str) -> tuple[Plan | None, list[jax.Array]]:
    """Internal: a mask argument (None, NamedArray or AttentionMask) as a static plan and its canonical arrays."""
    if mask is None:
        return None, []
    structure = mask_structure(mask, layout, fn)
    if structure is not None:
        mask = structure
    arrays: list[jax.Array] = []
    plan = _as_mask(mask, "mask")._compile(layout, arrays, fn)
    return plan, arrays


# ------------------------------------------------------------------------------------------------------------
# the seed mask functions (re-exported by haliax.nn.attention)


def _start_range(start: Any, Pos: Axis) -> tuple[jax.Array, tuple[Axis, ...]]:
    """`start + arange(Pos)` as a raw array with axes `(start's axes..., Pos)`."""
    r = jnp.arange(Pos.size)
    if isinstance(start, NamedArray):
        return start.array[..., None] + r.reshape((1,) * start.array.ndim + (Pos.size,)), (*start.axes, Pos)
    return jnp.asarray(start) + r, (Pos,)


def causal_mask(QPos: Axis, KPos: Axis, q_start: int | NamedArray = 0, k_start: int | NamedArray = 0) -> NamedArray:
    """A materialized causal mask: `mask[i, j] = (q_start + i) >= (k_start + j)`.

    `q_start`/`k_start` may be ints, traced scalars, or NamedArrays of per-example offsets. With NamedArray offsets
    the result axes are `(QPos, offset axes..., KPos)` (as in Haliax). A NamedArray `q_start` with an int `k_start`
    works here; Haliax raises a broadcasting error for it.

    Args:
        QPos: the query-position axis.
        KPos: the key-position axis.
        q_start: the position of the first query: an int, a traced scalar or a NamedArray of per-example offsets.
        k_start: the position of the first key, in the same forms as ``q_start``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import causal_mask
        >>> causal_mask(hax.Axis("q", 3), hax.Axis("k", 3)).array.astype(int).tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    qr, qaxes = _start_range(q_start, QPos)
    kr, kaxes = _start_range(k_start, KPos)
    if len(qaxes) == 1 and len(kaxes) == 1:
        dense = qr[:, None] >= kr[None, :]
        qs, ks = _scalar_int(q_start), _scalar_int(k_start)
        if qs is not None and ks is not None:  # remember the rule: j <= i + (q_start - k_start)
            return StructuredMaskArray(dense, (QPos, KPos), _Causal(qs - ks), QPos, KPos)
        return NamedArray(dense, (QPos, KPos))
    batch: list[Axis] = []
    for a in kaxes[:-1] + qaxes[:-1]:
        if all(a.name != b.name for b in batch):
            batch.append(a)
    out_axes = (QPos, *batch, KPos)
    qn = broadcast_to(NamedArray(qr, qaxes), out_axes[:-1]).array[..., None]
    kn = broadcast_to(NamedArray(kr, kaxes), out_axes[1:]).array[None]
    return NamedArray(qn >= kn, out_axes)


def prefix_lm_mask(QSeqLen: Axis, KSeqLen: Axis, prefix_len: int, q_start: int = 0, k_start: int = 0) -> NamedArray:
    """Mask for the PrefixLM objective: fully connected before `prefix_len`, then causal after.

    `causal_mask(QSeqLen, KSeqLen, q_start, k_start) | (j < prefix_len)`: the first `prefix_len` key columns are
    always visible. A negative int `prefix_len` raises `ValueError`.

    Args:
        QSeqLen: the query-position axis.
        KSeqLen: the key-position axis.
        prefix_len: the number of leading key positions every query may attend (not negative).
        q_start: the position of the first query.
        k_start: the position of the first key.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import prefix_lm_mask
        >>> prefix_lm_mask(hax.Axis("q", 4), hax.Axis("k", 6), 3).array.astype(int).tolist()[2:]
        [[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 0, 0]]
    """
    if isinstance(prefix_len, int) and prefix_len < 0:
        raise ValueError(f"prefix_lm_mask: prefix_len must be >= 0, got {prefix_len}")
    causal = causal_mask(QSeqLen, KSeqLen, q_start, k_start)
    prefix = NamedArray(jnp.arange(KSeqLen.size) < prefix_len, (KSeqLen,))
    dense = causal | prefix
    offset = _static_int(q_start - k_start) if isinstance(q_start, int) and isinstance(k_start, int) else None
    p = _scalar_int(prefix_len)
    if offset is not None and offset >= 0 and p is not None and dense.axes == (QSeqLen, KSeqLen):
        # (j <= i + offset) | (j < p); prefix_lm's own (j <= i) term adds nothing when offset >= 0
        rule: AttentionMask = _PrefixLM(p) if offset == 0 else _Or(_Causal(offset), _PrefixLM(p))
        return StructuredMaskArray(dense.array, dense.axes, rule, QSeqLen, KSeqLen)
    return dense


def sliding_window_mask(QPos: Axis, KPos: Axis, window: int, q_start: int = 0, k_start: int = 0) -> NamedArray:
    """A materialized causal sliding-window mask: query `i` sees key `j` iff `0 <= qi - kj < window`, where
    `qi = q_start + i` and `kj = k_start + j` (itself and the `window - 1` keys before it).

    The array remembers its rule, so `dot_product_attention` skips the tiles outside the window (as with
    `AttentionMask.sliding_window`). A `window` below 1 raises `ValueError`.

    Args:
        QPos: the query-position axis.
        KPos: the key-position axis.
        window: the number of keys each query sees (itself included).
        q_start: the position of the first query.
        k_start: the position of the first key.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import sliding_window_mask
        >>> sliding_window_mask(hax.Axis("q", 4), hax.Axis("k", 4), 2).array.astype(int).tolist()
        [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    for name, x in (("window", window), ("q_start", q_start), ("k_start", k_start)):
        if _scalar_int(x) is None:
            raise TypeError(f"sliding_window_mask: {name} must be an int or a 0-d integer array, got {x!r}")
    if isinstance(window, int) and window < 1:
        raise ValueError(f"sliding_window_mask: window must be >= 1, got {window}")
    qi = jnp.asarray(q_start) + jnp.arange(QPos.size)
    kj = jnp.asarray(k_start) + jnp.arange(KPos.size)
    d = qi[:, None] - kj[None, :]
    dense = (d >= 0) & (d < window)
    offset = _static_int(q_start - k_start) if isinstance(q_start, int) and isinstance(k_start, int) else None
    if offset == 0:
        return StructuredMaskArray(dense, (QPos, KPos), _SlidingWindow(window), QPos, KPos)
    return NamedArray(dense, (QPos, KPos))


def _combine(m1: Any, m2: Any, op: str) -> Any:
    if m1 is None:
        return m2
    if m2 is None:
        return m1
    if isinstance(m1, AttentionMask) or isinstance(m2, AttentionMask):
        return (m1 & m2) if op == "and" else (m1 | m2)
    b2 = broadcast_axis(m2, m1.axes)
    out = (m1 & b2) if op == "and" else (m1 | b2)
    # the combination of a rule with another rule or a plain array keeps a rule (both run along the same positions)
    s = m1 if isinstance(m1, StructuredMaskArray) else m2 if isinstance(m2, StructuredMaskArray) else None
    if s is None or not isinstance(out, NamedArray):
        return out
    rules = []
    for m in (m1, m2):
        if isinstance(m, StructuredMaskArray):
            if (m.QPos, m.KPos) != (s.QPos, s.KPos):
                return out
            rules.append(m.structure)
        else:
            rules.append(_Explicit(m))
    rule = _And(rules[0], rules[1]) if op == "and" else _Or(rules[0], rules[1])
    return StructuredMaskArray(out.array, out.axes, rule, s.QPos, s.KPos)


def combine_masks_and(mask1: NamedArray | None, mask2: NamedArray | None) -> NamedArray | None:
    """Logical AND of two masks; None means "no mask" (None, None -> None). Axes are unioned.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import combine_masks_and, causal_mask
        >>> Q, K = hax.Axis("q", 2), hax.Axis("k", 2)
        >>> keep = hax.named([True, False], K)
        >>> combine_masks_and(causal_mask(Q, K), keep).array.tolist()
        [[True, False], [True, False]]
    """
    return _combine(mask1, mask2, "and")


def combine_masks_or(mask1: NamedArray | None, mask2: NamedArray | None) -> NamedArray | None:
    """Logical OR of two masks; None means "no mask" (None, None -> None). Axes are unioned.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import combine_masks_or, causal_mask
        >>> Q, K = hax.Axis("q", 2), hax.Axis("k", 2)
        >>> combine_masks_or(causal_mask(Q, K), hax.named([False, True], K)).array.tolist()
        [[True, True], [True, True]]
    """
    return _combine(mask1, mask2, "or")


def forgetful_causal_mask(KPos: Axis, mask_prob: float, sample_prob: bool = True, *, key: Any) -> NamedArray:
    """Forgetful context masking (https://arxiv.org/abs/2210.13432): randomly drop key positions.

    Returns a `(KPos,)` keep-mask (not causal by itself; combine it with one). Position 0 is always kept.
    `mask_prob == 0` keeps everything, `== 1` keeps only position 0. Otherwise, with `sample_prob`, the actual
    drop probability is drawn uniformly in `[0, mask_prob)` (as in the paper) with one half of a split `key`,
    and positions are kept with `bernoulli(key, 1 - prob)`.

    Args:
        KPos: the key-position axis.
        mask_prob: the drop probability (or its upper bound, with ``sample_prob``).
        sample_prob: draw the actual drop probability uniformly in `[0, mask_prob)`.
        key: the PRNG key.

    Examples:
        >>> import jax, haliax as hax
        >>> from haliax.nn.attention import forgetful_causal_mask
        >>> m = forgetful_causal_mask(hax.Axis("k", 6), 0.5, key=jax.random.PRNGKey(0))
        >>> m.axes[0].name, bool(m.array[0])
        ('k', True)
    """
    zeroth = NamedArray(jnp.arange(KPos.size) == 0, (KPos,))
    if isinstance(mask_prob, (int, float)) and mask_prob == 0:
        return NamedArray(jnp.ones((KPos.size,), dtype=bool), (KPos,))
    if isinstance(mask_prob, (int, float)) and mask_prob == 1:
        return zeroth
    drop_prob: float | jax.Array = mask_prob
    if sample_prob:
        key, subkey = jax.random.split(key)
        drop_prob = jax.random.uniform(subkey, shape=(), minval=0, maxval=mask_prob)
    base = NamedArray(jax.random.bernoulli(key, 1 - drop_prob, (KPos.size,)), (KPos,))
    return base | zeroth


def dropout_mask(axes: Any, dropout_rate: float, *, key: Any) -> NamedArray:
    """A keep-mask for attention dropout: `bernoulli(key, axes, 1 - dropout_rate)` (True = keep).

    Examples:
        >>> import jax, haliax as hax
        >>> from haliax.nn.attention import dropout_mask
        >>> dropout_mask(hax.Axis("k", 4), 0.0, key=jax.random.PRNGKey(0)).array.tolist()
        [True, True, True, True]
    """
    ax = axis_spec_to_tuple(axes)
    return NamedArray(jax.random.bernoulli(key, 1 - dropout_rate, tuple(a.size for a in ax)), ax)


def mask_to_bias(mask: NamedArray, mask_value: float = MASK_VALUE) -> NamedArray:
    """An additive bias from a boolean mask, with the mask convention: True (may attend) -> 0, False -> `mask_value`.

    Haliax returns `mask * mask_value`, which penalises the positions that *may* attend; we penalise the others.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.attention import mask_to_bias
        >>> mask_to_bias(hax.named([True, False], "k")).array.tolist()
        [0.0, -1000000000.0]
    """
    if not isinstance(mask, NamedArray):
        raise TypeError(f"mask_to_bias: mask must be a NamedArray, got {type(mask).__name__}")
    return NamedArray(jnp.where(mask.array, 0.0, jnp.asarray(mask_value, dtype=jnp.float32)), mask.axes)
