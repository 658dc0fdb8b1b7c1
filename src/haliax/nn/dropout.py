"""Dropout, as a function and as a module. Masks are bitwise identical to `equinox.nn.Dropout`'s."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from .. import random
from ..axis import Axis, AxisSelection, locate_axis, to_selectors
from ..core import NamedArray

__all__ = ["Dropout", "dropout"]


class _MissingKeyError(RuntimeError, ValueError):
    """Dropout is active but no ``key`` was given: a ``RuntimeError`` (what Haliax raises) and a ``ValueError``
    (a missing argument)."""


def check_pdrop(pdrop: Any, fn: str) -> None:
    """Raise unless ``pdrop`` is a number in ``[0, 1]`` (a traced value cannot be checked and passes)."""
    if isinstance(pdrop, Tracer):
        return
    if pdrop is None or isinstance(pdrop, (bool, str)):
        raise TypeError(f"{fn}: argument 'pdrop' must be a number in [0, 1], got {pdrop!r}")
    try:
        value = np.asarray(pdrop, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: argument 'pdrop' must be a number in [0, 1], got {type(pdrop).__name__}") from None
    if value.ndim:
        raise ValueError(f"{fn}: argument 'pdrop' must be a scalar probability, got shape {value.shape}")
    if not 0.0 <= float(value) <= 1.0:  # NaN fails too
        raise ValueError(f"{fn}: argument 'pdrop' must be in [0, 1], got {pdrop!r}")


def _broadcast_names(broadcast_axes: AxisSelection | None) -> tuple[str, ...]:
    if broadcast_axes is None:
        return ()
    return tuple(
        a.name if isinstance(a, Axis) else a for a in to_selectors(broadcast_axes, "dropout", "broadcast_axes")
    )


def dropout(
    x: NamedArray,
    pdrop: float | jax.Array,
    broadcast_axes: AxisSelection | None = None,
    *,
    inference: bool,
    key: jax.Array | None = None,
) -> NamedArray:
    """Zero each element with probability ``pdrop`` and scale the kept ones by ``1 / (1 - pdrop)``.

    ``pdrop`` outside ``[0, 1]`` (or NaN) raises ``ValueError`` naming it, even with ``inference=True``; Haliax
    accepts it and computes nonsense (a negative keep probability). A traced ``pdrop`` cannot be checked.

    Decision order: ``inference`` truthy → ``x`` unchanged; ``pdrop`` a Python number equal to 0 → ``x``;
    equal to 1 → zeros; otherwise a ``key`` is required (if missing, an error that is both a ``RuntimeError``, as in
    Haliax, and a ``ValueError``). The keep mask is
    ``jax.random.bernoulli(key, 1 - pdrop, shape)`` over ``x``'s axes (in ``x``'s order) minus
    ``broadcast_axes``, which then share one mask. For the same key the output equals
    ``equinox.nn.Dropout(pdrop)`` applied to the raw array.

    Broadcast axes are matched by *name*. Haliax compares them with Axis objects, so a name given there is
    silently ignored. A broadcast axis that ``x`` does not have raises ``ValueError``.

    Args:
        x: the input (a NamedArray; a plain array is accepted when ``broadcast_axes`` is None).
        pdrop: drop probability (a Python number or a JAX scalar).
        broadcast_axes: axes (names or Axis objects) along which the mask is shared.
        inference: if True, dropout is disabled.
        key: PRNG key, required when dropout is active.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> X = hax.Axis("X", 6)
        >>> out = hnn.dropout(hax.ones(X), 0.5, inference=False, key=jax.random.PRNGKey(0))
        >>> sorted(set(out.tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    check_pdrop(pdrop, "dropout")
    if inference:
        return x
    if isinstance(pdrop, (int, float)) and not isinstance(pdrop, bool):
        if pdrop == 0:
            return x
        if pdrop == 1:
            if isinstance(x, NamedArray):
                return NamedArray(jnp.zeros_like(x.array), x.axes)
            return jnp.zeros_like(x)
    if key is None:
        raise _MissingKeyError(
            "dropout: Dropout requires a key when running in non-deterministic mode. "
            "Pass key=... or use inference=True to disable dropout."
        )
    random.check_key(key, "dropout")  # otherwise JAX's message would name bernoulli, not dropout
    names = _broadcast_names(broadcast_axes)
    if not isinstance(x, NamedArray):
        if names:
            raise TypeError("dropout: broadcast_axes requires a NamedArray input")
        raw = jnp.asarray(x)
        mask = jax.random.bernoulli(key, 1 - pdrop, raw.shape)
        return jnp.where(mask, raw / _keep(pdrop, raw), 0)
    for n in names:
        locate_axis(x.axes, n, "dropout", "broadcast_axes")  # by name: the sizes are not compared
    raw = x.array
    # the keep probability goes to bernoulli uncast (its dtype picks the uniform draw's dtype, as in Equinox)
    mask = random.bernoulli(key, tuple(a for a in x.axes if a.name not in names), 1 - pdrop)
    if names:
        mask_raw = mask.array.reshape(tuple(a.size if a.name not in names else 1 for a in x.axes))
    else:
        mask_raw = mask.array
    return NamedArray(jnp.where(mask_raw, raw / _keep(pdrop, raw), 0), x.axes)


def _keep(pdrop: Any, raw: Any) -> Any:
    """The keep probability ``1 - pdrop`` in the input's dtype (floating inputs keep their dtype)."""
    q = 1 - jax.lax.stop_gradient(pdrop)
    if jnp.issubdtype(raw.dtype, jnp.floating):
        return jnp.asarray(q, dtype=raw.dtype)
    return q


class Dropout(eqx.Module):
    """Applies dropout (see `dropout`).

    ``inference`` is an ordinary (non-static) field holding a Python bool, so it appears in default state
    dicts as ``{"inference": False}`` and can be flipped with ``eqx.nn.inference_mode`` / ``eqx.tree_at``.
    ``pdrop`` outside ``[0, 1]`` raises ``ValueError`` at construction (Haliax accepts it).

    Attributes:
        pdrop: The fraction of entries to set to zero.
        broadcast_axes: The axes to broadcast the dropout mask over (they share the same mask).
        inference: If True, dropout is disabled.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, E = hax.make_axes(B=4, E=8)
        >>> drop = hnn.Dropout(0.25, broadcast_axes=B)
        >>> drop(hax.ones((B, E)), key=jax.random.PRNGKey(0)).axes == (B, E)
        True
    """

    pdrop: float = eqx.field(static=True)
    broadcast_axes: AxisSelection | None = eqx.field(static=True)
    inference: bool

    def __init__(self, pdrop: float = 0.5, broadcast_axes: AxisSelection | None = None, inference: bool = False):
        check_pdrop(pdrop, "Dropout")
        self.pdrop = pdrop
        self.broadcast_axes = broadcast_axes
        self.inference = inference

    @property
    def is_active(self) -> bool:
        """True if dropout is active (and therefore needs a key), False otherwise."""
        return not self.inference and self.pdrop > 0

    def __call__(self, x: NamedArray, *, inference: bool | None = None, key: jax.Array | None = None) -> Any:
        """Apply dropout; ``inference=None`` uses ``self.inference``, otherwise the argument wins."""
        if inference is None:
            inference = self.inference
        return dropout(x, self.pdrop, self.broadcast_axes, inference=inference, key=key)
