"""The gradient-overwrite protocol: modules whose "gradient" is their next state.

Public names re-exported by `haliax.quantization`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import equinox as eqx
import jax

__all__ = ["OverwriteWithGradient", "partition_for_grad_overwrite", "apply_updates"]

T = TypeVar("T")


class OverwriteWithGradient(eqx.Module):
    """Marker base class for stateful modules whose cotangent *is* their next state.

    A stateful ``dot_general`` op (such as `haliax.quantization.Fp8DotGeneralOp`) subclasses it. Its custom VJP
    returns, as the "gradient" of each state array, the value that array should hold after the step. The
    training loop therefore splits such subtrees off the gradient with `partition_for_grad_overwrite` and
    installs them with `apply_updates` instead of handing them to the optimizer.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import OverwriteWithGradient, partition_for_grad_overwrite
        >>> class Counter(OverwriteWithGradient):
        ...     count: jnp.ndarray
        >>> overwrites, rest = partition_for_grad_overwrite({"c": Counter(jnp.ones(1)), "w": jnp.ones(2)})
        >>> rest["c"] is None, overwrites["w"] is None
        (True, True)
    """


def _is_overwrite(x: Any) -> bool:
    return isinstance(x, OverwriteWithGradient)


def partition_for_grad_overwrite(grad: T) -> tuple[T, T]:
    """Split a tree into ``(overwrites, rest)`` around its `OverwriteWithGradient` subtrees.

    ``overwrites`` keeps only the `OverwriteWithGradient` subtrees (everything else becomes None) and ``rest``
    has them replaced by None: ``eqx.partition(grad, is_owg, is_leaf=is_owg)``. Apply it to a gradient before
    the optimizer sees it, or to a model to strip the op states before building optimizer state.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import Fp8DotGeneralOp, partition_for_grad_overwrite
        >>> tree = {"op": Fp8DotGeneralOp.init(4), "w": jnp.ones(2)}
        >>> overwrites, rest = partition_for_grad_overwrite(tree)
        >>> type(overwrites["op"]).__name__, overwrites["w"], rest["op"], rest["w"].tolist()
        ('Fp8DotGeneralOp', None, None, [1.0, 1.0])
    """
    overwrites, rest = eqx.partition(grad, _is_overwrite, is_leaf=_is_overwrite)
    return overwrites, rest


def _apply_one(leaf: Any, update: Any, overwrite: Any) -> Any:
    if overwrite is not None:
        return overwrite
    return eqx.apply_updates(leaf, update)


def _is_none_or_overwrite(x: Any) -> bool:
    return x is None or isinstance(x, OverwriteWithGradient)


def apply_updates(tree: T, updates: Any, overwrites: Any) -> T:
    """``tree`` with ``updates`` added and ``overwrites`` installed.

    A `jax.tree_util.tree_map` over ``tree`` whose leaves are its ordinary leaves, its None entries and its
    `OverwriteWithGradient` nodes. Where the matching overwrite is not None it replaces the leaf; otherwise
    the result is ``eqx.apply_updates(leaf, update)``: ``leaf + update``, or ``leaf`` when the update is None.
    ``updates`` and ``overwrites`` are usually the two halves of `partition_for_grad_overwrite`.

    ``tree`` may itself be a gradient, which makes this a gradient accumulator across micro-batches:
    ``acc = apply_updates(acc, grads_mb, overwrites_mb)`` sums the ordinary gradients and keeps the latest op
    states.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import apply_updates
        >>> out = apply_updates({"a": jnp.ones(1), "b": jnp.ones(1)}, {"a": None, "b": jnp.ones(1)},
        ...                     {"a": None, "b": None})
        >>> out["a"].tolist(), out["b"].tolist()
        ([1.0], [2.0])
        >>> apply_updates({"a": jnp.ones(1)}, {"a": jnp.ones(1)}, {"a": jnp.zeros(1)})["a"].tolist()
        [0.0]
    """
    return jax.tree_util.tree_map(_apply_one, tree, updates, overwrites, is_leaf=_is_none_or_overwrite)
