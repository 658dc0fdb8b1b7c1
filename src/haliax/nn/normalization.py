"""Normalisation layers over one or several named axes: `LayerNorm` and `RmsNorm`."""

from __future__ import annotations

import abc
from typing import Any, TypeVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.core import Tracer

from ..axis import Axis, AxisSpec, axis_size, axis_spec_to_tuple, locate_axes
from ..core import NamedArray
from ..ops.creation import ones, zeros
from ..ops.shape import flatten_axes, unflatten_axis
from ..state_dict import ModuleWithStateDictSerialization
from .layer_utils import init_axes

__all__ = ["LayerNormBase", "LayerNorm", "RmsNorm"]

L = TypeVar("L", bound="LayerNormBase")

_FLAT = "__OUT"


class LayerNormBase(ModuleWithStateDictSerialization):
    """Base of `LayerNorm` and `RmsNorm`: normalisation axes, optional weight and bias, ``eps``, ``dtype``.

    Fields (in constructor order): ``axis`` (static), ``weight``, ``bias``, ``eps`` (static, default 1e-5),
    ``dtype`` (static, default None). ``weight`` and ``bias`` have exactly the axes of ``axis`` and
    broadcast over every other axis of the input.

    Export: `flatten_for_export` merges a multi-axis ``axis`` into one axis named ``"__OUT"`` (a single
    ``Axis`` is left alone); `unflatten_from_export` undoes it.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> D, E = hax.make_axes(D=2, E=3)
        >>> ln = hnn.LayerNorm.init((D, E))
        >>> ln.flatten_for_export().weight.shape
        {'__OUT': 6}
    """

    axis: AxisSpec = eqx.field(static=True)
    weight: NamedArray | None
    bias: NamedArray | None
    eps: float = eqx.field(default=1e-5, static=True)
    dtype: Any = eqx.field(default=None, static=True)

    @abc.abstractmethod
    def __call__(self, x: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Normalise ``x`` over ``self.axis``."""

    @classmethod
    def init(
        cls: type[L],
        axis: AxisSpec,
        eps: float = 1e-5,
        *,
        use_weight: bool = True,
        use_bias: bool = True,
        dtype: Any = None,
    ) -> L:
        """Build the layer: weight ``ones(axis)`` and bias ``zeros(axis)`` (float32), each only if requested.

        Args:
            axis: the axis (or axes) to normalise over.
            eps: added to the variance before the square root.
            use_weight: whether to have a learned scale.
            use_bias: whether to have a learned offset (also for `RmsNorm`, as in Haliax).
            dtype: dtype used for the statistics (see each subclass).

        Raises:
            TypeError: if ``axis`` is not an Axis, a tuple of Axis or a shape dict (a bare name has no size),
                or ``eps`` is not a number.
            ValueError: if ``eps`` is negative (Haliax accepts it and returns NaN for near-constant inputs).

        Examples:
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> ln = hnn.RmsNorm.init(hax.Axis("D", 4), use_bias=False)
            >>> ln.bias is None, ln.weight.tolist()
            (True, [1.0, 1.0, 1.0, 1.0])
        """
        fn = f"{cls.__name__}.init"
        init_axes(fn, {"axis": axis})  # a bare name has no size: say so here, not in `ones`
        if not isinstance(eps, Tracer):  # a traced eps cannot be checked
            try:
                value = None if eps is None or isinstance(eps, (bool, str, bytes)) else float(eps)
            except (TypeError, ValueError):
                value = None
            if value is None:
                raise TypeError(f"{fn}: argument 'eps' must be a number, got {eps!r}")
            if not value >= 0:  # Haliax takes a negative eps and returns NaN where the variance is below -eps
                raise ValueError(f"{fn}: argument 'eps' must be >= 0 (it is added to the variance), got {eps!r}")
        weight = ones(axis) if use_weight else None
        bias = zeros(axis) if use_bias else None
        return cls(axis, weight, bias, eps, dtype)

    def _prepare(self, x: NamedArray, fn: str) -> tuple[tuple[int, ...], Any]:
        if not isinstance(x, NamedArray):
            raise TypeError(f"{fn}: argument 'x' must be a NamedArray, got {type(x).__name__}")
        return locate_axes(x.axes, axis_spec_to_tuple(self.axis), fn), x.dtype

    def _affine(self, out: NamedArray) -> NamedArray:
        if self.weight is not None:
            out = self.weight * out
        if self.bias is not None:
            out = out + self.bias
        return out

    def flatten_for_export(self: L) -> L:
        """Merge a multi-axis ``axis`` into one axis ``"__OUT"`` (weight and bias flattened accordingly)."""
        if isinstance(self.axis, Axis):
            return self

        old = axis_spec_to_tuple(self.axis)
        new_axis = Axis(_FLAT, axis_size(self.axis))

        def flat(p: NamedArray | None) -> NamedArray | None:
            return None if p is None else flatten_axes(p, old, new_axis)

        return type(self)(new_axis, flat(self.weight), flat(self.bias), self.eps, self.dtype)

    def unflatten_from_export(self: L, template: L) -> L:
        """Split ``"__OUT"`` back into ``template.axis`` (``eps``/``dtype`` are kept from ``self``)."""
        if template.axis == self.axis:
            return self

        new_axes = axis_spec_to_tuple(template.axis)

        def unflat(p: NamedArray | None) -> NamedArray | None:
            return None if p is None else unflatten_axis(p, _FLAT, new_axes)

        return type(self)(template.axis, unflat(self.weight), unflat(self.bias), self.eps, self.dtype)


def _at_least_f32(dtype: Any) -> Any:
    return jnp.promote_types(dtype, jnp.float32) if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


class LayerNorm(LayerNormBase):
    """Normalises the input along the specified axis (or axes), using the mean and (population) variance
    of the input along those axes jointly: ``weight * (x - mean) * rsqrt(var + eps) + bias``.

    The statistics are computed in ``dtype`` if given, else in at least float32. Haliax computes them in the
    input dtype and ignores ``dtype``; we up-cast low-precision inputs, as Equinox and PyTorch do.
    The normalised value is cast back to the input dtype before the float32 weight and bias are applied,
    so a bfloat16 input gives a float32 output when weight or bias is present.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, D = hax.make_axes(B=2, D=2)
        >>> out = hnn.LayerNorm.init(D)(hax.arange((B, D), dtype=float))
        >>> [round(v, 3) for v in out.array[0].tolist()]
        [-1.0, 1.0]
    """

    def __call__(self, x: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        idx, in_dtype = self._prepare(x, "LayerNorm")
        raw = x.array.astype(self.dtype if self.dtype is not None else _at_least_f32(in_dtype))
        mean = jnp.mean(raw, axis=idx, keepdims=True)
        var = jnp.maximum(jnp.mean(jnp.square(raw - mean), axis=idx, keepdims=True), 0.0)
        out = ((raw - mean) * jax.lax.rsqrt(var + self.eps)).astype(in_dtype)
        return self._affine(NamedArray(out, x.axes))


class RmsNorm(LayerNormBase):
    """RMS normalisation: ``weight * x * rsqrt(mean(x**2) + eps) + bias`` over ``axis`` (no mean subtraction).

    The input is first converted to ``dtype``; with ``dtype=None`` that is JAX's default float (float32, or
    float64 under x64), so low-precision inputs are up-cast for the statistics. The result is cast back to the
    input dtype before weight and bias. Note `RmsNorm.init` creates a bias by default (``use_bias=True``).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> D = hax.Axis("D", 2)
        >>> out = hnn.RmsNorm.init(D, use_bias=False)(hax.full(D, 3.0))
        >>> [round(v, 3) for v in out.tolist()]
        [1.0, 1.0]
    """

    def __call__(self, x: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        idx, in_dtype = self._prepare(x, "RmsNorm")
        raw = x.astype(self.dtype).array
        var = jnp.mean(jnp.square(raw), axis=idx, keepdims=True)
        out = (raw * jax.lax.rsqrt(var + self.eps)).astype(in_dtype)
        return self._affine(NamedArray(out, x.axes))
