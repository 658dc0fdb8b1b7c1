"""Small JAX helpers used across haliax: key splitting, checkpoint names, nested scans, multi-host utilities.

Only `tree_checkpoint_name` is re-exported at the top level (``hax.tree_checkpoint_name``); everything else is
reached as ``haliax.jax_utils.X``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name
from jax.core import Tracer

from .axis import to_jax_shape as to_jax_shape  # re-exported for compatibility
from .core import NamedArray

__all__ = ["tree_checkpoint_name"]

T = TypeVar("T")


def is_jax_array_like(x: Any) -> bool:
    """True for anything with ``.shape`` and ``.dtype``: JAX/NumPy arrays, ShapeDtypeStructs, tracers and also
    NamedArrays.

    Examples:
        >>> import numpy as np
        >>> from haliax.jax_utils import is_jax_array_like
        >>> is_jax_array_like(np.zeros(3)), is_jax_array_like(3.0)
        (True, False)
    """
    return hasattr(x, "shape") and hasattr(x, "dtype")


def is_in_jit() -> bool:
    """Whether we are inside a staged trace: `jax.jit` (also `eqx.filter_jit`, `lax.scan`/`cond` bodies,
    `jax.make_jaxpr`). Eager `grad`/`vmap` alone do not count: there a fresh constant is not a tracer.

    Examples:
        >>> import jax
        >>> from haliax.jax_utils import is_in_jit
        >>> is_in_jit(), bool(jax.jit(lambda: is_in_jit())())
        (False, True)
    """
    return isinstance(jnp.zeros(()), Tracer)


def is_scalarish(x: Any) -> bool:
    """True for a 0-d NamedArray, a Python/NumPy scalar, or anything whose ``shape`` is ``()``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.jax_utils import is_scalarish
        >>> is_scalarish(1.0), is_scalarish(hax.zeros(())), is_scalarish(hax.zeros(hax.Axis("X", 2)))
        (True, True, False)
    """
    if isinstance(x, NamedArray):
        return x.ndim == 0
    return bool(jnp.isscalar(x)) or getattr(x, "shape", None) == ()


def ensure_scalar(x: Any, *, name: str = "value") -> Any:
    """Unwrap a 0-d NamedArray to its array; other values pass through. A NamedArray with axes raises TypeError.

    Examples:
        >>> import haliax as hax
        >>> from haliax.jax_utils import ensure_scalar
        >>> float(ensure_scalar(hax.named(2.0, ())))
        2.0
    """
    if isinstance(x, NamedArray):
        if x.ndim != 0:
            raise TypeError(f"ensure_scalar: {name} must be a scalar, got a NamedArray with axes {x.axes}")
        return x.array
    return x


def maybe_rng_split(key: Any, num: int = 2) -> Any:
    """Split ``key`` into ``num`` keys; a None key gives a list of ``num`` Nones.

    With ``num == 1`` the key is *not* split: it is returned reshaped to a leading dimension of 1 (as the reference
    does), so a single consumer gets the caller's key unchanged.

    Examples:
        >>> import jax
        >>> from haliax.jax_utils import maybe_rng_split
        >>> maybe_rng_split(None, 3)
        [None, None, None]
        >>> maybe_rng_split(jax.random.PRNGKey(0), 4).shape
        (4, 2)
    """
    if key is None:
        return [None] * num
    if num == 1:
        return jnp.reshape(key, (1,) + tuple(key.shape))
    return jax.random.split(key, num)


def shaped_rng_split(key: Any, split_shape: int | Sequence[int] = 2) -> Any:
    """Split ``key`` into an array of keys with leading shape ``split_shape``.

    Examples:
        >>> import jax
        >>> from haliax.jax_utils import shaped_rng_split
        >>> shaped_rng_split(jax.random.PRNGKey(0), (2, 3)).shape
        (2, 3, 2)
    """
    if isinstance(split_shape, int):
        split_shape = (split_shape,)
    split_shape = tuple(split_shape)
    num = math.prod(split_shape)
    full = split_shape + tuple(key.shape)
    if num == 1:
        return jnp.reshape(key, full)
    return jnp.reshape(jax.random.split(key, num), full)


def named_call(f: Callable[..., T] | None = None, name: str | None = None) -> Any:
    """Decorator running ``f`` under `jax.named_scope` (``name`` defaults to ``f.__name__``), so its operations are
    grouped in profiles and HLO dumps. Usable as ``@named_call`` or ``@named_call(name="...")``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.jax_utils import named_call
        >>> @named_call(name="double")
        ... def f(x):
        ...     return 2 * x
        >>> float(f(jnp.array(1.0)))
        2.0
    """
    if f is None:
        return functools.partial(named_call, name=name)
    scope = name if name is not None else getattr(f, "__name__", "named_call")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with jax.named_scope(scope):
            return f(*args, **kwargs)

    return wrapper


def tree_checkpoint_name(x: T, name: str) -> T:
    """Tag every array leaf of ``x`` (including the arrays inside NamedArrays) with `checkpoint_name` ``name``, so
    remat policies such as ``save_only_these_names`` can refer to it. Non-array leaves are untouched.

    Examples:
        >>> import haliax as hax
        >>> X = hax.Axis("X", 2)
        >>> hax.tree_checkpoint_name({"a": hax.zeros(X), "b": 3}, "acts")["b"]
        3
    """
    return jax.tree.map(lambda a: checkpoint_name(a, name) if is_jax_array_like(a) else a, x)


def filter_checkpoint(
    fun: Callable[..., T], *, prevent_cse: bool = True, policy: Callable[..., bool] | None = None
) -> Callable[..., T]:
    """`jax.checkpoint` for functions of arbitrary pytrees (non-arrays are static): `equinox.filter_checkpoint`.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.jax_utils import filter_checkpoint
        >>> float(filter_checkpoint(lambda x, n: x * n)(jnp.array(2.0), 3))
        6.0
    """
    return eqx.filter_checkpoint(fun, prevent_cse=prevent_cse, policy=policy)


def multilevel_scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    carry: Any,
    xs: Any,
    outer_size: int,
    length: int,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """A `jax.lax.scan` split into ``outer_size`` chunks for sqrt-style rematerialisation.

    The scan becomes an outer `lax.scan` (fully unrolled) over ``outer_size`` chunks whose body is `jax.remat` of an
    inner `lax.scan` of length ``length // outer_size`` over ``f``. Results equal ``lax.scan(f, carry, xs)``.
    As with `lax.scan`, every leaf of ``xs`` is scanned along its leading dimension (of size ``length``).

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.jax_utils import multilevel_scan
        >>> c, ys = multilevel_scan(lambda c, x: (c + x, c), 0.0, jnp.arange(6.0), outer_size=2, length=6)
        >>> float(c), ys.shape
        (15.0, (6,))
    """
    inner_size = length // outer_size
    if inner_size * outer_size != length:
        raise ValueError(f"multilevel_scan: Length {length} must be divisible by outer_size {outer_size}")

    def _reshape(x: Any) -> Any:
        if is_jax_array_like(x) and getattr(x, "ndim", 0) >= 1:
            return jnp.reshape(x, (outer_size, inner_size, *x.shape[1:]))
        return x

    def _deshape(x: Any) -> Any:
        if is_jax_array_like(x) and getattr(x, "ndim", 0) >= 2:
            return jnp.reshape(x, (length, *x.shape[2:]))
        return x

    inner = jax.remat(functools.partial(jax.lax.scan, f, reverse=reverse, unroll=unroll, length=inner_size))
    carry, ys = jax.lax.scan(inner, carry, jax.tree.map(_reshape, xs), length=outer_size, reverse=reverse, unroll=True)
    return carry, jax.tree.map(_deshape, ys)


class Static(eqx.Module):
    """A module holding one static (non-leaf, hashable) value, to smuggle it through JAX transformations.

    Examples:
        >>> import jax
        >>> from haliax.jax_utils import Static
        >>> jax.tree_util.tree_leaves(Static("hello"))
        []
    """

    value: Any = eqx.field(static=True)


def broadcast_prefix(prefix: Any, full: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Expand a pytree ``prefix`` of ``full`` to ``full``'s structure, repeating each prefix leaf over its subtree.

    Examples:
        >>> from haliax.jax_utils import broadcast_prefix
        >>> broadcast_prefix((1, 2), ([0, 0], {"a": 0}))
        ([1, 1], {'a': 2})
    """
    result: list[Any] = []

    def add(x: Any, subtree: Any) -> None:
        result.extend([x] * jax.tree_util.tree_structure(subtree, is_leaf=is_leaf).num_leaves)

    jax.tree.map(add, prefix, full, is_leaf=is_leaf)
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(full, is_leaf=is_leaf), result)


def filter_eval_shape(fun: Callable[..., T], *args: Any, **kwargs: Any) -> Any:
    """`equinox.filter_eval_shape`: shapes of ``fun(*args, **kwargs)`` without computing (non-arrays are static).

    Examples:
        >>> import haliax as hax
        >>> from haliax.jax_utils import filter_eval_shape
        >>> filter_eval_shape(hax.zeros, hax.Axis("X", 3)).axes
        (Axis(name='X', size=3),)
    """
    return eqx.filter_eval_shape(fun, *args, **kwargs)


def combine(*pytrees: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """`equinox.combine`: merge trees of the same structure, taking the first non-None value at each leaf.

    Examples:
        >>> from haliax.jax_utils import combine
        >>> combine([1, None], [None, 2])
        [1, 2]
    """
    return eqx.combine(*pytrees, is_leaf=is_leaf)


def is_pallas_dslice(x: Any) -> bool:
    """True for a Pallas dynamic slice (``jax.experimental.pallas.ds(...)``).

    Examples:
        >>> from haliax.jax_utils import is_pallas_dslice
        >>> is_pallas_dslice(slice(0, 2))
        False
    """
    try:
        from jax.experimental import pallas as pl
    except ImportError:  # pragma: no cover - pallas unavailable
        return False
    return isinstance(x, pl.Slice)


def sync_global_devices(name: str) -> None:
    """Barrier across all processes (a no-op with a single process).

    Examples:
        >>> from haliax.jax_utils import sync_global_devices
        >>> sync_global_devices("checkpoint")
    """
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)


def broadcast_one_to_all(tree: T, is_source: bool | None = None) -> T:
    """Broadcast ``tree`` from the source process (process 0 by default) to all processes.

    With a single process the tree is returned unchanged.

    Examples:
        >>> from haliax.jax_utils import broadcast_one_to_all
        >>> broadcast_one_to_all({"step": 3})
        {'step': 3}
    """
    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return multihost_utils.broadcast_one_to_all(tree, is_source=is_source)


def assert_equal(tree: Any, msg: str = "") -> None:
    """Assert that ``tree`` is identical on every process (a no-op with a single process).

    Examples:
        >>> from haliax.jax_utils import assert_equal
        >>> assert_equal({"step": 3}, "steps differ")
    """
    if jax.process_count() == 1:
        return
    from jax.experimental import multihost_utils

    multihost_utils.assert_equal(tree, fail_message=msg)
