"""Bit packing by name: ``packbits`` and ``unpackbits`` along one named axis.

The axis keeps its name and position; only its size changes (``ceil(n / 8)`` when packing, ``8 n`` or
``count`` when unpacking). Thin layers over ``jnp.packbits`` / ``jnp.unpackbits``.
"""

from __future__ import annotations

import operator
from typing import Any

import jax.numpy as jnp

from ..axis import Axis, AxisSelector, axis_not_found_error, lookup_axis
from ..core import NamedArray
from ..partitioning import explicit_out_sharding, explicit_reshard, explicit_unshard_dims

__all__ = ["packbits", "unpackbits"]

_BITORDERS = ("big", "little")


def _single_axis(fn: str, a: Any, axis: Any, bitorder: str) -> tuple[NamedArray, int]:
    """Check the common arguments; return the array and the position of ``axis``."""
    if not isinstance(a, NamedArray):
        raise TypeError(f"{fn}: argument 'a' must be a NamedArray, got {type(a).__name__}")
    if not isinstance(axis, (str, Axis)):
        raise ValueError(
            f"{fn}: argument 'axis': {fn} only supports a single existing axis (a name or an Axis), got {axis!r}"
        )
    i = lookup_axis(a.axes, axis, fn, "axis")
    if i is None:
        err = axis_not_found_error(axis if isinstance(axis, str) else axis.name, a.axes, fn, "axis")
        raise ValueError(f"{err} ({fn} only supports a single existing axis)")
    if bitorder not in _BITORDERS:
        raise ValueError(f"{fn}: argument 'bitorder' must be one of {_BITORDERS}, got {bitorder!r}")
    return a, i


def _unsharded(a: NamedArray, i: int) -> Any:
    """``a``'s array; on an explicit mesh with dimension ``i`` unsharded (JAX reshapes it into bytes)."""
    return explicit_unshard_dims(a.array, [i])


def _with_size(a: NamedArray, i: int, out: Any, fn: str) -> NamedArray:
    axes = a.axes[:i] + (a.axes[i].resize(out.shape[i]),) + a.axes[i + 1 :]
    return NamedArray(explicit_reshard(out, explicit_out_sharding(axes, fn)), axes)


def packbits(a: NamedArray, axis: AxisSelector, *, bitorder: str = "big") -> NamedArray:
    """Pack the bits of a bool or integer array along ``axis`` into uint8 (``jnp.packbits``).

    A nonzero value is a 1 bit. The axis keeps its name and position, with size ``ceil(n / 8)`` (the last
    byte is zero-padded). ``bitorder="big"`` puts the first element in the most significant bit.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.bits import packbits
        >>> bits = hax.named([1, 0, 1, 1, 0, 0, 0, 1, 1, 1], "B")
        >>> packed = packbits(bits, "B")
        >>> packed.axes, packed.tolist()
        ((Axis(name='B', size=2),), [177, 192])
        >>> packbits(bits, "B", bitorder="little").tolist()
        [141, 3]
    """
    fn = "packbits"
    a, i = _single_axis(fn, a, axis, bitorder)
    if not (jnp.issubdtype(a.dtype, jnp.integer) or jnp.issubdtype(a.dtype, jnp.bool_)):
        raise TypeError(f"{fn}: argument 'a' must have a bool or integer dtype, got {a.dtype}")
    return _with_size(a, i, jnp.packbits(_unsharded(a, i), axis=i, bitorder=bitorder), fn)


def unpackbits(a: NamedArray, axis: AxisSelector, *, count: int | None = None, bitorder: str = "big") -> NamedArray:
    """Unpack the uint8 array ``a`` along ``axis`` into its bits, 0 or 1 as uint8 (``jnp.unpackbits``).

    The axis keeps its name and position. Its size is ``8 n``, or with ``count``: ``count`` (a larger count
    pads with zeros), and for a negative ``count``, ``8 n + count`` (the last ``|count|`` bits are
    dropped). Haliax labels the axis with the negative number there and fails; we give the axis its real
    size.

    Args:
        a: a uint8 array.
        axis: the axis to unpack.
        count: the number of bits to keep along the axis (None: all ``8 n``; negative: drop that many at the end).
        bitorder: ``"big"`` (most significant bit first) or ``"little"``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops.bits import packbits, unpackbits
        >>> bits = hax.named([1, 0, 1, 1, 0, 0, 0, 1, 1, 1], "B")
        >>> packed = packbits(bits, "B")
        >>> unpackbits(packed, "B", count=10).tolist()
        [1, 0, 1, 1, 0, 0, 0, 1, 1, 1]
        >>> unpackbits(packed, "B", count=-4).axes
        (Axis(name='B', size=12),)
    """
    fn = "unpackbits"
    a, i = _single_axis(fn, a, axis, bitorder)
    if a.dtype != jnp.uint8:
        raise TypeError(f"{fn}: argument 'a' must have dtype uint8, got {a.dtype}")
    if count is not None:
        try:
            count = operator.index(count)
        except TypeError:
            raise TypeError(f"{fn}: argument 'count' must be an int or None, got {count!r}") from None
    return _with_size(a, i, jnp.unpackbits(_unsharded(a, i), axis=i, count=count, bitorder=bitorder), fn)
