"""Loss functions over named axes: cross-entropy (soft or one-hot targets), binary cross-entropy, and the
shared reduction helper `reduce_loss`."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import AxisSelection, AxisSelector, locate_axis
from ..core import NamedArray
from ..ops.broadcast import broadcast_to
from ..ops.linalg import dot
from ..ops.reductions import mean as _hax_mean
from ..util import UNSPECIFIED, Unspecified
from .activations import compute_dtype, logsumexp

__all__ = [
    "cross_entropy_loss",
    "cross_entropy_loss_and_log_normalizers",
    "binary_cross_entropy_loss",
    "reduce_loss",
    "maybe_reduce_loss",
]


def _check_axis(fn: str, arg: str, x: NamedArray, Label: AxisSelector) -> None:
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")
    locate_axis(x.axes, Label, fn, arg)


def _upcast(x: NamedArray) -> NamedArray:
    dt = compute_dtype(x.dtype)
    return x if dt == x.dtype else NamedArray(x.array.astype(dt), x.axes)


def cross_entropy_loss_and_log_normalizers(
    pred_y: NamedArray, Label: AxisSelector, target_y: NamedArray
) -> tuple[NamedArray, NamedArray]:
    """Unreduced cross-entropy and the log normalisers ``logsumexp(pred_y, Label)``.

    ``target_y`` holds probability distributions over ``Label`` (one-hot or soft labels). The loss is
    ``dot(target_y, logsumexp(pred_y, Label) - pred_y, axis=Label)``: its axes follow ``target_y``'s order,
    then any axes only ``pred_y`` has (as in Haliax). Computed in at least float32.

    Raises:
        ValueError: if ``Label`` is missing from ``pred_y`` or ``target_y``.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=2, L=4)
        >>> loss, lse = hnn.cross_entropy_loss_and_log_normalizers(hax.zeros((B, L)), L, hnn.one_hot(hax.arange(B), L))
        >>> [round(v, 4) for v in loss.tolist()], lse.axes == (B,)
        ([1.3863, 1.3863], True)
    """
    fn = "cross_entropy_loss"
    if not isinstance(target_y, NamedArray):
        raise TypeError(f"{fn}: argument 'targets' must be a NamedArray, got {type(target_y).__name__}")
    if not jnp.issubdtype(target_y.dtype, jnp.floating):
        warnings.warn(
            f"target_y has dtype {target_y.dtype}, which is not a floating point type. This is probably a mistake.",
            stacklevel=3,
        )
    _check_axis(fn, "logits", pred_y, Label)
    _check_axis(fn, "targets", target_y, Label)
    pred_y = _upcast(pred_y)
    log_normalizers = logsumexp(pred_y, Label)
    loss = dot(target_y, log_normalizers - pred_y, axis=Label)
    return loss, log_normalizers


def cross_entropy_loss(
    logits: NamedArray,
    Label: AxisSelector,
    targets: NamedArray,
    reduction: Any = UNSPECIFIED,
    where: NamedArray | None = None,
    reduction_axis: AxisSelection | None = None,
) -> NamedArray:
    """Cross-entropy ``-sum_Label targets * log_softmax(logits)``, reduced as `reduce_loss` describes.

    ``targets`` are probability distributions over ``Label`` with the same axes as ``logits`` (float dtype;
    an integer dtype warns). By default the loss is averaged over every non-``Label`` axis and returned as
    a 0-d NamedArray (use ``.scalar()``); with ``where`` the mean is over the True positions only.
    ``reduction=None`` or ``reduction_axis=()`` returns the unreduced loss (masked positions set to 0),
    whose axes follow the targets' order (as in Haliax). Computed in at least float32.

    Args:
        logits: unnormalised log-probabilities with the ``Label`` axis.
        Label: the class axis.
        targets: probability distributions over ``Label`` (e.g. one-hot), with the same axes as ``logits``.
        reduction: a haliax reduction such as `haliax.mean` (the default) or `haliax.sum`, or None for no reduction.
        where: an optional boolean mask over the loss's axes; False positions do not count (0 when unreduced).
        reduction_axis: the axes to reduce (None: all of them; ``()``: none).

    Raises:
        ValueError: if ``Label`` is missing from ``logits`` or ``targets``.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=3, L=4)
        >>> loss = hnn.cross_entropy_loss(hax.zeros((B, L)), L, hnn.one_hot(hax.arange(B), L))
        >>> loss.axes, round(float(loss.scalar()), 4)
        ((), 1.3863)
    """
    loss, _ = cross_entropy_loss_and_log_normalizers(logits, Label, targets)
    return reduce_loss(loss, reduction, reduction_axis, where)


def binary_cross_entropy_loss(
    logits: NamedArray,
    targets: NamedArray,
    reduction: Any = UNSPECIFIED,
    where: NamedArray | None = None,
    reduction_axis: AxisSelection | None = None,
) -> NamedArray:
    """Binary cross-entropy on logits: ``-t*log_sigmoid(x) - (1-t)*log_sigmoid(-x)``.

    ``targets`` are cast to the logits' dtype. Reduction as in `reduce_loss` (default: mean over all axes).

    Args:
        logits: the logits.
        targets: the target probabilities (0 or 1 for hard labels), cast to the logits' dtype.
        reduction: a haliax reduction such as `haliax.mean` (the default) or `haliax.sum`, or None for no reduction.
        where: an optional boolean mask over the loss's axes; False positions do not count (0 when unreduced).
        reduction_axis: the axes to reduce (None: all of them; ``()``: none).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B = hax.Axis("B", 2)
        >>> round(float(hnn.binary_cross_entropy_loss(hax.zeros(B), hax.ones(B)).scalar()), 4)
        0.6931
    """
    if not isinstance(logits, NamedArray):
        raise TypeError(f"binary_cross_entropy_loss: argument 'logits' must be a NamedArray, got {type(logits)}")
    if isinstance(targets, NamedArray):
        targets = NamedArray(targets.array.astype(logits.dtype), targets.axes)
    else:
        targets = jnp.asarray(targets, dtype=logits.dtype)
    log_p = NamedArray(jax.nn.log_sigmoid(logits.array), logits.axes)
    log_not_p = NamedArray(jax.nn.log_sigmoid(-logits.array), logits.axes)
    loss = -targets * log_p - (1 - targets) * log_not_p
    return reduce_loss(loss, reduction, reduction_axis, where)


def reduce_loss(
    arr: NamedArray,
    reduction: Any = UNSPECIFIED,
    reduction_axis: AxisSelection | None = None,
    where: NamedArray | None = None,
) -> NamedArray:
    """Reduce a per-position loss.

    * If ``reduction is not None`` and ``reduction_axis != ()``: call
      ``reduction(arr, where=where, axis=reduction_axis)``; ``UNSPECIFIED`` means `haliax.mean`, and
      ``reduction_axis=None`` reduces every axis (a 0-d NamedArray). Any haliax reduction with
      ``(array, axis=, where=)`` works (``hax.sum``, ``hax.max``, ...).
    * Otherwise return ``arr`` unreduced, with positions where ``where`` is False set to 0.

    Args:
        arr: the per-position loss.
        reduction: a haliax reduction such as `haliax.mean` (the default) or `haliax.sum`, or None for no reduction.
        reduction_axis: the axes to reduce (None: all of them; ``()``: none).
        where: an optional boolean mask over the loss's axes; False positions do not count (0 when unreduced).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, P = hax.make_axes(B=2, P=3)
        >>> hnn.reduce_loss(hax.ones((B, P)), hax.sum, reduction_axis=P).tolist()
        [3.0, 3.0]
    """
    if reduction is not None and reduction_axis != ():
        if reduction is UNSPECIFIED or isinstance(reduction, Unspecified):
            reduction = _hax_mean
        return reduction(arr, where=where, axis=reduction_axis)
    if where is not None:
        w = broadcast_to(where, arr.axes)
        return NamedArray(jnp.where(w.array, arr.array, jnp.zeros((), arr.dtype)), arr.axes)
    return arr


maybe_reduce_loss = reduce_loss
