"""Small shared helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .core import NamedArray, is_named_array

__all__ = ["is_named_array", "ensure_tuple", "is_jax_or_hax_array_like", "UNSPECIFIED", "Unspecified",
           "StringHolderEnum", "maybe_untuple", "safe_wraps", "safe_update_wrapper"]

T = TypeVar("T")


def ensure_tuple(x: Any) -> tuple[Any, ...]:
    """A tuple of ``x``: a str or non-sequence becomes a 1-tuple."""
    if isinstance(x, str) or x is None:
        return (x,)
    if isinstance(x, tuple):
        return x
    try:
        return tuple(x)
    except TypeError:
        return (x,)


def maybe_untuple(x: Any) -> Any:
    """A 1-tuple becomes its element; anything else is returned as is."""
    if isinstance(x, tuple) and len(x) == 1:
        return x[0]
    return x


def is_jax_or_hax_array_like(x: Any) -> bool:
    """True for NamedArrays and anything with ``.shape`` and ``.dtype``."""
    return isinstance(x, NamedArray) or (hasattr(x, "shape") and hasattr(x, "dtype"))


Unspecified = type("NotSpecified", (), {"__repr__": lambda self: "UNSPECIFIED"})
UNSPECIFIED = Unspecified()


class StringHolderEnum(type):
    """Metaclass for classes that only hold string constants; iterating gives the values."""

    def __iter__(cls) -> Any:
        return iter(v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, str))


def safe_update_wrapper(wrapper: T, wrapped: Any) -> T:
    """``functools.update_wrapper`` that also works when ``wrapper`` is a frozen Equinox Module."""
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            object.__setattr__(wrapper, attr, getattr(wrapped, attr))
        except (AttributeError, TypeError):
            pass
    try:
        object.__setattr__(wrapper, "__wrapped__", wrapped)
    except (AttributeError, TypeError):
        pass
    return wrapper


def safe_wraps(fn: Any) -> Callable[[T], T]:
    """Decorator form of `safe_update_wrapper`."""
    return functools.partial(safe_update_wrapper, wrapped=fn)  # type: ignore[return-value]
