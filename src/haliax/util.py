"""Small shared helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np

from .core import NamedArray, is_named_array
from .jax_utils import is_jax_array_like

__all__ = [
    "is_named_array",
    "ensure_tuple",
    "is_jax_or_hax_array_like",
    "is_jax_array_like",
    "UNSPECIFIED",
    "Unspecified",
    "StringHolderEnum",
    "maybe_untuple",
    "safe_wraps",
    "safe_update_wrapper",
]

T = TypeVar("T")


def ensure_tuple(x: Any) -> tuple[Any, ...]:
    """A tuple of ``x``: a str, None or non-iterable becomes a 1-tuple; other iterables are converted.

    Examples:
        >>> from haliax.util import ensure_tuple
        >>> ensure_tuple("batch"), ensure_tuple(["a", "b"]), ensure_tuple(3), ensure_tuple(None)
        (('batch',), ('a', 'b'), (3,), (None,))
    """
    if isinstance(x, str) or x is None:
        return (x,)
    if isinstance(x, tuple):
        return x
    try:
        return tuple(x)
    except TypeError:
        return (x,)


def is_static_int(v: Any) -> bool:
    """A concrete Python or NumPy integer (a 0-d integer NumPy array too), not a bool and not a traced value.

    Examples:
        >>> import numpy as np
        >>> from haliax.util import is_static_int
        >>> is_static_int(3), is_static_int(np.int32(3)), is_static_int(True), is_static_int(3.0)
        (True, True, False, False)
    """
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, np.ndarray) and v.ndim == 0 and np.issubdtype(v.dtype, np.integer)


def check_dtype(dtype: Any, fn: str, arg: str = "dtype") -> None:
    """Raise a ``TypeError`` naming ``fn`` and ``arg`` unless ``dtype`` is something ``jnp.dtype`` accepts."""
    try:
        jnp.dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{fn}: argument '{arg}': {e} (expected a dtype such as jnp.float32)") from None


def maybe_untuple(x: Any) -> Any:
    """A 1-tuple becomes its element; anything else is returned as is.

    Examples:
        >>> from haliax.util import maybe_untuple
        >>> maybe_untuple((1,)), maybe_untuple((1, 2)), maybe_untuple(1), maybe_untuple(())
        (1, (1, 2), 1, ())
    """
    if isinstance(x, tuple) and len(x) == 1:
        return x[0]
    return x


def is_jax_or_hax_array_like(x: Any) -> bool:
    """True for NamedArrays and anything with ``.shape`` and ``.dtype`` (jax/numpy arrays, ``ShapeDtypeStruct``).

    Examples:
        >>> import jax
        >>> import numpy as np
        >>> import haliax as hax
        >>> from haliax.util import is_jax_or_hax_array_like
        >>> [is_jax_or_hax_array_like(x) for x in (hax.zeros(hax.Axis("X", 2)), np.zeros(3), [1.0, 2.0], 1.0)]
        [True, True, False, False]
        >>> is_jax_or_hax_array_like(jax.ShapeDtypeStruct((2,), np.float32))
        True
    """
    return isinstance(x, NamedArray) or (hasattr(x, "shape") and hasattr(x, "dtype"))


_UNSPECIFIED_DOC = """The type of `UNSPECIFIED`: a sentinel for "argument not given" where None is a meaningful value.

    Created dynamically with the name ``NotSpecified`` (Haliax's name); exported as ``Unspecified``.

    Examples:
        >>> from haliax.util import UNSPECIFIED, Unspecified
        >>> UNSPECIFIED, isinstance(UNSPECIFIED, Unspecified), Unspecified.__name__
        (UNSPECIFIED, True, 'NotSpecified')
    """

Unspecified = type("NotSpecified", (), {"__repr__": lambda self: "UNSPECIFIED", "__doc__": _UNSPECIFIED_DOC})
UNSPECIFIED = Unspecified()


class StringHolderEnum(type):
    """Metaclass for classes that only hold string constants; iterating the class gives the values.

    Examples:
        >>> from haliax.util import StringHolderEnum
        >>> class Mode(metaclass=StringHolderEnum):
        ...     TRAIN = "train"
        ...     EVAL = "eval"
        >>> list(Mode), Mode.TRAIN
        (['train', 'eval'], 'train')
    """

    def __iter__(cls) -> Any:
        return iter(v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, str))


def safe_update_wrapper(wrapper: T, wrapped: Any) -> T:
    """``functools.update_wrapper`` that also works when ``wrapper`` is a frozen Equinox Module.

    Copies ``__module__``, ``__name__``, ``__qualname__`` and ``__doc__`` and sets ``__wrapped__``, skipping any
    attribute that cannot be set; returns ``wrapper``.

    Examples:
        >>> import equinox as eqx
        >>> from haliax.util import safe_update_wrapper
        >>> def double(x):
        ...     "Double x."
        ...     return 2 * x
        >>> class Traced(eqx.Module):
        ...     fn: object
        ...     def __call__(self, x):
        ...         return self.fn(x)
        >>> t = safe_update_wrapper(Traced(double), double)
        >>> t.__name__, t.__doc__, t.__wrapped__ is double, t(3)
        ('double', 'Double x.', True, 6)
    """
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
    """Decorator form of `safe_update_wrapper`: ``@safe_wraps(fn)`` makes the decorated object look like ``fn``.

    Examples:
        >>> from haliax.util import safe_wraps
        >>> def square(x):
        ...     "Square x."
        ...     return x * x
        >>> @safe_wraps(square)
        ... def checked(x):
        ...     return square(x)
        >>> checked.__name__, checked.__doc__, checked(3)
        ('square', 'Square x.', 9)
    """
    return functools.partial(safe_update_wrapper, wrapped=fn)  # type: ignore[return-value]
