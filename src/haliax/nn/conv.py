"""N-dimensional convolution over named axes: `Conv` and `ConvTranspose`.

A single module covers 1-D, 2-D, 3-D and higher convolutions: the spatial axes are given by name, the
channel axes by `In`/`Out`, and every other input axis is a batch axis wherever it stands. Outputs keep the
input's axis order, with `In` replaced in place by `Out` and the spatial axes keeping their names (with new
sizes).

Parameters are laid out and initialised exactly like `equinox.nn.Conv` / `equinox.nn.ConvTranspose`
(weight `(Out, In // groups, *kernel)`, uniform in `[-lim, lim]` with `lim = 1/sqrt(prod(kernel) * In//groups)`),
so the same key gives bit-identical parameters and an Equinox model can be ported and compared.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Self, cast

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

from ..axis import Axis, AxisSelection, axis_not_found_error, axis_spec_to_shape_dict, locate_axes, lookup_axis
from ..core import NamedArray
from ..partitioning import auto_sharded, explicit_auto_axes
from ..random import check_key
from ..state_dict import ModuleWithStateDictSerialization
from .layer_utils import pad_pair

__all__ = ["Conv", "ConvTranspose"]

Padding = str | int | Sequence[int | tuple[int, int]]
_PAD_STRINGS = ("SAME", "SAME_LOWER", "VALID")


class _ShapeDict(dict):
    """An immutable, hashable ``{name: size}`` dict (so it can sit in a static field)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:  # copy/deepcopy/pickle rebuild from a plain dict
        return (_ShapeDict, (dict(self),))

    def _immutable(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Spatial shape dicts are immutable")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _immutable  # type: ignore


# --------------------------------------------------------------------------------------------------
# argument parsing


def _ntuple(value: int | Sequence[int], n: int, name: str, fn: str) -> tuple[int, ...]:
    """An int or a sequence of ints (length 1 is broadcast) as an ``n``-tuple of ints."""
    if isinstance(value, int):
        out: tuple[Any, ...] = (value,) * n
    elif isinstance(value, Sequence) and not isinstance(value, str):
        out = tuple(value)
        if len(out) == 1:
            out = out * n
        if len(out) != n:
            raise ValueError(f"{fn}: Expected {n} elements for {name}, got {len(out)}: {value!r}")
    else:
        raise TypeError(f"{fn}: {name} must be an int or a sequence of ints, got {value!r}")
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{fn}: {name} must contain ints, got {value!r}")
    return out


def _positive(values: tuple[int, ...], name: str, fn: str, minimum: int = 1) -> None:
    if any(v < minimum for v in values):
        raise ValueError(f"{fn}: every entry of {name} must be >= {minimum}, got {values}")


def _parse_padding(padding: Padding, n: int, fn: str) -> str | tuple[tuple[int, int], ...]:
    """Normalise a padding spec to ``((lo, hi), ...)``, or to ``"SAME"``/``"SAME_LOWER"``."""
    if isinstance(padding, str):
        p = padding.upper()
        if p not in _PAD_STRINGS:
            raise ValueError(
                f"{fn}: Invalid padding spec: {padding!r} (strings must be 'SAME', 'SAME_LOWER' or 'VALID')"
            )
        return ((0, 0),) * n if p == "VALID" else p
    if isinstance(padding, int) and not isinstance(padding, bool):
        return ((padding, padding),) * n
    if not isinstance(padding, Sequence):
        raise ValueError(f"{fn}: Invalid padding spec: {padding!r}")
    items = tuple(padding)
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ValueError(f"{fn}: Expected {n} elements for padding, got {len(items)}: {padding!r}")
    pairs = tuple(pad_pair(p) for p in items)
    if None in pairs:
        raise ValueError(f"{fn}: Invalid padding spec: {padding!r} (entries must be ints or (low, high) pairs)")
    return cast(tuple[tuple[int, int], ...], pairs)


def _parse_spatial(Spatial: AxisSelection, fn: str) -> _ShapeDict:
    d = _ShapeDict(axis_spec_to_shape_dict(Spatial))
    if len(d) == 0:
        raise ValueError(f"{fn}: Spatial must have at least one element")
    return d


def _check_channels(Spatial: Mapping[str, Any], In: Axis, Out: Axis, groups: int, fn: str) -> None:
    for name, ax in (("In", In), ("Out", Out)):
        if not isinstance(ax, Axis):
            raise TypeError(f"{fn}: {name} must be an Axis (with a size), got {ax!r}")
    if In.name == Out.name:
        raise ValueError(f"{fn}: In and Out must have different names, both are {In.name!r}")
    for ax in (In, Out):
        if ax.name in Spatial:
            raise ValueError(f"{fn}: channel axis {ax.name!r} is also listed in Spatial {tuple(Spatial)}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{fn}: groups must be a positive int, got {groups!r}")
    if In.size % groups != 0:
        raise ValueError(f"{fn}: groups={groups} does not divide the input channels In={In}")
    if Out.size % groups != 0:
        raise ValueError(f"{fn}: groups={groups} does not divide the output channels Out={Out}")


def _init_params(
    Spatial: Mapping[str, Any],
    In: Axis,
    Out: Axis,
    kernel_size: tuple[int, ...],
    groups: int,
    use_bias: bool,
    key: jax.Array,
) -> tuple[NamedArray, NamedArray | None]:
    """Weight ``(Out, In//groups, *kernel)`` and bias ``(Out,)``, drawn exactly as Equinox draws them."""
    wkey, bkey = jax.random.split(key, 2)
    in_per_group = In.size // groups
    lim = 1 / math.sqrt(in_per_group * math.prod(kernel_size))
    w_axes = (Out, In.resize(in_per_group)) + tuple(Axis(n, k) for n, k in zip(Spatial, kernel_size))
    weight = jax.random.uniform(wkey, tuple(a.size for a in w_axes), minval=-lim, maxval=lim)
    bias = None
    if use_bias:
        bias = NamedArray(jax.random.uniform(bkey, (Out.size,), minval=-lim, maxval=lim), (Out,))
    return NamedArray(weight, w_axes), bias


# --------------------------------------------------------------------------------------------------
# the shared engine


class _ConvPlan(NamedTuple):
    """Everything static about one convolution call (hashable: the jit cache key)."""

    perm: tuple[int, ...] | None  # input transpose putting the batch axes first (None: already there)
    inv_perm: tuple[int, ...] | None
    flat_shape: tuple[int, ...]  # (prod(batch), *non-batch sizes in input order)
    batch_shape: tuple[int, ...]
    lhs_spec: tuple[int, ...]  # (batch dim, feature dim, *spatial dims in Spatial order)
    pads: tuple[tuple[int, int], ...]
    conv_kwargs: tuple[tuple[str, Any], ...]  # window_strides, dilations, feature_group_count


@functools.partial(jax.jit, static_argnums=3, inline=True)
def _conv_kernel(x: jax.Array, w: jax.Array, b: jax.Array | None, plan: _ConvPlan) -> jax.Array:
    """The raw computation: one compiled dispatch when eager, inlined when traced."""
    if plan.perm is not None:
        x = jnp.transpose(x, plan.perm)
    x = x.reshape(plan.flat_shape)
    dtype = jnp.result_type(x.dtype, w.dtype)
    if not jnp.issubdtype(dtype, jnp.inexact):
        dtype = jnp.result_type(dtype, jnp.float32)
    x, w = x.astype(dtype), w.astype(dtype)
    dn = lax.ConvDimensionNumbers(lhs_spec=plan.lhs_spec, rhs_spec=tuple(range(w.ndim)), out_spec=plan.lhs_spec)
    y = lax.conv_general_dilated(x, w, padding=plan.pads, dimension_numbers=dn, **dict(plan.conv_kwargs))
    if b is not None:
        b_shape = [1] * y.ndim
        b_shape[plan.lhs_spec[1]] = b.shape[0]
        y = y + b.astype(y.dtype).reshape(b_shape)
    y = y.reshape(plan.batch_shape + y.shape[1:])
    if plan.inv_perm is not None:
        y = jnp.transpose(y, plan.inv_perm)
    return y


class _ConvBase(ModuleWithStateDictSerialization):
    """Fields and the named-axis plumbing shared by `Conv` and `ConvTranspose`.

    State dict (default field walk): `weight` `(Out, In // groups, *kernel)` and `bias` `(Out,)` if present.
    """

    Spatial: Mapping[str, int | None] = eqx.field(static=True)
    In: Axis = eqx.field(static=True)
    Out: Axis = eqx.field(static=True)
    weight: NamedArray
    bias: NamedArray | None
    kernel_size: tuple[int, ...] = eqx.field(static=True)
    stride: tuple[int, ...] = eqx.field(static=True)
    padding: str | tuple[tuple[int, int], ...] = eqx.field(static=True)
    # then `dilation` and `groups` (and, in between, ConvTranspose's `output_padding`), declared by the subclasses

    @classmethod
    def _build(
        cls,
        fn: str,
        Spatial: AxisSelection,
        In: Axis,
        Out: Axis,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int],
        padding: Padding,
        dilation: int | Sequence[int],
        groups: int,
        use_bias: bool,
        key: jax.Array,
        output_padding: int | Sequence[int] | None = None,
    ) -> Self:
        """``init`` of both subclasses: check and normalise the arguments, draw the parameters (as Equinox does).
        ``output_padding`` is ConvTranspose's only (None for Conv)."""
        sp = _parse_spatial(Spatial, fn)
        n = len(sp)
        _check_channels(sp, In, Out, groups, fn)
        fields: dict[str, Any] = {"Spatial": sp, "In": In, "Out": Out, "groups": groups}
        for name, v in (
            ("kernel_size", kernel_size),
            ("stride", stride),
            ("output_padding", output_padding),
            ("dilation", dilation),
        ):
            if v is not None:
                fields[name] = _ntuple(v, n, name, fn)
        for name in ("kernel_size", "stride", "dilation"):
            _positive(fields[name], name, fn)
        if output_padding is not None:
            _positive(fields["output_padding"], "output_padding", fn, minimum=0)
        fields["padding"] = _parse_padding(padding, n, fn)
        check_key(key, fn)
        fields["weight"], fields["bias"] = _init_params(sp, In, Out, fields["kernel_size"], groups, use_bias, key)
        return cls(**fields)

    @property
    def _fn(self) -> str:
        return type(self).__name__

    def _weight_array(self) -> jax.Array:
        """The raw weight in the canonical ``(Out, In, *Spatial)`` order (transposed by name if needed)."""
        names = (self.Out.name, self.In.name) + tuple(self.Spatial)
        axes = self.weight.axes
        if tuple(a.name for a in axes) == names:
            return self.weight.array
        return jnp.transpose(self.weight.array, locate_axes(axes, names, f"{self._fn}.weight", None))

    def _validate(self, inputs: NamedArray) -> tuple[int, list[int]]:
        """Check the input's axes; return the position of In and the positions of the spatial axes."""
        fn = self._fn
        if not isinstance(inputs, NamedArray):
            raise TypeError(f"{fn}: inputs must be a NamedArray, got {type(inputs).__name__}")
        axes = inputs.axes
        sp_pos = []
        for n in self.Spatial:
            i = lookup_axis(axes, n, fn, "inputs")
            if i is None:
                err = axis_not_found_error(n, axes, arg="inputs")
                raise ValueError(f"{fn}: Missing spatial axis {n!r}: {err}")
            sp_pos.append(i)
        in_pos = lookup_axis(axes, self.In, fn, "inputs")  # the layer's In with another size raises
        if in_pos is None:
            err = axis_not_found_error(self.In.name, axes, arg="inputs")
            raise ValueError(f"{fn}: Missing input axis {self.In.name!r}: {err}")
        if lookup_axis(axes, self.Out.name, fn, "inputs") is not None:
            raise ValueError(
                f"{fn}: Output axis {self.Out.name!r} already in inputs {tuple(str(a) for a in axes)}; "
                "rename it or choose another Out"
            )
        return in_pos, sp_pos

    def _geometry(self, sizes: list[int]) -> tuple[tuple[tuple[int, int], ...], list[int], dict[str, Any]]:
        """For the spatial input sizes: the explicit pads, the output sizes and the other keyword arguments of
        ``lax.conv_general_dilated``. Defined by each subclass."""
        raise NotImplementedError

    def _apply(self, inputs: NamedArray) -> NamedArray:
        """Check the inputs, run one ``lax.conv_general_dilated`` with the batch axes flattened, restore the
        input order."""
        in_pos, sp_pos = self._validate(inputs)
        axes = inputs.axes
        pads, out_sizes, conv_kwargs = self._geometry([axes[p].size for p in sp_pos])
        for n, o in zip(self.Spatial, out_sizes):
            if o < 1:
                raise ValueError(
                    f"{self._fn}: the kernel (with dilation) is larger than the padded input along spatial axis "
                    f"{n!r} (inputs {tuple(str(a) for a in axes)}, kernel_size={self.kernel_size}, padding={pads}): "
                    f"the output would have size {o}"
                )
        channel_like = set(sp_pos) | {in_pos}
        batch_pos = [i for i in range(len(axes)) if i not in channel_like]
        rest_pos = [i for i in range(len(axes)) if i in channel_like]
        perm = tuple(batch_pos + rest_pos)
        identity = perm == tuple(range(len(axes)))
        batch_shape = tuple(axes[i].size for i in batch_pos)
        where = {p: 1 + j for j, p in enumerate(rest_pos)}
        plan = _ConvPlan(
            perm=None if identity else perm,
            inv_perm=None if identity else tuple(perm.index(i) for i in range(len(axes))),
            flat_shape=(math.prod(batch_shape),) + tuple(axes[i].size for i in rest_pos),
            batch_shape=batch_shape,
            lhs_spec=(0, where[in_pos]) + tuple(where[p] for p in sp_pos),
            pads=pads,
            conv_kwargs=tuple(sorted(conv_kwargs.items())),
        )
        b = self.bias.array if self.bias is not None else None
        new_size = dict(zip(sp_pos, out_sizes))
        out_axes = tuple(
            self.Out if i == in_pos else (a.resize(new_size[i]) if i in new_size else a) for i, a in enumerate(axes)
        )

        def run(x: jax.Array, w: jax.Array, b: jax.Array | None) -> NamedArray:
            return NamedArray(_conv_kernel(x, w, b, plan), out_axes)

        # an explicit mesh: the kernel's reshapes and conv run on Auto axes, the output is typed by its names
        return auto_sharded(explicit_auto_axes(run, out_axes, self._fn)(inputs.array, self._weight_array(), b))


# --------------------------------------------------------------------------------------------------
# Conv


class Conv(_ConvBase):
    """General N-dimensional convolution over named spatial axes.

    Fields (in order): `Spatial` (a shape dict `{name: size or None}`), `In`, `Out`, `weight`
    `(Out, In // groups, *kernel)` whose kernel axes reuse the spatial names, `bias` `(Out,)` or None,
    `kernel_size`, `stride`, `padding`, `dilation`, `groups`.

    Every input axis that is neither `In` nor spatial is a batch axis, wherever it stands. The output keeps
    the input's axis order with `In` replaced by `Out` and the spatial axes resized to
    `floor((n + lo + hi - d * (k - 1) - 1) / s) + 1`.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> B, C, H, W = hax.make_axes(batch=2, c=3, h=9, w=8)
        >>> O = hax.Axis("o", 4)
        >>> conv = hnn.Conv.init(("h", "w"), C, O, kernel_size=3, stride=2, key=jax.random.PRNGKey(0))
        >>> conv(hax.ones((H, B, W, C))).shape
        {'h': 4, 'batch': 2, 'w': 3, 'o': 4}
    """

    dilation: tuple[int, ...] = eqx.field(static=True)
    groups: int = eqx.field(static=True)

    @staticmethod
    def init(
        Spatial: AxisSelection,
        In: Axis,
        Out: Axis,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: Padding = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        use_bias: bool = True,
        key: jax.Array,
    ) -> Conv:
        """Build a convolution whose parameters equal `equinox.nn.Conv`'s for the same key.

        Args:
            Spatial: the spatial axes, by name or as Axis objects (sizes are ignored); one or more.
            In: the input-channel axis.
            Out: the output-channel axis (must not already be in the inputs).
            kernel_size: kernel length per spatial axis (an int, or one per spatial axis in `Spatial` order).
            stride: window stride (int or per axis).
            padding: an int, a sequence with an int or a `(low, high)` pair per spatial axis, or one of the
                strings `"SAME"`, `"SAME_LOWER"`, `"VALID"` (case-insensitive). Haliax rejects strings; we
                accept them, as Equinox and our pooling do. `"SAME"` pads so that the output
                size is `ceil(n / stride)`, putting an odd extra pad at the high end (`"SAME_LOWER"`: low end).
            dilation: kernel dilation (int or per axis).
            groups: number of channel groups; must divide both `In.size` and `Out.size`.
            use_bias: whether to add a bias `(Out,)` after the convolution.
            key: PRNG key; split into `(weight_key, bias_key)` as Equinox does.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> conv = hnn.Conv.init("t", hax.Axis("c", 4), hax.Axis("o", 6), 3, groups=2, key=jax.random.PRNGKey(0))
            >>> [str(a) for a in conv.weight.axes]
            ['o(6)', 'c(2)', 't(3)']
        """
        return Conv._build("Conv.init", Spatial, In, Out, kernel_size, stride, padding, dilation, groups, use_bias, key)

    def _pads(self, sizes: Sequence[int]) -> tuple[tuple[int, int], ...]:
        if isinstance(self.padding, str):
            window = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))
            return tuple((lo, hi) for lo, hi in lax.padtype_to_pads(tuple(sizes), window, self.stride, self.padding))
        return self.padding

    def _geometry(self, sizes: list[int]) -> tuple[tuple[tuple[int, int], ...], list[int], dict[str, Any]]:
        pads = self._pads(sizes)
        out_sizes = [
            (n + lo + hi - d * (k - 1) - 1) // s + 1 if n + lo + hi >= d * (k - 1) + 1 else 0
            for n, (lo, hi), k, s, d in zip(sizes, pads, self.kernel_size, self.stride, self.dilation)
        ]
        kwargs = dict(window_strides=self.stride, rhs_dilation=self.dilation, feature_group_count=self.groups)
        return pads, out_sizes, kwargs

    def __call__(self, inputs: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Convolve `inputs` (the key is ignored).

        Raises:
            ValueError: a spatial axis or `In` is missing from the inputs, `In` has the wrong size, `Out` is
                already present, or the (dilated) kernel is larger than the padded input.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> conv = hnn.Conv.init("t", hax.Axis("c", 2), hax.Axis("o", 3), 3, padding="SAME",
            ...                      key=jax.random.PRNGKey(0))
            >>> conv(hax.ones({"c": 2, "t": 5})).shape
            {'o': 3, 't': 5}
        """
        del key
        return self._apply(inputs)


# --------------------------------------------------------------------------------------------------
# ConvTranspose


class ConvTranspose(_ConvBase):
    """General N-dimensional transposed convolution over named spatial axes (as `equinox.nn.ConvTranspose`).

    Same fields as `Conv` plus `output_padding`; the weight is also `(Out, In // groups, *kernel)` and is
    applied **without flipping**, exactly as Equinox does (a dilated-input convolution with padding
    `(d * (k - 1) - lo, d * (k - 1) - hi + output_padding)`). Output spatial size:
    `(n - 1) * s - lo - hi + d * (k - 1) + output_padding + 1`.

    Examples:
        >>> import jax
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> C, O = hax.Axis("c", 3), hax.Axis("o", 2)
        >>> convt = hnn.ConvTranspose.init(("h", "w"), C, O, kernel_size=3, stride=2, padding=1,
        ...                                output_padding=1, key=jax.random.PRNGKey(0))
        >>> convt(hax.ones({"batch": 2, "c": 3, "h": 9, "w": 4})).shape
        {'batch': 2, 'o': 2, 'h': 18, 'w': 8}
    """

    output_padding: tuple[int, ...] = eqx.field(static=True)
    dilation: tuple[int, ...] = eqx.field(static=True)
    groups: int = eqx.field(static=True)

    @staticmethod
    def init(
        Spatial: AxisSelection,
        In: Axis,
        Out: Axis,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: Padding = 0,
        output_padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        use_bias: bool = True,
        key: jax.Array,
    ) -> ConvTranspose:
        """Build a transposed convolution whose parameters equal `equinox.nn.ConvTranspose`'s for the same key.

        Args:
            Spatial: the spatial axes, by name or as Axis objects (sizes are ignored); one or more.
            In: the input-channel axis.
            Out: the output-channel axis.
            kernel_size: kernel length per spatial axis.
            stride: the stride of the equivalent forward convolution (int or per axis).
            padding: the padding of the equivalent forward convolution: int, per-axis ints or `(low, high)`
                pairs, or `"SAME"`/`"SAME_LOWER"`/`"VALID"` (resolved as Equinox resolves them).
            output_padding: extra size added at the high end of each spatial axis, to pick one of the input
                sizes that the forward convolution maps to the same output size. Not required to be smaller
                than the stride (as in Haliax).
            dilation: kernel dilation (int or per axis).
            groups: number of channel groups; must divide both `In.size` and `Out.size`.
            use_bias: whether to add a bias `(Out,)`.
            key: PRNG key; split into `(weight_key, bias_key)` as Equinox does.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> m = hnn.ConvTranspose.init("t", hax.Axis("c", 2), hax.Axis("o", 3), 4, stride=2,
            ...                            key=jax.random.PRNGKey(0))
            >>> m(hax.ones({"c": 2, "t": 5})).shape
            {'o': 3, 't': 12}
        """
        return ConvTranspose._build(
            "ConvTranspose.init",
            Spatial,
            In,
            Out,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            use_bias,
            key,
            output_padding,
        )

    def _geometry(self, sizes: list[int]) -> tuple[tuple[tuple[int, int], ...], list[int], dict[str, Any]]:
        """A dilated-input convolution; its padding per Relationship 14 of arXiv:1603.07285."""
        pads = []
        for i, (k, s, a, d) in enumerate(zip(self.kernel_size, self.stride, self.output_padding, self.dilation)):
            if isinstance(self.padding, str):  # "SAME" / "SAME_LOWER", as Equinox resolves them
                total = d * (k - 1) - s + a + 1
                if total < 0:
                    a, total = -total, 0
                lo = (total + (1 if self.padding == "SAME_LOWER" else 0)) // 2
                hi = total - lo
            else:
                lo, hi = self.padding[i]
            pads.append((d * (k - 1) - lo, d * (k - 1) - hi + a))
        out_sizes = [
            (n - 1) * s + 1 + lo + hi - d * (k - 1)
            for n, (lo, hi), k, s, d in zip(sizes, pads, self.kernel_size, self.stride, self.dilation)
        ]
        kwargs = dict(
            window_strides=(1,) * len(sizes),
            lhs_dilation=self.stride,
            rhs_dilation=self.dilation,
            feature_group_count=self.groups,
        )
        return tuple(pads), out_sizes, kwargs

    def __call__(self, inputs: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Apply the transposed convolution (the key is ignored).

        Raises:
            ValueError: a spatial axis or `In` is missing, `In` has the wrong size, `Out` is already present,
                or the padding leaves no output.

        Examples:
            >>> import jax
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> m = hnn.ConvTranspose.init("t", hax.Axis("c", 2), hax.Axis("o", 1), 3, key=jax.random.PRNGKey(0))
            >>> m(hax.ones({"t": 4, "c": 2})).shape
            {'t': 6, 'o': 1}
        """
        del key
        return self._apply(inputs)
