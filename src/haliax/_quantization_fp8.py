"""Delayed-scaling FP8 quantise-dequantise ("qdq") for ``dot_general``, ported from Flax's ``fp8_ops``.

Public names re-exported by `haliax.quantization`.
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import DTypeLike

from ._quantization_overwrite import OverwriteWithGradient
from .dot_general import normalize_dimension_numbers

__all__ = [
    "compute_scale",
    "compute_amax_history",
    "qdq",
    "in_qdq",
    "out_qdq",
    "dot_general_with_precision",
    "Fp8DotGeneralOp",
]

E4M3 = jnp.float8_e4m3fn
E5M2 = jnp.float8_e5m2


def _fp8_max(fmt: Any) -> jax.Array:
    """The largest finite value of ``fmt`` (448 for e4m3fn, 57344 for e5m2), as float32."""
    return jnp.asarray(float(jnp.finfo(fmt).max), dtype=jnp.float32)


def compute_scale(amax: jax.Array, scale: jax.Array, fp8_max: Any, margin: int = 0) -> jax.Array:
    """The delayed-scaling rule: ``amax / fp8_max`` (times ``2**margin``), or the stored ``scale`` when ``amax``
    is zero or not finite.

    Written as Transformer Engine writes it, on reciprocals: ``1 / ((fp8_max / amax) / 2**margin)``, and the
    fallback is ``1 / (1 / scale)``.

    Args:
        amax: the largest absolute value seen (from the history).
        scale: the stored scale, used when ``amax`` is zero or not finite.
        fp8_max: the largest finite value of the FP8 format.
        margin: a power-of-two head room: the scale is multiplied by ``2**margin``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import compute_scale
        >>> compute_scale(jnp.float32(896.0), jnp.ones(1), 448.0).tolist()
        [2.0]
        >>> compute_scale(jnp.float32(0.0), jnp.full((1,), 3.0), 448.0).tolist()
        [3.0]
    """
    inverse = 1.0 / scale
    factor = (fp8_max / amax) / (2**margin)
    factor = jnp.where(amax > 0.0, factor, inverse)
    factor = jnp.where(jnp.isfinite(amax), factor, inverse)
    return 1.0 / factor


def compute_amax_history(x: jax.Array, amax_history: jax.Array) -> jax.Array:
    """Roll the history left by one and put ``max(|x|)`` at position 0.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import compute_amax_history
        >>> compute_amax_history(jnp.array([-3.0, 2.0]), jnp.array([1.0, 0.0, 5.0])).tolist()
        [3.0, 5.0, 1.0]
    """
    amax = jnp.max(jnp.abs(x)).astype(amax_history.dtype)
    return jnp.roll(amax_history, -1, axis=0).at[0].set(amax)


def _usable_scale(scale: jax.Array) -> jax.Array:
    """A stored scale that is <= 0 or not finite reads as 1: zero cotangents (a layer that took no part in the
    loss) must not turn into a zero scale that silences the layer from then on."""
    return jnp.where((scale > 0) & jnp.isfinite(scale), scale, jnp.ones_like(scale))


def qdq(
    x: jax.Array, fmt: Any, scale: jax.Array, amax_history: jax.Array, compute_dtype: Any
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Quantise ``x`` to the FP8 format ``fmt`` and back, with delayed scaling: ``(x_qdq, new_scale, new_history)``.

    1. ``new_scale = compute_scale(max(amax_history), scale, fmt_max)``, where ``fmt_max`` is 448 for
       ``float8_e4m3fn`` and 57344 for ``float8_e5m2``;
    2. ``x_qdq = clip(x / new_scale, ±fmt_max).astype(fmt).astype(x.dtype) * new_scale`` (the division and the
       clip run in ``compute_dtype``);
    3. ``new_history = compute_amax_history(x, amax_history)``.

    The scale used for ``x`` comes from the history *before* ``max|x|`` is added to it. Haliax lets a stored
    scale of 0 (what a layer left out of the loss gets from its zero cotangents) silence the layer for good;
    here a stored scale that is <= 0 or not finite counts as 1, so an all-zero history simply restarts.

    Args:
        x: the values to quantise.
        fmt: ``jnp.float8_e4m3fn`` or ``jnp.float8_e5m2``.
        scale: the stored scale, shape ``(1,)``.
        amax_history: the history of ``max|x|``, shape ``(L,)``.
        compute_dtype: the dtype the scaling runs in.

    Examples:
        >>> import jax.numpy as jnp
        >>> from haliax.quantization import qdq
        >>> x = jnp.array([1.0, -300.0])
        >>> y, scale, hist = qdq(x, jnp.float8_e4m3fn, jnp.ones(1), jnp.array([896.0, 0.0]), jnp.float32)
        >>> y.tolist(), scale.tolist(), hist.tolist()
        ([1.0, -288.0], [2.0], [300.0, 896.0])
    """
    scale32 = _usable_scale(scale.astype(jnp.float32))
    history32 = amax_history.astype(jnp.float32)
    fmt_max = _fp8_max(fmt)
    new_scale = compute_scale(jnp.max(history32, axis=0), scale32, fmt_max)
    s = jnp.reshape(new_scale, ())
    bound = fmt_max.astype(compute_dtype)
    q = jnp.clip(x / s.astype(compute_dtype), -bound, bound).astype(fmt)
    x_qdq = q.astype(x.dtype) * s.astype(x.dtype)
    new_history = compute_amax_history(x, history32)
    return x_qdq, new_scale.astype(scale.dtype), new_history.astype(amax_history.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def in_qdq(compute_dtype: Any, x: jax.Array, scale: jax.Array, amax_history: jax.Array) -> jax.Array:
    """The input/kernel step: e4m3 `qdq` forward; backward passes ``x``'s cotangent straight through and returns
    the new scale and history as the "cotangents" of ``scale`` and ``amax_history``.

    Args:
        compute_dtype: the dtype of the dequantised result.
        x: the input or kernel.
        scale: the current scale.
        amax_history: the history of absolute maxima (newest first).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from haliax.quantization import in_qdq
        >>> x = jnp.array([0.3, -2.0])
        >>> in_qdq(jnp.float32, x, jnp.ones(1), jnp.zeros(4)).tolist()
        [0.3125, -2.0]
        >>> gx, gs, gh = jax.grad(lambda *a: in_qdq(jnp.float32, *a).sum(), argnums=(0, 1, 2))(x, jnp.ones(1),
        ...                                                                                     jnp.zeros(4))
        >>> gx.tolist(), gs.tolist(), gh.tolist()
        ([1.0, 1.0], [1.0], [2.0, 0.0, 0.0, 0.0])
    """
    return qdq(x, E4M3, scale, amax_history, compute_dtype)[0]


def _in_qdq_fwd(
    compute_dtype: Any, x: jax.Array, scale: jax.Array, amax_history: jax.Array
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    x_qdq, new_scale, new_history = qdq(x, E4M3, scale, amax_history, compute_dtype)
    return x_qdq, (new_scale, new_history)


def _in_qdq_bwd(
    compute_dtype: Any, res: tuple[jax.Array, jax.Array], g: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    new_scale, new_history = res
    return g, new_scale, new_history


in_qdq.defvjp(_in_qdq_fwd, _in_qdq_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def out_qdq(compute_dtype: Any, out: jax.Array, scale: jax.Array, amax_history: jax.Array) -> jax.Array:
    """The output-gradient step: identity forward; backward replaces the cotangent ``g`` by its e5m2 `qdq` and
    returns the new scale and history as the "cotangents" of ``scale`` and ``amax_history``.

    Args:
        compute_dtype: the dtype of the dequantised result.
        out: the output of the product (its cotangent is quantised).
        scale: the current scale.
        amax_history: the history of absolute maxima (newest first).

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from haliax.quantization import out_qdq
        >>> y = jnp.array([0.5, -2.0])
        >>> out_qdq(jnp.float32, y, jnp.ones(1), jnp.zeros(4)).tolist()
        [0.5, -2.0]
        >>> g, gs, gh = jax.grad(lambda *a: (out_qdq(jnp.float32, *a) * 0.3).sum(), argnums=(0, 1, 2))(
        ...     y, jnp.ones(1), jnp.zeros(4))
        >>> g.tolist(), gh.tolist()
        ([0.3125, 0.3125], [0.30000001192092896, 0.0, 0.0, 0.0])
    """
    return out


def _out_qdq_fwd(
    compute_dtype: Any, out: jax.Array, scale: jax.Array, amax_history: jax.Array
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    return out, (scale, amax_history)


def _out_qdq_bwd(
    compute_dtype: Any, res: tuple[jax.Array, jax.Array], g: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    scale, amax_history = res
    return qdq(g, E5M2, scale, amax_history, compute_dtype)


out_qdq.defvjp(_out_qdq_fwd, _out_qdq_bwd)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def dot_general_with_precision(
    lhs: jax.Array,
    rhs: jax.Array,
    dimension_numbers: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> jax.Array:
    """``lax.dot_general`` at ``Precision.DEFAULT`` whose derivative products run at ``Precision.HIGHEST``.

    ``precision`` and ``preferred_element_type`` are accepted for signature compatibility and ignored (float32
    inputs give float32 even when bfloat16 is requested). The JVP's tangent is ``dot(lhs_dot, rhs) + dot(lhs,
    rhs_dot)``, both at ``HIGHEST``, so reverse mode computes the input gradients at full precision.

    Args:
        lhs: the left operand.
        rhs: the right operand.
        dimension_numbers: the contracting and batch dimensions, as in `jax.lax.dot_general`.
        precision: ignored.
        preferred_element_type: ignored.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from haliax.quantization import dot_general_with_precision
        >>> dn = (((1,), (0,)), ((), ()))
        >>> out = dot_general_with_precision(jnp.ones((2, 3)), jnp.ones((3, 4)), dn, None, jnp.bfloat16)
        >>> out.shape, out.dtype
        ((2, 4), dtype('float32'))
        >>> jax.jvp(lambda a: dot_general_with_precision(a, jnp.eye(3), dn), (jnp.ones((1, 3)),),
        ...         (jnp.full((1, 3), 2.0),))[1].tolist()
        [[2.0, 2.0, 2.0]]
    """
    return lax.dot_general(lhs, rhs, dimension_numbers, precision=lax.Precision.DEFAULT)


@dot_general_with_precision.defjvp
def _dot_general_with_precision_jvp(
    dimension_numbers: Any,
    precision: Any,
    preferred_element_type: Any,
    primals: tuple[jax.Array, jax.Array],
    tangents: tuple[jax.Array, jax.Array],
) -> tuple[jax.Array, jax.Array]:
    lhs, rhs = primals
    lhs_dot, rhs_dot = tangents
    out = lax.dot_general(lhs, rhs, dimension_numbers, precision=lax.Precision.DEFAULT)
    tangent = lax.dot_general(lhs_dot, rhs, dimension_numbers, precision=lax.Precision.HIGHEST) + lax.dot_general(
        lhs, rhs_dot, dimension_numbers, precision=lax.Precision.HIGHEST
    )
    return out, tangent


class Fp8DotGeneralOp(OverwriteWithGradient):
    """A ``dot_general`` that runs its operands through FP8 with delayed scaling (a port of Flax's ``Fp8DotGeneralOp``).

    The forward pass quantises the input and the kernel to ``float8_e4m3fn`` and back (`in_qdq`) and multiplies
    them with `dot_general_with_precision`. The backward pass quantises the output cotangent to
    ``float8_e5m2`` and back (`out_qdq`) before the matmul's VJP, and passes the input and kernel cotangents
    straight through. The "gradient" of each of the six state arrays is that array's **next value** (the scale
    from the history before this step, the history with this step's ``max|·|`` rolled in), so a training step
    installs it with `partition_for_grad_overwrite` and `apply_updates` rather than an optimizer.

    Fields (this order also fixes the state-dict keys ``dot_general.<field>`` of a `haliax.nn.Linear`):
    ``input_scale``, ``output_grad_scale``, ``kernel_scale`` (``ones((1,))``), ``input_amax_history``,
    ``output_grad_amax_history``, ``kernel_amax_history`` (``zeros((L,))``), all float32, and the static
    ``compute_dtype``. The op holds arrays, so it is not hashable.

    The compute dtype is ``compute_dtype`` or else the kernel's dtype; the input is cast to it. ``precision`` and
    ``preferred_element_type`` are ignored; the output dtype is the promotion of the two dequantised operands.

    Haliax zeroes the scales of an op that takes no part in the loss (its cotangents are zero), after which
    the layer outputs exact zeros; here a stored scale that is <= 0 or not finite counts as 1, so such a
    layer keeps working and restarts its scaling.

    **Limitation**: the state cotangents of one op used ``k`` times in a loss (a shared layer, or two calls of
    the same layer) are *summed* by autodiff, so the installed scales and histories are ``k`` times the true
    values. Use a separate op (layer) per call site.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> from haliax.quantization import Fp8DotGeneralOp
        >>> In, Out = hax.make_axes(In=8, Out=4)
        >>> layer = hnn.Linear.init(In, Out, key=jax.random.PRNGKey(0), dot_general=Fp8DotGeneralOp.init(16))
        >>> layer(hax.ones(In)).axes == (Out,)
        True
        >>> grads = jax.grad(lambda m: hax.sum(m(hax.ones(In))).array)(layer)
        >>> grads.dot_general.input_amax_history[:2].tolist(), grads.dot_general.output_grad_amax_history[0].tolist()
        ([1.0, 0.0], 1.0)
    """

    input_scale: jax.Array
    output_grad_scale: jax.Array
    kernel_scale: jax.Array
    input_amax_history: jax.Array
    output_grad_amax_history: jax.Array
    kernel_amax_history: jax.Array
    compute_dtype: DTypeLike | None = eqx.field(static=True, default=None)

    @classmethod
    def init(cls, amax_history_length: int = 1024, compute_dtype: DTypeLike | None = None) -> Fp8DotGeneralOp:
        """A fresh op: scales ``ones((1,))`` and histories ``zeros((amax_history_length,))``, all float32.

        Raises:
            ValueError: if ``amax_history_length`` is not a positive integer.
            TypeError: if ``compute_dtype`` is not None or a floating dtype.

        Examples:
            >>> from haliax.quantization import Fp8DotGeneralOp
            >>> op = Fp8DotGeneralOp.init(8)
            >>> op.input_scale.tolist(), op.kernel_amax_history.shape, op.compute_dtype
            ([1.0], (8,), None)
        """
        if isinstance(amax_history_length, bool) or not isinstance(amax_history_length, int) or amax_history_length < 1:
            raise ValueError(
                f"Fp8DotGeneralOp.init: amax_history_length must be a positive int, got {amax_history_length!r}"
            )
        if compute_dtype is not None:
            try:  # a misspelt dtype would otherwise fail at the first matmul, in NumPy's words
                ok = jnp.issubdtype(jnp.dtype(compute_dtype), jnp.floating)
            except TypeError:
                ok = False
            if not ok:
                raise TypeError(
                    f"Fp8DotGeneralOp.init: compute_dtype must be None or a floating dtype (e.g. jnp.bfloat16), "
                    f"got {compute_dtype!r}"
                )
        ones = jnp.ones((1,), dtype=jnp.float32)
        zeros = jnp.zeros((amax_history_length,), dtype=jnp.float32)
        return cls(ones, ones, ones, zeros, zeros, zeros, compute_dtype)

    def _check_state(self) -> None:
        scales = {
            "input_scale": self.input_scale,
            "output_grad_scale": self.output_grad_scale,
            "kernel_scale": self.kernel_scale,
        }
        for name, s in scales.items():
            if tuple(s.shape) != (1,):
                raise ValueError(
                    f"Fp8DotGeneralOp: {name} must have shape (1,), got {tuple(s.shape)}. An op built for a "
                    "haliax.nn.Stacked holds one state per layer; call it one layer at a time (Stacked.fold/scan "
                    "do this)"
                )
        histories = {
            "input_amax_history": self.input_amax_history,
            "output_grad_amax_history": self.output_grad_amax_history,
            "kernel_amax_history": self.kernel_amax_history,
        }
        for name, h in histories.items():
            if len(h.shape) != 1:
                raise ValueError(f"Fp8DotGeneralOp: {name} must be 1-D, got shape {tuple(h.shape)}")

    def __call__(
        self,
        lhs: jax.Array,
        rhs: jax.Array,
        dimension_numbers: Any,
        precision: Any = None,
        preferred_element_type: Any = None,
    ) -> jax.Array:
        """``dot_general`` of the FP8-quantised-dequantised operands (``precision`` and
        ``preferred_element_type`` are ignored).

        Args:
            lhs: the left operand.
            rhs: the right operand.
            dimension_numbers: the contracting and batch dimensions, as in `jax.lax.dot_general`.
            precision: ignored.
            preferred_element_type: ignored.
        """
        del precision, preferred_element_type
        self._check_state()
        lhs, rhs = jnp.asarray(lhs), jnp.asarray(rhs)
        compute_dtype = rhs.dtype if self.compute_dtype is None else jnp.dtype(self.compute_dtype)
        lhs = lhs.astype(compute_dtype)
        dn = normalize_dimension_numbers(dimension_numbers)
        x = in_qdq(compute_dtype, lhs, self.input_scale, self.input_amax_history)
        k = in_qdq(compute_dtype, rhs, self.kernel_scale, self.kernel_amax_history)
        y = dot_general_with_precision(x, k, dn)
        return out_qdq(compute_dtype, y, self.output_grad_scale, self.output_grad_amax_history)
