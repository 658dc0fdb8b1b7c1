"""haliax.axis: Axis, spec helpers, partial orders, dslice and the not-found error (Haliax's placement rule)."""

import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax.axis import (
    Axis,
    axis_not_found_error,
    closest_name,
    conflicting_sizes_error,
    name_index,
    rearrange_for_partial_order,
)
from tests.helpers import names

X, Y, Z, W = hax.make_axes(X=2, Y=3, Z=4, W=5)


# --------------------------------------------------------------------------------------------------
# Axis


def test_axis_equality_hash_str_repr():
    assert Axis("E", 4) == Axis("E", 4)
    assert Axis("E", 4) != Axis("E", 5)
    assert Axis("E", 4) != Axis("F", 4)
    assert hash(Axis("E", 4)) == hash(Axis("E", 4))
    assert len({Axis("E", 4), Axis("E", 4), Axis("E", 5)}) == 2
    assert str(Axis("E", 4)) == "E(4)"
    assert repr(Axis("E", 4)) == "Axis(name='E', size=4)"
    with pytest.raises(AttributeError):
        Axis("E", 4).size = 5  # frozen


def test_alias_resize_make_axes():
    E = Axis("E", 4)
    assert E.alias("H") == Axis("H", 4)
    assert E.resize(7) == Axis("E", 7)
    assert hax.make_axes(X=10, Y=20) == (Axis("X", 10), Axis("Y", 20))
    assert hax.make_axes() == ()


# --------------------------------------------------------------------------------------------------
# conversions


def test_axis_name_and_size():
    assert hax.axis_name(X) == "X"
    assert hax.axis_name("Q") == "Q"
    assert hax.axis_name((X, "Q")) == ("X", "Q")
    assert hax.axis_name({"A": 1, "B": None}) == ("A", "B")
    assert hax.axis_size(X) == 2
    assert hax.axis_size((X, Y, Z)) == 24
    assert hax.axis_size({"A": 3, "B": 5}) == 15
    assert hax.axis_size(()) == 1
    with pytest.raises(TypeError, match="axis_size"):
        hax.axis_size(("X",))


def test_spec_conversions():
    assert hax.axis_spec_to_tuple(X) == (X,)
    assert hax.axis_spec_to_tuple({"X": 2, "Y": 3}) == (X, Y)
    assert hax.axis_spec_to_tuple([X, Y]) == (X, Y)
    with pytest.raises(TypeError, match="Expected an Axis"):
        hax.axis_spec_to_tuple("X")
    with pytest.raises(TypeError, match="Expected Axis"):
        hax.axis_spec_to_tuple((X, "Y"))
    assert hax.axis_spec_to_shape_dict(X) == {"X": 2}
    assert hax.axis_spec_to_shape_dict("X") == {"X": None}
    assert hax.axis_spec_to_shape_dict((X, "Y")) == {"X": 2, "Y": None}
    assert hax.axis_spec_to_shape_dict({"A": 1}) == {"A": 1}
    assert hax.to_jax_shape(X) == (2,)
    assert hax.to_jax_shape((X, Y)) == (2, 3)
    assert hax.to_jax_shape({"A": 1, "B": 7}) == (1, 7)


def test_name_index_is_cached():
    axes = (X, Y, Z)
    assert name_index(axes) == {"X": 0, "Y": 1, "Z": 2}
    assert name_index(axes) is name_index((X, Y, Z))


# --------------------------------------------------------------------------------------------------
# combining


def test_concat_axes():
    assert hax.concat_axes(X, Y) == (X, Y)
    assert hax.concat_axes((X, Y), (Z,)) == (X, Y, Z)
    assert hax.concat_axes(X, (Y, Z)) == (X, Y, Z)
    assert hax.concat_axes({"X": 2}, (Y,)) == {"X": 2, "Y": 3}
    assert hax.concat_axes({"X": 2}, {"Y": 3}) == {"X": 2, "Y": 3}
    assert hax.concat_axis_specs is hax.concat_axes
    with pytest.raises(ValueError, match="Axis X specified twice"):
        hax.concat_axes(X, X.resize(3))
    with pytest.raises(ValueError, match="AxisSpecs overlap!"):
        hax.concat_axes((X, Y), (Y, Z))
    with pytest.raises(ValueError, match="AxisSpecs overlap!"):
        hax.concat_axes({"X": 2}, {"X": 2})


def test_union_axes():
    assert hax.union_axes((X, Y), (Y, Z)) == (X, Y, Z)
    assert hax.union_axes((X,), X) == (X,)
    assert hax.union_axes(("X", Y), (X,)) == (X, Y)  # a name is upgraded to the sized Axis
    assert hax.union_axes({"X": 2}, {"Y": 3, "X": 2}) == {"X": 2, "Y": 3}
    with pytest.raises(ValueError, match=r"union_axes: axis X has conflicting sizes: 2 \(a1\), 5 \(a2\)"):
        hax.union_axes((X,), (X.resize(5),))
    with pytest.raises(ValueError, match=r"union_axes: axis X has conflicting sizes: 2 \(a1\), 5 \(a2\)"):
        hax.union_axes({"X": 2}, {"X": 5})


def test_eliminate_and_without_axes():
    assert hax.eliminate_axes((X, Y, Z), "Y") == (X, Z)
    assert hax.eliminate_axes((X, Y, Z), (Z, X)) == (Y,)
    assert hax.eliminate_axes({"X": 2, "Y": 3}, "X") == {"Y": 3}
    with pytest.raises(ValueError, match="eliminate_axes: argument 'to_remove': Axis Q not present in axis spec"):
        hax.eliminate_axes((X, Y), "Q")
    with pytest.raises(
        ValueError,
        match=r"eliminate_axes: argument 'to_remove': Found axis with same name but different size: asked for X\(9\), "
        r"the array has X\(2\)",
    ):
        hax.eliminate_axes((X, Y), X.resize(9))
    assert hax.without_axes((X, Y), ("Q", "Y")) == (X,)
    assert hax.without_axes({"X": 2}, "Q") == {"X": 2}
    with pytest.raises(ValueError, match="without_axes"):
        hax.without_axes((X, Y), X.resize(9))
    assert hax.without_axes((X, Y), X.resize(9), allow_mismatched_sizes=True) == (Y,)


def test_unsize_replace_intersect():
    assert hax.unsize_axes((X, Y)) == ("X", "Y")
    assert hax.unsize_axes((X, Y), "Y") == (X, "Y")
    assert hax.unsize_axes({"X": 2, "Y": 3}) == {"X": None, "Y": None}
    assert hax.unsize_axes({"X": 2, "Y": 3}, "X") == {"X": None, "Y": 3}
    with pytest.raises(ValueError, match="unsize_axes.*axis Q not found"):
        hax.unsize_axes((X, Y), "Q")

    assert hax.replace_axis((X, Y, Z), "Y", (W, Axis("V", 1))) == (X, W, Axis("V", 1), Z)
    assert hax.replace_axis((X, Y), Y, Y.resize(7)) == (X, Y.resize(7))
    assert hax.replace_axis({"X": 2, "Y": 3}, "X", Z) == {"Z": 4, "Y": 3}
    with pytest.raises(ValueError, match="replace_axis.*axis Q not found"):
        hax.replace_axis((X, Y), "Q", Z)
    with pytest.raises(ValueError, match="replace_axis: axis Y would appear twice"):
        hax.replace_axis((X, Y), "X", Y)

    assert hax.intersect_axes((X, Y, Z), (Z, W, X)) == (X, Z)
    assert hax.intersect_axes(("X", Y), (X,)) == (X,)
    with pytest.raises(ValueError, match=r"intersect_axes: axis X has conflicting sizes: 2 \(a1\), 9 \(a2\)"):
        hax.intersect_axes((X,), (X.resize(9),))


def test_selects_compatible_resolve():
    assert hax.selects_axis((X, Y), "X")
    assert hax.selects_axis((X, Y), (Y, X))
    assert hax.selects_axis((X, Y), {"X": None})
    assert not hax.selects_axis((X, Y), "Z")
    assert not hax.selects_axis((X, Y), X.resize(5))
    assert hax.is_axis_compatible(X, "X")
    assert hax.is_axis_compatible(X, X.resize(9))
    assert not hax.is_axis_compatible(X, Y)

    assert hax.resolve_axis((X, Y), "Y") == Y
    assert hax.resolve_axis((X, Y), ("Y", X)) == (Y, X)
    assert hax.resolve_axis({"X": 2, "Y": 3}, {"Y": None}) == {"Y": 3}
    with pytest.raises(ValueError, match="Axis Q not found") as e:
        hax.resolve_axis((X, Y), "Q")
    assert "X(2), Y(3)" in str(e.value)
    with pytest.raises(
        ValueError,
        match=r"resolve_axis: argument .selection.: Found axis with same name but different size: asked for X\(9\), the array has X\(2\)",
    ):
        hax.resolve_axis((X, Y), X.resize(9))


# --------------------------------------------------------------------------------------------------
# errors


def test_axis_not_found_error_names_function_argument_axes_and_suggestion():
    e = axis_not_found_error("embd", (Axis("batch", 2), Axis("embed", 3)), "sum", "axis")
    assert isinstance(e, ValueError)
    msg = str(e)
    assert msg.startswith("sum: argument 'axis': axis embd not found in (batch(2), embed(3))")
    assert "Did you mean 'embed'?" in msg
    assert "Did you mean" not in str(axis_not_found_error("zzz", (X, Y), "f"))
    assert "Did you mean 'X'" in str(axis_not_found_error("x", (X, Y)))  # case-insensitive match first
    assert "no axes" in str(axis_not_found_error("x", ()))
    assert str(axis_not_found_error("Q", (X,), capitalize=True)).startswith("Axis Q not found")
    assert closest_name("hiden", ["hidden", "heads"]) == "hidden"


def test_conflicting_sizes_error_names_function_argument_axis_and_every_source():
    e = conflicting_sizes_error("X", {"first operand": 2, "second operand": 5}, "broadcast_arrays")
    assert type(e) is ValueError
    assert str(e) == "broadcast_arrays: axis X has conflicting sizes: 2 (first operand), 5 (second operand)"
    three = conflicting_sizes_error("B", {"x": 3, "y": 4, "z": 5}, "vmap", "args")
    assert str(three) == "vmap: argument 'args': axis B has conflicting sizes: 3 (x), 4 (y), 5 (z)"


def test_spec_size_mismatch_is_the_common_error():
    with pytest.raises(
        hax.axis.AxisSizeMismatchError, match=r"asked for X\(9\), the array has X\(2\) \(axes X\(2\), Y\)"
    ):
        hax.eliminate_axes({"X": 2, "Y": None}, X.resize(9))
    with pytest.raises(ValueError, match="eliminate_axes: argument 'to_remove': Axis X not present in axis spec"):
        hax.eliminate_axes((X, Y), ("X", "X"))  # removing the same axis twice


# --------------------------------------------------------------------------------------------------
# partial orders (Haliax's placement rule for unmentioned axes)

a_, b_, c_, d_, x_, y_, z_ = hax.make_axes(a=1, b=2, c=3, d=4, x=5, y=6, z=7)


@pytest.mark.parametrize(
    "order, axes, expected",
    [
        (("c", "a", "b"), (a_, b_, c_), ["c", "a", "b"]),
        ((..., "c", "a"), (a_, b_, c_, d_), ["b", "d", "c", "a"]),
        (("a", ..., "c", ...), (a_, b_, c_, d_), ["a", "b", "c", "d"]),
        (("c", ...), (a_, b_, c_), ["c", "a", "b"]),
        ((..., "a"), (a_, b_, c_), ["b", "c", "a"]),
        ((...,), (a_, b_, c_), ["a", "b", "c"]),
        # unmentioned axes go to the first still-empty `...` slot after the last ordered axis seen
        (("c", ..., "a", ...), (x_, c_, y_, a_, z_), ["c", "x", "a", "y", "z"]),
        ((..., "c", ..., "a", ...), (a_, b_, c_, d_), ["c", "a", "b", "d"]),
        ((c_, ..., "a"), (a_, b_, c_), ["c", "b", "a"]),
    ],
)
def test_rearrange_for_partial_order(order, axes, expected):
    assert names(rearrange_for_partial_order(order, axes)) == expected


def test_rearrange_for_partial_order_errors():
    with pytest.raises(ValueError, match="Partial order must be a permutation of the axes if no ellipsis"):
        rearrange_for_partial_order(("a", "b"), (a_, b_, c_))
    with pytest.raises(ValueError, match="The following axes are not present in output"):
        rearrange_for_partial_order(("q", ...), (a_, b_))
    with pytest.raises(ValueError, match="more than once"):
        rearrange_for_partial_order(("a", ..., "a"), (a_, b_))
    with pytest.raises(
        ValueError,
        match=r"rearrange_for_partial_order: argument 'partial_order': Found axis with same name but different size: "
        r"asked for b\(9\), the array has b\(2\)",
    ):
        rearrange_for_partial_order((b_.resize(9), ...), (a_, b_))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_rearrange_for_partial_order_properties(data):
    axes = (a_, b_, c_, d_, x_)
    perm = data.draw(st.permutations(axes))
    named = data.draw(st.lists(st.sampled_from([a.name for a in axes]), unique=True, max_size=5))
    # interleave ellipses at random positions (at least one so a partial order is allowed)
    n_ell = data.draw(st.integers(1, 3))
    order = list(named)
    for _ in range(n_ell):
        order.insert(data.draw(st.integers(0, len(order))), ...)
    out = rearrange_for_partial_order(tuple(order), tuple(perm))
    assert sorted(names(out)) == sorted(a.name for a in axes)  # a permutation
    positions = [names(out).index(n) for n in named]
    assert positions == sorted(positions)  # named axes keep the given relative order


@pytest.mark.parametrize(
    "order, axes, expected",
    [
        (("x", ..., "y"), ("y", "x", "z"), ("x", "z", "y")),
        ((..., "x", "y"), ("y", "x", "z"), ("z", "x", "y")),
        (("x", ..., "y", ...), ("y", "x", "z"), ("x", "y", "z")),
        (("x", "y", ...), ("y", "x", "z"), ("x", "y", "z")),
        (("x", "y", "z"), ("y", "x", "z"), ("x", "y", "z")),
        (("x", ..., "y", ..., "z", ...), ("y", "w", "z", "x", "v"), ("x", "y", "w", "z", "v")),
        ((...,), ("y", "x", "z"), ("y", "x", "z")),
        ((), (), ()),
    ],
)
def test_rearrange_for_partial_order_on_plain_strings(order, axes, expected):
    out = rearrange_for_partial_order(order, axes)
    assert out == expected
    assert all(type(a) is str for a in out)


def test_rearrange_for_partial_order_keeps_the_kind_of_each_candidate():
    W3 = Axis("W", 3)
    assert rearrange_for_partial_order(("W", ...), ("H", W3)) == (W3, "H")
    # an Axis entry in the order matches a str candidate by name, without a size check
    assert rearrange_for_partial_order((Axis("H", 99), ...), (W3, "H")) == ("H", W3)
    assert rearrange_for_partial_order((W3, "H"), ("H", W3)) == (W3, "H")
    # a shape dict is read as a tuple of Axis
    assert rearrange_for_partial_order(("W", ...), {"H": 2, "W": 3}) == (W3, Axis("H", 2))


@pytest.mark.parametrize(
    "order, axes, match",
    [
        (("x", "y"), ("y", "x", "z"), "Partial order must be a permutation of the axes if no ellipsis"),
        (("q", ...), ("y", "x", "z"), "The following axes are not present in output"),
        (("x", "x", ...), ("y", "x", "z"), "Axis x appears more than once in the partial order"),
        (("x", "y", "v", ...), ("y", "x", "x"), "argument 'axes': axis names must be unique, but x appear"),
        ((...,), ("y", "x", "x"), "argument 'axes': axis names must be unique"),
        (("y", "x"), ("y", "x", Axis("x", 2)), "argument 'axes': axis names must be unique"),
    ],
)
def test_rearrange_for_partial_order_string_errors(order, axes, match):
    with pytest.raises(ValueError, match=match):
        rearrange_for_partial_order(order, axes)


def test_rearrange_for_partial_order_rejects_non_selectors():
    with pytest.raises(TypeError, match="rearrange_for_partial_order: argument 'axes'"):
        rearrange_for_partial_order((...,), ("x", 3))
    with pytest.raises(TypeError, match="rearrange_for_partial_order: argument 'partial_order'"):
        rearrange_for_partial_order((["x"], ...), ("x", "y"))


# --------------------------------------------------------------------------------------------------
# dslice


def test_dslice():
    s = hax.dslice(3, 4)
    assert (s.start, s.size) == (3, 4)
    assert s.to_slice() == slice(3, 7)
    assert hax.ds is hax.dslice
    assert hax.dslice(1, Axis("Q", 5)).size == 5
    b = hax.dslice.block(2, 3)
    assert (b.start, b.size) == (6, 3)
    d = hax.dblock(3, 2)
    assert (d.start, d.size) == (6, 2)
    assert repr(hax.ds(1, 2)) == "dslice(1, 2)"
