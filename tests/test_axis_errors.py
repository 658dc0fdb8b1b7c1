"""Axis construction rejects bad names and sizes, naming ``Axis`` and the field."""

import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.axis import Axis, AxisIndexError


@pytest.mark.parametrize("name", [3, None, b"X", ("X",)])
def test_axis_rejects_non_string_name(name):
    with pytest.raises(TypeError, match=r"Axis: field 'name' must be a str, got .* of type"):
        Axis(name, 3)


@pytest.mark.parametrize("size", [-1, -10])
def test_axis_rejects_negative_size(size):
    with pytest.raises(ValueError, match=rf"Axis: field 'size' of axis 'X' must be a non-negative int, got {size}"):
        Axis("X", size)


@pytest.mark.parametrize("size", [2.0, 2.5, "3", None, True, np.bool_(True), np.float32(2)])
def test_axis_rejects_non_integer_size(size):
    with pytest.raises(TypeError, match=r"Axis: field 'size' of axis 'X' must be a non-negative int, got .* of type"):
        Axis("X", size)


def test_axis_negative_numpy_size_is_value_error():
    with pytest.raises(ValueError, match="Axis: field 'size'.*got -2"):
        Axis("X", np.int32(-2))


@pytest.mark.parametrize("size", [np.int64(3), np.int32(3), np.uint8(3), jnp.int32(3)])
def test_axis_accepts_integer_scalars_as_int(size):
    a = Axis("X", size)
    assert type(a.size) is int and a.size == 3
    assert a == Axis("X", 3) and hash(a) == hash(Axis("X", 3))


def test_axis_size_zero_is_allowed():
    assert Axis("X", 0).size == 0


def test_resize_checks_too():
    with pytest.raises(ValueError, match="Axis: field 'size'"):
        Axis("X", 2).resize(-1)
    with pytest.raises(TypeError, match="Axis: field 'name'"):
        Axis("X", 2).alias(1)  # type: ignore[arg-type]


def test_make_axes_checks_sizes():
    with pytest.raises(TypeError, match="Axis: field 'size' of axis 'Y'"):
        hax.make_axes(X=2, Y=1.5)  # type: ignore[arg-type]


def test_axis_index_error_is_index_and_value_error():
    assert issubclass(AxisIndexError, IndexError)
    assert issubclass(AxisIndexError, ValueError)
