"""Small helpers shared by the test files: random named arrays, axis names, reordering and tolerant comparison.

Import them with `from tests.helpers import rand, names` (pyproject's pytest options put the repository root on
`sys.path`).
"""

from collections.abc import Iterable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import haliax as hax
from haliax import Axis, NamedArray

__all__ = [
    "FP8_STATE_FIELDS",
    "as_order",
    "assert_same",
    "assert_same_on",
    "close",
    "linear_grads",
    "names",
    "named_normal",
    "rand",
    "relative_error",
    "strs",
]


def _flat_axes(axes: tuple[Any, ...]) -> tuple[Axis, ...]:
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        return tuple(axes[0])
    return tuple(axes)


def rand(*axes: Axis | Sequence[Axis], seed: int = 0, dtype: Any = jnp.float32) -> NamedArray:
    """A standard-normal NamedArray drawn with NumPy (no XLA compile): `rand(X, Y)` or `rand((X, Y), seed=1)`."""
    axes_t = _flat_axes(axes)
    shape = tuple(a.size for a in axes_t)
    return hax.named(jnp.asarray(np.random.default_rng(seed).standard_normal(shape), dtype), axes_t)


def named_normal(key: jax.Array, axes: Sequence[Axis]) -> NamedArray:
    """`jax.random.normal(key, shape)` wrapped with the given axes."""
    axes_t = tuple(axes)
    return NamedArray(jax.random.normal(key, tuple(a.size for a in axes_t)), axes_t)


def _name(a: Axis | str) -> str:
    return a if isinstance(a, str) else a.name


def names(x: NamedArray | Iterable[Axis | str]) -> list[str]:
    """The axis names of a NamedArray, or of a sequence of axes / names, in order."""
    return [_name(a) for a in (x.axes if isinstance(x, NamedArray) else x)]


def strs(x: NamedArray) -> list[str]:
    """`str` of each axis of `x`, e.g. `["X(2)", "Y(3)"]`."""
    return [str(a) for a in x.axes]


def as_order(x: NamedArray, order: Iterable[Axis | str]) -> np.ndarray:
    """x's raw array (a contiguous NumPy copy) transposed to `order` (axes or names; a string is one name a letter),
    written with plain NumPy so tests do not check haliax with haliax."""
    present = names(x)
    perm = [present.index(_name(a)) for a in order]
    assert sorted(perm) == list(range(len(present))), f"{list(order)} is not a permutation of {present}"
    return np.ascontiguousarray(np.transpose(np.array(x.array), perm))


def close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """assert_allclose on anything array-like (NamedArray's raw array included)."""
    if isinstance(actual, NamedArray):
        actual = actual.array
    if isinstance(expected, NamedArray):
        expected = expected.array
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)


def assert_same(named: NamedArray, raw: Any) -> None:
    """Bitwise equality of a NamedArray's array with a raw array of the same dtype (same computation only)."""
    assert isinstance(named, NamedArray)
    assert named.array.dtype == raw.dtype
    np.testing.assert_array_equal(np.asarray(named.array), np.asarray(raw))


def assert_same_on(named: NamedArray, raw: Any, axes: tuple[Axis, ...]) -> None:
    """`assert_same`, and ``named`` has exactly the axes ``axes`` (in that order)."""
    assert isinstance(named, NamedArray)
    assert named.axes == axes
    assert_same(named, raw)


FP8_STATE_FIELDS = (
    "input_scale",
    "output_grad_scale",
    "kernel_scale",
    "input_amax_history",
    "output_grad_amax_history",
    "kernel_amax_history",
)
"""The array fields of `Fp8DotGeneralOp`, in their public order (also the order of its state-dict keys)."""


def relative_error(actual: Any, expected: Any) -> float:
    """`||actual - expected|| / ||expected||` over all elements (NamedArrays are unwrapped)."""
    if isinstance(actual, NamedArray):
        actual = actual.array
    if isinstance(expected, NamedArray):
        expected = expected.array
    return float(jnp.linalg.norm(jnp.ravel(actual - expected)) / jnp.linalg.norm(jnp.ravel(expected)))


def linear_grads(quantized: Any, reference: Any) -> tuple[Any, Any, NamedArray, NamedArray]:
    """Gradients of ``sum(m(x) * c)`` for two Linear layers of the same axes on one random batch ``B(16)``:
    ``(module grads of quantized, of reference, input grads of quantized, of reference)``."""
    B = hax.Axis("B", 16)
    x = hax.random.normal(jax.random.PRNGKey(1), (B, reference.In))
    c = hax.random.normal(jax.random.PRNGKey(2), (B, reference.Out))

    def loss(m: Any, x: NamedArray) -> jax.Array:
        return hax.sum(m(x) * c).array

    gq, gf = eqx.filter_grad(loss)(quantized, x), eqx.filter_grad(loss)(reference, x)
    gxq, gxf = jax.grad(lambda x: loss(quantized, x))(x), jax.grad(lambda x: loss(reference, x))(x)
    return gq, gf, gxq, gxf


def explicit_mesh_2x4() -> Any:
    """A 2x4 mesh ("data", "model") of the 8 simulated devices whose axes are both ``AxisType.Explicit``."""
    from jax.sharding import AxisType

    return jax.make_mesh((2, 4), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)


def typed_spec(x: Any) -> tuple[Any, ...]:
    """The typed sharding (``jax.typeof``) of a NamedArray or array, trailing Nones made explicit."""
    arr = x.array if isinstance(x, NamedArray) else x
    spec = tuple(jax.typeof(arr).sharding.spec)
    return spec + (None,) * (arr.ndim - len(spec))
