"""What `Stacked` (``scan.py``) and `BlockSeq` (``_blockseq.py``) share: the private base class `_LayerStack`
(the ``Layers`` alias, the ``init`` argument checks and checkpoint-policy conversion, the ``unroll`` validation of
``fold_via``/``scan_via``) and the pytree helpers that slice one layer out of a tree or stack layers into one.
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checkpoint import ScanCheckpointPolicy, ScanCheckpointSpec
from ..axis import Axis
from ..core import NamedArray, is_named_array

M = TypeVar("M", bound=eqx.Module)


def _policy(gradient_checkpointing: ScanCheckpointSpec, prevent_cse: bool | None, where: str) -> ScanCheckpointPolicy:
    policy = ScanCheckpointPolicy.from_bool_or_str(gradient_checkpointing)
    if prevent_cse is not None:
        warnings.warn(
            f"{where}: prevent_cse is deprecated; pass a ScanCheckpointPolicy(prevent_cse=...) instead",
            DeprecationWarning,
            stacklevel=4,
        )
        policy = dataclasses.replace(policy, prevent_cse=prevent_cse)
    return policy


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


def _pair(out: Any, where: str) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise ValueError(
            f"{where} expects the block to return a pair of (carry, extra), got {type(out).__name__}"
            + (f" with axes {out.axes}" if isinstance(out, NamedArray) else "")
        )
    return out[0], out[1]


def _take(x: Any, Block: Axis, i: Any, plain: str, where: str) -> Any:
    """Layer ``i`` of one leaf: NamedArrays with ``Block`` are indexed along it; plain arrays with ndim >= 1 are
    indexed along dim 0 if their leading dim is ``Block.size``, otherwise kept (``plain="match"``) or rejected
    (``plain="strict"``); everything else is kept."""
    if isinstance(x, NamedArray):
        idx = {a.name: k for k, a in enumerate(x.axes)}.get(Block.name)
        if idx is None or x.array is None:
            return x
        if x.axes[idx].size != Block.size:
            raise ValueError(f"{where}: an array has axis {x.axes[idx]} but the layer axis is {Block}")
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


def _take_layer(tree: Any, Block: Axis, i: Any, plain: str, where: str) -> Any:
    return jax.tree_util.tree_map(lambda x: _take(x, Block, i, plain, where), tree, is_leaf=is_named_array)


def _layer_args(args: Any, kwargs: Any, Block: Axis, where: str) -> list[tuple[Any, Any]]:
    """``(args_i, kwargs_i)`` for every layer ``i``, sliced as `haliax.vmap` slices them (strictly)."""
    return [_take_layer((args, kwargs), Block, i, "strict", where) for i in range(Block.size)]


def _stack_layers(items: Sequence[Any], Block: Axis, where: str) -> Any:
    """Stack a list of same-structured trees along a new leading Block axis; non-array leaves must agree."""
    flat = [jax.tree_util.tree_flatten(t, is_leaf=is_named_array) for t in items]
    treedef = flat[0][1]
    for k, (_, td) in enumerate(flat):
        if td != treedef:
            raise ValueError(f"{where}: layer {k} returned a different structure than layer 0: {td} vs {treedef}")
    out = []
    for leaves in zip(*(f[0] for f in flat), strict=True):
        first = leaves[0]
        if isinstance(first, NamedArray):
            from ..ops.shape import stack

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


class _LayerStack(Generic[M]):
    """Mixin of `Stacked` and `BlockSeq` (next to `ModuleWithStateDictSerialization`). A plain class, not a
    Module, so that it adds no dataclass fields: the subclasses declare theirs (the order is public: the layers,
    then ``Block``, then ``gradient_checkpointing``), set ``_kind`` (the class name used in error messages) and
    implement `_loop`; their public methods keep their own docstrings and call the helpers here."""

    Block: Axis
    gradient_checkpointing: ScanCheckpointPolicy
    _kind: ClassVar[str]

    @property
    def Layers(self) -> Axis:
        """Alias of `Block`."""
        return self.Block

    @classmethod
    def _init_parts(
        cls, module: type[M], gradient_checkpointing: ScanCheckpointSpec, prevent_cse: bool | None
    ) -> tuple[Callable[..., M], ScanCheckpointPolicy]:
        """``init``'s checks: the block class's ``init`` and the checkpoint policy (warning on ``prevent_cse``)."""
        where = f"{cls._kind}.init"
        return _block_init(module, where), _policy(gradient_checkpointing, prevent_cse, where)

    def _via(self, fn: Callable[..., Any], unroll: int | bool | None, pair: bool) -> Callable[..., Any]:
        """``fold_via`` (``pair=False``) / ``scan_via`` (``pair=True``): validate ``unroll``, then `_loop`."""
        where = f"{self._kind}.{'scan' if pair else 'fold'}"
        return self._loop(fn, _check_unroll(unroll, where), pair, where)

    @abc.abstractmethod
    def _loop(self, fn: Callable[..., Any], unroll: int | bool, pair: bool, where: str) -> Callable[..., Any]:
        """``(init, *args, **kwargs) -> carry`` (or ``(carry, stacked outputs)`` if ``pair``) running
        ``fn(layer, carry, *args_i, **kwargs_i)`` over the layers; ``where`` prefixes error messages."""
