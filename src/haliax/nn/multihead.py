"""Multi-head (and grouped-query) self-attention with optional RoPE, QK-norm and a KV cache for decoding.

`MultiHeadAttention` projects with `Linear`s over named axes (torch-export-friendly layouts: `q_proj` is
`Embed -> (Heads, HeadSize)`, `k_proj`/`v_proj` are `Embed -> (KVHeads, HeadSize)`, `o_proj` is
`(Heads, HeadSize) -> Embed`, all out-first, so the flattened weights are exactly Hugging Face's
`q_proj.weight` etc.) and attends with `haliax.nn.attention.dot_product_attention(implementation="auto")`.

With `KVHeads` smaller than `Heads`, query head `h` uses key/value head `h // (Heads / KVHeads)` (Hugging Face's
`repeat_kv` order): the query's `Heads` axis is split into `(KVHeads, QPerKV)` and the key/value are not repeated.

The sequence axis is named by the module (`Pos`, default `"position"`); in `__call__` the keys and values are
renamed to `KPos` (default `"key_position"`), so a dense NamedArray mask has axes among
`(..., Pos, KPos)`; structured `AttentionMask`s (e.g. `AttentionMask.causal()`) need no names.

Decoding uses a `KVCache`: `k`/`v` NamedArrays with axes `(*batch, KVHeads, CachePos, HeadSize)` (`Layers` in
front for a stacked model) of a fixed size, and the number of filled slots `length`. `decode` writes the new keys
and values at `length` and attends over the whole `CachePos` with `AttentionMask.causal(length)`, which hides the
slots at or after `length + new` and is causal within the new chunk.

Examples:
    A tiny pre-norm transformer block (RmsNorm + attention + MLP) with a full forward and a cached decode step.

    >>> import jax
    >>> import equinox as eqx
    >>> import haliax as hax
    >>> import haliax.nn as hnn
    >>> from haliax.nn.attention import AttentionMask
    >>> class Block(eqx.Module):
    ...     ln1: hnn.RmsNorm
    ...     attn: hnn.MultiHeadAttention
    ...     ln2: hnn.RmsNorm
    ...     mlp: hnn.MLP
    ...     @staticmethod
    ...     def init(Embed, Heads, HeadSize, *, key):
    ...         k1, k2 = jax.random.split(key)
    ...         rope = hnn.RotaryEmbedding.init(HeadSize)
    ...         attn = hnn.MultiHeadAttention.init(Embed, Heads, HeadSize, rotary=rope, key=k1)
    ...         mlp = hnn.MLP.init(Embed, Embed, 4 * Embed.size, 1, activation=hnn.silu, key=k2)
    ...         return Block(hnn.RmsNorm.init(Embed), attn, hnn.RmsNorm.init(Embed), mlp)
    ...     def __call__(self, x):
    ...         x = x + self.attn(self.ln1(x), AttentionMask.causal())
    ...         return x + self.mlp(self.ln2(x))
    ...     def decode(self, x, cache):
    ...         a, cache = self.attn.decode(self.ln1(x), cache)
    ...         x = x + a
    ...         return x + self.mlp(self.ln2(x)), cache
    >>> Pos, Embed, Heads, HeadSize = hax.make_axes(position=5, embed=8, heads=2, head_size=4)
    >>> block = Block.init(Embed, Heads, HeadSize, key=jax.random.PRNGKey(0))
    >>> x = hax.random.normal(jax.random.PRNGKey(1), (Pos, Embed))
    >>> full = eqx.filter_jit(Block.__call__)(block, x)
    >>> decode = eqx.filter_jit(Block.decode)
    >>> cache = block.attn.init_cache(hax.Axis("cache_position", 8))
    >>> prefix, cache = decode(block, x[Pos, :4], cache)   # chunked prefill of 4 tokens
    >>> last, cache = decode(block, x[Pos, 4:], cache)      # then one token
    >>> int(cache.length.scalar()), bool(hax.all(hax.abs(last - full[Pos, 4:]) < 1e-5))
    (5, True)
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..axis import Axis, AxisSelector, AxisSpec, axis_spec_to_tuple, conflicting_sizes_error, locate_axis, lookup_axis
from ..core import NamedArray
from ..ops.broadcast import broadcast_to
from ..ops.creation import arange, zeros
from ..ops.indexing import updated_slice, where
from ..ops.linalg import dot
from ..random import check_key
from .attention import AttentionMask, dot_product_attention, dot_product_attention_weights
from .dropout import Dropout
from .linear import Linear
from .normalization import RmsNorm
from .rotary import RotaryEmbedding

__all__ = ["MultiHeadAttention", "KVCache", "init_cache"]

_QPERKV = "q_per_kv"


def _name(a: AxisSelector) -> str:
    return a.name if isinstance(a, Axis) else a


def _axes_str(axes: tuple[Axis, ...]) -> str:
    return "(" + ", ".join(str(a) for a in axes) + ")"


def _concrete(x: Any) -> np.ndarray | None:
    """The value of a concrete array, or None for a tracer."""
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


class KVCache(eqx.Module):
    """Keys and values of the tokens seen so far, in a fixed-size buffer (a pytree: jit- and scan-friendly).

    Fields: `k` and `v`, NamedArrays with axes `(*batch, KVHeads, CachePos, HeadSize)` (with the layer axis in
    front for a stacked model), `length`, an int32 NamedArray counting the filled slots, and `CachePos` (static).

    `length` is 0-d for a single layer, `(Layers,)` for a stacked cache (every leaf of a stacked cache has the layer
    axis, so `Stacked.scan` hands each layer its own slice and stacks the new caches back). It may also carry batch
    axes for ragged batches (one length per example: the writes and masks are then per example).

    Build one with `init_cache` or `MultiHeadAttention.init_cache`; advance it with `MultiHeadAttention.decode`.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> KVH, C, D, L = hax.make_axes(kv_heads=2, cache_position=16, head_size=4, layers=3)
        >>> cache = hnn.init_cache(KVH, C, D, Layers=L)
        >>> [a.name for a in cache.k.axes], cache.length.axes == (L,), cache.size
        (['layers', 'kv_heads', 'cache_position', 'head_size'], True, 16)
    """

    k: NamedArray
    v: NamedArray
    length: NamedArray
    CachePos: Axis = eqx.field(static=True)

    @property
    def size(self) -> int:
        """The number of slots, `CachePos.size`."""
        return self.CachePos.size

    def check_room(self, new_tokens: int, where: str = "KVCache.check_room") -> None:
        """Raise `ValueError` if writing `new_tokens` more would go past the cache size.

        Only checks a concrete `length` (eagerly, or outside a jitted/scanned function); under tracing it does
        nothing (see `MultiHeadAttention.decode` for what happens then). Call it before a `Stacked.scan` over the
        layers to get the error eagerly.

        Examples:
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> cache = hnn.init_cache(*hax.make_axes(kv_heads=1, cache_position=4, head_size=2))
            >>> cache.check_room(4)
            >>> try:
            ...     cache.check_room(5)
            ... except ValueError as e:
            ...     print(e)
            KVCache.check_room: 5 new positions do not fit: ...
        """
        n = _concrete(self.length.array)
        if n is None or n.size == 0:
            return
        top = int(n.max())
        if top + new_tokens > self.size:
            raise ValueError(
                f"{where}: {new_tokens} new positions do not fit: the cache has {top} of {self.CachePos} slots filled "
                f"(positions {top}..{top + new_tokens - 1} are beyond the cache size {self.size}); "
                "allocate a larger cache"
            )


def init_cache(
    KVHeads: Axis,
    CachePos: Axis,
    HeadSize: Axis,
    *,
    batch: AxisSpec = (),
    Layers: Axis | None = None,
    dtype: Any = jnp.float32,
) -> KVCache:
    """An empty `KVCache`: zero `k`/`v` with axes `(Layers?, *batch, KVHeads, CachePos, HeadSize)`, `length` 0.

    Args:
        KVHeads: the key/value head axis.
        CachePos: the cache position axis; its size is the maximum number of tokens.
        HeadSize: the head size axis.
        batch: batch axes (e.g. `Batch`), in front of `KVHeads`.
        Layers: the layer axis of a `Stacked` model; the cache (and `length`) then has it in front.
        dtype: dtype of the stored keys and values.

    Raises:
        ValueError: repeated axis names.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, KVH, C, D = hax.make_axes(batch=2, kv_heads=1, cache_position=8, head_size=4)
        >>> c = hnn.init_cache(KVH, C, D, batch=B)
        >>> c.k.shape, c.length.tolist()
        ({'batch': 2, 'kv_heads': 1, 'cache_position': 8, 'head_size': 4}, 0)
    """
    for what, a in (("KVHeads", KVHeads), ("CachePos", CachePos), ("HeadSize", HeadSize)):
        if not isinstance(a, Axis):
            raise TypeError(f"init_cache: {what} must be an Axis (with a size), got {a!r}")
    lead = ((Layers,) if Layers is not None else ()) + axis_spec_to_tuple(batch)
    axes = lead + (KVHeads, CachePos, HeadSize)
    if len({a.name for a in axes}) != len(axes):
        raise ValueError(f"init_cache: axis names must be distinct, got {_axes_str(axes)}")
    length = zeros((Layers,) if Layers is not None else (), dtype=jnp.int32)
    return KVCache(zeros(axes, dtype=dtype), zeros(axes, dtype=dtype), length, CachePos)


class MultiHeadAttention(eqx.Module):
    """Multi-head self-attention over named axes, with grouped-query attention, RoPE, QK-norm and a KV cache.

    See the module docs (`haliax.nn.multihead`) for the layouts and a transformer-block example.

    Fields: `q_proj`, `k_proj`, `v_proj`, `o_proj` (`Linear`), `q_norm`, `k_norm` (`RmsNorm` over `HeadSize` or
    None), `dropout` (`Dropout` on the attention weights), `rotary` (`RotaryEmbedding` or None), and the static axes
    `Embed`, `Heads`, `KVHeads`, `HeadSize` and the axis names `Pos`, `KPos`.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.nn.attention import AttentionMask
        >>> B, Pos, Embed, H, KVH, D = hax.make_axes(batch=2, position=5, embed=8, heads=2, kv_heads=1, head_size=4)
        >>> attn = hnn.MultiHeadAttention.init(Embed, H, D, KVHeads=KVH, key=jax.random.PRNGKey(0))
        >>> attn(hax.ones((B, Pos, Embed)), AttentionMask.causal()).axes == (B, Pos, Embed)
        True
    """

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    o_proj: Linear
    q_norm: RmsNorm | None
    k_norm: RmsNorm | None
    dropout: Dropout
    rotary: RotaryEmbedding | None
    Embed: AxisSpec = eqx.field(static=True)
    Heads: Axis = eqx.field(static=True)
    KVHeads: Axis = eqx.field(static=True)
    HeadSize: Axis = eqx.field(static=True)
    Pos: str = eqx.field(static=True, default="position")
    KPos: str = eqx.field(static=True, default="key_position")

    @staticmethod
    def init(
        Embed: AxisSpec,
        Heads: Axis,
        HeadSize: Axis,
        *,
        KVHeads: Axis | None = None,
        use_bias: bool = False,
        use_output_bias: bool | None = None,
        rotary: RotaryEmbedding | None = None,
        qk_norm: bool = False,
        qk_norm_eps: float = 1e-6,
        dropout: float = 0.0,
        Pos: AxisSelector = "position",
        KPos: AxisSelector = "key_position",
        key: jax.Array,
    ) -> MultiHeadAttention:
        """Build the layer (weights: `Linear.init`'s truncated normal, `1/sqrt(fan_in)`).

        Args:
            Embed: the model axis (or axes) of the input and output.
            Heads: the query head axis.
            HeadSize: the per-head axis.
            KVHeads: the key/value head axis; None means `Heads` (plain multi-head attention). Smaller than `Heads`
                (and with another name) gives grouped-query attention; `Heads.size` must be a multiple of it.
            use_bias: biases on the q/k/v projections (and on `o_proj` unless `use_output_bias` says otherwise).
            use_output_bias: bias on `o_proj`; None means `use_bias` (Qwen2 style is `use_bias=True,
                use_output_bias=False`).
            rotary: RoPE applied to queries and keys (its `HeadSize` must equal `HeadSize`).
            qk_norm: RmsNorm (weight only, shared over heads) of queries and keys over `HeadSize` before RoPE
                (Qwen3 / OLMo-2 style), state-dict keys `q_norm.weight`, `k_norm.weight`.
            qk_norm_eps: epsilon of those norms.
            dropout: dropout probability on the attention weights (needs a `key` in training mode).
            Pos: the name of the sequence axis of the inputs.
            KPos: the name the keys' sequence axis gets inside `__call__` (must differ from `Pos`).
            key: PRNG key.

        Raises:
            ValueError: `Heads.size` is not a multiple of `KVHeads.size`, `KVHeads` has the name of `Heads` with
                another size, the RoPE head size differs from `HeadSize`, or axis names clash.
            TypeError: `key` is not a PRNG key (JAX's message would name neither the layer nor `key=`).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, H, D = hax.make_axes(embed=8, heads=2, head_size=4)
            >>> m = hnn.MultiHeadAttention.init(E, H, D, key=jax.random.PRNGKey(0))
            >>> [a.name for a in m.q_proj.weight.axes], [a.name for a in m.o_proj.weight.axes]
            (['heads', 'head_size', 'embed'], ['embed', 'heads', 'head_size'])
        """
        fn = "MultiHeadAttention.init"
        for what, a in (("Heads", Heads), ("HeadSize", HeadSize)):
            if not isinstance(a, Axis):
                raise TypeError(f"{fn}: {what} must be an Axis, got {a!r}")
        if KVHeads is None:
            KVHeads = Heads
        if not isinstance(KVHeads, Axis):
            raise TypeError(f"{fn}: KVHeads must be an Axis or None, got {KVHeads!r}")
        if KVHeads.name == Heads.name and KVHeads.size != Heads.size:
            err = conflicting_sizes_error(Heads.name, {"Heads": Heads.size, "KVHeads": KVHeads.size}, fn)
            raise ValueError(f"{err}; give grouped key/value heads their own axis name, e.g. Axis('kv_heads', n)")
        if Heads.size % KVHeads.size:
            raise ValueError(
                f"{fn}: Heads {Heads} must be a multiple of KVHeads {KVHeads} (grouped-query attention shares each "
                f"key/value head among Heads/KVHeads query heads); {Heads.size} % {KVHeads.size} != 0"
            )
        Pos, KPos = _name(Pos), _name(KPos)
        names = [a.name for a in axis_spec_to_tuple(Embed)] + [Heads.name, HeadSize.name, Pos, KPos, _QPERKV]
        if KVHeads.name != Heads.name:
            names.append(KVHeads.name)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"{fn}: axis names must be distinct (Embed, Heads, KVHeads, HeadSize, Pos, KPos), "
                f"got {dup} more than once"
            )
        if rotary is not None:
            if not isinstance(rotary, RotaryEmbedding):
                raise TypeError(f"{fn}: rotary must be a RotaryEmbedding or None, got {type(rotary).__name__}")
            if rotary.HeadSize.name == HeadSize.name and rotary.HeadSize.size != HeadSize.size:
                sizes = {"HeadSize": HeadSize.size, "rotary.HeadSize": rotary.HeadSize.size}
                raise conflicting_sizes_error(HeadSize.name, sizes, fn)
            if rotary.HeadSize != HeadSize:
                raise ValueError(
                    f"{fn}: wrong HeadSize for RoPE: rotary is for {rotary.HeadSize}, the heads are {HeadSize}"
                )
        if use_output_bias is None:
            use_output_bias = use_bias
        check_key(key, fn)
        kq, kk, kv, ko = jax.random.split(key, 4)
        q_proj = Linear.init(Embed, (Heads, HeadSize), key=kq, use_bias=use_bias)
        k_proj = Linear.init(Embed, (KVHeads, HeadSize), key=kk, use_bias=use_bias)
        v_proj = Linear.init(Embed, (KVHeads, HeadSize), key=kv, use_bias=use_bias)
        o_proj = Linear.init((Heads, HeadSize), Embed, key=ko, use_bias=use_output_bias)
        q_norm = RmsNorm.init(HeadSize, qk_norm_eps, use_bias=False) if qk_norm else None
        k_norm = RmsNorm.init(HeadSize, qk_norm_eps, use_bias=False) if qk_norm else None
        return MultiHeadAttention(
            q_proj,
            k_proj,
            v_proj,
            o_proj,
            q_norm,
            k_norm,
            Dropout(dropout),
            rotary,
            Embed,
            Heads,
            KVHeads,
            HeadSize,
            Pos,
            KPos,
        )

    @property
    def QPerKV(self) -> Axis:
        """The query heads per key/value head, `Axis("q_per_kv", Heads.size // KVHeads.size)`."""
        return Axis(_QPERKV, self.Heads.size // self.KVHeads.size)

    # -- pieces ----------------------------------------------------------------------------------

    def _check_input(self, x: Any, fn: str) -> int:
        if not isinstance(x, NamedArray):
            raise TypeError(f"{fn}: argument 'x' must be a NamedArray, got {type(x).__name__}")
        for a in axis_spec_to_tuple(self.Embed):
            locate_axis(x.axes, a, fn, "x (Embed)")  # missing, or another size
        pos = locate_axis(x.axes, self.Pos, fn, "x (the sequence axis Pos)")
        taken = {self.Heads.name, self.KVHeads.name, self.HeadSize.name, _QPERKV} & set(x.shape)
        if taken:
            raise ValueError(f"{fn}: x {_axes_str(x.axes)} already has the attention axes {sorted(taken)}")
        return x.axes[pos].size

    def _positions(self, positions: Any, x: NamedArray, fn: str) -> NamedArray | None:
        if self.rotary is None:
            return None
        if positions is None:
            return arange(x.resolve_axis(self.Pos), dtype=jnp.int32)
        if not isinstance(positions, NamedArray):
            raise TypeError(f"{fn}: positions must be an integer NamedArray, got {type(positions).__name__}")
        return positions

    def _project(self, x: NamedArray, positions: NamedArray | None) -> tuple[NamedArray, NamedArray, NamedArray]:
        """q `(..., KVHeads, QPerKV, HeadSize)` (or `Heads` for plain MHA) and k, v `(..., KVHeads, HeadSize)`,
        with QK-norm and RoPE applied; every other axis of `x` (including `Pos`) is kept."""
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        if self.rotary is not None and positions is not None:
            q, k = self.rotary(q, positions), self.rotary(k, positions)
        if self.KVHeads.name != self.Heads.name:
            q = q.unflatten_axis(self.Heads, (self.KVHeads, self.QPerKV))
        return q, k, v

    def _attend(
        self, q: NamedArray, k: NamedArray, v: NamedArray, KPos: str, mask: Any, key: jax.Array | None
    ) -> NamedArray:
        if self.dropout.is_active:
            w = dot_product_attention_weights(self.HeadSize, KPos, q, k, mask, QPos=self.Pos)
            out = dot(self.dropout(w, key=key), v, axis=KPos)
        else:
            out = dot_product_attention(KPos, self.HeadSize, q, k, v, mask, QPos=self.Pos, implementation="auto")
        if self.KVHeads.name != self.Heads.name:
            out = out.flatten_axes((self.KVHeads, self.QPerKV), self.Heads)
        return out

    def _output(self, attn: NamedArray, x: NamedArray) -> NamedArray:
        out = self.o_proj(attn)
        return out if out.axes == x.axes else out.rearrange(x.axes)

    # -- public ----------------------------------------------------------------------------------

    def __call__(
        self,
        x: NamedArray,
        mask: NamedArray | AttentionMask | None = None,
        *,
        positions: NamedArray | None = None,
        key: jax.Array | None = None,
    ) -> NamedArray:
        """Self-attention over the `Pos` axis of `x`; returns an array with `x`'s axes.

        Args:
            x: `(..., Pos, *Embed)`; other axes are batch axes.
            mask: None (attend everywhere), an `AttentionMask` (e.g. `AttentionMask.causal()`, or `& segment_ids`
                for packed sequences), or a boolean NamedArray over `(..., Pos, KPos)`; True = may attend.
            positions: integer NamedArray of RoPE positions, axes a subset of `x`'s non-Embed axes (e.g. `(Pos,)`
                or `(Batch, Pos)` restarting at each packed sequence). Default `arange(Pos)`. Unused without RoPE.
            key: PRNG key for attention dropout (needed only when dropout is active).

        Raises:
            ValueError: `x` lacks `Pos` or an `Embed` axis, or already has `KPos` or a head axis.
            TypeError: `x` or `positions` is not a NamedArray.
        """
        fn = "MultiHeadAttention"
        self._check_input(x, fn)
        if lookup_axis(x.axes, self.KPos, fn, "x") is not None:
            raise ValueError(f"{fn}: x {_axes_str(x.axes)} already has the key axis name KPos={self.KPos!r}")
        q, k, v = self._project(x, self._positions(positions, x, fn))
        k, v = k.rename({self.Pos: self.KPos}), v.rename({self.Pos: self.KPos})
        return self._output(self._attend(q, k, v, self.KPos, mask, key), x)

    def init_cache(
        self, CachePos: Axis, *, batch: AxisSpec = (), Layers: Axis | None = None, dtype: Any = None
    ) -> KVCache:
        """An empty `KVCache` for this layer: `init_cache(KVHeads, CachePos, HeadSize, ...)`.

        `dtype` defaults to the dtype of `k_proj`'s weight. For a `Stacked` model call it on
        `model.layers.stacked.attn` with `Layers=model.layers.Block`.

        Args:
            CachePos: the cache-position axis (its size is the cache's capacity).
            batch: batch axes of the cache (default: none).
            Layers: a layer axis for the cache of a `Stacked` model (default: none).
            dtype: the dtype of the keys and values (default: the dtype of `k_proj`'s weight).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, H, D, C = hax.make_axes(embed=8, heads=2, head_size=4, cache_position=16)
            >>> m = hnn.MultiHeadAttention.init(E, H, D, key=jax.random.PRNGKey(0))
            >>> m.init_cache(C).k.shape
            {'heads': 2, 'cache_position': 16, 'head_size': 4}
        """
        if not isinstance(CachePos, Axis):  # a bare name has no size, and `.name` below would be an AttributeError
            raise TypeError(
                f"MultiHeadAttention.init_cache: CachePos must be an Axis (its size is the capacity), got {CachePos!r}"
            )
        if CachePos.name in (self.Pos, self.KPos):
            raise ValueError(f"MultiHeadAttention.init_cache: CachePos {CachePos} must not be named like Pos or KPos")
        if dtype is None:
            dtype = self.k_proj.weight.dtype
        return init_cache(self.KVHeads, CachePos, self.HeadSize, batch=batch, Layers=Layers, dtype=dtype)

    def decode(
        self,
        x: NamedArray,
        cache: KVCache,
        positions: NamedArray | None = None,
        *,
        mask: NamedArray | AttentionMask | None = None,
        key: jax.Array | None = None,
    ) -> tuple[NamedArray, KVCache]:
        """Attend from new tokens to the cache plus themselves; returns `(out, new_cache)`.

        `x` has a `Pos` axis of length `n` (1 for token-by-token decoding, more for chunked prefill). Its keys and
        values are written into slots `length .. length + n - 1` of `cache` (`updated_slice`, i.e.
        `lax.dynamic_update_slice`), the queries attend over all of `CachePos` with `AttentionMask.causal(length)`
        (slots after their own position, including unfilled ones, are hidden), and `length` advances by `n`.

        Too many tokens: with a concrete `length` (eager call) a `ValueError` is raised. Under `jax.jit` or inside
        `Stacked.scan` the length is traced and cannot be checked: the write is clamped to the last slots, and the
        output is **NaN** for every step that goes past the cache (so overflow is visible, never silently wrong).
        Call `cache.check_room(n)` before a scan to get the error eagerly.

        Args:
            x: `(..., Pos, *Embed)` with `n <= CachePos.size`; its batch axes must be in the cache.
            cache: a `KVCache` of this layer (no layer axis: inside `Stacked.scan` each layer gets its slice).
            positions: RoPE positions; default `length + arange(Pos)` (per example if `length` has batch axes).
            mask: extra mask ANDed with the causal one: e.g. a boolean `(Batch, CachePos)` NamedArray hiding the
                padding slots of left-padded prompts. Structured masks see query indices `0..n-1` and key indices
                equal to cache slots.
            key: PRNG key for attention dropout.

        Raises:
            ValueError: the new tokens do not fit (concrete length), the cache does not match the layer
                (head axes) or lacks a batch axis of `x`, or `n > CachePos.size`.
        """
        fn = "MultiHeadAttention.decode"
        n = self._check_input(x, fn)
        if not isinstance(cache, KVCache):
            raise TypeError(f"{fn}: cache must be a KVCache, got {type(cache).__name__}")
        C = cache.CachePos
        if C.name == self.Pos or lookup_axis(x.axes, C.name, fn, "x") is not None:
            raise ValueError(f"{fn}: the cache axis {C} must not be an axis of x {_axes_str(x.axes)}")
        for a in (self.KVHeads, self.HeadSize):  # this layer's head axes: missing, or another size
            locate_axis(cache.k.axes, a, fn, "cache")
        own = {self.KVHeads.name, self.HeadSize.name, C.name}
        extra = list(
            dict.fromkeys(
                str(a) for a in cache.k.axes + cache.length.axes if a.name not in own and a.name not in x.shape
            )
        )
        if extra:
            raise ValueError(
                f"{fn}: the cache has axes {extra} that x {_axes_str(x.axes)} lacks; a stacked cache (with "
                "a layer axis) is decoded one layer at a time, e.g. with Stacked.scan_via(Block.decode)"
            )
        if n > C.size:
            raise ValueError(f"{fn}: {n} new positions are more than the cache size {C}")
        cache.check_room(n, fn)
        length = cache.length
        if positions is None and self.rotary is not None:
            P = x.resolve_axis(self.Pos)
            if length.axes:  # one length per example
                positions = broadcast_to(length, length.axes + (P,)) + arange(P, dtype=jnp.int32)
            else:
                positions = arange(P, start=length.array, dtype=jnp.int32)
        q, k, v = self._project(x, self._positions(positions, x, fn))
        chunk = Axis(C.name, n)
        k, v = k.rename({self.Pos: chunk}), v.rename({self.Pos: chunk})
        missing = [a for a in k.axes if a.name not in cache.k.shape]
        if missing:
            raise ValueError(
                f"{fn}: x has batch axes {[str(a) for a in missing]} that the cache "
                f"{_axes_str(cache.k.axes)} lacks (pass batch=... to init_cache)"
            )
        start = length if length.axes else length.array
        new_k = updated_slice(cache.k, {C.name: start}, k)
        new_v = updated_slice(cache.v, {C.name: start}, v)
        full = AttentionMask.causal(length)
        if mask is not None:
            full = full & mask
        out = self._attend(q, new_k, new_v, C.name, full, key)
        if _concrete(length.array) is None:
            out = where(length + n > C.size, jnp.nan, out)
        new_len = length + jnp.int32(n)
        return self._output(out, x), KVCache(new_k, new_v, new_len, C)
