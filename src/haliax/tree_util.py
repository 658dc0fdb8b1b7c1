"""Pytree helpers that treat NamedArrays as leaves, a scan-aware tree map, and ``resize_axis``.

`jax.tree_util` would descend into a NamedArray (its one child is the raw array) and lose the axis names;
every function here treats a NamedArray as a leaf in addition to the caller's ``is_leaf``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from .abstract_stacked import AbstractStacked
from .axis import Axis, AxisSelector, axis_not_found_error, closest_name, lookup_axis
from .core import NamedArray, is_named_array
from .hof import vmap
from .jax_utils import maybe_rng_split

__all__ = [
    "tree_map",
    "scan_aware_tree_map",
    "tree_flatten",
    "tree_leaves",
    "tree_structure",
    "tree_unflatten",
    "resize_axis",
    "hashable_partition",
    "hashable_combine",
]

IsLeaf = Callable[[Any], bool] | None


def _named_or(is_leaf: IsLeaf) -> Callable[[Any], bool]:
    """``is_leaf`` that also stops at NamedArrays. (The user predicate is called, never this function itself:
    Haliax's version calls itself and recurses forever when given a custom ``is_leaf``.)"""
    if is_leaf is None:
        return is_named_array

    def pred(x: Any) -> bool:
        return isinstance(x, NamedArray) or bool(is_leaf(x))

    return pred


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any, is_leaf: IsLeaf = None) -> Any:
    """`jax.tree.map` with NamedArrays treated as leaves (in addition to ``is_leaf``).

    Args:
        fn: the function applied to the leaves (with the matching leaves of ``rest``).
        tree: the pytree.
        *rest: further pytrees with the structure of ``tree``.
        is_leaf: an optional predicate marking further leaves (NamedArrays are always leaves).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> out = hax.tree_util.tree_map(lambda a: a.sum(), {"w": hax.ones(X)})
        >>> float(out["w"].array)
        3.0
    """
    return jax.tree.map(fn, tree, *rest, is_leaf=_named_or(is_leaf))


def scan_aware_tree_map(fn: Callable[..., Any], tree: Any, *rest: Any, is_leaf: IsLeaf = None) -> Any:
    """Like `tree_map`, but when it meets a stack of layers (a `haliax.abstract_stacked.AbstractStacked`, such as
    `haliax.nn.Stacked`) it maps over the stacked module under `haliax.vmap` over its ``Block`` axis, so ``fn``
    sees one layer at a time (without the Block axis).

    Args:
        fn: the function applied to the leaves (with the matching leaves of ``rest``).
        tree: the pytree.
        *rest: further pytrees with the structure of ``tree``.
        is_leaf: an optional predicate marking further leaves (NamedArrays are always leaves).

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 3)
        >>> hax.tree_util.scan_aware_tree_map(lambda a: a * 2, [hax.ones(X)])[0].tolist()
        [2.0, 2.0, 2.0]
    """
    base_leaf = _named_or(is_leaf)

    def leaf(x: Any) -> bool:
        return isinstance(x, AbstractStacked) or base_leaf(x)

    def apply(x: Any, *xs: Any) -> Any:
        if isinstance(x, AbstractStacked):

            def per_layer(inner: Any, *inner_rest: Any) -> Any:
                return scan_aware_tree_map(fn, inner, *inner_rest, is_leaf=is_leaf)

            new_inner = vmap(per_layer, x.Block)(x.stacked, *[r.stacked for r in xs])
            return eqx.tree_at(lambda s: s.stacked, x, new_inner)
        return fn(x, *xs)

    return jax.tree.map(apply, tree, *rest, is_leaf=leaf)


def tree_flatten(tree: Any, is_leaf: IsLeaf = None) -> tuple[list[Any], Any]:
    """`jax.tree_util.tree_flatten` with NamedArrays as leaves.

    A custom ``is_leaf`` works (in Haliax it recurses forever).

    Examples:
        >>> import haliax as hax
        >>> leaves, treedef = hax.tree_util.tree_flatten({"a": hax.zeros(hax.Axis("X", 2)), "b": (1, 2)},
        ...                                              is_leaf=lambda x: isinstance(x, tuple))
        >>> len(leaves)
        2
    """
    return jax.tree_util.tree_flatten(tree, is_leaf=_named_or(is_leaf))


def tree_leaves(tree: Any, is_leaf: IsLeaf = None) -> list[Any]:
    """`jax.tree_util.tree_leaves` with NamedArrays as leaves (a custom ``is_leaf`` works, unlike in Haliax).

    Examples:
        >>> import haliax as hax
        >>> [type(x).__name__ for x in hax.tree_util.tree_leaves([hax.zeros(hax.Axis("X", 2)), 1.0])]
        ['NamedArray', 'float']
    """
    return jax.tree_util.tree_leaves(tree, is_leaf=_named_or(is_leaf))


def tree_structure(tree: Any, is_leaf: IsLeaf = None) -> Any:
    """`jax.tree_util.tree_structure` with NamedArrays as leaves (a custom ``is_leaf`` works, unlike in Haliax).

    Examples:
        >>> import haliax as hax
        >>> hax.tree_util.tree_structure([hax.zeros(hax.Axis("X", 2)), 1.0]).num_leaves
        2
    """
    return jax.tree_util.tree_structure(tree, is_leaf=_named_or(is_leaf))


def tree_unflatten(treedef: Any, leaves: Any) -> Any:
    """`jax.tree_util.tree_unflatten`: the inverse of `tree_flatten`.

    Examples:
        >>> import haliax as hax
        >>> leaves, treedef = hax.tree_util.tree_flatten([hax.zeros(hax.Axis("X", 2)), 1.0])
        >>> hax.tree_util.tree_unflatten(treedef, leaves)[1]
        1.0
    """
    return jax.tree_util.tree_unflatten(treedef, leaves)


def _resize_one(x: NamedArray, i: int, new_size: int, key: Any) -> NamedArray:
    old = x.axes[i]
    new_axes = x.axes[:i] + (old.resize(new_size),) + x.axes[i + 1 :]
    if new_size == old.size:
        return x
    if new_size < old.size:
        return NamedArray(jax.lax.slice_in_dim(x.array, 0, new_size, axis=i), new_axes)
    compute = jnp.promote_types(x.dtype, jnp.float32)
    arr = x.array.astype(compute)
    mean = jnp.mean(arr, axis=i, keepdims=True)
    extra_shape = tuple(new_size - old.size if j == i else s for j, s in enumerate(arr.shape))
    if key is None:
        rows = jnp.broadcast_to(mean, extra_shape)
    else:
        std = jnp.std(arr, axis=i, keepdims=True)
        rows = jax.random.truncated_normal(key, -2, 2, extra_shape, dtype=compute) * std + mean
    return NamedArray(jnp.concatenate([x.array, rows.astype(x.dtype)], axis=i), new_axes)


def resize_axis(tree: Any, axis: AxisSelector, new_size: int, key: Any = None) -> Any:
    """Resize axis ``axis`` (matched by name) to ``new_size`` in every NamedArray of ``tree`` that has it.

    Shrinking keeps the first ``new_size`` entries. Growing appends entries: with a ``key``, ``tn(-2, 2) * std + mean``
    where ``tn`` is a truncated standard normal and the mean/std are taken along ``axis`` (one value per position of
    the other axes); without a key, every new entry equals that mean. Statistics are computed in at least float32 and
    cast back. Arrays without the axis and non-NamedArray leaves are untouched. The key is split once per leaf.
    When no array has the axis but one has a similar name (a typo), it raises the "axis not found ... Did you
    mean" ``ValueError`` (Haliax returns the tree unchanged).

    Args:
        tree: a pytree of NamedArrays (and other leaves).
        axis: the axis to resize, matched by name.
        new_size: the new size.
        key: a PRNG key for random new entries (None: new entries are the mean).

    Examples:
        >>> import jax.numpy as jnp
        >>> import haliax as hax
        >>> V, E = hax.make_axes(V=2, E=2)
        >>> w = hax.named(jnp.array([[1.0, 2.0], [3.0, 4.0]]), (V, E))
        >>> hax.tree_util.resize_axis(w, "V", 3).array.tolist()
        [[1.0, 2.0], [3.0, 4.0], [2.0, 3.0]]
    """
    name = axis.name if isinstance(axis, Axis) else axis
    if not isinstance(name, str):
        raise TypeError(f"resize_axis: argument 'axis' must be an axis name or Axis, got {axis!r}")
    if not isinstance(new_size, int) or new_size < 0:
        raise ValueError(f"resize_axis: new_size must be a non-negative int, got {new_size!r}")
    leaves, treedef = tree_flatten(tree)
    keys = maybe_rng_split(key, len(leaves)) if leaves else []
    out = []
    found = False
    for leaf, k in zip(leaves, keys, strict=True):
        i = lookup_axis(leaf.axes, name, "resize_axis", "axis") if isinstance(leaf, NamedArray) else None
        if i is not None:
            leaf, found = _resize_one(leaf, i, new_size, k), True
        out.append(leaf)
    if not found:  # nothing to resize: a typo of an axis the tree has is an error, not a silent no-op
        present = {ax.name: ax for leaf in leaves if isinstance(leaf, NamedArray) for ax in leaf.axes}
        if closest_name(name, list(present)) is not None:
            raise axis_not_found_error(name, tuple(present.values()), "resize_axis", "axis")
    return jax.tree_util.tree_unflatten(treedef, out)


def hashable_partition(tree: Any, filter_spec: Any) -> tuple[Any, tuple[tuple[Any, ...], Any]]:
    """`equinox.partition` whose static part is hashable: ``(tuple of static leaves, treedef)``.

    Examples:
        >>> import jax.numpy as jnp
        >>> import equinox as eqx
        >>> from haliax.tree_util import hashable_partition, hashable_combine
        >>> dyn, static = hashable_partition({"a": jnp.ones(2), "n": 3}, eqx.is_array)
        >>> hash(static) is not None, hashable_combine(dyn, static)["n"]
        (True, 3)
    """
    dynamic, static = eqx.partition(tree, filter_spec)
    leaves, treedef = jax.tree_util.tree_flatten(static)
    return dynamic, (tuple(leaves), treedef)


def hashable_combine(dynamic: Any, static: tuple[tuple[Any, ...], Any]) -> Any:
    """Inverse of `hashable_partition`.

    Examples:
        >>> import jax.numpy as jnp
        >>> import equinox as eqx
        >>> from haliax.tree_util import hashable_partition, hashable_combine
        >>> dyn, static = hashable_partition([jnp.ones(2), "x"], eqx.is_array)
        >>> hashable_combine(dyn, static)[1]
        'x'
    """
    leaves, treedef = static
    return eqx.combine(dynamic, jax.tree_util.tree_unflatten(treedef, leaves))
