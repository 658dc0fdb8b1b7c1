"""Tests for packbits and unpackbits (ops/bits.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis
from haliax.axis import AxisSizeMismatchError
from haliax.ops.bits import packbits, unpackbits

R, B = hax.make_axes(R=2, B=10)
BITS = np.array([[1, 0, 1, 1, 0, 0, 0, 1, 1, 1], [0, 1, 1, 0, 1, 0, 0, 1, 1, 0]], dtype=np.uint8)


def _eq(named, expected, axes=None):
    if axes is not None:
        assert named.axes == tuple(axes)
    np.testing.assert_array_equal(np.asarray(named.array), np.asarray(expected))


def test_packbits_example():
    b = hax.named(BITS, (R, B))
    out = packbits(b, "B")
    assert out.dtype == jnp.uint8
    _eq(out, jnp.packbits(BITS, axis=1), (R, Axis("B", 2)))
    assert out.array[0].tolist() == [177, 192]
    assert packbits(b, B, bitorder="little").array[0].tolist() == [141, 3]
    assert packbits(hax.named(BITS[1], "B"), "B").tolist() == [105, 128]


@pytest.mark.parametrize("bitorder", ["big", "little"])
def test_packbits_matches_jnp_either_axis_order(bitorder):
    for raw, axes, pos in ((BITS, (R, B), 1), (BITS.T, (B, R), 0)):
        out = packbits(hax.named(raw, axes), "B", bitorder=bitorder)
        expected_axes = tuple(Axis("B", 2) if a == B else a for a in axes)  # same name and position
        _eq(out, jnp.packbits(raw, axis=pos, bitorder=bitorder), expected_axes)
        # packing along R instead
        out = packbits(hax.named(raw, axes), "R", bitorder=bitorder)
        _eq(out, jnp.packbits(raw, axis=1 - pos, bitorder=bitorder))
        assert out.axes[1 - pos] == Axis("R", 1)


def test_packbits_bool_and_nonzero_ints():
    as_bool = hax.named(BITS.astype(bool), (R, B))
    _eq(packbits(as_bool, "B"), jnp.packbits(BITS, axis=1))
    ints = np.where(BITS == 1, np.array([[-1], [7]]), 0).astype(np.int32)  # nonzero counts as 1
    _eq(packbits(hax.named(ints, (R, B)), "B"), jnp.packbits(BITS, axis=1))


@pytest.mark.parametrize("bitorder", ["big", "little"])
def test_unpackbits_roundtrip_and_sizes(bitorder):
    for raw, axes in ((BITS, (R, B)), (BITS.T, (B, R))):
        b = hax.named(raw, axes)
        packed = packbits(b, "B", bitorder=bitorder)
        back = unpackbits(packed, "B", count=10, bitorder=bitorder)
        assert back.dtype == jnp.uint8
        _eq(back, raw, axes)
        pos = axes.index(B)
        full = unpackbits(packed, "B", bitorder=bitorder)
        assert full.axes[pos] == Axis("B", 16)
        _eq(full, jnp.unpackbits(packed.array, axis=pos, bitorder=bitorder))
        padded = unpackbits(packed, "B", count=20, bitorder=bitorder)
        assert padded.axes[pos] == Axis("B", 20)
        _eq(padded, jnp.unpackbits(packed.array, axis=pos, count=20, bitorder=bitorder))


def test_unpackbits_negative_count_drops_bits():
    packed = packbits(hax.named(BITS, (R, B)), "B")
    out = unpackbits(packed, "B", count=-3)
    _eq(out, jnp.unpackbits(packed.array, axis=1, count=-3), (R, Axis("B", 13)))
    out = unpackbits(packed, "B", count=np.int64(-6))
    _eq(out, BITS, (R, B))  # 16 - 6 = 10 bits: the original
    assert unpackbits(packed, "B", count=-30).axes == (R, Axis("B", 0))


def test_bits_under_jit():
    b = hax.named(BITS, (R, B))
    packed = jax.jit(lambda a: packbits(a, "B", bitorder="little"))(b)
    _eq(packed, jnp.packbits(BITS, axis=1, bitorder="little"), (R, Axis("B", 2)))
    back = jax.jit(lambda a: unpackbits(a, "B", count=10, bitorder="little"))(packed)
    _eq(back, BITS, (R, B))


@pytest.mark.parametrize("fn", ["packbits", "unpackbits"])
def test_axis_errors(fn):
    f = {"packbits": packbits, "unpackbits": unpackbits}[fn]
    a = hax.named(np.zeros((2, 3), np.uint8), (R, Axis("B", 3)))
    with pytest.raises(ValueError, match=f"{fn}: argument 'axis': {fn} only supports a single existing axis"):
        f(a, ("R", "B"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"{fn}: argument 'axis': axis Q not found.*single existing axis"):
        f(a, "Q")
    with pytest.raises(AxisSizeMismatchError, match=f"{fn}: argument 'axis'"):
        f(a, Axis("B", 4))
    with pytest.raises(RuntimeError):  # also a RuntimeError, like Haliax's
        f(a, Axis("B", 4))
    with pytest.raises(ValueError, match=f"{fn}: argument 'bitorder' must be one of"):
        f(a, "B", bitorder="middle")
    with pytest.raises(TypeError, match=f"{fn}: argument 'a' must be a NamedArray"):
        f(np.zeros(3, np.uint8), "B")  # type: ignore[arg-type]


def test_dtype_and_count_errors():
    with pytest.raises(TypeError, match="packbits: argument 'a' must have a bool or integer dtype, got float32"):
        packbits(hax.named(BITS.astype(np.float32), (R, B)), "B")
    with pytest.raises(TypeError, match="unpackbits: argument 'a' must have dtype uint8, got int32"):
        unpackbits(hax.named(BITS.astype(np.int32), (R, B)), "B")
    with pytest.raises(TypeError, match="unpackbits: argument 'count' must be an int or None"):
        unpackbits(hax.named(BITS, (R, B)), "B", count=2.5)  # type: ignore[arg-type]
