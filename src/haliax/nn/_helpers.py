"""Private helpers shared by the nn layers (initialisation and input checks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import jax

from .. import random
from ..axis import AxisSpec, axis_not_found_error, axis_spec_to_tuple, name_index
from ..core import NamedArray

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


def truncated_normal_init(
    key: jax.Array, axes: AxisSpec, scale: float, lower: float = -3.0, upper: float = 3.0
) -> NamedArray:
    """``scale * truncated_normal(key, axes, lower, upper)``: one draw over the full shape, bitwise equal to the
    plain `jax.random.truncated_normal` call with the positional shape."""
    return random.truncated_normal(key, axes, lower, upper) * scale


def check_has_axes(x: Any, spec: AxisSpec, fn: str, arg: str, what: str) -> None:
    """Raise ``ValueError`` if ``x`` lacks an axis of ``spec`` (or has it with another size)."""
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")
    idx = name_index(x.axes)
    for ax in axis_spec_to_tuple(spec):
        i = idx.get(ax.name)
        if i is None:
            err = axis_not_found_error(ax.name, x.axes, fn, arg)
            raise ValueError(f"{err} (it is one of the {what} axes {tuple(str(a) for a in axis_spec_to_tuple(spec))})")
        if x.axes[i].size != ax.size:
            raise ValueError(
                f"{fn}: argument {arg!r}: axis {ax.name} has size {x.axes[i].size}, but the {what} axis is {ax}; "
                f"input axes: ({', '.join(str(a) for a in x.axes)})"
            )


class CustomVJP(Protocol[R_co]):
    """What `custom_vjp` returns, as far as callers need: a call giving ``R_co``, and ``defvjp``."""

    def __call__(self, *args: Any) -> R_co: ...

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> Any: ...


def custom_vjp(*, nondiff_argnums: tuple[int, ...]) -> Callable[[Callable[..., R]], CustomVJP[R]]:
    """The decorator ``functools.partial(jax.custom_vjp, nondiff_argnums=...)``, typed: calls of the result keep
    the decorated function's return type (JAX's ``custom_vjp.__new__`` is unannotated, so the partial form gives
    ``object``). It returns exactly what ``jax.custom_vjp`` returns."""

    def decorate(fun: Callable[..., R]) -> CustomVJP[R]:
        return jax.custom_vjp(fun, nondiff_argnums=nondiff_argnums)

    return decorate
