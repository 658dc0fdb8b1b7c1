"""Small JAX helpers used across haliax: key splitting, checkpoint names, nested scans, multi-host utilities.

Only `tree_checkpoint_name` is re-exported at the top level (``hax.tree_checkpoint_name``); everything else is
reached as ``haliax.jax_utils.X``.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name
from jax.core import Tracer
from jax.experimental.multihost_utils import host_local_array_to_global_array as host_local_array_to_global_array

from .axis import Axis
from .core import NamedArray

__all__ = ["tree_checkpoint_name"]

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


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


def is_on_mac_metal() -> bool:
    """Whether JAX's default device is an Apple Metal GPU (the ``jax-metal`` plugin).

    Examples:
        >>> from haliax.jax_utils import is_on_mac_metal
        >>> is_on_mac_metal()  # on CPU
        False
    """
    return jax.devices()[0].platform.lower() == "metal"


def to_jax_shape(shape: Any) -> tuple[int, ...]:
    """The positional shape of ``shape``: `Axis` entries give their sizes and plain ints pass through.

    ``shape`` may be one Axis or int, a sequence mixing both, or a ``{name: size}`` mapping. (Unlike
    `haliax.axis.to_jax_shape`, which takes axis specs only.)

    Examples:
        >>> import haliax as hax
        >>> from haliax.jax_utils import to_jax_shape
        >>> to_jax_shape((hax.Axis("a", 2), 3)), to_jax_shape(hax.Axis("b", 4)), to_jax_shape({"c": 5})
        ((2, 3), (4,), (5,))
    """
    if isinstance(shape, Mapping):
        return tuple(int(v) for v in shape.values())
    entries = (shape,) if isinstance(shape, (Axis, int, np.integer)) else tuple(shape)
    out: list[int] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, Axis):
            out.append(entry.size)
        elif isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
            out.append(int(entry))
        else:
            raise TypeError(
                f"to_jax_shape: argument 'shape' must hold Axis objects or ints, got {entry!r} at position {i}"
            )
    return tuple(out)


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(f"{name} is deprecated; use {replacement} instead", DeprecationWarning, stacklevel=3)


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

    With ``num == 1`` the key is *not* split: it is returned reshaped to a leading dimension of 1 (as Haliax
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
    """Deprecated: `equinox.filter_checkpoint` (`jax.checkpoint` for functions of arbitrary pytrees).

    Emits a `DeprecationWarning`; call `equinox.filter_checkpoint` directly.

    Examples:
        >>> import warnings
        >>> import jax.numpy as jnp
        >>> from haliax.jax_utils import filter_checkpoint
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     f = filter_checkpoint(lambda x, n: x * n)
        >>> float(f(jnp.array(2.0), 3)), caught[0].category.__name__
        (6.0, 'DeprecationWarning')
    """
    _deprecated("filter_checkpoint", "equinox.filter_checkpoint")
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

    Args:
        f: the step function ``f(carry, x) -> (carry, y)``.
        carry: the initial carry.
        xs: the inputs, every leaf scanned along its leading dimension.
        outer_size: the number of chunks; must divide ``length``.
        length: the number of steps (the leading size of the leaves of ``xs``).
        reverse: scan from the last element to the first.
        unroll: the unroll setting of the inner scan (as in `jax.lax.scan`).

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

    ``is_leaf`` only decides where the *prefix* stops. The result always has ``full``'s complete structure
    (flattened without ``is_leaf``), so a prefix leaf standing for a NamedArray becomes a NamedArray with the same
    axes holding that value, as in Haliax.

    Raises:
        ValueError: if ``prefix`` is not a prefix of ``full``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.jax_utils import broadcast_prefix
        >>> broadcast_prefix((1, 2), ([0, 0], {"a": 0}))
        ([1, 1], {'a': 2})
        >>> out = broadcast_prefix([True], [hax.zeros(hax.Axis("X", 2))], is_leaf=hax.is_named_array)
        >>> out[0].array, out[0].axes
        (True, (Axis(name='X', size=2),))
    """
    result: list[Any] = []

    def add(x: Any, subtree: Any) -> None:
        result.extend([x] * jax.tree_util.tree_structure(subtree).num_leaves)

    try:
        jax.tree.map(add, prefix, full, is_leaf=is_leaf)
    except ValueError as e:
        raise ValueError(f"broadcast_prefix: argument 'prefix' is not a pytree prefix of argument 'full': {e}") from e
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(full), result)


def filter_eval_shape(fun: Callable[..., T], *args: Any, **kwargs: Any) -> Any:
    """Deprecated: `equinox.filter_eval_shape` (shapes of ``fun(*args, **kwargs)`` without computing).

    Emits a `DeprecationWarning`; call `equinox.filter_eval_shape` directly.

    Examples:
        >>> import warnings
        >>> import haliax as hax
        >>> from haliax.jax_utils import filter_eval_shape
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     filter_eval_shape(hax.zeros, hax.Axis("X", 3)).axes
        (Axis(name='X', size=3),)
    """
    _deprecated("filter_eval_shape", "equinox.filter_eval_shape")
    return eqx.filter_eval_shape(fun, *args, **kwargs)


def combine(*pytrees: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Deprecated: `equinox.combine` (merge trees of the same structure, first non-None value at each leaf).

    Emits a `DeprecationWarning`; call `equinox.combine` directly.

    Examples:
        >>> import warnings
        >>> from haliax.jax_utils import combine
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", DeprecationWarning)
        ...     combine([1, None], [None, 2])
        [1, 2]
    """
    _deprecated("combine", "equinox.combine")
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

    The result holds NumPy arrays, as `jax.experimental.multihost_utils.broadcast_one_to_all` gives: with a single
    process every leaf is simply converted with `numpy.asarray` (NamedArrays keep their axes).

    Examples:
        >>> from haliax.jax_utils import broadcast_one_to_all
        >>> broadcast_one_to_all({"step": 3})
        {'step': array(3)}
    """
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
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


def prefix_leaves(
    prefix: Any, tree: Any, fn: str, what: str, is_leaf: Callable[[Any], bool] | None = None
) -> list[Any]:
    """One value per leaf of ``tree``: each leaf of the pytree prefix ``prefix`` repeated over the subtree it covers.

    Leaves of ``tree`` are those `jax.tree_util.tree_leaves` finds with ``is_leaf``; ``None`` in ``prefix`` counts
    as a leaf. Used for per-argument specs such as ``vmap``'s ``in_axes`` and ``named_jit``'s donation flags.

    Args:
        prefix: a pytree prefix of ``tree``.
        tree: the full tree.
        fn: the calling function, for the error message.
        what: the argument name of ``prefix``, for the error message.
        is_leaf: what counts as a leaf of ``tree``.

    A ``prefix`` that is not a pytree prefix of ``tree`` raises ``ValueError("<fn>: <what>=<prefix> is not a
    pytree prefix of the arguments: ...")``.

    Examples:
        >>> from haliax.jax_utils import prefix_leaves
        >>> prefix_leaves((0, None), ([1, 2], 3), "vmap", "in_axes")
        [0, 0, None]
    """
    p_leaves, p_def = jax.tree_util.tree_flatten(prefix, is_leaf=lambda x: x is None)
    try:
        subtrees = p_def.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{fn}: {what}={prefix!r} is not a pytree prefix of the arguments: {e}") from e
    out: list[Any] = []
    for value, sub in zip(p_leaves, subtrees, strict=True):
        out.extend([value] * len(jax.tree_util.tree_leaves(sub, is_leaf=is_leaf)))
    return out


class CustomVJP(Protocol[R_co]):
    """What `custom_vjp` returns, as far as callers need: a call giving ``R_co``, and ``defvjp``."""

    def __call__(self, *args: Any) -> R_co: ...

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> Any: ...


def custom_vjp(*, nondiff_argnums: tuple[int, ...]) -> Callable[[Callable[..., R]], CustomVJP[R]]:
    """``functools.partial(jax.custom_vjp, nondiff_argnums=...)``, typed so calls keep the function's return type.

    JAX's ``custom_vjp`` constructor is unannotated, so the partial form gives ``object`` to type checkers; this
    returns exactly what ``jax.custom_vjp`` returns.

    Examples:
        >>> import jax
        >>> from haliax.jax_utils import custom_vjp
        >>> @custom_vjp(nondiff_argnums=())
        ... def f(x):
        ...     return x * 2
        >>> f.defvjp(lambda x: (f(x), None), lambda _, g: (g * 2,))
        >>> float(jax.grad(f)(1.0))
        2.0
    """

    def decorate(fun: Callable[..., R]) -> CustomVJP[R]:
        return jax.custom_vjp(fun, nondiff_argnums=nondiff_argnums)

    return decorate
