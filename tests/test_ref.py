"""Mutable named references (`haliax.ref`): construction, views, reads, writes, slice refs, transformations."""

import jax
import jax.experimental.pallas as pl
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
from haliax import scan
from haliax.axis import AxisSizeMismatchError
from haliax.ref import NamedRef, freeze, get, new_ref, swap

X, Y, Z = hax.make_axes(X=4, Y=3, Z=5)


def base_array() -> jnp.ndarray:
    return jnp.arange(4 * 3 * 5, dtype=jnp.float32).reshape(4, 3, 5)


def make_ref() -> tuple[NamedRef, jnp.ndarray]:
    raw = base_array()
    return new_ref(hax.named(raw, (X, Y, Z))), raw


def names(axes) -> tuple[str, ...]:
    return tuple(a.name for a in axes)


def assert_named(a: hax.NamedArray, expected_names: tuple[str, ...], expected: jnp.ndarray) -> None:
    assert names(a.axes) == expected_names
    np.testing.assert_array_equal(np.asarray(a.array), np.asarray(expected))


# --------------------------------------------------------------------------------------------------
# construction and structure


def test_new_ref_keeps_axes_and_values():
    r, raw = make_ref()
    assert isinstance(r, NamedRef)
    assert isinstance(r._ref, jax.Ref)
    assert r._axes == (X, Y, Z)
    assert r._prefix == (slice(None), slice(None), slice(None))
    assert_named(r[...], ("X", "Y", "Z"), raw)
    assert_named(freeze(r), ("X", "Y", "Z"), raw)


def test_new_ref_rejects_non_named_arrays():
    with pytest.raises(TypeError, match="new_ref only supports NamedArray inputs"):
        new_ref(jnp.zeros(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="new_ref only supports NamedArray inputs"):
        new_ref(np.zeros(3))  # type: ignore[arg-type]


def test_zero_dim_ref():
    r = new_ref(hax.named(jnp.asarray(3.0), ()))
    assert r.axes == () and r.ndim == 0 and r.shape == {}
    assert r[...].axes == () and r[()].item() == 3.0
    r[...] = 4.0
    assert freeze(r).item() == 4.0
    r[()] += 1.0
    assert r[...].item() == 5.0


def test_pytree_has_one_leaf_and_round_trips():
    r, _ = make_ref()
    assert jax.tree_util.tree_leaves(r) == [r._ref]
    assert hax.tree_util.tree_leaves(r) == [r._ref]
    view = r.slice({"X": hax.ds(1, 2), "Y": 1, "Z": [0, 3]})
    leaves, treedef = jax.tree_util.tree_flatten(view)
    assert leaves == [r._ref]
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    assert back._axes == view._axes
    assert back._prefix == view._prefix
    assert back._ref is r._ref
    assert back.axes == view.axes


def test_array_prefix_entries_are_leaves():
    # arrays in a view's selection are pytree leaves (not static metadata), so such views can go through jit
    r, _ = make_ref()
    idx = jnp.array([3, 1])
    view = r.slice({"X": idx, "Y": jnp.asarray(2)})
    leaves, treedef = jax.tree_util.tree_flatten(view)
    assert leaves[0] is r._ref and len(leaves) == 3
    back = jax.tree_util.tree_unflatten(treedef, leaves)
    np.testing.assert_array_equal(back._prefix[0], idx)
    assert back.axes == view.axes


def test_views_with_array_prefixes_go_through_jit():
    r, raw = make_ref()
    view = r.slice({"X": jnp.array([3, 1]), "Y": jnp.asarray(2)})

    @jax.jit
    def f(v):
        v["X", 0] = 100.0
        return v.value()

    out = f(view)
    assert names(out.axes) == ("X", "Z")
    np.testing.assert_array_equal(out.array, raw.at[3, 2].set(100.0)[np.array([3, 1]), 2])
    np.testing.assert_array_equal(freeze(r).array, raw.at[3, 2].set(100.0))


def test_named_ref_is_not_a_named_array():
    r, _ = make_ref()
    with pytest.raises(TypeError):
        r + 1  # type: ignore[operator]
    assert not hasattr(r, "array")
    r2 = NamedRef(r._ref, r._axes)
    assert r == r and r != r2  # identity-based
    assert hash(r) != hash(r2) or r is not r2


def test_prefix_must_align_with_axes():
    r, _ = make_ref()
    with pytest.raises(ValueError, match="Prefix entries must align with axes"):
        NamedRef(r._ref, r._axes, (slice(None),))


def test_direct_construction_normalises_python_slices():
    r, _ = make_ref()
    v = NamedRef(r._ref, r._axes, (slice(1, 3), slice(None), 2))
    assert v._prefix[0] == pl.dslice(1, 2, 1)
    assert names(v.axes) == ("X", "Y") and v.shape == {"X": 2, "Y": 3}


# --------------------------------------------------------------------------------------------------
# view properties


def test_view_properties():
    r, _ = make_ref()
    assert r.axes == (X, Y, Z)
    assert r.shape == {"X": 4, "Y": 3, "Z": 5} == r.named_shape
    assert r.ndim == 3 and r.dtype == jnp.float32
    v = r.slice({"X": 1, "Z": slice(1, 4)})
    assert v.axes == (Y, Z.resize(3))
    assert v.shape == {"Y": 3, "Z": 3} == v.named_shape
    assert v.ndim == 2 and v.dtype == jnp.float32
    assert v.resolve_axis("Z") == Z.resize(3)
    assert v.resolve_axis(Y) == Y


def test_resolve_axis_errors():
    r, _ = make_ref()
    v = r.slice({"X": 1})
    with pytest.raises(ValueError, match="Axis X is not present in this reference view"):
        v.resolve_axis("X")
    with pytest.raises(ValueError, match="Axis W is not present in this reference view"):
        v.resolve_axis("W")
    with pytest.raises(AxisSizeMismatchError):
        v.resolve_axis(Y.resize(7))


# --------------------------------------------------------------------------------------------------
# reads


READ_CASES = [
    ({"X": 1}, ("Y", "Z"), lambda a: a[1]),
    (("X", 1), ("Y", "Z"), lambda a: a[1]),
    ((X, -1, "Z", 2), ("Y",), lambda a: a[-1, :, 2]),
    ({"Y": slice(0, 3, 2)}, ("X", "Y", "Z"), lambda a: a[:, 0:3:2]),
    ({"Z": range(1, 4)}, ("X", "Y", "Z"), lambda a: a[:, :, 1:4]),
    ({"Z": range(0, 5, 2)}, ("X", "Y", "Z"), lambda a: a[:, :, 0:5:2]),
    ({"Z": hax.ds(1, 3)}, ("X", "Y", "Z"), lambda a: a[:, :, 1:4]),
    ({"Z": pl.dslice(1, 3)}, ("X", "Y", "Z"), lambda a: a[:, :, 1:4]),
    ({"Z": pl.dslice(0, 3, 2)}, ("X", "Y", "Z"), lambda a: a[:, :, 0:5:2]),
    ({"X": [0, 2, 2]}, ("X", "Y", "Z"), lambda a: a[np.array([0, 2, 2])]),
    ({"X": [-1]}, ("X", "Y", "Z"), lambda a: a[np.array([3])]),
    ({"Y": jnp.array([2, 0, 1])}, ("X", "Y", "Z"), lambda a: a[:, np.array([2, 0, 1])]),
    ({"Y": jnp.asarray(2)}, ("X", "Z"), lambda a: a[:, 2]),
    ({"X": np.int64(2)}, ("Y", "Z"), lambda a: a[2]),
    ...,
    (),
]


@pytest.mark.parametrize("case", range(len(READ_CASES)))
def test_reads_match_jnp(case):
    r, raw = make_ref()
    c = READ_CASES[case]
    if c is Ellipsis or c == ():
        assert_named(r[c], ("X", "Y", "Z"), raw)
        return
    idx, expected_names, f = c
    assert_named(r[idx], expected_names, f(raw))
    assert_named(get(r, idx), expected_names, f(raw))


def test_get_defaults_to_the_whole_view():
    r, raw = make_ref()
    assert_named(get(r), ("X", "Y", "Z"), raw)
    assert_named(get(r.slice({"X": 2})), ("Y", "Z"), raw[2])


def test_read_examples():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    r = new_ref(hax.arange((X4, Y3)).astype(jnp.float32))
    a = r["X", 1]
    assert a.axes == (Y3,) and a.tolist() == [3.0, 4.0, 5.0]
    assert r[{"X": slice(1, 3)}].axes == (X4.resize(2), Y3)
    assert r[{"X": hax.named([0, 2], "I")}].axes == (hax.Axis("I", 2), Y3)


def test_read_named_index_arrays():
    r, raw = make_ref()
    I = hax.Axis("I", 2)
    idx = hax.named(jnp.array([3, 0]), I)
    assert_named(r[{"X": idx}], ("I", "Y", "Z"), raw[np.array([3, 0])])
    # a batch (gather-along) index: axis named like a kept axis
    idy = hax.named(jnp.array([2, 0, 1, 1, 0]), Z)
    expected = jnp.take_along_axis(raw, jnp.broadcast_to(idy.array[None, None, :], (4, 1, 5)), axis=1)[:, 0]
    assert_named(r[{"Y": idy}], ("X", "Z"), expected)


def test_read_placement_follows_named_array_indexing():
    r, raw = make_ref()
    I = hax.Axis("I", 2)
    idx = hax.named(jnp.array([4, 1]), I)
    x = hax.named(raw, (X, Y, Z))
    for index in ({"X": 0, "Z": idx}, {"Y": 0, "Z": idx}, {"X": 0, "Z": hax.ds(1, 2)}):
        got, want = r[index], x[index]
        assert got.axes == want.axes
        np.testing.assert_array_equal(got.array, want.array)


def test_plain_1d_array_naming_rule():
    X2, Y3, Z4 = hax.make_axes(X=2, Y=3, Z=4)
    raw = jnp.arange(24.0).reshape(2, 3, 4)
    r = new_ref(hax.named(raw, (X2, Y3, Z4)))
    a = r["Y", jnp.array([0, 2, 1])]
    assert names(a.axes) == ("X", "Y", "Z")
    b = r["Y", jnp.array([0, 2, 1, 0])]  # paired with Z (same length): a diagonal gather
    assert names(b.axes) == ("X", "Z")
    np.testing.assert_array_equal(b.array, raw[:, np.array([0, 2, 1, 0]), np.arange(4)])


def test_full_int_indexing_gives_a_0d_named_array():
    r, raw = make_ref()
    a = r["X", 1, "Y", 2, "Z", 3]
    assert isinstance(a, hax.NamedArray) and a.axes == ()
    assert a.item() == raw[1, 2, 3]


# --------------------------------------------------------------------------------------------------
# writes


def test_write_named_array_is_transposed_to_fit():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    a = hax.arange((X4, Y3)).astype(jnp.float32)
    r = new_ref(a)
    r[...] = a.rearrange(("Y", "X")) * 10
    np.testing.assert_array_equal(freeze(r).array, a.array * 10)


WRITE_CASES = [
    ({"X": 1}, lambda a, v: a.at[1].set(v), (3, 5)),
    (("Y", 2, "Z", 0), lambda a, v: a.at[:, 2, 0].set(v), (4,)),
    ({"Z": slice(1, 5, 2)}, lambda a, v: a.at[:, :, 1:5:2].set(v), (4, 3, 2)),
    ({"Z": range(0, 3)}, lambda a, v: a.at[:, :, 0:3].set(v), (4, 3, 3)),
    ({"Z": hax.ds(2, 3)}, lambda a, v: a.at[:, :, 2:5].set(v), (4, 3, 3)),
    ({"Z": pl.dslice(0, 3, 2)}, lambda a, v: a.at[:, :, 0:5:2].set(v), (4, 3, 3)),
    ({"X": [0, 3]}, lambda a, v: a.at[np.array([0, 3])].set(v), (2, 3, 5)),
    ({"Y": jnp.array([2, 0])}, lambda a, v: a.at[:, np.array([2, 0])].set(v), (4, 2, 5)),
    ({"X": jnp.asarray(-1)}, lambda a, v: a.at[-1].set(v), (3, 5)),
]


@pytest.mark.parametrize("case", range(len(WRITE_CASES)))
def test_writes_match_jnp(case):
    idx, f, shape = WRITE_CASES[case]
    r, raw = make_ref()
    v = -jnp.arange(np.prod(shape), dtype=jnp.float32).reshape(shape)
    r[idx] = v  # a plain array of the region's exact shape
    np.testing.assert_array_equal(freeze(r).array, f(raw, v))
    r2, _ = make_ref()
    r2[idx] = 7.0  # a scalar is broadcast
    np.testing.assert_array_equal(freeze(r2).array, f(raw, 7.0))


def test_write_with_named_index_array():
    r, raw = make_ref()
    I = hax.Axis("I", 2)
    idx = hax.named(jnp.array([3, 0]), I)
    val = hax.named(jnp.arange(2 * 3 * 5.0).reshape(5, 2, 3), (Z, I, Y))
    r[{"X": idx}] = val
    expected = raw.at[np.array([3, 0])].set(jnp.transpose(val.array, (1, 2, 0)))
    np.testing.assert_array_equal(freeze(r).array, expected)


def test_scalar_write_to_a_row_broadcasts():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    r = new_ref(hax.zeros((X4, Y3)))
    r[{"X": 0}] = 5.0
    assert freeze(r)["X", 0].tolist() == [5.0, 5.0, 5.0]
    r[{"X": 1}] = jnp.asarray(2.0)
    assert freeze(r)["X", 1].tolist() == [2.0, 2.0, 2.0]


def test_subset_named_value_broadcasts():
    r, raw = make_ref()
    v = hax.named(jnp.arange(5.0), Z)
    r[{"X": slice(0, 2)}] = v
    np.testing.assert_array_equal(freeze(r).array, raw.at[0:2].set(jnp.arange(5.0)))
    r2, _ = make_ref()
    r2[...] = hax.named(jnp.asarray(1.5), ())
    np.testing.assert_array_equal(freeze(r2).array, jnp.full((4, 3, 5), 1.5))


def test_list_index_read_and_write():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    r = new_ref(hax.arange((X4, Y3)).astype(jnp.float32))
    a = r[{"X": [0, 2]}]
    assert a.axes == (X4.resize(2), Y3)
    assert a.tolist() == [[0.0, 1.0, 2.0], [6.0, 7.0, 8.0]]
    r[{"X": [0, 2]}] = 0.0
    assert freeze(r)["Y", 0].tolist() == [0.0, 3.0, 0.0, 9.0]


def test_plus_equals():
    r, raw = make_ref()
    r["X", 1] += 1.0
    r[{"Y": slice(0, 2)}] += hax.named(jnp.arange(5.0), Z)
    expected = raw.at[1].add(1.0).at[:, 0:2].add(jnp.arange(5.0))
    np.testing.assert_array_equal(freeze(r).array, expected)


def test_swap_returns_previous_contents():
    r, raw = make_ref()
    old = swap(r, {"X": 2, "Z": hax.ds(1, 2)}, 0.0)
    assert_named(old, ("Z", "Y"), raw[2, :, 1:3].T)  # an int and a dslice are both advanced: Z moves first
    np.testing.assert_array_equal(freeze(r).array, raw.at[2, :, 1:3].set(0.0))
    view = r.slice({"X": slice(1, 3)})
    old = swap(view, ("X", 0), hax.named(jnp.ones((5, 3)), (Z, Y)))
    assert_named(old, ("Y", "Z"), raw[1])
    assert freeze(r)["X", 1].tolist() == [[1.0] * 5] * 3

    @jax.jit
    def f(ref):
        return swap(ref, {"X": 0}, 9.0)

    old = f(r)
    assert_named(old, ("Y", "Z"), raw[0])
    assert float(freeze(r)["X", 0, "Y", 0, "Z", 0].item()) == 9.0


def test_freeze_is_a_snapshot_and_keeps_the_ref_usable():
    r, raw = make_ref()
    snap = freeze(r)
    r["X", 0] = -1.0
    np.testing.assert_array_equal(snap.array, raw)
    assert freeze(r)["X", 0, "Y", 0, "Z", 0].item() == -1.0
    assert_named(r.slice({"Y": 1}).value(), ("X", "Z"), raw.at[0].set(-1.0)[:, 1])


def test_unsliced():
    r, raw = make_ref()
    assert r.unsliced() is r
    v = r.slice({"X": 1})
    u = v.unsliced()
    assert u is not v and u._ref is r._ref
    assert u._prefix == (slice(None),) * 3 and u.axes == (X, Y, Z)
    assert u.unsliced() is u


# --------------------------------------------------------------------------------------------------
# errors


def test_invalid_index_types():
    r, _ = make_ref()
    with pytest.raises(ValueError, match="Invalid index type"):
        r[0]
    with pytest.raises(ValueError, match="Invalid index type"):
        r["X"]
    with pytest.raises(ValueError, match="even number of arguments"):
        r["X", 0, "Y"]
    with pytest.raises(TypeError):
        r[{"X": ...}]
    with pytest.raises(TypeError):
        r[{"X": True}]
    with pytest.raises(TypeError, match="only ints"):
        r[{"X": [0, 1.5]}]


def test_axis_not_in_view():
    r, _ = make_ref()
    with pytest.raises(ValueError, match="Axis W is not available in this slice reference"):
        r[{"W": 0}]
    v = r.slice({"X": 1})
    with pytest.raises(ValueError, match="Axis X is not available in this slice reference"):
        v[{"X": 0}]
    with pytest.raises(ValueError, match="Axis X is not available in this slice reference"):
        v[{"X": 0}] = 1.0


def test_static_int_out_of_bounds():
    r, _ = make_ref()
    with pytest.raises(IndexError, match="Index 7 out of bounds for axis X"):
        r[{"X": 7}]
    with pytest.raises(IndexError, match="Index -5 out of bounds for axis X"):
        r[{"X": -5}] = 0.0
    with pytest.raises(IndexError, match="Index 4 out of bounds for axis X"):
        r[{"X": [0, 4]}]


def test_static_dslice_past_the_end():
    X4 = hax.Axis("X", 4)
    r = new_ref(hax.zeros(X4))
    with pytest.raises(ValueError, match="Out of bound slice: start=3, size=2"):
        r[{"X": hax.ds(3, 2)}]
    with pytest.raises(ValueError, match="Out of bound slice: start=3, size=2"):
        r[{"X": pl.dslice(3, 2)}] = 1.0
    with pytest.raises(ValueError, match="Out of bound slice"):
        r[{"X": range(2, 6)}]


def test_negative_step():
    r, _ = make_ref()
    with pytest.raises(ValueError, match="`stride` must be >= 0."):
        r[{"X": slice(None, None, -1)}]
    with pytest.raises(ValueError, match="`stride` must be >= 0."):
        r.slice({"X": slice(3, 0, -1)})


def test_wrong_size_axis_key():
    r, _ = make_ref()
    with pytest.raises(AxisSizeMismatchError):
        r[{X.resize(3): 1}]
    with pytest.raises(RuntimeError, match="Found axis with same name but different size"):
        r[{X.resize(3): 1}] = 0.0
    with pytest.raises(AxisSizeMismatchError):
        r.slice({X.resize(3): 1})
    assert r[{X: 1}].axes == (Y, Z)


def test_value_axes_must_fit_the_target():
    r, _ = make_ref()
    W = hax.Axis("W", 3)
    with pytest.raises(ValueError, match=r"Value axes \('W',\) do not match target axes \('Y', 'Z'\)"):
        r[{"X": 0}] = hax.zeros(W)
    with pytest.raises(AxisSizeMismatchError):
        r[{"X": 0}] = hax.zeros(Z.resize(2))


def test_plain_value_shape_and_dtype():
    r, _ = make_ref()
    with pytest.raises(ValueError, match="Invalid shape for `swap`"):
        r[{"X": 0}] = jnp.zeros((5, 3))
    with pytest.raises(ValueError, match="Invalid dtype for `swap`"):
        r[{"X": 0}] = jnp.zeros((3, 5), dtype=jnp.int32)
    with pytest.raises(ValueError, match="Invalid dtype for `swap`"):
        r[{"X": 0}] = hax.zeros((Y, Z), dtype=jnp.int32)
    with pytest.raises(ValueError, match="Invalid dtype for `swap`"):
        r[{"X": 0}] = 1  # a Python int does not fit a float ref (as for jax.Ref)
    ri = new_ref(hax.zeros(X, dtype=jnp.int32))
    with pytest.raises(ValueError, match="Invalid dtype for `swap`"):
        ri[{"X": 0}] = 1.5
    ri[{"X": 0}] = 2
    assert freeze(ri).tolist() == [2, 0, 0, 0]


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
def test_python_floats_fit_any_float_ref(dtype):
    r = new_ref(hax.zeros(X, dtype=dtype))
    r[{"X": 1}] = 2.5
    r[...] += 1.0
    assert freeze(r).dtype == dtype
    assert freeze(r).astype(jnp.float32).tolist() == [1.0, 3.5, 1.0, 1.0]


# --------------------------------------------------------------------------------------------------
# slice refs: composition


def composed(prefix_sel, sel):
    x = hax.Axis("x", 10)
    r = new_ref(hax.arange(x))
    base = r.slice({"x": prefix_sel}) if prefix_sel is not None else r
    return base.slice({"x": sel})._prefix[0]


def test_composition_ds_then_range():
    assert composed(hax.ds(2, 5), slice(1, 3)) == pl.dslice(3, 2, 1)
    assert composed(hax.ds(2, 5), hax.ds(1, 2)) == pl.dslice(3, 2, 1)
    s = composed(hax.ds(2, 5), slice(1, 3))
    assert (s.start, s.size, s.stride) == (3, 2, 1)


def test_composition_ds_then_int():
    assert composed(hax.ds(2, 5), 1) == 3
    assert composed(hax.ds(2, 5), -1) == 6
    assert type(composed(hax.ds(2, 5), 1)) is int


def test_composition_ds_then_advanced():
    assert composed(hax.ds(2, 5), [0, 2]) == [2, 4]
    a = composed(hax.ds(2, 5), jnp.array([0, 1]))
    assert isinstance(a, jax.Array)
    np.testing.assert_array_equal(a, [2, 3])
    sel = hax.Axis("sel", 2)
    n = composed(hax.ds(2, 5), hax.named(jnp.array([0, 1]), sel))
    assert isinstance(n, hax.NamedArray) and n.axes == (sel,)
    assert n.tolist() == [2, 3]


def test_composition_strided_slice():
    x = hax.Axis("x", 10)
    r = new_ref(hax.arange(x))
    assert r.slice({"x": slice(1, 9, 2)})._prefix[0] == pl.dslice(1, 4, 2)
    assert composed(slice(1, 9, 2), slice(1, 3)) == pl.dslice(3, 2, 2)
    assert composed(slice(1, 9, 2), [0, 1]) == [1, 3]
    np.testing.assert_array_equal(composed(slice(1, 9, 2), jnp.array([0, 1])), [1, 3])


def test_composition_from_the_full_axis():
    assert composed(None, slice(None)) == pl.dslice(0, 10, 1)
    assert composed(None, range(1, 3)) == pl.dslice(1, 2, 1)


def test_composed_views_read_the_right_values():
    x = hax.Axis("x", 10)
    raw = jnp.arange(10) * 10
    r = new_ref(hax.named(raw, x))
    s = r.slice({"x": slice(1, 9, 2)})  # 1 3 5 7
    np.testing.assert_array_equal(s.value().array, raw[1:9:2])
    np.testing.assert_array_equal(s.slice({"x": slice(1, 3)}).value().array, raw[1:9:2][1:3])
    np.testing.assert_array_equal(s.slice({"x": [3, 0]}).value().array, raw[1:9:2][np.array([3, 0])])
    np.testing.assert_array_equal(s.slice({"x": pl.dslice(0, 2, 3)}).value().array, raw[1:9:2][0:4:3])
    assert s.slice({"x": -1}).value().item() == raw[7]


def test_slice_clamps_python_slices_to_the_view():
    x = hax.Axis("x", 10)
    r = new_ref(hax.arange(x))
    v = r.slice({"x": slice(1, 3)}).slice({"x": slice(1, 10)})
    assert v._prefix[0] == pl.dslice(2, 1, 1)
    assert v.axes == (x.resize(1),)


def test_slice_errors():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    r = new_ref(hax.zeros((X4, Y3)))
    with pytest.raises(ValueError, match="Axis Z is not present in this reference view"):
        r.slice({"Z": 0})
    fixed = r.slice({"X": 1})
    with pytest.raises(ValueError, match="Axis X is not present in this reference view"):
        fixed.slice({"X": 0})
    view = r.slice({"X": slice(1, 3)})
    with pytest.raises(IndexError, match="Index 2 out of bounds for axis X"):
        view.slice({"X": 2})
    with pytest.raises(TypeError):
        r.slice({"X": [0, "a"]})
    with pytest.raises(NotImplementedError):
        r.slice({"X": [0, 2]}).slice({"X": [1]})
    with pytest.raises(NotImplementedError):
        r.slice({"X": jnp.array([0, 2])}).slice({"X": jnp.array([1])})
    with pytest.raises(NotImplementedError):
        r.slice({"X": hax.named(jnp.array([0, 1]), "I")}).slice({"I": [0]})
    with pytest.raises(NotImplementedError, match="gather-along"):
        r.slice({"X": hax.named(jnp.array([0, 1, 2]), Y3)})
    with pytest.raises(TypeError):
        r.slice(["X", 1])  # type: ignore[arg-type]


def test_slice_accepts_the_tuple_shorthand():
    X4, Y3 = hax.make_axes(X=4, Y=3)
    r = new_ref(hax.zeros((X4, Y3)))
    v = r.slice(("X", 1, "Y", slice(0, 2)))
    assert v._prefix == (1, pl.dslice(0, 2, 1))


# --------------------------------------------------------------------------------------------------
# slice refs: writes land in the base buffer


def test_cache_example_writes_land_in_the_base():
    Layer, Head, D = hax.make_axes(layer=5, head=2, d=3)
    cache_ref = new_ref(hax.zeros((Layer, Head, D)))
    row = hax.named(jnp.arange(6.0).reshape(2, 3), (Head, D))
    layers = cache_ref.slice({"layer": slice(1, 4)})
    layers[{"layer": 0}] = row
    expected = jnp.zeros((5, 2, 3)).at[1].set(row.array)
    np.testing.assert_array_equal(freeze(cache_ref).array, expected)
    one = layers.slice({"layer": 0})
    assert one._prefix[0] == 1
    one[{"head": 0}] = 7.0
    expected = expected.at[1, 0].set(7.0)
    np.testing.assert_array_equal(freeze(cache_ref).array, expected)


def test_ds_prefix_writes():
    x = hax.Axis("x", 8)
    r = new_ref(hax.zeros(x))
    v = r.slice({"x": hax.ds(3, 3)})
    v[{"x": 1}] = 1.0
    v[{"x": slice(2, 3)}] = 2.0
    assert freeze(r).tolist() == [0, 0, 0, 0, 1, 2, 0, 0]
    assert v[...].tolist() == [0, 1, 2]


def test_writes_through_strided_and_gathered_views():
    r, raw = make_ref()
    v = r.slice({"Z": slice(0, 5, 2), "X": [3, 1]})  # Z: 0 2 4; X: 3 1
    assert v.axes == (X.resize(2), Y, Z.resize(3))
    np.testing.assert_array_equal(v.value().array, raw[np.array([3, 1])][:, :, 0:5:2])
    v[{"Z": 1, "X": 0}] = -1.0  # base (3, :, 2)
    v[{"Y": 2}] = hax.named(jnp.array([10.0, 20.0, 30.0]), Z.resize(3))  # base (3|1, 2, 0|2|4)
    expected = raw.at[3, :, 2].set(-1.0)
    expected = expected.at[np.array([3, 1])[:, None], 2, np.array([0, 2, 4])[None, :]].set(
        jnp.array([10.0, 20.0, 30.0])
    )
    np.testing.assert_array_equal(freeze(r).array, expected)


def test_writes_through_an_index_array_view():
    r, raw = make_ref()
    I = hax.Axis("I", 2)
    v = r.slice({"X": hax.named(jnp.array([2, 0]), I)})
    assert v.axes == (I, Y, Z)
    w = v.slice({"I": 1})  # base X = 0
    assert w.axes == (Y, Z)
    np.testing.assert_array_equal(w.value().array, raw[0])
    w["Y", 1] = 5.0
    v["I", 0, "Z", 4] = 6.0  # base (2, :, 4)
    np.testing.assert_array_equal(freeze(r).array, raw.at[0, 1].set(5.0).at[2, :, 4].set(6.0))


# --------------------------------------------------------------------------------------------------
# views with 0-d array and advanced prefixes behave sanely


def test_zero_d_array_prefix_acts_like_an_int():
    r, raw = make_ref()
    v = r.slice({"X": jnp.asarray(2)})
    assert v.axes == (Y, Z) and v.shape == {"Y": 3, "Z": 5}
    assert_named(v["Y", 1], ("Z",), raw[2, 1])
    w = v.slice({"Y": 0})
    assert w.axes == (Z,)
    w[...] = 1.0
    np.testing.assert_array_equal(freeze(r).array, raw.at[2, 0].set(1.0))


def test_advanced_prefixes_report_their_axes_and_index_further():
    r, raw = make_ref()
    v = r.slice({"X": [3, 1, 1]})
    assert v.axes == (X.resize(3), Y, Z)
    assert_named(v["X", 0, "Z", 2], ("Y",), raw[3, :, 2])
    a = r.slice({"Y": jnp.array([2, 0])})
    assert a.axes == (X, Y.resize(2), Z)
    assert_named(a[{"Y": 0}], ("X", "Z"), raw[:, 2])


def test_dslice_cannot_leave_a_view():
    X6 = hax.Axis("X", 6)
    r = new_ref(hax.arange(X6))
    v = r.slice({"X": hax.ds(1, 2)})
    with pytest.raises(ValueError, match="Out of bound slice.*axis X"):
        v[{"X": hax.ds(1, 2)}]
    with pytest.raises(ValueError, match="Out of bound slice.*axis X"):
        v.slice({"X": hax.ds(1, 2)})
    with pytest.raises(ValueError, match="Out of bound slice.*axis X"):
        v[{"X": hax.ds(1, 2)}] = 0
    assert v[{"X": hax.ds(1, 1)}].tolist() == [2]


def test_traced_starts_are_clamped():
    X6 = hax.Axis("X", 6)
    r = new_ref(hax.arange(X6) * 10)

    @jax.jit
    def read(i):
        return r[{"X": hax.ds(i, 2)}].array, r[{"X": i}].array, r.slice({"X": hax.ds(1, 3)})[{"X": hax.ds(i, 2)}].array

    for i, expect in [(-3, (0, 10)), (1, (10, 20)), (5, (40, 50))]:
        ds_read, int_read, view_read = read(i)
        assert ds_read.tolist() == list(expect)
        assert int_read.item() == 10 * min(max(i if i >= 0 else i + 6, 0), 5)
        # within the view (base 1..3): clamped to view start 0..1
        vi = min(max(i, 0), 1)
        assert view_read.tolist() == [10 * (1 + vi), 10 * (2 + vi)]

    @jax.jit
    def write(i):
        r[{"X": hax.ds(i, 2)}] = -1

    write(9)
    assert freeze(r).tolist() == [0, 10, 20, 30, -1, -1]


def test_traced_slice_prefixes_are_clamped_into_the_view():
    X6 = hax.Axis("X", 6)
    r = new_ref(hax.arange(X6) * 10)
    v = r.slice({"X": slice(1, 5)})  # base 1..4

    @jax.jit
    def read(i):
        return v.slice({"X": hax.ds(i, 2)}).value().array, v.slice({"X": i}).value().array

    for i, start in [(-4, 0), (1, 1), (7, 2)]:
        window, one = read(i)
        assert window.tolist() == [10 * (1 + start), 10 * (2 + start)]
        assert one.item() == 10 * (1 + min(max(i if i >= 0 else i + 4, 0), 3))


def test_boolean_and_float_indices_are_rejected():
    r, _ = make_ref()
    with pytest.raises(TypeError):
        r[{"X": jnp.array([True, False, True, False])}]
    with pytest.raises(TypeError):
        r.slice({"X": jnp.array([0.0, 1.0])})
    with pytest.raises(TypeError):
        r[{"X": 1.0}]


# --------------------------------------------------------------------------------------------------
# transformations


def test_jit_mutation_is_visible_outside():
    r, raw = make_ref()

    @jax.jit
    def f(ref, v):
        ref["X", 0] = v
        ref.slice({"Y": 1})["Z", 0] += 100.0

    f(r, hax.named(jnp.ones((3, 5)), (Y, Z)))
    expected = raw.at[0].set(1.0).at[:, 1, 0].add(100.0)
    np.testing.assert_array_equal(freeze(r).array, expected)


def test_refs_created_inside_jit():
    @jax.jit
    def f(x):
        r = new_ref(hax.zeros(X))
        r["X", 1] = x
        r["X", 2] = x * 2
        return freeze(r)

    assert f(3.0).tolist() == [0.0, 3.0, 6.0, 0.0]


def test_returning_a_ref_from_jit_is_an_error():
    with pytest.raises(Exception, match="mutable array reference"):
        jax.jit(lambda: new_ref(hax.zeros(X)))()


def test_writes_inside_scan():
    r = new_ref(hax.zeros((X, Y)))

    def body(c, i):
        r[{"X": i}] = hax.full(Y, 1.0) * i
        s = r.slice({"X": i})
        s["Y", 0] = -1.0
        return c, None

    scan(body, X)(0, hax.arange(X))
    expected = jnp.broadcast_to(jnp.arange(4.0)[:, None], (4, 3)).at[:, 0].set(-1.0)
    np.testing.assert_array_equal(freeze(r).array, expected)


def test_traced_slice_prefix_inside_jitted_scan():
    r = new_ref(hax.zeros((X, Y)))

    def body(c, i):
        s = r.slice({"X": i})
        s[...] = hax.named(jnp.arange(3.0), Y) + c
        return c + 1.0, None

    jax.jit(lambda: scan(body, X)(0.0, hax.arange(X)))()
    np.testing.assert_array_equal(freeze(r).array, jnp.arange(3.0)[None, :] + jnp.arange(4.0)[:, None])


def _fill_and_sum(x):
    N = hax.Axis("n", 5)
    r = new_ref(hax.zeros(N))

    def body(c, i):
        r[{"n": i}] = hax.sin(x * i)
        return c, None

    scan(body, N)(0, hax.arange(N))
    return hax.sum(freeze(r)).array


@pytest.mark.parametrize("x", [1.0, 0.7])
def test_grad_through_a_ref_filled_in_scan(x):
    got = jax.grad(_fill_and_sum)(x)
    expected = sum(i * np.cos(i * x) for i in range(5))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    check_grads(_fill_and_sum, (x,), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)
