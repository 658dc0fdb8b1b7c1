"""Helpers shared by the layer modules of `haliax.nn`: parameter initialisation, input-axis checks, padding specs.

Not part of the public API (no ``__all__`` entries); the layers import these by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from .. import random
from ..axis import AxisSpec, axis_not_found_error, axis_spec_to_tuple, locate_axis, lookup_axis
from ..core import NamedArray

__all__: list[str] = []


def truncated_normal_init(
    key: jax.Array, axes: AxisSpec, scale: float, lower: float = -3.0, upper: float = 3.0
) -> NamedArray:
    """``scale * truncated_normal(key, axes, lower, upper)``.

    One draw over the full shape, bitwise equal to the plain `jax.random.truncated_normal` call with the
    positional shape.

    Args:
        key: the PRNG key.
        axes: the axes (with sizes) of the result.
        scale: the factor applied to the draw.
        lower: the lower truncation bound, in standard deviations.
        upper: the upper truncation bound, in standard deviations.
    """
    return random.truncated_normal(key, axes, lower, upper) * scale


def check_has_axes(x: Any, spec: AxisSpec, fn: str, arg: str, what: str) -> None:
    """Raise unless ``x`` is a NamedArray holding every axis of ``spec`` with its size.

    A missing axis raises the package's "axis not found" ``ValueError`` noting that it is one of the ``what``
    axes; a wrong size raises `haliax.axis.AxisSizeMismatchError`.

    Args:
        x: the value to check.
        spec: the axes (with sizes) that ``x`` must have.
        fn: the name of the calling function, used in error messages.
        arg: the name of the argument holding ``x``, used in error messages.
        what: what the axes are, for the message (e.g. ``"In"``).
    """
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")
    for ax in axis_spec_to_tuple(spec):
        if lookup_axis(x.axes, ax.name) is None:
            err = axis_not_found_error(ax.name, x.axes, fn, arg)
            raise ValueError(f"{err} (it is one of the {what} axes {tuple(str(a) for a in axis_spec_to_tuple(spec))})")
        locate_axis(x.axes, ax, fn, arg)


def pad_pair(entry: Any) -> tuple[int, int] | None:
    """One axis of a padding spec as ``(low, high)``.

    An int ``p`` is ``(p, p)``, a pair of ints is itself; any other entry (bools included) gives None, for the
    caller to report with its own message.
    """
    if isinstance(entry, int) and not isinstance(entry, bool):
        return (entry, entry)
    if isinstance(entry, Sequence) and len(entry) == 2 and all(isinstance(v, int) for v in entry):
        return (int(entry[0]), int(entry[1]))
    return None
