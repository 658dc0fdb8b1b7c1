"""Creation functions given a shape that names an axis twice: a ValueError naming the function and the axis."""

import pytest

import haliax as hax

X, Y = hax.make_axes(X=2, Y=3)


@pytest.mark.parametrize(
    "name, call",
    [
        ("zeros", lambda s: hax.zeros(s)),
        ("ones", lambda s: hax.ones(s)),
        ("full", lambda s: hax.full(s, 1.0)),
    ],
)
def test_duplicate_axis(name, call):
    with pytest.raises(
        ValueError,
        match=rf"^{name}: argument 'shape' names axis X more than once: \(X\(2\), Y\(3\), X\(2\)\); axis names in an array must be unique",
    ):
        call((X, Y, X))


def test_duplicate_axis_with_other_size():
    with pytest.raises(ValueError, match=r"zeros: argument 'shape' names axis X more than once: \(X\(2\), X\(5\)\)"):
        hax.zeros((X, X.resize(5)))


def test_arange_duplicate_axis_names_its_argument():
    with pytest.raises(ValueError, match=r"^arange: argument 'axis' names axis Y more than once"):
        hax.arange((Y, Y))


def test_bad_sizes_are_caught_by_axis():
    with pytest.raises(ValueError, match="Axis: field 'size' of axis 'X'"):
        hax.zeros(hax.Axis("X", -1))
    with pytest.raises(TypeError, match="Axis: field 'size' of axis 'X'"):
        hax.ones({"X": 2.5})


@pytest.mark.parametrize("fill", ["x", None, b"1"])
def test_full_fill_value_of_wrong_kind(fill):
    with pytest.raises(TypeError, match=r"^full: argument 'fill_value' must be a number or a scalar array, got"):
        hax.full(hax.Axis("X", 2), fill)
