"""What `haliax.nn.Stacked` (``stacked.py``) and `haliax.nn.BlockSeq` (``blockseq.py``) share.

* the interface: `BlockFoldable` (the protocol both implement) and `ModuleInit` (what their ``init`` returns);
* the mixin `LayerStack` (the ``Layers`` alias, the ``init`` argument checks and checkpoint-policy conversion,
  the ``unroll`` validation of ``fold_via``/``scan_via``);
* pytree helpers that slice one layer out of a tree (`take_layer`, `layer_args`), stack layers into one
  (`stack_layers`), check a block's ``(carry, output)`` result (`carry_and_output`) and a layer index
  (`layer_index`).
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import Axis, AxisIndexError, axis_size_mismatch_error, lookup_axis
from ..checkpoint_policy import ScanCheckpointPolicy, ScanCheckpointSpec
from ..core import NamedArray, is_named_array
from ..ops.shape import stack

__all__ = [
    "M",
    "ModuleInit",
    "BlockFoldable",
    "LayerStack",
    "carry_and_output",
    "layer_index",
    "take_layer",
    "layer_args",
    "stack_layers",
]

M = TypeVar("M", bound=eqx.Module)
"""The layer type of a stack (an Equinox Module)."""

M_co = TypeVar("M_co", covariant=True)


class ModuleInit(Protocol[M_co]):
    """What `Stacked.init` / `BlockSeq.init` return: a function ``(*args, **kwargs) -> module`` that forwards its
    arguments to the block class's ``init`` (per layer).

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> E, L = hax.make_axes(E=2, L=3)
        >>> make: hnn.scan.ModuleInit = hnn.Stacked.init(L, hnn.MLP)
        >>> make(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3)).Block == L
        True
    """

    def __call__(self, *args: Any, **kwargs: Any) -> M_co: ...


@runtime_checkable
class BlockFoldable(Protocol[M_co]):
    """The interface shared by `Stacked` and `BlockSeq`: a sequence of ``Block.size`` layers.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> E, L = hax.make_axes(E=2, L=3)
        >>> keys = jax.random.split(jax.random.PRNGKey(0), 3)
        >>> isinstance(hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=keys), hnn.scan.BlockFoldable)
        True
    """

    Block: Axis

    def fold(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> Any:
        """Run the layers in order, ``carry = layer(carry, *args, **kwargs)``, and return the final carry.

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per layer (see `Stacked.fold`).
            unroll: how many layers to unroll per loop iteration (implementations may ignore it).
            **kwargs: extra keyword arguments, sliced per layer.
        """
        ...

    def scan(self, init: Any, *args: Any, unroll: int | bool | None = None, **kwargs: Any) -> tuple[Any, Any]:
        """Like `fold`, but each layer returns ``(carry, output)``; the outputs are stacked along ``Block``.

        Args:
            init: the initial carry.
            *args: extra positional arguments, sliced per layer (see `Stacked.fold`).
            unroll: how many layers to unroll per loop iteration (implementations may ignore it).
            **kwargs: extra keyword arguments, sliced per layer.
        """
        ...

    def fold_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]: ...

    def scan_via(self, fn: Callable[..., Any], *, unroll: int | bool | None = None) -> Callable[..., Any]: ...

    def vmap_via(self, fn: Callable[..., Any]) -> Callable[..., Any]: ...

    def unstacked(self) -> Sequence[M_co]: ...

    def get_layer(self, index: int) -> M_co: ...


def _policy(gradient_checkpointing: ScanCheckpointSpec, prevent_cse: bool | None, where: str) -> ScanCheckpointPolicy:
    try:
        policy = ScanCheckpointPolicy.from_bool_or_str(gradient_checkpointing)
    except ValueError as e:  # name the caller and the argument; keep the policy's own wording
        raise ValueError(f"{where}: argument 'gradient_checkpointing': {e}") from None
    if prevent_cse is not None:
        warnings.warn(
            f"{where}: prevent_cse is deprecated; pass a ScanCheckpointPolicy(prevent_cse=...) instead",
            DeprecationWarning,
            stacklevel=4,
        )
        policy = dataclasses.replace(policy, prevent_cse=prevent_cse)
    return policy


def _check_block_axis(Block: Any, where: str) -> None:
    if not isinstance(Block, Axis):
        hint = f" (a name alone has no size: pass haliax.Axis({Block!r}, n_layers))" if isinstance(Block, str) else ""
        raise TypeError(
            f"{where}: argument 'Block' must be a haliax.Axis giving the number of layers, got {Block!r} of type "
            f"{type(Block).__name__}{hint}"
        )


def _block_init(module: Any, where: str) -> Callable[..., Any]:
    """``module.init``, after checking that ``module`` is an Equinox Module class that has one."""
    if not (isinstance(module, type) and issubclass(module, eqx.Module)):
        raise TypeError(f"{where}: the block must be an equinox.Module subclass with an `init` method, got {module!r}")
    init = getattr(module, "init", None)
    if not callable(init):
        raise TypeError(
            f"{where}: the block class {module.__name__} has no `init` method (a static/class method building one "
            "layer, e.g. `init(..., *, key)`)"
        )
    return init


def _check_unroll(unroll: int | bool | None, where: str) -> int | bool:
    if unroll is None:
        return 1
    if isinstance(unroll, bool):
        return unroll
    if not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"{where}: unroll must be None, a bool or an int >= 1, got {unroll!r}")
    return unroll


def carry_and_output(out: Any, where: str) -> tuple[Any, Any]:
    """A block's result as ``(carry, output)``, or a ValueError (prefixed with ``where``) if it is not a pair.

    Raises:
        ValueError: ``out`` is not a tuple or list of length 2.

    Examples:
        >>> from haliax.nn.layer_stack import carry_and_output
        >>> carry_and_output([1, 2], "Stacked.scan")
        (1, 2)
        >>> carry_and_output(1, "Stacked.scan")
        Traceback (most recent call last):
        ValueError: Stacked.scan expects the block to return a pair of (carry, extra), got int
    """
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ValueError(
            f"{where} expects the block to return a pair of (carry, extra), got {type(out).__name__}"
            + (f" with axes {out.axes}" if isinstance(out, NamedArray) else "")
        )
    return out[0], out[1]


def layer_index(index: Any, Block: Axis, where: str) -> Any:
    """``index`` as a non-negative layer number if it is concrete (negative indices count from the end, as in
    Python); a traced index is returned unchanged (it cannot be checked).

    Raises:
        AxisIndexError: a concrete index outside ``-Block.size .. Block.size - 1`` (an ``IndexError`` and a
            ``ValueError``).
        TypeError: ``index`` is not an integer.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.layer_stack import layer_index
        >>> layer_index(-1, hax.Axis("L", 4), "demo")
        3
        >>> layer_index(4, hax.Axis("L", 4), "demo")
        Traceback (most recent call last):
        haliax.axis.AxisIndexError: demo: index 4 is out of bounds for the Block axis L with size 4 (valid: -4 to 3)
    """
    if isinstance(index, Tracer):
        if not jnp.issubdtype(index.dtype, jnp.integer) or index.shape != ():
            raise TypeError(f"{where}: argument 'index' must be an integer scalar, got a traced {index.aval}")
        return index
    if isinstance(index, bool) or not (
        isinstance(index, (int, np.integer))
        or (hasattr(index, "dtype") and np.shape(index) == () and jnp.issubdtype(index.dtype, jnp.integer))
    ):
        raise TypeError(f"{where}: argument 'index' must be an integer, got {index!r} of type {type(index).__name__}")
    i = int(index)
    n = Block.size
    if not -n <= i < n:
        raise AxisIndexError(
            f"{where}: index {i} is out of bounds for the Block axis {Block.name} with size {n} (valid: {-n} to {n - 1})"
        )
    return i % n


def _take(x: Any, Block: Axis, i: Any, plain: str, where: str) -> Any:
    """Layer ``i`` of one leaf: NamedArrays with ``Block`` are indexed along it; plain arrays with ndim >= 1 are
    indexed along dim 0 if their leading dim is ``Block.size``, otherwise kept (``plain="match"``) or rejected
    (``plain="strict"``); everything else is kept."""
    if isinstance(x, NamedArray):
        idx = lookup_axis(x.axes, Block.name, where, None)
        if idx is None or x.array is None:
            return x
        if x.axes[idx].size != Block.size:  # the layer axis selects the axis to index along
            raise axis_size_mismatch_error(Block, x.axes[idx], x.axes, where)
        return NamedArray(x.array[(slice(None),) * idx + (i,)], x.axes[:idx] + x.axes[idx + 1 :])
    if hasattr(x, "shape") and hasattr(x, "dtype") and len(x.shape) >= 1:
        if x.shape[0] == Block.size:
            return x[i]
        if plain == "strict":
            raise ValueError(
                f"{where}: a plain array of shape {tuple(x.shape)} has leading dim {x.shape[0]}, but the layer axis is "
                f"{Block}; per-layer arrays need a leading dim of {Block.size} (or use a 0-d array / NamedArray "
                "without the layer axis to share a value)"
            )
    return x


def take_layer(tree: Any, Block: Axis, i: Any, plain: str, where: str) -> Any:
    """Layer ``i`` (an int or a traced index) of every leaf of ``tree``: NamedArrays with ``Block`` are indexed
    along it; plain arrays with ndim >= 1 along dim 0 if their leading dim is ``Block.size``, otherwise kept
    (``plain="match"``) or rejected (``plain="strict"``); every other leaf is kept.

    Args:
        tree: a pytree (NamedArrays are leaves).
        Block: the layer axis.
        i: the layer index.
        plain: ``"match"`` or ``"strict"``, the rule for plain arrays whose leading dim is not ``Block.size``.
        where: prefix of error messages (e.g. ``"Stacked.unstacked"``).

    Raises:
        ValueError: a NamedArray has an axis named like ``Block`` of another size, or (``plain="strict"``) a plain
            array's leading dim is not ``Block.size``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.nn.layer_stack import take_layer
        >>> L, E = hax.make_axes(L=3, E=2)
        >>> out = take_layer({"w": hax.ones((L, E)), "k": jnp.arange(3), "n": 7}, L, 1, "strict", "demo")
        >>> out["w"].axes == (E,), int(out["k"]), out["n"]
        (True, 1, 7)
    """
    return jax.tree_util.tree_map(lambda x: _take(x, Block, i, plain, where), tree, is_leaf=is_named_array)


def check_layer_keys(kwargs: Any, Block: Axis, where: str) -> None:
    """Raise if ``key=`` (when given) is not one PRNG key per layer: a single key, or a batch of another size,
    would otherwise fail inside ``vmap`` with a message naming neither ``init`` nor ``key=``."""
    key = kwargs.get("key")
    if key is None or isinstance(key, NamedArray):
        return
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is None or shape is None:
        return
    typed = jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    single = (typed and tuple(shape) == ()) or (not typed and dtype == jnp.uint32 and len(shape) == 1)
    fix = f"pass key=jax.random.split(key, {Block.size})"
    if single:
        raise ValueError(
            f"{where}: key= is a single PRNG key, but each of the {Block.size} layers of {Block} needs its own; {fix}"
        )
    if (typed or dtype == jnp.uint32) and len(shape) >= 1 and shape[0] != Block.size:
        raise ValueError(f"{where}: key= holds {shape[0]} keys, but {Block} has {Block.size} layers; {fix}")


def layer_args(args: Any, kwargs: Any, Block: Axis, where: str) -> list[tuple[Any, Any]]:
    """``(args_i, kwargs_i)`` for every layer ``i``, sliced as `haliax.vmap` slices them (`take_layer`, strictly).

    Args:
        args: the positional arguments (a tuple).
        kwargs: the keyword arguments (a dict).
        Block: the layer axis.
        where: the name of the caller, used in error messages.

    Raises:
        ValueError: a plain array's leading dim is not ``Block.size`` (see `take_layer`).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> from haliax.nn.layer_stack import layer_args
        >>> L = hax.Axis("L", 2)
        >>> [(int(a[0]), kw["s"]) for a, kw in layer_args((jnp.arange(2),), {"s": 1.0}, L, "demo")]
        [(0, 1.0), (1, 1.0)]
    """
    return [take_layer((args, kwargs), Block, i, "strict", where) for i in range(Block.size)]


def stack_layers(items: Sequence[Any], Block: Axis, where: str) -> Any:
    """Stack a list of same-structured trees along a new leading ``Block`` axis (NamedArrays get ``Block``
    prepended, plain arrays a leading dim); non-array leaves must agree and are kept once.

    Raises:
        ValueError: two trees have different structures, or a non-array value differs between them.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.layer_stack import stack_layers
        >>> L, E = hax.make_axes(L=2, E=3)
        >>> out = stack_layers([{"w": hax.ones(E), "n": 1}, {"w": hax.zeros(E), "n": 1}], L, "demo")
        >>> out["w"].axes == (L, E), out["n"]
        (True, 1)
    """
    flat = [jax.tree_util.tree_flatten(t, is_leaf=is_named_array) for t in items]
    treedef = flat[0][1]
    for k, (_, td) in enumerate(flat):
        if td != treedef:
            raise ValueError(f"{where}: layer {k} returned a different structure than layer 0: {td} vs {treedef}")
    out = []
    for leaves in zip(*(f[0] for f in flat), strict=True):
        first = leaves[0]
        if isinstance(first, NamedArray):
            out.append(stack(Block, leaves))
        elif hasattr(first, "shape") and hasattr(first, "dtype"):
            out.append(jnp.stack(leaves))
        else:
            if isinstance(first, (bool, int, float, str)) and any(x != first for x in leaves[1:]):
                raise ValueError(
                    f"{where}: a non-array value differs between layers ({list(leaves)}); it cannot be stacked"
                )
            out.append(first)
    return jax.tree_util.tree_unflatten(treedef, out)


class LayerStack(Generic[M]):
    """Mixin of `Stacked` and `BlockSeq` (next to `ModuleWithStateDictSerialization`). A plain class, not a
    Module, so that it adds no dataclass fields: the subclasses declare theirs (the order is public: the layers,
    then ``Block``, then ``gradient_checkpointing``), set ``_kind`` (the class name used in error messages) and
    implement ``_loop``; their public methods keep their own docstrings and call the helpers here.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.nn.layer_stack import LayerStack
        >>> E, L = hax.make_axes(E=2, L=3)
        >>> seq = hnn.BlockSeq.init(L, hnn.MLP)(E, E, 4, 1, key=jax.random.split(jax.random.PRNGKey(0), 3))
        >>> isinstance(seq, LayerStack), seq.Layers == L
        (True, True)
    """

    Block: Axis
    gradient_checkpointing: ScanCheckpointPolicy
    _kind: ClassVar[str]

    @property
    def Layers(self) -> Axis:
        """Alias of `Block`."""
        return self.Block

    @classmethod
    def _init_parts(
        cls, Block: Any, module: type[M], gradient_checkpointing: ScanCheckpointSpec, prevent_cse: bool | None
    ) -> tuple[Callable[..., M], ScanCheckpointPolicy]:
        """``init``'s checks: the layer axis, the block class's ``init`` and the checkpoint policy (warning on
        ``prevent_cse``)."""
        where = f"{cls._kind}.init"
        _check_block_axis(Block, where)
        return _block_init(module, where), _policy(gradient_checkpointing, prevent_cse, where)

    def _via(self, fn: Callable[..., Any], unroll: int | bool | None, pair: bool) -> Callable[..., Any]:
        """``fold_via`` (``pair=False``) / ``scan_via`` (``pair=True``): validate ``unroll``, then `_loop`."""
        where = f"{self._kind}.{'scan' if pair else 'fold'}"
        if not callable(fn):  # otherwise "'int' object is not callable" from inside the loop
            raise TypeError(
                f"{self._kind}.{'scan' if pair else 'fold'}_via: argument 'fn' must be callable, got {fn!r}"
            )
        return self._loop(fn, _check_unroll(unroll, where), pair, where)

    @abc.abstractmethod
    def _loop(self, fn: Callable[..., Any], unroll: int | bool, pair: bool, where: str) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> carry`` (or ``(carry, stacked outputs)`` if ``pair``) running
        ``fn(layer, carry, *args_i, **kwargs_i)`` over the layers; ``where`` prefixes error messages."""
