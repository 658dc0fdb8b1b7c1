"""Indexing a NamedArray with a concrete integer outside its axis raises AxisIndexError naming the axis."""

import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax.axis import AxisIndexError

X, Y = hax.make_axes(X=4, Y=3)


def _x() -> hax.NamedArray:
    return hax.named(jnp.arange(12.0).reshape(4, 3), (X, Y))


@pytest.mark.parametrize("i", [4, 7, -5, 100])
def test_int_index_out_of_range(i):
    with pytest.raises(AxisIndexError, match=rf"index {i} is out of bounds for axis X with size 4 \(valid: -4 to 3\)"):
        _x()["X", i]


@pytest.mark.parametrize("i", [4, -5])
def test_out_of_range_caught_as_index_error_and_value_error(i):
    with pytest.raises(IndexError, match="axis X"):
        _x()[{"X": i}]
    with pytest.raises(ValueError, match="axis X"):
        _x()[{"X": i}]


def test_negative_indices_count_from_the_end():
    x = _x()
    assert jnp.array_equal(x["X", -1].array, x.array[3])
    assert jnp.array_equal(x["X", -4].array, x.array[0])


def test_second_axis_named():
    with pytest.raises(AxisIndexError, match="index 3 is out of bounds for axis Y with size 3"):
        _x()["X", 0, "Y", 3]


def test_list_index_out_of_range():
    with pytest.raises(
        AxisIndexError, match=r"list index 9 is out of bounds for axis Y with size 3 \(valid: -3 to 2\)"
    ):
        _x()["Y", [0, 9]]


def test_at_update_out_of_range():
    with pytest.raises(AxisIndexError, match="axis X with size 4"):
        _x().at["X", 4].set(0.0)


def test_message_names_the_function():
    with pytest.raises(AxisIndexError, match=r"^NamedArray indexing: "):
        _x()["X", 4]


def test_take_with_int_out_of_range():
    with pytest.raises(AxisIndexError, match=r"^take: index 7 is out of bounds for axis X with size 4"):
        hax.take(_x(), "X", 7)


def test_numpy_integer_index_out_of_range():
    with pytest.raises(AxisIndexError, match="index 5 is out of bounds for axis X"):
        _x()["X", np.int64(5)]
