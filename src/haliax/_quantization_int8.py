"""Int8 quantised training for ``dot_general``, in plain ``jax.lax`` (no AQT).

Public names re-exported by `haliax.quantization`.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._quantization_overwrite import OverwriteWithGradient
from .dot_general import DotDimensionNumbers as Dims, normalize_dimension_numbers

__all__ = ["Int8DotGeneralOp"]

_BUCKET_EDGE = 127.5  # 2**7 - 1/2: symmetric int8 that keeps 0 exactly representable
_CLIP = 127.0


def _quantize(x: jax.Array, shared: Sequence[int], noise: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Symmetric int8 quantisation with one scale per position of the axes not in ``shared``:
    ``(q, scale)`` with ``x ≈ q * scale`` and ``scale`` of ``x``'s rank (size 1 along ``shared``)."""
    amax = jnp.max(jnp.abs(x), axis=tuple(shared), keepdims=True)
    amax = jnp.where(amax == 0, jnp.ones_like(amax), amax)
    scale = lax.stop_gradient(amax / _BUCKET_EDGE)
    inverse = 1 / scale
    inverse = jnp.where(jnp.isinf(inverse), jnp.ones_like(inverse), inverse)
    y = x * inverse
    if noise is not None:
        y = (y + noise).astype(x.dtype)
    q = jnp.round(jnp.clip(y, -_CLIP, _CLIP)).astype(jnp.int8)
    return q, scale


def _scale_as_output(
    scale: jax.Array, contract: Sequence[int], batch: Sequence[int], lhs: bool, other_free: int
) -> jax.Array:
    """Lay a per-operand scale out like the ``dot_general`` output ``(batch, lhs free, rhs free)``: drop the
    (size-1) contracting dims and insert size-1 dims for the other operand's free dims."""
    free = [d for d in range(scale.ndim) if d not in contract and d not in batch]
    kept = [*batch, *free]
    s = jnp.transpose(scale, [*kept, *contract]).reshape([scale.shape[d] for d in kept])
    nb = len(batch)
    if lhs:
        return s.reshape(s.shape + (1,) * other_free)
    return s.reshape(s.shape[:nb] + (1,) * other_free + s.shape[nb:])


def _int8_product(lhs: jax.Array, rhs: jax.Array, dims: Dims, lhs_noise: jax.Array | None = None) -> jax.Array:
    """``dot_general(lhs, rhs, dims)`` computed on int8 operands (each scaled per position, shared over its own
    contracting dims), accumulated in int32 and dequantised (lhs scale first) to ``lhs.dtype``."""
    (lc, rc), (lb, rb) = dims
    ql, sl = _quantize(lhs, lc, lhs_noise)
    qr, sr = _quantize(rhs, rc)
    acc = lax.dot_general(ql, qr, dims, preferred_element_type=jnp.int32)
    lhs_free = lhs.ndim - len(lc) - len(lb)
    rhs_free = rhs.ndim - len(rc) - len(rb)
    out = acc.astype(lhs.dtype) * _scale_as_output(sl, lc, lb, True, rhs_free)
    return out * _scale_as_output(sr, rc, rb, False, lhs_free)


def _noise_key() -> jax.Array:
    """The fixed stochastic-rounding key (the same noise on every call, as in the AQT-based original)."""
    return jax.random.split(jax.random.split(jax.random.PRNGKey(42), 3)[1], 2)[0]


def _int8_lhs_cotangent(g: jax.Array, lhs_ndim: int, rhs: jax.Array, dims: Dims) -> jax.Array:
    """The transpose of ``dot_general`` with respect to lhs, as an int8 product: ``g`` (stochastically rounded,
    scale shared over rhs's free dims) times ``rhs`` re-quantised with its scale shared over its free dims."""
    (lc, rc), (lb, rb) = dims
    lhs_kept = [d for d in range(lhs_ndim) if d not in lc and d not in lb]
    rhs_kept = [d for d in range(rhs.ndim) if d not in rc and d not in rb]
    nb = len(lb)
    g_rhs = tuple(range(nb + len(lhs_kept), nb + len(lhs_kept) + len(rhs_kept)))
    t_dims: Dims = ((g_rhs, tuple(rhs_kept)), (tuple(range(nb)), tuple(rb)))
    noise = jax.random.uniform(_noise_key(), g.shape) - 0.5
    product = _int8_product(g, rhs, t_dims, lhs_noise=noise)
    lc_by_rc = [int(d) for d in np.take(lc, np.argsort(rc))]
    perm = tuple(int(i) for i in np.argsort([*lb, *lhs_kept, *lc_by_rc]))
    return jnp.transpose(product, perm)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _int8_dot_general(lhs: jax.Array, rhs: jax.Array, dims: Dims) -> jax.Array:
    return _int8_product(lhs, rhs, dims)


def _int8_fwd(lhs: jax.Array, rhs: jax.Array, dims: Dims) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return _int8_product(lhs, rhs, dims), (lhs, rhs)


def _int8_bwd(dims: Dims, res: tuple[jax.Array, jax.Array], g: jax.Array) -> tuple[jax.Array, jax.Array]:
    lhs, rhs = res
    dlhs = _int8_lhs_cotangent(g, lhs.ndim, rhs, dims).astype(lhs.dtype)
    transpose = jax.linear_transpose(
        lambda r: lax.dot_general(lhs, r, dims), jax.ShapeDtypeStruct(rhs.shape, rhs.dtype)
    )
    (drhs,) = transpose(g.astype(jnp.result_type(lhs, rhs)))
    return dlhs, drhs.astype(rhs.dtype)


_int8_dot_general.defvjp(_int8_fwd, _int8_bwd)


class Int8DotGeneralOp(OverwriteWithGradient):
    """A ``dot_general`` computed on int8 operands, for int8 quantised training (no AQT dependency).

    **Forward**: each operand is quantised symmetrically to int8 with one scale per batch/free position, shared
    over its contracting dims (``scale = max|x| / 127.5``, a zero max counting as 1; ``q = round_half_even(clip(x
    / scale, ±127))``). The int8 product accumulates in int32 and is dequantised with the lhs scale, then the
    rhs scale. The output has the (promoted) input dtype; ``preferred_element_type`` is ignored.

    **Backward**: the lhs cotangent is an int8 product too: the output cotangent, quantised with its scale
    shared over rhs's free dims and stochastically rounded (uniform noise from a fixed key, the same on every
    call), times rhs re-quantised from the float rhs. The rhs cotangent is the ordinary float VJP (the float
    lhs with the output cotangent).

    The op holds no arrays, only configuration (none so far): ``Int8DotGeneralOp.init() ==
    Int8DotGeneralOp.init()``, it hashes (jit caches stay warm) and it survives `apply_updates` unchanged. Its
    state dict is empty (``to_state_dict`` warns that int8 states are ignored).

    Haliax (through AQT) raises an ``AssertionError`` for operands of different dtypes and for any
    ``precision``; here the operands are promoted to their common dtype and ``precision`` is ignored.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.quantization import Int8DotGeneralOp
        >>> In, Out = hax.make_axes(In=8, Out=4)
        >>> layer = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0), dot_general=Int8DotGeneralOp.init())
        >>> x = hax.random.normal(jax.random.PRNGKey(1), In)
        >>> exact = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0))(x)
        >>> bool(hax.all(hax.abs(layer(x) - exact) < 0.05))
        True
        >>> Int8DotGeneralOp.init() == Int8DotGeneralOp.init()
        True
    """

    @classmethod
    def init(cls) -> Int8DotGeneralOp:
        """A fresh op (it holds no state).

        Examples:
            >>> from haliax.quantization import Int8DotGeneralOp
            >>> Int8DotGeneralOp.init()
            Int8DotGeneralOp()
        """
        return cls()

    def to_state_dict(self, prefix: str | None = None) -> dict[str, Any]:
        """Always ``{}``, with a ``UserWarning`` that int8 states are ignored.

        Examples:
            >>> import warnings
            >>> from haliax.quantization import Int8DotGeneralOp
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore")
            ...     Int8DotGeneralOp.init().to_state_dict("layer.dot_general")
            {}
        """
        warnings.warn("Ignore all int8 states (if any) for now.", UserWarning, stacklevel=2)
        return {}

    def __call__(
        self,
        lhs: jax.Array,
        rhs: jax.Array,
        dimension_numbers: Any,
        precision: Any = None,
        preferred_element_type: Any = None,
    ) -> jax.Array:
        """The int8 ``dot_general`` (``precision`` and ``preferred_element_type`` are ignored).

        Args:
            lhs: the left operand.
            rhs: the right operand.
            dimension_numbers: the contracting and batch dimensions, as in `jax.lax.dot_general`.
            precision: ignored.
            preferred_element_type: ignored.

        Raises:
            TypeError: if the operands are not floating point.
        """
        del precision, preferred_element_type
        lhs, rhs = jnp.asarray(lhs), jnp.asarray(rhs)
        dtype = jnp.result_type(lhs, rhs)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(f"Int8DotGeneralOp: lhs and rhs must be floating point, got {lhs.dtype} and {rhs.dtype}")
        dims = normalize_dimension_numbers(dimension_numbers)
        return _int8_dot_general(lhs.astype(dtype), rhs.astype(dtype), dims)
