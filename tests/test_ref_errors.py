"""NamedRef on bad indices: out-of-range ints are both IndexError and ValueError; a misspelt axis suggests a name."""

import jax.numpy as jnp
import pytest

import haliax as hax
from haliax.axis import AxisIndexError
from haliax.ref import get, new_ref, swap

B, E = hax.make_axes(batch=2, embed=3)


def _ref():
    return new_ref(hax.zeros((B, E)))


@pytest.mark.parametrize(
    "op",
    [
        lambda r: r[{"batch": 5}],
        lambda r: get(r, {"batch": -3}),
        lambda r: swap(r, {"embed": 3}, 1.0),
        lambda r: r[{"embed": [0, 3]}],
    ],
)
def test_out_of_range_int_is_index_error_and_value_error(op):
    with pytest.raises(AxisIndexError, match=r"Index -?\d out of bounds for axis (batch|embed) \(size [23] in") as e:
        op(_ref())
    assert isinstance(e.value, IndexError) and isinstance(e.value, ValueError)


def test_misspelt_axis_in_index_suggests_the_closest_name():
    with pytest.raises(
        ValueError, match=r"^get: Axis bach is not available in this slice reference .*Did you mean 'batch'\?$"
    ):
        get(_ref(), {"bach": 0})


def test_unknown_axis_in_index_has_no_suggestion():
    with pytest.raises(
        ValueError, match=r"Axis zzz is not available in this slice reference \(batch\(2\), embed\(3\)\)$"
    ):
        _ref()[{"zzz": 0}]


def test_in_range_negative_index_reads_from_the_end():
    r = new_ref(hax.named(jnp.arange(6.0).reshape(2, 3), (B, E)))
    assert get(r, {"batch": -1, "embed": -1}).item() == 5.0
