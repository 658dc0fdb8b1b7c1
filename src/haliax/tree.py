"""Short aliases of `haliax.tree_util`, in the style of `jax.tree`: ``hax.tree.map``, ``hax.tree.leaves``, ...

NamedArrays are leaves everywhere; ``is_leaf`` is keyword-only.

Examples:
    >>> import haliax as hax
    >>> X = hax.Axis("X", 2)
    >>> hax.tree.map(lambda a: a + 1, {"w": hax.zeros(X)})["w"].tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import tree_util

__all__ = ["map", "scan_aware_map", "flatten", "unflatten", "leaves", "structure"]


def map(fn: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:  # noqa: A001
    """`haliax.tree_util.tree_map`.

    Args:
        fn: the function applied to the leaves (with the matching leaves of ``rest``).
        tree: the pytree.
        *rest: further pytrees with the structure of ``tree``.
        is_leaf: an optional predicate marking further leaves (NamedArrays are always leaves).

    Examples:
        >>> import haliax as hax
        >>> hax.tree.map(lambda a: a.axes, [hax.zeros(hax.Axis("X", 2))])
        [(Axis(name='X', size=2),)]
    """
    return tree_util.tree_map(fn, tree, *rest, is_leaf=is_leaf)


def scan_aware_map(fn: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """`haliax.tree_util.scan_aware_tree_map`.

    Args:
        fn: the function applied to the leaves (with the matching leaves of ``rest``).
        tree: the pytree.
        *rest: further pytrees with the structure of ``tree``.
        is_leaf: an optional predicate marking further leaves (NamedArrays are always leaves).

    Examples:
        >>> import haliax as hax
        >>> hax.tree.scan_aware_map(lambda a: a * 3, [hax.ones(hax.Axis("X", 2))])[0].tolist()
        [3.0, 3.0]
    """
    return tree_util.scan_aware_tree_map(fn, tree, *rest, is_leaf=is_leaf)


def flatten(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], Any]:
    """`haliax.tree_util.tree_flatten`.

    Examples:
        >>> import haliax as hax
        >>> leaves, treedef = hax.tree.flatten([hax.zeros(hax.Axis("X", 2)), 1])
        >>> len(leaves)
        2
    """
    return tree_util.tree_flatten(tree, is_leaf=is_leaf)


def unflatten(treedef: Any, leaves: Any) -> Any:
    """`haliax.tree_util.tree_unflatten`.

    Examples:
        >>> import haliax as hax
        >>> leaves, treedef = hax.tree.flatten((1, 2))
        >>> hax.tree.unflatten(treedef, [3, 4])
        (3, 4)
    """
    return tree_util.tree_unflatten(treedef, leaves)


def leaves(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """`haliax.tree_util.tree_leaves`.

    Examples:
        >>> import haliax as hax
        >>> len(hax.tree.leaves({"a": hax.zeros(hax.Axis("X", 2)), "b": [1, 2]}))
        3
    """
    return tree_util.tree_leaves(tree, is_leaf=is_leaf)


def structure(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """`haliax.tree_util.tree_structure`.

    Examples:
        >>> import haliax as hax
        >>> hax.tree.structure([hax.zeros(hax.Axis("X", 2))]).num_leaves
        1
    """
    return tree_util.tree_structure(tree, is_leaf=is_leaf)
