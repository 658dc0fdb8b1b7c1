"""Named discrete Fourier transforms: thin wrappers over `jax.numpy.fft`.

Axes are chosen by name and each transformed axis keeps its position. Every function resolves the names once
and calls the matching ``jax.numpy.fft`` function once, so the values are exactly JAX's.

The ``axis`` argument of `fft`, `ifft`, `rfft` and `irfft`:

| ``axis`` | Meaning |
|---|---|
| ``None`` (default) | the last axis of the array |
| ``"Y"`` | that axis, length unchanged |
| ``Axis("Y", n)`` | that axis (looked up by name), transformed at length ``n`` (pad or crop) |
| ``("X", "Y")`` | an n-D transform over those axes, in the given order (an Axis entry also sets a length) |
| ``{sel: v}`` | n-D over the keys in order; ``v`` is ``None`` (keep), an int (new length) or an Axis (new length and name) |
| ``()`` or ``{}`` | no transform: the input cast to complex |

`hfft` and `ihfft` transform a single axis. The module is also reachable as ``sys.modules["haliax.fft"]``:
the top-level function ``haliax.fft`` shadows it as an attribute of the package.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp

from .axis import Axis, AxisSelection, AxisSelector, axis_not_found_error, locate_axis, lookup_axis
from .core import NamedArray
from .partitioning import explicit_out_sharding, explicit_reshard, explicit_unshard_dims

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "hfft",
    "ihfft",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

FftAxis = AxisSelector | Sequence[AxisSelector] | Mapping[AxisSelector, int | Axis | None] | None
"""The ``axis`` argument of the transforms: see the module docstring."""

# one resolved transform axis: (position, output name, requested length or None)
_Entry = tuple[int, str, int | None]


def _check_named(fn: str, a: Any, arg: str = "a") -> NamedArray:
    if not isinstance(a, NamedArray):
        raise TypeError(f"{fn}: argument {arg!r} must be a NamedArray, got {type(a).__name__}")
    return a


def _by_name(a: NamedArray, ax: Axis, fn: str) -> int:
    """Position of an Axis looked up by its name only (its size is a requested length, not a check)."""
    i = lookup_axis(a.axes, ax.name, fn, "axis")
    if i is None:
        raise axis_not_found_error(str(ax), a.axes, fn, "axis", capitalize=True)
    return i


def _entry(a: NamedArray, sel: Any, fn: str) -> _Entry:
    """One selector of a single or sequence ``axis``: a name (length kept) or an Axis (length set)."""
    if isinstance(sel, Axis):
        return (_by_name(a, sel, fn), sel.name, sel.size)
    if isinstance(sel, str):
        return (locate_axis(a.axes, sel, fn, "axis", capitalize=True), sel, None)
    raise TypeError(f"{fn}: argument 'axis': expected an axis name or Axis, got {sel!r} of type {type(sel).__name__}")


def _mapping_entry(a: NamedArray, key: Any, value: Any, fn: str) -> _Entry:
    """One ``{key: value}`` item: the key selects (an Axis key is size-checked), the value sets length/name."""
    i = locate_axis(a.axes, key, fn, "axis", capitalize=True)
    name = a.axes[i].name
    if value is None:
        return (i, name, None)
    if isinstance(value, Axis):
        return (i, value.name, value.size)
    if isinstance(value, int) and not isinstance(value, bool):
        return (i, name, value)
    raise TypeError(
        f"{fn}: argument 'axis': the value for {name!r} must be None, an int length or an Axis, got {value!r}"
    )


def _resolve(a: NamedArray, axis: Any, fn: str) -> list[_Entry]:
    """The transform axes selected by ``axis``, in the order given."""
    if axis is None:
        if not a.axes:
            raise ValueError(f"{fn}: argument 'axis': the array has no axes to transform")
        return [(len(a.axes) - 1, a.axes[-1].name, None)]
    if isinstance(axis, (str, Axis)):
        return [_entry(a, axis, fn)]
    if isinstance(axis, Mapping):
        entries = [_mapping_entry(a, k, v, fn) for k, v in axis.items()]
    elif isinstance(axis, Sequence):
        entries = [_entry(a, s, fn) for s in axis]
    else:
        raise TypeError(
            f"{fn}: argument 'axis': expected None, an axis name, an Axis, a sequence or a mapping of them, "
            f"got {axis!r} of type {type(axis).__name__}"
        )
    positions = [e[0] for e in entries]
    for j, p in enumerate(positions):
        if p in positions[:j]:
            raise ValueError(f"{fn}: argument 'axis': axis {a.axes[p].name} is given more than once")
    return entries


def _single(a: NamedArray, axis: Any, fn: str) -> _Entry:
    """The one transform axis of hfft/ihfft: a one-entry sequence or mapping is that entry."""
    if isinstance(axis, (Mapping, Sequence)) and not isinstance(axis, str) and len(axis) != 1:
        raise ValueError(f"{fn} only supports a single axis, got axis={axis!r}")
    return _resolve(a, axis, fn)[0]


def _wrap(a: NamedArray, result: Any, entries: list[_Entry], out_sizes: Sequence[int], fn: str) -> NamedArray:
    axes = list(a.axes)
    for (i, name, _), size in zip(entries, out_sizes, strict=True):
        axes[i] = Axis(name, size)
    names = [ax.name for ax in axes]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"{fn}: argument 'axis': renaming gives repeated axis names {dups} "
            f"(axes would be {tuple(str(ax) for ax in axes)})"
        )
    return NamedArray(explicit_reshard(result, explicit_out_sharding(axes, fn)), tuple(axes))


def _complex(a: NamedArray) -> NamedArray:
    return NamedArray(a.array.astype(jnp.result_type(a.dtype, jnp.complex64)), a.axes)


def _transform(
    a: NamedArray,
    axis: FftAxis,
    norm: str | None,
    fn: str,
    one: Callable[..., Any],
    many: Callable[..., Any],
    default_last: Callable[[int], int] | None = None,
    out_last: Callable[[int], int] | None = None,
) -> NamedArray:
    """The body of `fft`, `ifft`, `rfft` and `irfft`: resolve ``axis``, call ``one`` (one axis) or ``many``
    (several) once, and name the result's axes.

    Args:
        a: the input.
        axis: the transform axes (see the module docstring).
        norm: passed to JAX.
        fn: the public function's name, for errors.
        one: the one-axis JAX function (e.g. `jax.numpy.fft.rfft`).
        many: the n-D JAX function (e.g. `jax.numpy.fft.rfftn`).
        default_last: the length of the last listed axis when none is requested, from its input length
            (None: unchanged).
        out_last: the output length of the last listed axis, from its transform length (None: the same).
    """
    a = _check_named(fn, a)
    entries = _resolve(a, axis, fn)
    if not entries:
        return _complex(a)
    sizes = [n if n is not None else a.axes[i].size for i, _, n in entries]
    if default_last is not None and entries[-1][2] is None:
        sizes[-1] = default_last(sizes[-1])
    out_sizes = sizes if out_last is None else sizes[:-1] + [out_last(sizes[-1])]
    # an explicit mesh: JAX keeps a transformed dimension's sharding, so one whose size changes is unsharded
    resized = [i for (i, _, _), m in zip(entries, out_sizes, strict=True) if m != a.axes[i].size]
    raw = explicit_unshard_dims(a.array, resized)
    if len(entries) == 1:
        i, _, n = entries[0]
        out = one(raw, n=n, axis=i, norm=norm)
    else:
        s = None if all(n is None for _, _, n in entries) else sizes
        out = many(raw, s=s, axes=[i for i, _, _ in entries], norm=norm)
    return _wrap(a, out, entries, out_sizes, fn)


def fft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """Discrete Fourier transform over one or more named axes (`jax.numpy.fft.fft` / ``fftn``).

    ``axis`` takes every form of the table in the module docstring. Real and integer input gives complex64
    (complex128 with x64 for float64). ``norm`` (``None``/"backward", "ortho", "forward") is passed to JAX.
    A missing name raises ``ValueError``; a raw (unnamed) array raises ``TypeError``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import fft
        >>> T = hax.Axis("T", 4)
        >>> fft(hax.arange(T, dtype=float)).array.tolist()
        [(6+0j), (-2+2j), (-2+0j), (-2-2j)]
        >>> X, Y = hax.make_axes(X=4, Y=6)
        >>> img = hax.zeros((X, Y))
        >>> fft(img, axis={"X": None, "Y": hax.Axis("Y", 10)}).axes
        (Axis(name='X', size=4), Axis(name='Y', size=10))
    """
    return _transform(a, axis, norm, "fft", jnp.fft.fft, jnp.fft.fftn)


def ifft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """Inverse discrete Fourier transform over named axes (`jax.numpy.fft.ifft` / ``ifftn``).

    ``axis`` takes the same forms as `fft`; the axes keep their positions.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import fft, ifft
        >>> x = hax.arange(hax.Axis("T", 4), dtype=float)
        >>> ifft(fft(x)).real.array.tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    return _transform(a, axis, norm, "ifft", jnp.fft.ifft, jnp.fft.ifftn)


def rfft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """Real-input discrete Fourier transform (`jax.numpy.fft.rfft` / ``rfftn``).

    The transformed axis (for several axes, the last one listed) becomes ``n // 2 + 1`` long, where ``n`` is
    its input length or the requested length; other listed axes take their requested length. ``axis`` takes
    the forms of `fft`: ``rfft(x, {"Y": Axis("F", 10)})`` transforms ``Y`` at length 10 into an axis ``F(6)``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import rfft
        >>> X, Y = hax.make_axes(X=4, Y=6)
        >>> img = hax.zeros((X, Y))
        >>> rfft(img).axes
        (Axis(name='X', size=4), Axis(name='Y', size=4))
        >>> rfft(img, axis=("Y", "X")).axes
        (Axis(name='X', size=3), Axis(name='Y', size=6))
    """
    return _transform(a, axis, norm, "rfft", jnp.fft.rfft, jnp.fft.rfftn, out_last=lambda n: n // 2 + 1)


def irfft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """Inverse of `rfft` (`jax.numpy.fft.irfft` / ``irfftn``), with a real result.

    By default the transformed axis (for several axes, the last one listed) of length ``m`` becomes
    ``2 * (m - 1)`` long; other listed axes keep their length. An int or Axis length sets the output length
    exactly, e.g. ``irfft(r, axis=Axis("T", 9))`` for an odd-length signal.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import irfft, rfft
        >>> x = hax.arange(hax.Axis("T", 8), dtype=float)
        >>> irfft(rfft(x)).axes
        (Axis(name='T', size=8),)
        >>> irfft(rfft(x), axis=hax.Axis("T", 9)).axes
        (Axis(name='T', size=9),)
    """
    return _transform(a, axis, norm, "irfft", jnp.fft.irfft, jnp.fft.irfftn, default_last=lambda m: 2 * (m - 1))


def _single_transform(
    a: NamedArray,
    axis: FftAxis,
    norm: str | None,
    fn: str,
    op: Callable[..., Any],
    out_size: Callable[[int | None, int], int],
) -> NamedArray:
    """The body of `hfft` and `ihfft`: ``op`` over the one axis ``axis`` selects.

    Args:
        a: the input.
        axis: the transform axis (see `hfft`).
        norm: passed to JAX.
        fn: the public function's name, for errors.
        op: the JAX function (`jax.numpy.fft.hfft` or ``ihfft``).
        out_size: the output length from the requested length (or None) and the input length.
    """
    a = _check_named(fn, a)
    entry = _single(a, axis, fn)
    i, _, n = entry
    size = out_size(n, a.axes[i].size)
    raw = explicit_unshard_dims(a.array, [i] if size != a.axes[i].size else [])  # as in _transform
    return _wrap(a, op(raw, n=n, axis=i, norm=norm), [entry], [size], fn)


def hfft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """FFT of a Hermitian-symmetric signal, a real result (`jax.numpy.fft.hfft`), over a single axis.

    ``axis`` is ``None`` (the last axis), a name, an Axis (looked up by name; its size is the output length),
    or a one-entry sequence or mapping (``{k: None}``, ``{k: n}`` or ``{k: Axis}``, the Axis giving the output
    length and name). The output length is ``2 * (m - 1)`` by default. Several axes raise
    ``ValueError("hfft only supports a single axis")``; Haliax raises a confusing ``TypeError`` for any
    sequence, and looks up a mapping's Axis value by its own name, whereas here the key selects the axis.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import hfft
        >>> r = hax.zeros(hax.Axis("R", 5), dtype=complex)
        >>> hfft(r, axis={"R": hax.Axis("T", 8)}).axes
        (Axis(name='T', size=8),)
    """
    return _single_transform(a, axis, norm, "hfft", jnp.fft.hfft, lambda n, m: n if n is not None else 2 * (m - 1))


def ihfft(a: NamedArray, axis: FftAxis = None, norm: str | None = None) -> NamedArray:
    """Inverse of `hfft` (`jax.numpy.fft.ihfft`) over a single axis: a length-``n`` axis becomes ``n // 2 + 1``.

    ``axis`` takes the forms of `hfft`. With a requested length ``n`` (``Axis("T", n)`` or ``{k: n}``) the
    output axis is ``n // 2 + 1`` long, as JAX computes it; Haliax labels it with size ``n`` and fails with a
    shape mismatch. Several axes raise ``ValueError("ihfft only supports a single axis")``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import ihfft
        >>> x = hax.zeros(hax.Axis("T", 8))
        >>> ihfft(x).axes, ihfft(x, axis=hax.Axis("T", 6)).axes
        ((Axis(name='T', size=5),), (Axis(name='T', size=4),))
    """
    return _single_transform(a, axis, norm, "ihfft", jnp.fft.ihfft, lambda n, m: (n if n is not None else m) // 2 + 1)


def _freq_axis(axis: Any, fn: str) -> Axis:
    if not isinstance(axis, Axis):
        raise TypeError(
            f"{fn}: argument 'axis' must be an Axis (the sample count is its size), got {axis!r} "
            f"of type {type(axis).__name__}"
        )
    return axis


def fftfreq(axis: Axis, d: Any = 1.0, *, dtype: Any = None) -> NamedArray:
    """The sample frequencies of an `fft` over ``axis`` (`jax.numpy.fft.fftfreq` of ``axis.size``).

    ``d`` is the sample spacing. The result has the single axis ``axis`` (float32 by default). A name
    without a size raises ``TypeError`` (Haliax raises ``AttributeError``).

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import fftfreq
        >>> fftfreq(hax.Axis("T", 8)).array.tolist()
        [0.0, 0.125, 0.25, 0.375, -0.5, -0.375, -0.25, -0.125]
    """
    axis = _freq_axis(axis, "fftfreq")
    out = jnp.fft.fftfreq(axis.size, d, dtype=dtype)
    return NamedArray(explicit_reshard(out, explicit_out_sharding((axis,), "fftfreq")), (axis,))  # typed by name


def rfftfreq(axis: Axis, d: Any = 1.0, *, dtype: Any = None) -> NamedArray:
    """The sample frequencies of an `rfft` over ``axis`` (`jax.numpy.fft.rfftfreq` of ``axis.size``).

    The result's axis is ``axis`` resized to ``axis.size // 2 + 1``. A name without a size raises ``TypeError``.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import rfftfreq
        >>> f = rfftfreq(hax.Axis("T", 8))
        >>> f.axes, f.array.tolist()
        ((Axis(name='T', size=5),), [0.0, 0.125, 0.25, 0.375, 0.5])
    """
    axis = _freq_axis(axis, "rfftfreq")
    axes = (axis.resize(axis.size // 2 + 1),)
    out = jnp.fft.rfftfreq(axis.size, d, dtype=dtype)
    return NamedArray(explicit_reshard(out, explicit_out_sharding(axes, "rfftfreq")), axes)


def _shift_positions(x: NamedArray, axes: AxisSelection, fn: str) -> tuple[int, ...]:
    sels = (axes,) if isinstance(axes, (str, Axis)) else tuple(axes)
    out: list[int] = []
    for s in sels:
        i = locate_axis(x.axes, s, fn, "axes", capitalize=True)
        if i in out:
            raise ValueError(f"{fn}: argument 'axes': axis {x.axes[i].name} is given more than once")
        out.append(i)
    return tuple(out)


def fftshift(x: NamedArray, axes: AxisSelection | None = None) -> NamedArray:
    """Move the zero-frequency entry to the centre (`jax.numpy.fft.fftshift`); axes keep order and sizes.

    ``axes`` is ``None`` (every axis), a name or Axis, or a sequence of them.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import fftfreq, fftshift
        >>> fftshift(fftfreq(hax.Axis("T", 4))).array.tolist()
        [-0.5, -0.25, 0.0, 0.25]
    """
    x = _check_named("fftshift", x, "x")
    if axes is None:
        return NamedArray(jnp.fft.fftshift(x.array), x.axes)
    return NamedArray(jnp.fft.fftshift(x.array, axes=_shift_positions(x, axes, "fftshift")), x.axes)


def ifftshift(x: NamedArray, axes: AxisSelection | None = None) -> NamedArray:
    """Inverse of `fftshift` (`jax.numpy.fft.ifftshift`); axes keep order and sizes.

    Examples:
        >>> import haliax as hax
        >>> from haliax.fft import fftfreq, fftshift, ifftshift
        >>> f = fftfreq(hax.Axis("T", 5))
        >>> bool((ifftshift(fftshift(f)) == f).all())
        True
    """
    x = _check_named("ifftshift", x, "x")
    if axes is None:
        return NamedArray(jnp.fft.ifftshift(x.array), x.axes)
    return NamedArray(jnp.fft.ifftshift(x.array, axes=_shift_positions(x, axes, "ifftshift")), x.axes)
