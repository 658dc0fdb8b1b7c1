"""Rotary position embeddings (RoPE) over named axes.

Convention: **rotate-half** (GPT-NeoX, Llama and Hugging Face `transformers`), not the interleaved pairs of the
original RoFormer/Meta Llama code. Let `D = HeadSize.size`, `R = int(D * partial_rotary_factor)` the rotated width
(even) and `h = R / 2`. Coordinate `i < h` is paired with coordinate `i + h`; with angle `a_i = p * f_i` for position
`p` and frequency `f_i = theta ** (-2i / R)`:

    out[i]     = x[i] * cos(a_i) - x[i + h] * sin(a_i)
    out[i + h] = x[i + h] * cos(a_i) + x[i] * sin(a_i)
    out[j]     = x[j]                     for R <= j < D (partial rotary: the tail passes through)

So the rotated query-key product `q(m) . k(n)` depends only on `m - n`. Weights exported from Hugging Face Llama,
Qwen, Mistral or GPT-NeoX checkpoints use this convention as is (their q/k projections were permuted for it).

Positions are a named **integer** array whose axes are a subset of the input's other axes, e.g. `(Pos,)` or
`(Batch, Pos)`: packed sequences (positions restarting at each segment) and decoding offsets (positions starting at
the cache length) are just different position arrays. Frequencies are computed in float64 NumPy at trace time;
angles, `cos`, `sin` and the rotation in float32 (float64 for float64 inputs); the result is cast back to the input
dtype (so bfloat16 queries are rotated in float32 and rounded once).
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..axis import Axis, AxisSelector, conflicting_sizes_error, locate_axis
from ..core import NamedArray
from ..ops.broadcast import align_to

__all__ = ["Llama3RotaryScaling", "RotaryEmbedding", "apply_rotary", "rotary_frequencies"]


@dataclasses.dataclass(frozen=True)
class Llama3RotaryScaling:
    """The Llama-3.1 frequency scaling of RoPE (Hugging Face `rope_type="llama3"`).

    Wavelengths `w = 2 pi / f` longer than `original_max_position_embeddings / low_freq_factor` are divided by
    `factor` (frequency / factor); shorter than `original_max_position_embeddings / high_freq_factor` are kept;
    in between, the frequency is interpolated with
    `s = (original_max_position_embeddings / w - low_freq_factor) / (high_freq_factor - low_freq_factor)`:
    `f' = (1 - s) * f / factor + s * f`.

    Defaults are those of Llama 3.1.

    Examples:
        >>> from haliax.nn.rotary import Llama3RotaryScaling, rotary_frequencies
        >>> f = rotary_frequencies(128, theta=500000.0)
        >>> g = Llama3RotaryScaling().scale_frequencies(f)
        >>> bool(g[0] == f[0]), bool(abs(g[-1] - f[-1] / 8) < 1e-12)
        (True, True)
    """

    factor: float = 8.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192

    def __post_init__(self) -> None:
        if not self.factor > 0:
            raise ValueError(f"Llama3RotaryScaling: factor must be > 0, got {self.factor}")
        if not 0 < self.low_freq_factor < self.high_freq_factor:
            raise ValueError(
                "Llama3RotaryScaling: need 0 < low_freq_factor < high_freq_factor, got "
                f"{self.low_freq_factor} and {self.high_freq_factor}"
            )
        if not self.original_max_position_embeddings > 0:
            raise ValueError(
                "Llama3RotaryScaling: original_max_position_embeddings must be > 0, got "
                f"{self.original_max_position_embeddings}"
            )

    def scale_frequencies(self, inv_freq: np.ndarray) -> np.ndarray:
        """Apply the scaling to the (float64) frequencies `f_i`; returns a new float64 array."""
        f = np.asarray(inv_freq, dtype=np.float64)
        old = float(self.original_max_position_embeddings)
        low_wavelen = old / self.low_freq_factor
        high_wavelen = old / self.high_freq_factor
        wavelen = 2 * math.pi / f
        scaled = np.where(wavelen > low_wavelen, f / self.factor, f)
        smooth = (old / wavelen - self.low_freq_factor) / (self.high_freq_factor - self.low_freq_factor)
        smoothed = (1 - smooth) * scaled / self.factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        return np.where(medium, smoothed, scaled)


def rotary_frequencies(
    rotary_dim: int, theta: float = 10000.0, scaling: Llama3RotaryScaling | None = None
) -> np.ndarray:
    """The `rotary_dim / 2` RoPE frequencies `f_i = theta ** (-2i / rotary_dim)` (float64), optionally scaled.

    Args:
        rotary_dim: the number of rotated coordinates (even, > 0).
        theta: the RoPE base.
        scaling: optional frequency scaling (`Llama3RotaryScaling`).

    Raises:
        ValueError: `rotary_dim` is not a positive even integer or `theta <= 0`.

    Examples:
        >>> from haliax.nn.rotary import rotary_frequencies
        >>> rotary_frequencies(4, theta=100.0).tolist()
        [1.0, 0.1]
    """
    if not isinstance(rotary_dim, (int, np.integer)) or rotary_dim <= 0 or rotary_dim % 2:
        raise ValueError(f"rotary_frequencies: rotary_dim must be a positive even integer, got {rotary_dim!r}")
    if not theta > 0:
        raise ValueError(f"rotary_frequencies: theta must be > 0, got {theta}")
    f = 1.0 / (float(theta) ** (np.arange(0, rotary_dim, 2, dtype=np.float64) / rotary_dim))
    if scaling is not None:
        f = scaling.scale_frequencies(f)
    return f


def _rotary_dim(D: int, partial_rotary_factor: float, fn: str) -> int:
    if not 0 < partial_rotary_factor <= 1:
        raise ValueError(f"{fn}: partial_rotary_factor must be in (0, 1], got {partial_rotary_factor}")
    R = int(D * partial_rotary_factor)
    if R < 2 or R % 2:
        raise ValueError(
            f"{fn}: the rotated width int(HeadSize.size * partial_rotary_factor) = int({D} * {partial_rotary_factor})"
            f" = {R} must be even and >= 2"
        )
    return R


def apply_rotary(
    x: NamedArray,
    positions: NamedArray,
    HeadSize: AxisSelector,
    *,
    theta: float = 10000.0,
    partial_rotary_factor: float = 1.0,
    scaling: Llama3RotaryScaling | None = None,
) -> NamedArray:
    """Rotate `x` by RoPE (rotate-half convention, see the module docs) at the given positions.

    Args:
        x: a NamedArray with the `HeadSize` axis, e.g. `(Batch, Pos, Heads, HeadSize)`.
        positions: integer NamedArray whose axes are a subset of `x`'s axes other than `HeadSize`
            (e.g. `(Pos,)`, or `(Batch, Pos)` for packed sequences or per-example offsets).
        HeadSize: the axis to rotate (a name, or an Axis whose size is checked).
        theta: the RoPE base.
        partial_rotary_factor: rotate only the first `int(HeadSize.size * factor)` coordinates (GPT-NeoX
            `rotary_pct`, Hugging Face `partial_rotary_factor`); the others pass through.
        scaling: optional frequency scaling (`Llama3RotaryScaling`).

    Returns:
        A NamedArray with `x`'s axes and dtype.

    Raises:
        TypeError: `x` or `positions` is not a NamedArray, or `positions` is not of integer dtype.
        ValueError: `HeadSize` is not in `x` (or has another size), `positions` has an axis that `x` lacks (or with
            another size) or the `HeadSize` axis, or the rotated width is not even.

    Examples:
        >>> import haliax as hax
        >>> from haliax.nn.rotary import apply_rotary
        >>> Pos, D = hax.make_axes(position=3, head_size=2)
        >>> x = hax.named([[1.0, 0.0]] * 3, (Pos, D))
        >>> out = apply_rotary(x, hax.arange(Pos), D, theta=1.0)
        >>> [[round(v, 3) for v in row] for row in out.tolist()]
        [[1.0, 0.0], [0.54, 0.841], [-0.416, 0.909]]
    """
    fn = "apply_rotary"
    if not isinstance(x, NamedArray):
        raise TypeError(f"{fn}: argument 'x' must be a NamedArray, got {type(x).__name__}")
    if not isinstance(positions, NamedArray):
        raise TypeError(
            f"{fn}: argument 'positions' must be an integer NamedArray (e.g. hax.arange(Pos)), got {type(positions).__name__}"
        )
    if not jnp.issubdtype(positions.dtype, jnp.integer):
        raise TypeError(f"{fn}: argument 'positions' must have an integer dtype, got {positions.dtype}")
    d = locate_axis(x.axes, HeadSize, fn, "HeadSize")  # missing, or an Axis of another size
    name, D = x.axes[d].name, x.axes[d].size
    for a in positions.axes:
        if a.name == name:
            raise ValueError(f"{fn}: argument 'positions' must not have the HeadSize axis {a}")
        j = locate_axis(x.axes, a.name, fn, "positions")
        if x.axes[j].size != a.size:
            raise conflicting_sizes_error(a.name, {"x": x.axes[j].size, "positions": a.size}, fn, "positions")
    R = _rotary_dim(D, partial_rotary_factor, fn)
    h = R // 2
    freq = rotary_frequencies(R, theta, scaling)
    shape = [1] * len(x.axes)
    shape[d] = h
    ct = jnp.promote_types(x.dtype, jnp.float32)
    pos = align_to(positions.array, positions.axes, x.axes).astype(ct)
    angle = pos * jnp.asarray(freq.reshape(shape), dtype=ct)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    xf = x.array.astype(ct)
    x1 = lax.slice_in_dim(xf, 0, h, axis=d)
    x2 = lax.slice_in_dim(xf, h, R, axis=d)
    parts = [x1 * cos - x2 * sin, x2 * cos + x1 * sin]
    if R < D:
        parts.append(lax.slice_in_dim(xf, R, D, axis=d))
    out = jnp.concatenate(parts, axis=d).astype(x.dtype)
    return NamedArray(out, x.axes)


class RotaryEmbedding(eqx.Module):
    """Rotary position embedding (RoPE) for one head size: a parameter-free module whose fields are all static.

    Uses the rotate-half convention (see `haliax.nn.rotary`). Pass it to `haliax.nn.MultiHeadAttention.init`
    (`rotary=`), or call it on queries/keys directly: `rope(x, positions)`.

    Fields: `HeadSize` (Axis), `theta` (base, default 10000), `partial_rotary_factor` (default 1.0) and `scaling`
    (None or `Llama3RotaryScaling`). The rotated width `int(HeadSize.size * partial_rotary_factor)` must be even.

    Examples:
        >>> import haliax as hax
        >>> import haliax.nn as hnn
        >>> Pos, H, D = hax.make_axes(position=4, heads=2, head_size=8)
        >>> rope = hnn.RotaryEmbedding.init(D, theta=500000.0, scaling=hnn.Llama3RotaryScaling())
        >>> q = hax.ones((Pos, H, D))
        >>> rope(q, hax.arange(Pos)).axes == q.axes
        True
    """

    HeadSize: Axis = eqx.field(static=True)
    theta: float = eqx.field(static=True, default=10000.0)
    partial_rotary_factor: float = eqx.field(static=True, default=1.0)
    scaling: Llama3RotaryScaling | None = eqx.field(static=True, default=None)

    def __check_init__(self) -> None:
        if not isinstance(self.HeadSize, Axis):
            raise TypeError(f"RotaryEmbedding: HeadSize must be an Axis, got {self.HeadSize!r}")
        if not self.theta > 0:
            raise ValueError(f"RotaryEmbedding: theta must be > 0, got {self.theta}")
        _rotary_dim(self.HeadSize.size, self.partial_rotary_factor, "RotaryEmbedding")

    @staticmethod
    def init(
        HeadSize: Axis,
        *,
        theta: float = 10000.0,
        partial_rotary_factor: float = 1.0,
        scaling: Llama3RotaryScaling | None = None,
    ) -> RotaryEmbedding:
        """Build a RoPE for `HeadSize` (see the class docs for the fields).

        Args:
            HeadSize: the head-size axis to rotate.
            theta: the base of the rotation frequencies.
            partial_rotary_factor: the fraction of ``HeadSize`` that is rotated (the rest passes through).
            scaling: optional Llama-3 frequency scaling.

        Raises:
            TypeError: `HeadSize` is not an Axis.
            ValueError: `theta <= 0`, or the rotated width is not even and >= 2.

        Examples:
            >>> import haliax as hax
            >>> import haliax.nn as hnn
            >>> hnn.RotaryEmbedding.init(hax.Axis("head_size", 10), partial_rotary_factor=0.4).rotary_dim
            4
        """
        return RotaryEmbedding(HeadSize, theta, partial_rotary_factor, scaling)

    @property
    def rotary_dim(self) -> int:
        """The number of rotated coordinates, `int(HeadSize.size * partial_rotary_factor)`."""
        return int(self.HeadSize.size * self.partial_rotary_factor)

    @property
    def frequencies(self) -> np.ndarray:
        """The `rotary_dim / 2` frequencies (float64 NumPy), after scaling."""
        return rotary_frequencies(self.rotary_dim, self.theta, self.scaling)

    def __call__(self, x: NamedArray, positions: NamedArray, *, key: jax.Array | None = None) -> NamedArray:
        """Rotate `x` (which has the `HeadSize` axis) at integer `positions` (see `apply_rotary`); `key` is
        ignored.

        Raises:
            ValueError: `x`'s head axis has another size than `HeadSize`, or see `apply_rotary`.
        """
        del key
        return apply_rotary(
            x,
            positions,
            self.HeadSize,
            theta=self.theta,
            partial_rotary_factor=self.partial_rotary_factor,
            scaling=self.scaling,
        )
