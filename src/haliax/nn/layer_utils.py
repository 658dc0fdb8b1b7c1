"""Helpers shared by the layer modules of `haliax.nn`: parameter initialisation (and the checks of ``init``
arguments), input-axis checks, padding specs.

Not part of the public API (no ``__all__`` entries); the layers import these by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax

from .. import random
from ..axis import Axis, AxisSpec, axes_str, axis_not_found_error, axis_spec_to_tuple, locate_axis, lookup_axis
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


def init_axes(fn: str, roles: Mapping[str, AxisSpec], nonzero: Sequence[str] = ()) -> dict[str, tuple[Axis, ...]]:
    """Each role's axes (``{"In": In, "Out": Out}`` → tuples of Axis), checked for a layer's ``init``.

    A spec that is not an Axis, a sequence of Axis or a shape dict is a ``TypeError``; an axis name used twice,
    within one role or by two roles, is a ``ValueError`` naming ``fn`` and the roles (Haliax's message names
    neither); a role listed in ``nonzero`` whose total size is 0 is a ``ValueError`` (its initialisation
    divides by that size).

    Args:
        fn: the calling function, e.g. ``"Linear.init"``.
        roles: ``{role: spec}`` in argument order.
        nonzero: the roles whose total size must be positive.
    """
    out: dict[str, tuple[Axis, ...]] = {}
    owner: dict[str, str] = {}
    for role, spec in roles.items():
        try:
            axes = axis_spec_to_tuple(spec)
        except TypeError as e:
            raise TypeError(f"{fn}: argument {role!r} must be an Axis, a tuple of Axis or a shape dict: {e}") from None
        for a in axes:
            prev = owner.get(a.name)
            if prev == role:
                raise ValueError(f"{fn}: argument {role!r} names axis {a.name} more than once: {axes_str(axes)}")
            if prev is not None:
                # the phrases "specified twice" / "AxisSpecs overlap!" are Haliax's, kept for code that matches them
                if len(axes) == 1 and len(out[prev]) == 1:
                    what = f"Axis {a.name} specified twice"
                else:
                    shared = [b.name for b in axes if b.name in {c.name for c in out[prev]}]
                    what = f"AxisSpecs overlap! {shared} appear in both"
                raise ValueError(
                    f"{fn}: {what}: as {prev} {axes_str(out[prev])} and as {role} {axes_str(axes)}; the weight needs "
                    f"a distinct name for each, e.g. {role}=hax.Axis({a.name + '_' + role.lower()!r}, {a.size})"
                )
            owner[a.name] = role
        out[role] = axes
    for role in nonzero:
        n = 1
        for a in out[role]:
            n *= a.size
        if n == 0:
            raise ValueError(
                f"{fn}: argument {role!r} has total size 0 {axes_str(out[role])}; the initial scale divides by it, "
                "so it needs at least one element"
            )
    return out


def check_reparam_cls(cls: Any, base: type, default: type, fn: str) -> None:
    """Raise a ``TypeError`` naming ``fn`` unless ``cls`` is a subclass of ``base`` (otherwise the layer's
    ``init`` would fail later with an ``AttributeError`` on ``init_scale``)."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(
            f"{fn}: argument 'reparam_cls' must be a subclass of {base.__name__} such as {default.__name__} "
            f"(haliax.nn.mup), got {cls!r}"
        )


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
