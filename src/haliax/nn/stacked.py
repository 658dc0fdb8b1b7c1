"""`Stacked`: ``Block.size`` copies of a module with their parameters stacked along a ``Block`` axis, run with
`haliax.scan` (re-exported from `haliax.nn.scan` and `haliax.nn`), and the helpers converting state dicts between
its per-layer layout and the stacked one. See ``docs/scan.md``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax.numpy as jnp

from .. import hof
from ..abstract_stacked import AbstractStacked
from ..axis import Axis
from ..checkpoint_policy import ScanCheckpointPolicy, ScanCheckpointSpec
from ..hof import check_carry
from ..partitioning import auto_sharded
from ..state_dict import ModuleWithStateDictSerialization, StateDict, from_state_dict, to_state_dict, with_prefix
from .layer_stack import (
    LayerStack,
    M,
    ModuleInit,
    carry_and_output,
    check_layer_keys,
    layer_index,
    stack_layers,
    take_layer,
)


def _hax(name: str) -> Any:
    """``haliax.<name>`` (``scan``, ``fold``, ``vmap``), looked up on the top-level package at call time.

    Code that intercepts the loop primitive patches ``haliax.scan`` / ``haliax.fold`` (often reached as
    ``haliax.nn.scan.haliax``); looking the name up when `Stacked` runs makes such a patch take effect. A plain
    ``import haliax`` here would be an import cycle (``haliax`` imports ``haliax.nn``, which imports this module),
    so the package is read from `sys.modules`; while it is still initialising (no such attribute yet), the
    function comes from `haliax.hof`.
    """
    fn = getattr(sys.modules.get("haliax"), name, None)
    return fn if fn is not None else getattr(hof, name)


__all__ = ["Stacked", "stack_state_dict", "unstack_state_dict"]


class Stacked(ModuleWithStateDictSerialization, LayerStack[M], AbstractStacked[M]):
    """``Block.size`` copies of a module with their parameters stacked along the ``Block`` axis ("scan over
    layers"): compiled once, whatever the depth.

    Every NamedArray of `stacked` has ``Block`` prepended and every plain array a leading dim of size
    ``Block.size``; non-array fields are shared. Build one with `Stacked.init`, run it with `fold` (carry only)
    or `scan` (carry and per-layer outputs). ``gradient_checkpointing`` (a `ScanCheckpointPolicy`, bool or
    string shorthand) controls what the backward pass stores; the default is no checkpointing. The property
    ``Layers`` is an alias of ``Block``.

    State dicts use PyTorch's ``ModuleList`` layout, ``prefix.{i}.<layer keys>``, identical to `BlockSeq`'s.
    `haliax.tree_util.scan_aware_tree_map` sees the layers one at a time (it knows this class through its base
    `haliax.abstract_stacked.AbstractStacked`).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> E, L = hax.make_axes(E=4, L=3)
        >>> keys = jax.random.split(jax.random.PRNGKey(0), L.size)
        >>> stack = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=keys)
        >>> stack.stacked.layers[0].weight.axes[0] == L
        True
        >>> stack.fold(hax.ones(E)).axes == (E,)
        True
    """

    stacked: M
    Block: Axis = eqx.field(static=True)
    gradient_checkpointing: ScanCheckpointPolicy = eqx.field(
        static=True, default=ScanCheckpointPolicy(disable=True, save_inputs=True, save_block_internals=True)
    )
    _kind = "Stacked"

    @classmethod
    def init(
        cls,
        Block: Axis,
        module: type[M],
        *,
        gradient_checkpointing: ScanCheckpointSpec = False,
        prevent_cse: bool | None = None,
    ) -> ModuleInit[Stacked[M]]:
        """A function building the stack: ``init(Block, Module)(*args, **kwargs)`` calls
        ``haliax.vmap(Module.init, Block)(*args, **kwargs)``.

        So NamedArray arguments containing ``Block`` are split per layer, NamedArrays without it are shared,
        plain arrays are split along dim 0 (``key=jax.random.split(key, Block.size)`` gives one key per layer)
        and Python values are passed unchanged. ``prevent_cse`` is deprecated (use the policy's field).

        Args:
            Block: the axis whose size is the number of layers.
            module: the Equinox Module class of a layer; its ``init`` builds one layer.
            gradient_checkpointing: the checkpointing policy of the scan over the layers: a `ScanCheckpointPolicy` or a
                shorthand (bool, ``"full"``, ``"offload"``, ...).
            prevent_cse: deprecated: set it on the policy instead.

        Raises:
            TypeError: ``Block`` is not an `Axis`, or ``module`` is not an Equinox Module class with an ``init``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=4)
            >>> keys = jax.random.split(jax.random.PRNGKey(0), 4)
            >>> s = hnn.Stacked.init(L, hnn.MLP, gradient_checkpointing="full")(E, E, 4, 1, key=keys)
            >>> s.gradient_checkpointing.save_carries, s.stacked.layers[1].bias.axes == (L, E)
            (False, True)
        """
        make_layer, policy = cls._init_parts(Block, module, gradient_checkpointing, prevent_cse)

        def build(*args: Any, **kwargs: Any) -> Stacked[M]:
            check_layer_keys(kwargs, Block, "Stacked.init")
            return cls(_hax("vmap")(make_layer, Block)(*args, **kwargs), Block, policy)

        return build

    # -- running ---------------------------------------------------------------------------------

    def _loop(self, fn: Callable[..., Any], unroll: int | bool, pair: bool, where: str) -> Callable[..., Any]:
        who = f"{where} (layer {type(self.stacked).__name__}, Block axis {self.Block})"

        def step(carry: Any, layer: M, *args: Any, **kwargs: Any) -> Any:
            out = fn(layer, carry, *args, **kwargs)
            result = carry_and_output(out, where) if pair else out
            # a scan needs the carry to keep its axes and dtypes: name the stack and its layer, not JAX's scan
            check_carry(carry, result[0] if pair else result, who, fn)
            return result

        def do(init: Any, *args: Any, **kwargs: Any) -> Any:
            loop = _hax("scan" if pair else "fold")(step, self.Block, remat=self.gradient_checkpointing, unroll=unroll)
            try:
                return loop(init, self.stacked, *args, **kwargs)
            except ValueError as e:  # name the layer axis in hax.scan's length-mismatch error
                if str(e).startswith("scan got `length`"):
                    raise ValueError(f"{where} over {self.Block}: {e}") from e
                raise

        return do

    def fold(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> Any:
        """Run the layers in order, ``carry = layer(carry, *args, **kwargs)``; return the final carry.

        Extra arguments follow `haliax.scan`'s rule: NamedArrays containing ``Block`` and plain arrays with a
        leading dim (e.g. per-layer keys) are sliced per layer; scalars and NamedArrays without ``Block`` are
        passed to every layer. ``unroll``: None (= 1), a bool or an int >= 1, passed to `jax.lax.scan`.

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per layer or passed whole (see above).
            unroll: None (= 1), a bool or an int >= 1, passed to `jax.lax.scan`.
            **kwargs: extra keyword arguments, sliced per layer or passed whole.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> s.fold(hax.ones(E), unroll=True).shape
            {'E': 2}
        """
        return self.fold_via(type(self.stacked).__call__, unroll=unroll)(init, *args, **kwargs)

    def scan(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> tuple[Any, Any]:
        """Like `fold`, but each layer returns ``(carry, output)``; returns ``(final_carry, outputs)`` with the
        outputs stacked along ``Block`` (prepended).

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per layer or passed whole (as in `fold`).
            unroll: None (= 1), a bool or an int >= 1, passed to `jax.lax.scan`.
            **kwargs: extra keyword arguments, sliced per layer or passed whole.

        Raises:
            ValueError: a layer does not return a pair (e.g. a single NamedArray).

        Examples:
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> import equinox as eqx
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> class Acc(eqx.Module):
            ...     w: hax.NamedArray
            ...     @staticmethod
            ...     def init(E, scale):
            ...         return Acc(hax.ones(E) * scale)
            ...     def __call__(self, x):
            ...         return x + self.w, x.sum()
            >>> s = hnn.Stacked.init(L, Acc)(E, hax.arange(L) * 1.0)
            >>> carry, sums = s.scan(hax.zeros(E))
            >>> carry.tolist(), sums.axes == (L,), sums.tolist()
            ([3.0, 3.0], True, [0.0, 0.0, 2.0])
        """
        return self.scan_via(type(self.stacked).__call__, unroll=unroll)(init, *args, **kwargs)

    def fold_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> carry`` folding with ``fn(layer, carry, *args, **kwargs)`` (e.g. an
        unbound method such as ``Block.intermediate``).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> s.fold_via(lambda mlp, x: x + mlp.layers[1].bias)(hax.ones(E)).tolist()
            [1.0, 1.0]
        """
        return self._via(fn, unroll, pair=False)

    def scan_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> (carry, outputs)`` scanning with ``fn(layer, carry, *args, **kwargs) ->
        (carry, output)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> _, outs = s.scan_via(lambda mlp, x: (mlp(x), x))(hax.ones(E))
            >>> outs.axes == (L, E)
            True
        """
        return self._via(fn, unroll, pair=True)

    def vmap_via(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``(*args, **kwargs) -> outputs``: apply ``fn(layer, *args, **kwargs)`` to every layer independently
        (`haliax.vmap` over ``Block``); outputs get ``Block`` prepended. Arguments follow `haliax.vmap`'s rules
        (NamedArrays without ``Block`` are shared, plain arrays are split along dim 0).

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> s.vmap_via(lambda mlp, x: mlp.layers[1].bias + x)(hax.ones(E)).axes == (L, E)
            True
        """

        def do(*args: Any, **kwargs: Any) -> Any:
            return _hax("vmap")(fn, self.Block)(self.stacked, *args, **kwargs)

        return do

    def vmap(self, *args: Any, **kwargs: Any) -> Any:
        """Apply every layer to the same inputs independently: ``vmap_via(type(stacked).__call__)``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> s.vmap(hax.ones(E)).axes == (L, E)
            True
        """
        return self.vmap_via(type(self.stacked).__call__)(*args, **kwargs)

    # -- layers ----------------------------------------------------------------------------------

    def unstacked(self) -> tuple[M, ...]:
        """The layers as a tuple of separate modules (arrays sliced along ``Block``; other fields shared).

        Raises:
            ValueError: a plain array's leading dim is not ``Block.size``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> layers = s.unstacked()
            >>> len(layers), layers[1].layers[1].bias.axes == (E,)
            (3, True)
        """
        return tuple(
            take_layer(self.stacked, self.Block, i, "strict", "Stacked.unstacked") for i in range(self.Block.size)
        )

    def get_layer(self, index: int) -> M:
        """Layer ``index``; plain arrays whose leading dim is not ``Block.size`` are kept whole.

        Negative indices count from the end, as in Python (``-1`` is the last layer). A concrete index out of
        range raises (Haliax silently clamps it, as JAX indexing does, and returns the first or last layer); a
        traced index (inside ``jit``) cannot be checked and is clamped by JAX.

        Raises:
            haliax.axis.AxisIndexError: a concrete index outside ``-Block.size .. Block.size - 1`` (both an
                ``IndexError`` and a ``ValueError``).
            TypeError: ``index`` is not an integer.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=3)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
            >>> bool((s.get_layer(2).layers[0].weight == s.unstacked()[2].layers[0].weight).all())
            True
        """
        i = layer_index(index, self.Block, "Stacked.get_layer")
        return take_layer(self.stacked, self.Block, i, "match", "Stacked.get_layer")

    # -- state dict ------------------------------------------------------------------------------

    def _state_dict_key_map(self) -> dict[str, str | None]:
        return {"stacked": None}

    def to_state_dict(self, prefix: str | None = None) -> StateDict:
        """Per-layer keys ``prefix.{i}.<layer keys>`` (the ``stacked`` field name does not appear), exactly what
        a `BlockSeq` of the same layers (or a PyTorch ``ModuleList``) produces.

        A block class with its own ``to_state_dict`` (one that overrides `ModuleWithStateDictSerialization`'s)
        is called **once**, on the stacked block (its arrays carry ``Block`` first), and every array it returns
        is split along its leading dim into the per-layer keys; non-array values are repeated for every layer.
        Other blocks are written layer by layer.

        Raises:
            ValueError: a block's own ``to_state_dict`` returned an array whose leading dim is not ``Block.size``.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=2)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 2))
            >>> sorted(s.to_state_dict("h"))[:3]
            ['h.0.layers.0.bias', 'h.0.layers.0.weight', 'h.0.layers.1.bias']
        """
        if has_own_state_dict_method(self.stacked, "to_state_dict"):
            where = f"Stacked.to_state_dict ({type(self.stacked).__name__}.to_state_dict)"
            return _split_layers(to_state_dict(self.stacked, prefix), prefix, self.Block, where)
        out: StateDict = {}
        for i, layer in enumerate(self.unstacked()):
            out.update(to_state_dict(layer, with_prefix(prefix, str(i))))
        return out

    def from_state_dict(self, state_dict: StateDict, prefix: str | None = None) -> Stacked[M]:
        """Load from per-layer keys ``prefix.{i}.…`` (as written by `to_state_dict` or by `BlockSeq`).

        A block class with its own ``from_state_dict`` (one that overrides `ModuleWithStateDictSerialization`'s)
        is called **once**, with the stacked block (its arrays carry ``Block`` first) as ``self`` and a state
        dict in which the per-layer keys ``prefix.{i}.{rest}`` are merged into ``prefix.{rest}``, stacked along a
        new leading dim (see `stack_state_dict`). So a loader that assembles arrays by hand (e.g. stacking
        per-expert weights ``experts.{e}.w1.weight`` of a mixture of experts) puts the expert dim after the layer
        dim, as Haliax (and Levanter's Mixtral loader) expect. Non-array values equal in every layer are passed
        once. Other blocks are loaded layer by layer, each against a shape-only template of one layer, and the
        results stacked, which also handles a `Stacked` nested inside the block correctly.

        Raises:
            ValueError: (own ``from_state_dict``) a key is present for some layers but not others, a layer index is
                given twice (e.g. ``h.1.w`` and ``h.01.w``), or a non-array value differs between layers.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> E, L = hax.make_axes(E=2, L=2)
            >>> s = hnn.Stacked.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 2))
            >>> back = s.from_state_dict(s.to_state_dict("h"), "h")
            >>> bool((back.stacked.layers[0].weight == s.stacked.layers[0].weight).all())
            True
        """
        if has_own_state_dict_method(self.stacked, "from_state_dict"):
            where = f"Stacked.from_state_dict ({type(self.stacked).__name__}.from_state_dict)"
            merged = _merge_layers(state_dict, prefix, self.Block, where)
            # a nested call (this method runs inside the outermost load): the plain walk, which calls the block's
            # own method once with the stacked block as `self`
            stacked = from_state_dict(self.stacked, merged, prefix)
        else:
            template = eqx.filter_eval_shape(lambda s: s.get_layer(0), self)
            layers = [
                from_state_dict(template, state_dict, with_prefix(prefix, str(i))) for i in range(self.Block.size)
            ]
            stacked = stack_layers(layers, self.Block, "Stacked.from_state_dict")
        return dataclasses.replace(self, stacked=auto_sharded(stacked))


# --------------------------------------------------------------------------------------------------
# state-dict helpers (also reachable as `haliax.nn.scan._stack_state_dict` / `_unstack_state_dict`, Haliax's
# names)


def has_own_state_dict_method(block: Any, name: str) -> bool:
    """True iff ``block``'s class defines its own ``name`` (``"to_state_dict"`` or ``"from_state_dict"``)
    rather than inheriting `ModuleWithStateDictSerialization`'s default (or having none). A layer stack used
    directly as the block (a `Stacked` of `Stacked`) does not count: it is handled layer by layer.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.nn.stacked import has_own_state_dict_method
        >>> has_own_state_dict_method(hnn.LayerNorm.init(hax.Axis("D", 2)), "from_state_dict")
        False
    """
    if isinstance(block, LayerStack):
        return False
    method = getattr(type(block), name, None)
    return callable(method) and method is not getattr(ModuleWithStateDictSerialization, name)


class _DuplicateLayerError(ValueError, AssertionError):
    pass


def _key(prefix: str | None, rest: str) -> str:
    return rest if prefix is None else f"{prefix}.{rest}"


def _group_layers(
    state_dict: StateDict, prefix: str | None, where: str, limit: int | None = None
) -> tuple[StateDict, dict[str, dict[int, Any]]]:
    """Split ``state_dict`` into the keys that pass through and, for every ``rest``, the values of the per-layer
    keys ``{prefix}.{i}.{rest}`` by layer index ``i`` (only ``i < limit`` when a limit is given)."""
    pattern = re.compile(r"^(\d+)\.(.*)$" if prefix is None else rf"^{re.escape(prefix)}\.(\d+)\.(.*)$")
    groups: dict[str, dict[int, Any]] = {}
    out: StateDict = {}
    for k, v in state_dict.items():
        m = pattern.match(k)
        if m is None or (limit is not None and int(m.group(1)) >= limit):
            out[k] = v
            continue
        i, rest = int(m.group(1)), m.group(2)
        layers = groups.setdefault(rest, {})
        if i in layers:
            raise _DuplicateLayerError(f"{where}: layer index {i} appears twice for key {rest!r} (at {k!r})")
        layers[i] = v
    return out, groups


def _merge_layers(state_dict: StateDict, prefix: str | None, Block: Axis, where: str) -> StateDict:
    """`stack_state_dict` for layers ``0 … Block.size - 1``, keeping non-array values that every layer shares
    as one value (a stacked module holds them once). Keys of layers beyond the stack pass through unused."""
    out, groups = _group_layers(state_dict, prefix, where, Block.size)
    for rest, layers in groups.items():
        missing = [i for i in range(Block.size) if i not in layers]
        if missing:
            raise ValueError(
                f"{where}: key {_key(prefix, '{i}.' + rest)!r} is given for layers {sorted(layers)} but missing for "
                f"layers {missing} of the Block axis {Block}"
            )
        values = [layers[i] for i in range(Block.size)]
        if not any(hasattr(v, "shape") for v in values):
            if any(v != values[0] for v in values[1:]):
                raise ValueError(
                    f"{where}: the non-array value of {_key(prefix, '{i}.' + rest)!r} differs between layers "
                    f"({values}); a stacked module holds one value for every layer"
                )
            out[_key(prefix, rest)] = values[0]
            continue
        out[_key(prefix, rest)] = jnp.stack([jnp.asarray(v) for v in values], axis=0)
    return out


def _split_layers(state_dict: StateDict, prefix: str | None, Block: Axis, where: str) -> StateDict:
    """The inverse of `_merge_layers`: arrays under ``prefix`` split along their leading (``Block``) dim into
    ``{prefix}.{i}.{rest}``, layer by layer; other values under ``prefix`` repeated for every layer; keys
    outside ``prefix`` passed through."""
    per_layer: list[StateDict] = [{} for _ in range(Block.size)]
    out: StateDict = {}
    for k, v in state_dict.items():
        if prefix is None or k.startswith(prefix + "."):
            rest: str | None = k if prefix is None else k[len(prefix) + 1 :]
        elif k == prefix:
            rest = None
        else:
            out[k] = v
            continue
        is_array = hasattr(v, "shape") and hasattr(v, "dtype") and len(v.shape) >= 1
        if is_array and v.shape[0] != Block.size:
            raise ValueError(
                f"{where}: the value of key {k!r} has shape {tuple(v.shape)}, whose leading dim is not the Block axis "
                f"{Block}; a block's own to_state_dict, called on the stacked block, must keep the layer dim first"
            )
        for i in range(Block.size):
            per_layer[i][_key(prefix, str(i) if rest is None else f"{i}.{rest}")] = v[i] if is_array else v
    for layer in per_layer:
        out.update(layer)
    return out


def stack_state_dict(state_dict: StateDict, prefix: str | None = None) -> StateDict:
    """Merge per-layer keys ``{prefix}.{i}.{rest}`` into ``{prefix}.{rest}`` holding ``jnp.stack`` of the values
    in layer order (dtypes promote, e.g. int and float layers give float). Other keys pass through.

    Raises:
        ValueError: a layer index appears twice (also an ``AssertionError``, as in Haliax) or an index is
            missing (the layers must be ``0 … n-1``).

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.nn.stacked import stack_state_dict
        >>> sd = stack_state_dict({"h.0.w": jnp.ones(2), "h.1.w": jnp.zeros(2), "other": 1}, "h")
        >>> sorted(sd), sd["h.w"].shape
        (['h.w', 'other'], (2, 2))
    """
    out, groups = _group_layers(state_dict, prefix, "_stack_state_dict")
    for rest, layers in groups.items():
        if sorted(layers) != list(range(len(layers))):
            raise ValueError(
                f"_stack_state_dict: key {rest!r} under prefix {prefix!r} has layers {sorted(layers)}, expected 0..n-1"
            )
        out[_key(prefix, rest)] = jnp.stack([jnp.asarray(layers[i]) for i in range(len(layers))], axis=0)
    return out


def unstack_state_dict(state_dict: StateDict, prefix: str | None = None) -> StateDict:
    """Split every array under ``prefix.`` (every key if ``prefix`` is None) along dim 0 into per-layer keys
    ``{prefix}.{i}.{rest}``. Other keys (and non-array or 0-d values) pass through.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.nn.stacked import unstack_state_dict
        >>> sorted(unstack_state_dict({"h.w": jnp.ones((2, 3)), "x": jnp.ones(1)}, "h"))
        ['h.0.w', 'h.1.w', 'x']
    """
    out: StateDict = {}
    for k, v in state_dict.items():
        under = prefix is None or k.startswith(prefix + ".")
        if not under or not (hasattr(v, "shape") and len(v.shape) >= 1):
            out[k] = v
            continue
        rest = k if prefix is None else k[len(prefix) + 1 :]
        for i in range(v.shape[0]):
            out[_key(prefix, f"{i}.{rest}")] = v[i]
    return out
