"""Loss functions over named axes: cross-entropy (soft or one-hot targets), binary cross-entropy, and the
shared reduction helper `reduce_loss`.

Bad input never gives a quiet wrong number here (Haliax returns NaN or a wrong mean in each case below):

* a class whose target probability is exactly 0 adds exactly 0, even when its logit is ``-inf`` (cross-entropy)
  or a confident ``+inf``/``-inf`` logit makes the other log-probability ``-inf`` (binary cross-entropy); the loss
  and its gradient stay finite;
* the mean over a ``where`` mask that is all False (a padding-only batch) is 0 with zero gradients, not 0/0;
* a ``where`` that does not broadcast against the loss, or axes of the same name but different sizes in
  ``logits`` and ``targets``, raise ``ValueError`` naming the function and both arguments' axes;
* concrete one-hot targets with an all-zero row (an id outside the label axis) raise `AxisIndexError`.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from ..axis import Axis, AxisIndexError, AxisSelection, AxisSelector, locate_axes, locate_axis, lookup_axis
from ..core import NamedArray
from ..ops.broadcast import binary_plan, broadcast_to
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


def check_same_sizes(fn: str, first: str, a: NamedArray, second: str, b: NamedArray) -> None:
    """Raise a ``ValueError`` naming both roles when ``a`` and ``b`` have a same-name axis of different sizes,
    e.g. ``"cross_entropy_loss: 'logits' has vocab(7) but 'targets' has vocab(8)"``."""
    for ax in b.axes:
        i = lookup_axis(a.axes, ax.name, fn, None)
        if i is not None and a.axes[i].size != ax.size:
            raise ValueError(f"{fn}: {first!r} has {a.axes[i]} but {second!r} has {ax}")


def _upcast(x: NamedArray) -> NamedArray:
    dt = compute_dtype(x.dtype)
    return x if dt == x.dtype else NamedArray(x.array.astype(dt), x.axes)


def _axes_str(axes: tuple[Axis, ...]) -> str:
    return "(" + ", ".join(str(a) for a in axes) + ")"


def check_where(fn: str, where: Any, loss_axes: tuple[Axis, ...]) -> NamedArray | None:
    """Validate a loss's ``where`` mask against the loss's axes and broadcast it to them.

    ``where`` must be a NamedArray whose axes are among the loss's (by name, with the same sizes); the error
    names the function, the argument and both sets of axes.
    """
    if where is None:
        return None
    if not isinstance(where, NamedArray):
        raise TypeError(
            f"{fn}: argument 'where' must be a boolean NamedArray over the loss axes {_axes_str(loss_axes)}, "
            f"got {type(where).__name__}"
        )
    if jnp.issubdtype(where.dtype, jnp.inexact):
        raise TypeError(
            f"{fn}: argument 'where' must be a boolean mask, got dtype {where.dtype}; to weight positions, "
            "multiply the unreduced loss (reduction=None) by the weights instead"
        )
    for ax in where.axes:
        i = lookup_axis(loss_axes, ax.name, fn, None)
        if i is None or loss_axes[i].size != ax.size:
            why = f"{ax} is not a loss axis" if i is None else f"{ax} but the loss has {loss_axes[i]}"
            raise ValueError(
                f"{fn}: argument 'where' with axes {_axes_str(where.axes)} does not broadcast against the loss "
                f"axes {_axes_str(loss_axes)}: {why}"
            )
    return broadcast_to(where, loss_axes)


def _index_str(axes: tuple[Axis, ...], index: tuple[int, ...]) -> str:
    return ", ".join(f"{a.name}={int(i)}" for a, i in zip(axes, index, strict=True)) or "()"


def _check_target_rows(fn: str, targets: NamedArray, Label: Axis, loss_axes: tuple[Axis, ...], where: Any) -> None:
    """With concrete targets (and ``where``), raise if a counted position's target row sums to 0 over ``Label``:
    that is what one-hot encoding an id outside ``[0, |Label|)`` gives, and it would silently score 0."""
    if isinstance(targets.array, Tracer) or isinstance(getattr(where, "array", None), Tracer):
        return
    label_pos = targets.axes.index(Label)
    row_axes = tuple(a for a in targets.axes if a != Label)
    empty = NamedArray(np.asarray(targets.array).sum(axis=label_pos) == 0, row_axes)
    rows = np.asarray(broadcast_to(empty, loss_axes).array)
    if where is not None:
        rows = rows & np.asarray(where.array).astype(bool)
    if not rows.any():
        return
    bad = np.argwhere(rows)
    raise AxisIndexError(
        f"{fn}: 'targets' has {len(bad)} position(s) whose distribution over {Label} sums to 0 (first at "
        f"{_index_str(loss_axes, tuple(bad[0]))}); a one-hot target of an id outside [0, {Label.size}) on axis "
        f"{Label.name} (size {Label.size}) looks like this and would silently count as a loss of 0. Fix the ids, "
        "or leave such positions out with where=..."
    )


def _weighted(weight: jax.Array, value: jax.Array) -> jax.Array:
    """``weight * value`` where a zero weight contributes exactly 0 even if ``value`` is infinite, with finite
    gradients (the infinite value never enters a product, in the forward or the backward pass)."""
    skip = (weight == 0) & jnp.isinf(value)
    return jnp.where(skip, jnp.zeros((), value.dtype), weight * jnp.where(skip, jnp.zeros((), value.dtype), value))


def cross_entropy_loss_and_log_normalizers(
    pred_y: NamedArray, Label: AxisSelector, target_y: NamedArray
) -> tuple[NamedArray, NamedArray]:
    """Unreduced cross-entropy and the log normalisers ``logsumexp(pred_y, Label)``.

    ``target_y`` holds probability distributions over ``Label`` (one-hot or soft labels). The loss is
    ``dot(target_y, logsumexp(pred_y, Label) - pred_y, axis=Label)``: its axes follow ``target_y``'s order,
    then any axes only ``pred_y`` has (as in Haliax). Computed in at least float32. A class whose target is
    exactly 0 adds 0 even when its logit is ``-inf`` (Haliax gives NaN there). All-zero target rows are not
    checked here (they give a loss of 0); `cross_entropy_loss` checks them.

    Raises:
        ValueError: if ``Label`` is missing from ``pred_y`` or ``target_y``, or an axis has different sizes in the
            two (the message names both roles).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=2, L=4)
        >>> loss, lse = hnn.cross_entropy_loss_and_log_normalizers(hax.zeros((B, L)), L, hnn.one_hot(hax.arange(B), L))
        >>> [round(v, 4) for v in loss.tolist()], lse.axes == (B,)
        ([1.3863, 1.3863], True)
    """
    return _cross_entropy_and_lse("cross_entropy_loss_and_log_normalizers", pred_y, Label, target_y)


def _cross_entropy_and_lse(
    fn: str, pred_y: NamedArray, Label: AxisSelector, target_y: NamedArray
) -> tuple[NamedArray, NamedArray]:
    for arg, x in (("logits", pred_y), ("targets", target_y)):
        if not isinstance(x, NamedArray):
            raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(x).__name__}")
    if not jnp.issubdtype(target_y.dtype, jnp.floating):
        warnings.warn(
            f"target_y has dtype {target_y.dtype}, which is not a floating point type. This is probably a mistake.",
            stacklevel=3,
        )
    check_same_sizes(fn, "logits", pred_y, "targets", target_y)
    _check_axis(fn, "logits", pred_y, Label)
    _check_axis(fn, "targets", target_y, Label)
    Lab = target_y.axes[locate_axis(target_y.axes, Label, fn, "targets")]
    pred_y = _upcast(pred_y)
    log_normalizers = logsumexp(pred_y, Label)
    diff = log_normalizers - pred_y
    # the axes of dot(target_y, diff, axis=Label): the targets' order, then any axes only the logits have
    t_names = set(target_y.shape)
    axes = target_y.axes + tuple(a for a in diff.axes if a.name not in t_names)
    t = broadcast_to(target_y, axes).array
    d = broadcast_to(diff, axes).array
    per_label = _weighted(t, d)  # a class with target 0 adds 0, even when its logit is -inf
    loss = NamedArray(jnp.sum(per_label, axis=axes.index(Lab)), tuple(a for a in axes if a != Lab))
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

    Where we differ from Haliax, which returns NaN or a wrong number in these cases:

    * A class whose target is exactly 0 contributes exactly 0, so a ``-inf`` logit on a class that is never the
      target (a banned token) gives a finite loss and a finite gradient.
    * With ``where`` all False, the default mean is 0 with zero gradients instead of 0/0 (NaN), so a
      padding-only batch cannot poison optimizer state. (This holds for `haliax.mean`; other reductions are
      called as given.)
    * When ``targets`` (and ``where``) are concrete, a counted position whose target row sums to 0, which is
      what one-hot encoding an id outside ``[0, |Label|)`` gives, raises `haliax.axis.AxisIndexError` (an
      ``IndexError`` and a ``ValueError``) naming the axis and its size. Under `jax.jit` the targets are traced
      and cannot be checked: such a row then counts as a loss of 0 in the mean, so exclude it with ``where``.

    Args:
        logits: unnormalised log-probabilities with the ``Label`` axis.
        Label: the class axis.
        targets: probability distributions over ``Label`` (e.g. one-hot), with the same axes as ``logits``.
        reduction: a haliax reduction such as `haliax.mean` (the default) or `haliax.sum`, or None for no reduction.
        where: an optional boolean mask over the loss's axes; False positions do not count (0 when unreduced).
        reduction_axis: the axes to reduce (None: all of them; ``()``: none).

    Raises:
        ValueError: if ``Label`` is missing from ``logits`` or ``targets``, an axis has different sizes in the two
            (``"'logits' has L(7) but 'targets' has L(8)"``), or ``where`` does not broadcast against the loss.
        TypeError: if an argument is not a NamedArray, or ``where`` is not a boolean mask.
        AxisIndexError: for concrete all-zero target rows at counted positions (see above).

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, L = hax.make_axes(B=3, L=4)
        >>> loss = hnn.cross_entropy_loss(hax.zeros((B, L)), L, hnn.one_hot(hax.arange(B), L))
        >>> loss.axes, round(float(loss.scalar()), 4)
        ((), 1.3863)
    """
    fn = "cross_entropy_loss"
    loss, _ = _cross_entropy_and_lse(fn, logits, Label, targets)
    w = check_where(fn, where, loss.axes)
    _check_target_rows(fn, targets, targets.axes[locate_axis(targets.axes, Label, fn, "targets")], loss.axes, w)
    return reduce_loss_as(fn, loss, reduction, reduction_axis, w)


def binary_cross_entropy_loss(
    logits: NamedArray,
    targets: NamedArray,
    reduction: Any = UNSPECIFIED,
    where: NamedArray | None = None,
    reduction_axis: AxisSelection | None = None,
) -> NamedArray:
    """Binary cross-entropy on logits: ``-t*log_sigmoid(x) - (1-t)*log_sigmoid(-x)``.

    ``targets`` are cast to the logits' dtype. Reduction as in `reduce_loss` (default: mean over all axes).
    A term whose weight (``t`` or ``1 - t``) is exactly 0 adds exactly 0, so confidently correct ``+inf`` /
    ``-inf`` logits give a loss of 0 and a zero gradient; Haliax returns NaN there (``0 * -inf``). The mean
    over a ``where`` that is all False is 0, not NaN.

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
    fn = "binary_cross_entropy_loss"
    if not isinstance(logits, NamedArray):
        raise TypeError(f"{fn}: argument 'logits' must be a NamedArray, got {type(logits).__name__}")
    if isinstance(targets, NamedArray):
        check_same_sizes(fn, "logits", logits, "targets", targets)
        t_set, l_set = set(targets.axes), set(logits.axes)
        if not (t_set <= l_set or l_set <= t_set):
            raise ValueError(
                f"{fn}: 'logits' has axes {_axes_str(logits.axes)} and 'targets' has axes {_axes_str(targets.axes)}; "
                "the axes of one must be among the other's"
            )
        axes = binary_plan(targets.axes, logits.axes, fn)
        t = broadcast_to(targets, axes).array.astype(logits.dtype)
        x = broadcast_to(logits, axes).array
    else:
        axes, x = logits.axes, logits.array
        t = jnp.asarray(targets, dtype=logits.dtype)
        try:
            t = jnp.broadcast_to(t, x.shape)
        except ValueError:
            raise ValueError(
                f"{fn}: plain-array 'targets' of shape {t.shape} does not broadcast to 'logits' "
                f"{_axes_str(logits.axes)}; pass a NamedArray"
            ) from None
    # a target of exactly 0 or 1 makes the other term vanish, even when its log is -inf (a confident +-inf logit)
    raw = -_weighted(t, jax.nn.log_sigmoid(x)) - _weighted(1 - t, jax.nn.log_sigmoid(-x))
    return reduce_loss_as(fn, NamedArray(raw, axes), reduction, reduction_axis, where)


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

    The mean with a ``where`` that selects nothing (along the reduced axes) is 0 with zero gradients instead of
    Haliax's 0/0 NaN. ``where`` must be a boolean (or integer) NamedArray whose axes are among ``arr``'s;
    anything else raises an error naming ``where`` and both sets of axes.

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
    return reduce_loss_as("reduce_loss", arr, reduction, reduction_axis, where)


def reduce_loss_as(
    fn: str, arr: NamedArray, reduction: Any, reduction_axis: AxisSelection | None, where: Any
) -> NamedArray:
    """`reduce_loss` on behalf of the loss ``fn`` (named in errors); the mean with ``where`` is NaN-free."""
    if not isinstance(arr, NamedArray):
        raise TypeError(f"{fn}: the loss must be a NamedArray, got {type(arr).__name__}")
    w = check_where(fn, where, arr.axes)
    if reduction is not None and reduction_axis != ():
        if not (callable(reduction) or isinstance(reduction, Unspecified)):  # e.g. "mean": name it, not 'str'
            raise TypeError(
                f"{fn}: argument 'reduction' must be a haliax reduction such as hax.mean or hax.sum, or None, "
                f"got {reduction!r}"
            )
        if reduction_axis is not None:  # a typo is reported as this loss's argument, not as the reduction's
            locate_axes(arr.axes, reduction_axis, fn, "reduction_axis")
        if reduction is UNSPECIFIED or isinstance(reduction, Unspecified) or reduction is _hax_mean:
            if w is not None:
                return _masked_mean(fn, arr, reduction_axis, w)
            reduction = _hax_mean
        return cast(NamedArray, reduction(arr, where=w, axis=reduction_axis))
    if w is not None:
        return NamedArray(jnp.where(w.array, arr.array, jnp.zeros((), arr.dtype)), arr.axes)
    return arr


def _masked_mean(fn: str, arr: NamedArray, reduction_axis: AxisSelection | None, w: NamedArray) -> NamedArray:
    """Mean over the True positions of ``w``; 0 (with zero gradients) where there are none, instead of 0/0."""
    if reduction_axis is None:
        pos: tuple[int, ...] = tuple(range(len(arr.axes)))
    else:
        pos = locate_axes(arr.axes, reduction_axis, fn, "reduction_axis")
    acc = jnp.promote_types(arr.dtype, jnp.float32) if jnp.issubdtype(arr.dtype, jnp.inexact) else jnp.float32
    num = jnp.sum(jnp.where(w.array, arr.array, jnp.zeros((), arr.dtype)), axis=pos, dtype=acc)
    den = jnp.sum(w.array, axis=pos, dtype=acc)
    out = (num / jnp.maximum(den, 1)).astype(arr.dtype if jnp.issubdtype(arr.dtype, jnp.inexact) else acc)
    return NamedArray(out, tuple(a for i, a in enumerate(arr.axes) if i not in pos))


maybe_reduce_loss = reduce_loss
