"""Tests for x[...], x.at[...], take, slice and updated_slice (ops/indexing.py)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax import Axis, NamedArray
from tests.helpers import as_order, names

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
CANON = (X, Y, Z)
A = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
PERMS = list(itertools.permutations(range(3)))


def named_perm(perm, a=A, axes=CANON):
    return hax.named(jnp.asarray(a.transpose(perm)), tuple(axes[p] for p in perm))


def idx(axes, values):
    return hax.named(jnp.asarray(values, dtype=jnp.int32), axes)


# --------------------------------------------------------------------------------------------------
# basic indexing: ints, slices, dslices, every axis order


def _ref_basic(spec):
    """NumPy reference on the canonical array: spec maps name -> ("i", v) | ("s", slice) | ("ds", start, size)."""
    a = A
    kept = []
    for d in reversed(range(3)):
        nm = CANON[d].name
        k = spec.get(nm)
        if k is None:
            kept.append(nm)
        elif k[0] == "i":
            a = np.take(a, k[1], axis=d)
        elif k[0] == "s":
            a = a[(slice(None),) * d + (k[1],)]
            kept.append(nm)
        else:
            j = k[1] + np.arange(k[2])
            ok = (j >= 0) & (j < CANON[d].size)
            a = np.take(a, np.clip(j, 0, CANON[d].size - 1), axis=d)
            shape = [1] * a.ndim
            shape[d] = k[2]
            a = np.where(ok.reshape(shape), a, 0)
            kept.append(nm)
    return a, tuple(reversed(kept))


def _to_index(k):
    if k[0] == "i":
        return k[1]
    if k[0] == "s":
        return k[1]
    return hax.dslice(k[1], k[2])


_kind = st.one_of(
    st.none(),
    st.tuples(st.just("i"), st.integers(-2, 1)),
    st.tuples(
        st.just("s"),
        st.builds(
            slice,
            st.one_of(st.none(), st.integers(-5, 5)),
            st.one_of(st.none(), st.integers(-5, 5)),
            st.sampled_from([None, 1, 2, -1, -2]),
        ),
    ),
    st.tuples(st.just("ds"), st.integers(-5, 5), st.integers(0, 5)),
)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(PERMS), _kind, _kind, _kind, st.booleans())
def test_basic_indexing_matches_numpy(perm, kx, ky, kz, use_dict):
    spec = {n: k for n, k in zip("XYZ", (kx, ky, kz)) if k is not None}
    x = named_perm(perm)
    items = [(n, _to_index(k)) for n, k in spec.items()]
    key = dict(items) if use_dict else tuple(v for kv in items for v in kv)
    res = jax.jit(lambda x: x[key])(x)  # static indices stay static under jit; one compile per example
    expected, exp_names = _ref_basic(spec)
    assert isinstance(res, NamedArray)
    np.testing.assert_array_equal(as_order(res, exp_names), expected)
    # placement: kept axes in input order; a single dslice moves to the front unless the advanced keys
    # (ints and dslices) are contiguous in the input order
    order = [CANON[p].name for p in perm]
    kept = [n for n in order if n not in spec or spec[n][0] == "s"]
    adv = [order.index(n) for n in spec if spec[n][0] in ("i", "ds")]
    ds = [n for n in spec if spec[n][0] == "ds"]
    if len(ds) == 1:
        adv = sorted(adv)
        if adv[-1] - adv[0] + 1 == len(adv):
            k = sum(1 for n in kept if order.index(n) < adv[0])
            kept = kept[:k] + ds + kept[k:]
        else:
            kept = ds + kept
        assert names(res) == list(kept)
    elif not ds:
        assert names(res) == list(kept)


def test_full_int_indexing_gives_0d_named_array():
    x = named_perm((2, 0, 1))
    res = x["X", 1, "Y", 2, "Z", 3]
    assert isinstance(res, NamedArray) and res.axes == ()
    assert res.item() == A[1, 2, 3]
    res2 = x[{"X": jnp.array(1), "Y": np.int64(-1), "Z": np.array(3)}]
    assert res2.axes == () and res2.item() == A[1, 2, 3]


def test_axis_keys_and_numpy_ints():
    x = named_perm((0, 1, 2))
    np.testing.assert_array_equal(x[X, 1, Z, np.int32(2)].array, A[1, :, 2])
    np.testing.assert_array_equal(x[{Y: slice(np.int64(1), None)}].array, A[:, 1:])


def test_traced_ints_and_jit():
    for perm in PERMS[::3]:
        x = named_perm(perm)

        @jax.jit
        def f(x, i, j):
            return x["Y", i, "X", j]

        for i, j in [(0, 0), (2, 1), (-1, -2)]:
            res = f(x, i, j)
            assert names(res) == ["Z"]
            np.testing.assert_array_equal(res.array, A[j, i, :])
            eager = x["Y", jnp.array(i), "X", jnp.array(j)]
            np.testing.assert_array_equal(eager.array, A[j, i, :])


# --------------------------------------------------------------------------------------------------
# dslice


def test_dslice_pinned_fill_and_drop():
    X5 = Axis("X", 5)
    a = hax.arange(X5)
    assert a["X", hax.dslice(3, 3)].tolist() == [3, 4, 0]
    assert a["X", hax.ds(-2, 3)].tolist() == [0, 0, 0]
    assert a["X", hax.ds(-1, 3)].tolist() == [0, 0, 1]
    assert a["X", hax.ds(7, 2)].tolist() == [0, 0]
    assert a.at["X", hax.dslice(3, 3)].set(9).tolist() == [0, 1, 2, 9, 9]
    assert a.at["X", hax.dslice(-1, 3)].set(hax.named([7, 8, 9], "X")).tolist() == [8, 9, 2, 3, 4]
    assert a.at["X", hax.dslice(3, 3)].add(hax.named([10, 20, 30], "X")).tolist() == [0, 1, 2, 13, 24]
    assert a["X", hax.dslice.block(1, 2)].tolist() == [2, 3]
    assert a["X", hax.dblock(2, 2)].tolist() == [4, 0]


def test_dslice_traced_start_matches_eager_and_lowers_without_gather():
    X5, W = Axis("X", 5), Axis("W", 3)
    a = hax.named(jnp.arange(15).reshape(5, 3) + 1, (X5, W))

    @jax.jit
    def read(a, s):
        return a["X", hax.ds(s, 3)]

    @jax.jit
    def write(a, s, v):
        return a.at["X", hax.ds(s, 3)].set(v)

    v = hax.named(-jnp.arange(9).reshape(3, 3) - 1, (Axis("X", 3), W))
    for s in range(-4, 8):
        traced = read(a, s)
        assert traced.axes == (Axis("X", 3), W)
        if s in (-1, 1, 4):  # static starts take another route (lax.slice + lax.pad)
            np.testing.assert_array_equal(traced.array, a["X", hax.ds(s, 3)].array)
            np.testing.assert_array_equal(write(a, s, v).array, a.at["X", hax.ds(s, 3)].set(v).array)
        # reference: positions outside [0, 5) read 0 and are not written
        j = s + np.arange(3)
        ok = (j >= 0) & (j < 5)
        exp = np.where(ok[:, None], np.asarray(a.array)[np.clip(j, 0, 4)], 0)
        np.testing.assert_array_equal(traced.array, exp)
        exp_w = np.asarray(a.array).copy()
        exp_w[j[ok]] = np.asarray(v.array)[ok]
        np.testing.assert_array_equal(write(a, s, v).array, exp_w)
    # an in-bounds promise gives a bare dynamic_slice with a clamped start
    clip_read = jax.jit(lambda a, s: a.at["X", hax.ds(s, 3)].get(mode="clip"))
    np.testing.assert_array_equal(clip_read(a, 4).array, np.asarray(a.array)[2:5])
    np.testing.assert_array_equal(clip_read(a, -1).array, np.asarray(a.array)[0:3])
    assert "concatenate" not in str(jax.make_jaxpr(clip_read)(a, 1))
    for f, args in [(read, (a, 1)), (write, (a, 1, v))]:
        text = str(jax.make_jaxpr(f)(*args))
        assert "gather" not in text and "scatter" not in text
        assert "dynamic_slice" in text or "dynamic_update_slice" in text


def test_dslice_longer_than_axis_and_named_start():
    X3 = Axis("X", 3)
    a = hax.arange(X3) + 1
    assert jax.jit(lambda a, s: a["X", hax.ds(s, 5)])(a, -1).tolist() == [0, 1, 2, 3, 0]
    # a NamedArray start: one window per element (a gather with a named arange)
    B = Axis("B", 2)
    starts = hax.named([0, 2], B)
    res = a["X", hax.ds(starts, 2)]
    assert res.axes == (B, Axis("X", 2))
    assert res.tolist() == [[1, 2], [3, 0]]
    upd = a.at["X", hax.ds(hax.named([1], "B"), 3)].set(9)
    assert upd.tolist() == [1, 9, 9]


def test_dslice_with_batched_start_is_a_ragged_read_and_write():
    Bt, S = hax.make_axes(B=2, S=5)
    cache = hax.named(jnp.arange(10).reshape(2, 5), (Bt, S))
    lengths = hax.named([1, 4], Bt)
    r = cache["S", hax.ds(lengths, 2)]
    assert r.axes == (Bt, Axis("S", 2))
    assert r.tolist() == [[1, 2], [9, 0]]
    new = hax.named(jnp.array([[-1, -2], [-3, -4]]), (Axis("S", 2), Bt))
    w = jax.jit(lambda c, l, v: c.at["S", hax.ds(l, 2)].set(v))(cache, lengths, new)
    assert w.tolist() == [[0, -1, -3, 3, 4], [5, 6, 7, 8, -2]]


def test_dslice_a2_placement():
    x = named_perm((0, 1, 2))
    r = x[{"X": 0, "Z": hax.ds(1, 2)}]
    assert r.axes == (Axis("Z", 2), Y)
    np.testing.assert_array_equal(r.array, A[0, :, 1:3].T)
    I = Axis("I", 3)
    i = idx(I, [3, 0, 1])
    r = x[{"X": hax.ds(0, 1), "Z": i}]
    assert r.axes == (Axis("X", 1), I, Y)
    np.testing.assert_array_equal(r.array, np.transpose(A[0:1][:, :, [3, 0, 1]], (0, 2, 1)))


def test_basic_slicing_lowers_to_slice():
    x = named_perm((0, 1, 2))
    text = str(jax.make_jaxpr(lambda x: x["X", 1, "Y", 0:2, "Z", ::2])(x))
    assert "slice" in text and "gather" not in text
    text = str(jax.make_jaxpr(lambda x, i: x["X", i, "Z", hax.ds(2, 2)])(x, 1))
    assert "gather" not in text
    text = str(jax.make_jaxpr(lambda x: x["Y", ::-1])(x))
    assert "rev" in text and "gather" not in text


# --------------------------------------------------------------------------------------------------
# advanced indexing


def test_advanced_pinned_placement():
    H, W, D, C, Q = hax.make_axes(H=2, W=3, D=4, C=3, Q=2)
    I1, I2, I3 = hax.make_axes(I1=2, I2=2, I3=2)
    raw = np.arange(2 * 3 * 4 * 3 * 2).reshape(2, 3, 4, 3, 2)
    x = hax.named(raw, (H, W, D, C, Q))
    ind1 = np.array([[0, 1], [2, 1]])  # (I1, I3)
    ind2 = np.array([[2, 1], [0, 0]])  # (I2, I3)
    r = x[{"W": idx((I2, I3), ind2), "D": idx((I1, I3), ind1)}]
    assert r.axes == (H, I1, I2, I3, C, Q)
    np.testing.assert_array_equal(r.array, raw[:, ind2[None, :, :], ind1[:, None, :]])
    r = x[{"W": idx((I2, I3), ind2), "C": idx((I1, I3), ind1)}]
    assert r.axes == (I1, I2, I3, H, D, Q)
    np.testing.assert_array_equal(r.array, raw[:, ind2[None, :, :], :, ind1[:, None, :]])


def test_advanced_a2_examples_all_orders():
    I = Axis("I", 3)
    iv = [3, 0, 1]
    for perm in PERMS[::2]:
        x = named_perm(perm)
        r = x[{"X": 0, "Z": idx(I, iv)}]
        np.testing.assert_array_equal(as_order(r, ("I", "Y")), A[0][:, iv].T)
        r = x[{"Y": 0, "Z": idx(I, iv)}]
        np.testing.assert_array_equal(as_order(r, ("X", "I")), A[:, 0][:, iv])
    x = named_perm((0, 1, 2))
    assert x[{"X": 0, "Z": idx(I, iv)}].axes == (I, Y)
    assert x[{"Y": 0, "Z": idx(I, iv)}].axes == (X, I)


def test_single_index_array_in_place_matches_jnp():
    I, J = hax.make_axes(I=3, J=2)
    iv = np.array([[1, 0], [2, 2], [0, 1]])  # (I, J)
    for perm in PERMS:
        x = named_perm(perm)
        order = [CANON[p].name for p in perm]
        r = x["Y", idx((I, J), iv)]
        exp_names = tuple(n for o in order for n in (("I", "J") if o == "Y" else (o,)))
        assert names(r) == list(exp_names)
        raw = np.asarray(x.array)
        d = order.index("Y")
        np.testing.assert_array_equal(r.array, np.take(raw, iv, axis=d))


def test_index_axis_reuses_eliminated_name():
    X5 = Axis("X", 5)
    x = named_perm((1, 0, 2))
    r = x[{"X": idx(X5, [0, 1, 1, 0, 1])}]
    assert r.axes == (Y, X5, Z)
    np.testing.assert_array_equal(as_order(r, ("X", "Y", "Z")), A[[0, 1, 1, 0, 1]])


def test_batch_axis_is_take_along():
    Bt, S, V = hax.make_axes(batch=2, seq=3, vocab=5)
    raw = np.arange(30).reshape(2, 3, 5)
    iv = np.array([[4, 0, 2], [1, 1, 3]])
    x = hax.named(raw, (Bt, S, V))
    r = x["vocab", idx((Bt, S), iv)]
    assert r.axes == (Bt, S)
    np.testing.assert_array_equal(r.array, np.take_along_axis(raw, iv[..., None], -1)[..., 0])
    # index axes in another order, and the array in another order
    r2 = hax.named(raw.transpose(2, 0, 1), (V, Bt, S))["vocab", idx((S, Bt), iv.T)]
    np.testing.assert_array_equal(as_order(r2, ("batch", "seq")), r.array)
    # a batch axis whose size differs is an error
    with pytest.raises(
        ValueError,
        match=r"argument 'index': axis batch has conflicting sizes: 2 \(the array, where it is kept and so a batch "
        r"axis\), 3 \(index for vocab\)",
    ):
        x["vocab", idx((Axis("batch", 3),), [0, 1, 2])]


def test_sliced_axis_as_batch_axis():
    x = named_perm((0, 1, 2))
    iv = np.array([[0, 3], [1, 2]])  # (Y(2), X)
    r = x[{"Y": slice(1, 3), "Z": idx((Axis("Y", 2), X), iv)}]
    exp = np.array([[A[xx, 1 + yy, iv[yy, xx]] for xx in range(2)] for yy in range(2)])
    np.testing.assert_array_equal(as_order(r, ("Y", "X")), exp)


def test_plain_1d_array_naming_c5():
    x = named_perm((0, 1, 2))
    r = x["Y", jnp.array([0, 2, 1])]
    assert r.axes == (X, Y, Z)
    np.testing.assert_array_equal(r.array, A[:, [0, 2, 1]])
    r = x["Y", jnp.array([0, 2, 1, 0])]
    assert r.axes == (X, Z)
    np.testing.assert_array_equal(r.array, A[:, [0, 2, 1, 0], np.arange(4)])
    # dict order: Z is still kept when Y is processed, then int-indexed: the index keeps the name Z
    r = x[{"Y": np.array([0, 2, 1, 0]), "Z": 0}]
    assert r.axes == (X, Z)
    np.testing.assert_array_equal(r.array, A[:, [0, 2, 1, 0], 0])
    r = x[{"Z": 0, "Y": np.array([0, 2, 1, 0])}]
    assert r.axes == (X, Axis("Y", 4))


def test_list_index_is_basic_and_combines_with_arrays():
    I = Axis("I", 2)
    for perm in PERMS[::3]:
        x = named_perm(perm)
        r = x["Z", [3, 0, 3]]
        assert names(r) == names(x) and r.shape["Z"] == 3
        np.testing.assert_array_equal(as_order(r, "XYZ"), A[:, :, [3, 0, 3]])
        r = x[{"X": 0, "Z": [0, -1]}]
        np.testing.assert_array_equal(as_order(r, "YZ"), A[0][:, [0, 3]])
        # a list next to a NamedArray index (Haliax raises here): the list axis stays put, the index is applied
        # orthogonally
        r = x[{"Y": [2, 0], "Z": idx(I, [1, 3])}]
        np.testing.assert_array_equal(as_order(r, ("X", "Y", "I")), A[:, [2, 0]][:, :, [1, 3]])
        r = x[{"Y": [2, 0], "X": hax.ds(1, 2)}]
        np.testing.assert_array_equal(as_order(r, "XYZ"), np.stack([A[1, [2, 0]], np.zeros((2, 4), int)]))
    x = named_perm((0, 1, 2))
    assert x[{"Y": [2, 0], "Z": idx(I, [1, 3])}].axes == (X, Axis("Y", 2), I)


# --------------------------------------------------------------------------------------------------
# errors


def test_index_errors():
    x = named_perm((0, 1, 2))
    with pytest.raises(ValueError, match="Invalid index type <class 'str'>"):
        x["X"]
    with pytest.raises(ValueError, match="Invalid index type <class 'int'>"):
        x[0]
    with pytest.raises(ValueError, match="Must provide an even number of arguments"):
        x["X", 0, "Y"]
    with pytest.raises(ValueError, match="axis W not found") as e:
        x["W", 0]
    assert "X(2)" in str(e.value)
    with pytest.raises(ValueError, match="Did you mean 'Y'"):
        x[{"y": 0}]
    with pytest.raises(ValueError, match="Invalid index"):
        x[0, 1]
    with pytest.raises(ValueError, match="more than once"):
        x["X", 0, "X", 1]
    with pytest.raises(
        ValueError,
        match=r"argument 'index': Found axis with same name but different size: asked for X\(5\), the array has X\(2\)",
    ):
        x[Axis("X", 5), 0]
    with pytest.raises(IndexError, match="out of bounds"):
        x["Y", 3]
    with pytest.raises(IndexError, match="out of bounds"):
        x["Y", [0, 5]]
    with pytest.raises(TypeError, match="boolean"):
        x["Y", True]
    with pytest.raises(ValueError, match="Index must be an integer array"):
        x["Y", hax.named(jnp.array([0.5, 1.0]), "I")]
    with pytest.raises(ValueError, match="Index must be an integer array"):
        x["Y", jnp.array([True, False, True])]
    with pytest.raises(ValueError, match="1-D"):
        x["Y", jnp.zeros((2, 2), dtype=int)]
    with pytest.raises(TypeError, match="dslice"):
        jax.jit(lambda x, s: x["Y", s : s + 1])(x, 0)
    with pytest.raises(
        ValueError,
        match=r"NamedArray indexing: argument 'index': axis I has conflicting sizes: 3 \(index for Z\), 2 \(index for Y\)",
    ):
        x[{"Y": idx(Axis("I", 2), [0, 1]), "Z": idx(Axis("I", 3), [0, 1, 2])}]
    with pytest.raises(TypeError, match="invalid index"):
        x["Y", 1.5]


# --------------------------------------------------------------------------------------------------
# .at[...]

_OPS = ["set", "add", "multiply", "mul", "divide", "power", "min", "max"]


@pytest.mark.parametrize("op", _OPS)
def test_at_ops_match_jnp(op):
    raw = jnp.asarray(A, dtype=jnp.float32) + 1
    jop = "multiply" if op == "mul" else op
    for perm in PERMS[3:4]:
        x = named_perm(perm, raw)
        # a slice-path update: int + slice, value over the remaining (Y) axis
        v = hax.named(jnp.array([2.0, 3.0]), Axis("Y", 2))
        got = getattr(x.at["X", 1, "Y", 1:3], op)(v)
        assert got.axes == x.axes
        exp = getattr(raw.at[1, 1:3, :], jop)(jnp.array([2.0, 3.0])[:, None])
        np.testing.assert_allclose(as_order(got, "XYZ"), exp, rtol=1e-6)
        # a gather-path update: index array + scalar value
        I = Axis("I", 2)
        got = getattr(x.at[{"Z": idx(I, [0, 2]), "X": 0}], op)(2.0)
        exp = getattr(raw.at[0, :, jnp.array([0, 2])], jop)(2.0)
        np.testing.assert_allclose(as_order(got, "XYZ"), exp, rtol=1e-6)


def test_at_apply_get_and_options():
    x = named_perm((2, 1, 0), jnp.asarray(A, dtype=jnp.float32))
    got = x.at["Y", 0:2].apply(lambda a: a * 10)
    np.testing.assert_array_equal(as_order(got, "XYZ"), jnp.asarray(A, jnp.float32).at[:, 0:2].apply(lambda a: a * 10))
    got = x.at["Y", hax.named([0, 0], "I")].apply(lambda a: a + 1)
    np.testing.assert_array_equal(
        as_order(got, "XYZ"), jnp.asarray(A, jnp.float32).at[:, jnp.array([0, 0])].apply(lambda a: a + 1)
    )
    assert x.at["X", 1].get().axes == x["X", 1].axes
    np.testing.assert_array_equal(x.at["X", 1].get().array, x["X", 1].array)
    r = x.at["Z", hax.named([1, 7], "I")].get(mode="fill", fill_value=-1.0)
    np.testing.assert_array_equal(as_order(r, ("X", "Y", "I"))[..., 1], -1.0)
    r = x.at["Z", hax.named([1, 7], "I")].get(mode="clip", indices_are_sorted=True)
    np.testing.assert_array_equal(as_order(r, ("X", "Y", "I"))[..., 1], A[:, :, 3])
    with pytest.raises(ValueError, match="mode"):
        x.at["X", 0].get(mode="bogus")
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.at["X", 0].set(1.0, fill_value=3)


def test_at_traced_int_and_modes():
    a = jnp.arange(5)
    x = hax.named(a, "X")
    f = jax.jit(lambda x, i, v: x.at["X", i].set(v))
    for i in [0, 3, -1, 7, -9]:
        np.testing.assert_array_equal(f(x, i, 100).array, a.at[i].set(100))
    g = jax.jit(lambda x, i: x.at["X", i].add(1, mode="clip"))
    np.testing.assert_array_equal(g(x, 9).array, a.at[4].add(1))
    np.testing.assert_array_equal(x.at["X", 1:4].set(7, unique_indices=True).array, a.at[1:4].set(7))
    np.testing.assert_array_equal(x.at["X", ::2].set(7).array, a.at[::2].set(7))


def test_at_value_broadcasting_and_dtypes():
    x = named_perm((0, 1, 2))
    # the value broadcasts over missing axes and may have any axis order
    v = hax.named(jnp.arange(4) * 100, Z)
    np.testing.assert_array_equal(x.at["X", 0].set(v).array, jnp.asarray(A).at[0].set(jnp.arange(4) * 100))
    v2 = hax.named(jnp.arange(12).reshape(4, 3), (Z, Y))
    np.testing.assert_array_equal(x.at["X", 1].add(v2).array, jnp.asarray(A).at[1].add(jnp.arange(12).reshape(4, 3).T))
    # integer arrays: divide promotes like jnp
    d = x.at["X", 0].divide(2)
    np.testing.assert_allclose(d.array, jnp.asarray(A).at[0].divide(2))
    assert d.dtype == jnp.asarray(A).at[0].divide(2).dtype
    with pytest.raises(ValueError, match="cannot be broadcast"):
        x.at["X", 0].set(hax.named(jnp.zeros(2), X))
    with pytest.raises(
        ValueError,
        match=r"at\[\.\.\.\]\.set: argument 'value': axis Z has conflicting sizes: 4 \(selected region\), 5 \(value\)",
    ):
        x.at["X", 0].set(hax.named(jnp.zeros(5), Axis("Z", 5)))
    with pytest.raises(ValueError, match="NamedArray or a scalar"):
        x.at["X", 0].set(jnp.zeros((3, 4)))


# --------------------------------------------------------------------------------------------------
# take


def test_take():
    I, J = hax.make_axes(I=4, J=2)
    x = named_perm((0, 1, 2))
    iv = [2, 0, 1, 1]
    r = x.take("Y", idx(I, iv))
    assert r.axes == (X, I, Z)
    np.testing.assert_array_equal(r.array, A[:, iv])
    for scalar in [1, np.int64(1), jnp.array(1), hax.named(jnp.array(1), ())]:
        r = hax.take(x, "Y", scalar)
        assert r.axes == (X, Z)
        np.testing.assert_array_equal(r.array, A[:, 1])
    r = jax.jit(lambda x, i: x.take(Y, i))(x, 2)
    np.testing.assert_array_equal(r.array, A[:, 2])
    # batch axes: take-along semantics
    jv = np.array([[0, 1], [2, 2]])  # (J, X)
    r = x.take("Y", idx((J, X), jv))
    assert r.axes == (J, X, Z)
    np.testing.assert_array_equal(r.array, np.stack([A[np.arange(2), jv[j]] for j in range(2)]))
    # the taken axis name may reappear in the index
    r = x.take("Y", idx(Axis("Y", 5), [0, 1, 2, 2, 1]))
    assert r.axes == (X, Axis("Y", 5), Z)
    np.testing.assert_array_equal(r.array, A[:, [0, 1, 2, 2, 1]])
    r = x.take("Z", idx(I, [0, 9, 1, 2]), mode="fill", fill_value=-1)
    np.testing.assert_array_equal(r.array[..., 1], -1)
    with pytest.raises(ValueError, match="Index must be an integer array"):
        x.take("Y", hax.named(jnp.array([0.0, 1.0]), "I"))
    with pytest.raises(TypeError, match="take"):
        x.take("Y", jnp.zeros((2, 2), int))
    with pytest.raises(ValueError, match="axis Q not found"):
        x.take("Q", 0)


# --------------------------------------------------------------------------------------------------
# slice / updated_slice


def test_slice_single_axis():
    for perm in PERMS[:3]:
        x = named_perm(perm)
        r = x.slice("Z", start=1, length=2)
        assert r.shape["Z"] == 2 and names(r) == names(x)
        np.testing.assert_array_equal(as_order(r, "XYZ"), A[:, :, 1:3])
        r = hax.slice(x, "Z", Axis("W", 3), start=1)
        assert "W" in r.shape and r.shape["W"] == 3
        np.testing.assert_array_equal(as_order(r, "XYW"), A[:, :, 1:4])
        r = hax.slice(x, "Z", "W", start=0, length=2)
        np.testing.assert_array_equal(as_order(r, "XYW"), A[:, :, 0:2])
    x = named_perm((0, 1, 2))
    f = jax.jit(lambda x, s: x.slice("Z", start=s, length=2))
    np.testing.assert_array_equal(f(x, 1).array, A[:, :, 1:3])
    np.testing.assert_array_equal(f(x, 3).array, A[:, :, 2:4])  # clamped like lax.dynamic_slice
    # a static start whose window does not fit is an error, not a silently shifted window
    for bad in (3, -1):
        with pytest.raises(IndexError, match=rf"slice: start {bad} with length 2 is out of bounds for axis Z\(4\)"):
            x.slice("Z", start=bad, length=2)
    text = str(jax.make_jaxpr(lambda x: x.slice("Z", start=1, length=2))(x))
    assert "gather" not in text and "slice" in text
    with pytest.raises(ValueError, match="length"):
        x.slice("Z", start=1)
    with pytest.raises(ValueError, match="larger"):
        x.slice("Z", length=5)
    with pytest.raises(ValueError, match="axis Q not found"):
        x.slice("Q", length=1)
    with pytest.raises(ValueError, match="duplicate"):
        x.slice("Z", "Y", length=1)
    with pytest.raises(ValueError, match=r"slice: axis W has conflicting sizes: 3 \(length\), 2 \(new_axis\)"):
        x.slice("Z", Axis("W", 2), length=3)


def test_slice_dict_form():
    x = named_perm((2, 0, 1))
    r = hax.slice(x, {"X": 1, "Z": 2}, {"X": 1, "Z": Axis("W", 2)})
    assert names(r) == ["W", "X", "Y"] and r.shape == {"W": 2, "X": 1, "Y": 3}
    np.testing.assert_array_equal(as_order(r, "XYW"), A[1:2, :, 2:4])
    r = x.slice(start={"Y": 1}, length={"Y": 2})
    np.testing.assert_array_equal(as_order(r, "XYZ"), A[:, 1:3])
    r = x.slice(start={}, length={"Y": 2})
    np.testing.assert_array_equal(as_order(r, "XYZ"), A[:, 0:2])
    f = jax.jit(lambda x, s: hax.slice(x, {"Y": s}, {"Y": 2}))
    np.testing.assert_array_equal(as_order(f(x, 1), "XYZ"), A[:, 1:3])
    with pytest.raises(ValueError, match="no length"):
        hax.slice(x, {"Y": 1, "Z": 0}, {"Y": 2})
    with pytest.raises(ValueError, match="out of bounds"):
        hax.slice(x, {"Y": 2}, {"Y": 2})
    with pytest.raises(ValueError, match="out of bounds"):
        hax.slice(x, {"Y": -1}, {"Y": 2})
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.slice(x, {"Q": 0}, {"Q": 1})


def test_updated_slice():
    x = named_perm((0, 1, 2))
    upd = hax.named(-jnp.arange(6).reshape(3, 2) - 1, (Y, Axis("Z", 2)))
    r = hax.updated_slice(x, {"Z": 1, "X": 1}, upd)
    exp = jnp.asarray(A).at[1:2, :, 1:3].set(upd.array[None])
    np.testing.assert_array_equal(r.array, exp)
    # update in another order, traced start
    upd_t = hax.named(upd.array.T, (Axis("Z", 2), Y))
    f = jax.jit(lambda x, s, u: x.updated_slice({"Z": s, "X": 1}, u))
    np.testing.assert_array_equal(f(x, 1, upd_t).array, exp)
    # missing non-started axis: broadcast over its full size
    r = hax.updated_slice(x, {"Z": 3}, hax.named(jnp.array([7, 8, 9]), Y))
    np.testing.assert_array_equal(r.array, jnp.asarray(A).at[:, :, 3].set(jnp.array([7, 8, 9])))
    with pytest.raises(ValueError, match="that are not in the original array with shape"):
        hax.updated_slice(x, {"Z": 0}, hax.named(jnp.zeros(2, int), "Q"))
    with pytest.raises(ValueError, match="out of bounds"):
        hax.updated_slice(x, {"Z": 3}, upd)
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.updated_slice(x, {"Q": 0}, upd)


def test_updated_slice_ragged_named_start():
    Bt, S, D = hax.make_axes(B=3, S=5, D=2)
    cache = hax.zeros((Bt, S, D), dtype=jnp.int32)
    lengths = hax.named([0, 2, 3], Bt)
    new = hax.named(jnp.arange(1, 13).reshape(2, 3, 2), (Axis("S", 2), Bt, D))
    r = hax.updated_slice(cache, {"S": lengths}, new)
    exp = np.zeros((3, 5, 2), np.int32)
    for b, s in enumerate([0, 2, 3]):
        exp[b, s : s + 2] = np.asarray(new.array)[:, b]
    np.testing.assert_array_equal(r.array, exp)
    assert r.axes == (Bt, S, D)
    # update without the batch axis: the same rows go everywhere; the cache in another axis order
    cache2 = hax.zeros((S, D, Bt), dtype=jnp.int32)
    row = hax.named(jnp.array([[5, 6]]), (Axis("S", 1), D))
    r = jax.jit(hax.updated_slice)(cache2, {"S": lengths}, row)
    exp = np.zeros((5, 2, 3), np.int32)
    for b, s in enumerate([0, 2, 3]):
        exp[s, :, b] = [5, 6]
    np.testing.assert_array_equal(r.array, exp)
    with pytest.raises(ValueError, match="integer"):
        hax.updated_slice(cache, {"S": lengths.astype(jnp.float32)}, new)
    # a start or an update whose batch axis has another size than the array's
    with pytest.raises(
        ValueError,
        match=r"updated_slice: argument 'start': axis B has conflicting sizes: 3 \(array\), 2 \(start\['S'\]\)",
    ):
        hax.updated_slice(cache, {"S": hax.named([0, 2], Axis("B", 2))}, row)
    with pytest.raises(
        ValueError,
        match=r"updated_slice: argument 'update': axis B has conflicting sizes: 3 \(array \(a batch axis\)\), 4 \(update\)",
    ):
        hax.updated_slice(cache, {"S": lengths}, hax.zeros((Axis("S", 1), Axis("B", 4), D), dtype=jnp.int32))
    with pytest.raises(ValueError, match=r"updated_slice: argument .start\[.S.\].: axis Q not found"):
        hax.updated_slice(cache, {"S": hax.named([0, 2], Axis("Q", 2))}, row)


# --------------------------------------------------------------------------------------------------
# gradients


def test_gradients_through_dslice_and_at():
    from jax.test_util import check_grads

    Xa = Axis("X", 6)
    a = hax.named(jnp.linspace(0.5, 2.0, 6), Xa)

    def f(raw, s):
        n = hax.named(raw, Xa)
        return (n["X", hax.ds(s, 3)] ** 2).array

    check_grads(lambda r: jax.jit(f)(r, 4), (a.array,), order=1, modes=["rev"], eps=1e-2)

    def g(raw):
        n = hax.named(raw, Xa)
        return n.at["X", hax.ds(jnp.array(2), 3)].multiply(hax.named(raw[:3], "X")).array

    check_grads(jax.jit(g), (a.array,), order=1, modes=["rev"], eps=1e-2)


# --------------------------------------------------------------------------------------------------
# an element-by-element oracle for mixed indices (values; placement is checked above)

_POOL = {"I": 2, "J": 3, "X": 2, "Y": 3, "Z": 4}


@st.composite
def _mixed_spec(draw):
    spec = {}
    for ax in CANON:
        n = ax.size
        kind = draw(st.sampled_from(["keep", "int", "slice", "list", "arr", "ds", "dsn"]))
        if kind == "int":
            spec[ax.name] = draw(st.integers(-n, n - 1))
        elif kind == "slice":
            spec[ax.name] = slice(draw(st.integers(0, 1)), None, draw(st.sampled_from([1, 2, -1])))
        elif kind == "list":
            spec[ax.name] = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3))
        elif kind in ("arr", "dsn"):
            anames = draw(st.lists(st.sampled_from(sorted(_POOL)), max_size=2, unique=True))
            if kind == "dsn":
                anames = [a for a in anames if a != ax.name]
            shape = [_POOL[a] for a in anames]
            hi = n if kind == "arr" else n + 2
            lo = 0 if kind == "arr" else -2
            vals = draw(st.lists(st.integers(lo, hi - 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
            arr = idx(tuple(Axis(a, _POOL[a]) for a in anames), np.array(vals, dtype=np.int32).reshape(shape))
            spec[ax.name] = arr if kind == "arr" else hax.dslice(arr, draw(st.integers(1, 3)))
        elif kind == "ds":
            spec[ax.name] = hax.dslice(draw(st.integers(-2, n)), draw(st.integers(1, 3)))
    return spec


def _oracle_source(spec, coords):
    """The source position of one result element, or None if a dslice reads outside the axis."""
    src = []
    for ax in CANON:
        k = spec.get(ax.name)
        c = coords.get(ax.name)
        if k is None:
            src.append(c)
        elif isinstance(k, int):
            src.append(k % ax.size)
        elif isinstance(k, slice):
            src.append(range(*k.indices(ax.size))[c])
        elif isinstance(k, list):
            src.append(k[c] % ax.size)
        elif isinstance(k, NamedArray):
            src.append(int(np.asarray(k.array)[tuple(coords[a.name] for a in k.axes)]))
        else:
            start = k.start
            if isinstance(start, NamedArray):
                start = int(np.asarray(start.array)[tuple(coords[a.name] for a in start.axes)])
            j = start + c
            if not 0 <= j < ax.size:
                return None
            src.append(j)
    return tuple(src)


@settings(max_examples=15, deadline=None)
@given(_mixed_spec(), st.sampled_from(PERMS))
def test_mixed_indices_match_elementwise_oracle(spec, perm):
    x = named_perm(perm)

    @jax.jit  # one compile per example instead of one per eager op
    def run(x):
        res = x[spec]
        val_axes = tuple(reversed(res.axes))
        val = hax.arange(val_axes, start=1) * 100
        return res, val, x.at[spec].add(val)

    try:
        res, val, added = run(x)
    except ValueError as e:  # index axes that clash with a kept axis of another size, or with each other
        assert "conflicting sizes" in str(e) or "must not itself" in str(e)
        return
    out = np.asarray(res.array)
    # reads: every element comes from its source (0 outside a dslice)
    # writes: .at[...].add scatters every element of the value to its source (dropped outside a dslice)
    val_axes = val.axes
    expected_add = A.copy()
    vraw = np.asarray(val.array)
    for pos in np.ndindex(*out.shape):
        coords = {a.name: i for a, i in zip(res.axes, pos)}
        src = _oracle_source(spec, coords)
        assert out[pos] == (0 if src is None else A[src]), (spec, coords)
        if src is not None:
            expected_add[src] += vraw[tuple(coords[a.name] for a in val_axes)]
    assert added.axes == x.axes
    np.testing.assert_array_equal(as_order(added, "XYZ"), expected_add)


@pytest.mark.parametrize("perm", PERMS)
def test_take_batch_axes_order_index_only_axes_first_then_array_order(perm):
    J = Axis("J", 5)
    Y5 = Axis("Y", 5)
    x = named_perm(perm)
    rng = np.random.default_rng(0)
    rest = tuple(a for a in x.axes if a.name != "Y")
    cases = {
        (J, X): (J, X),
        (Z, J): (J, X, Z),
        (Z, X): (X, Z),
        (J, Z, X): (J, X, Z),
        (Z, Y5): (Y5, X, Z),
        (Y5, Z): (Y5, X, Z),
    }
    for ix_axes, head in cases.items():
        new = tuple(a for a in ix_axes if a.name not in ("X", "Z"))
        expected = new + rest if any(a.name in ("X", "Z") for a in ix_axes) else head
        iv = rng.integers(0, 3, size=tuple(a.size for a in ix_axes)).astype(np.int32)
        r = x.take("Y", idx(ix_axes, iv))
        assert r.axes == expected, (ix_axes, r.axes)
        # reference values: out[new..., x, z] = A[x, index[...], z], the index broadcast over what it lacks
        full = hax.named(jnp.asarray(iv), ix_axes).broadcast_axis(tuple(a for a in (X, Z) if a not in ix_axes))
        fv = np.asarray(full.rearrange(new + (X, Z)).array)
        ref = np.take_along_axis(
            np.broadcast_to(A[(None,) * len(new)], tuple(a.size for a in new) + A.shape),
            fv[..., None, :].reshape(tuple(a.size for a in new) + (2, 1, 4)),
            axis=len(new) + 1,
        )[..., 0, :]
        got = np.asarray(r.rearrange(new + (X, Z)).array)
        np.testing.assert_array_equal(got, ref)
    with pytest.raises(ValueError, match="conflicting sizes"):
        x.take("Y", idx((Axis("X", 5),), np.zeros(5, np.int32)))


def test_take_log_probs_is_batch_then_block_for_any_label_order():
    Batch, Embed, Block = hax.make_axes(Batch=2, Embed=7, Block=3)
    logits = hax.random.normal(jax.random.PRNGKey(0), (Batch, Embed, Block))
    lab = np.random.default_rng(1).integers(0, 7, size=(2, 3)).astype(np.int32)
    ref = np.take_along_axis(np.asarray(logits.array), lab[:, None, :], axis=1)[:, 0, :]
    for labels in (idx((Batch, Block), lab), idx((Block, Batch), lab.T)):
        r = logits.take("Embed", labels)
        assert r.axes == (Batch, Block)
        np.testing.assert_array_equal(r.array, ref)


def test_take_of_top_k_style_index_puts_the_new_axis_first():
    H, W, D = hax.make_axes(H=2, W=3, D=4)
    x = hax.arange((H, W, D))
    ix = idx((H, W, Axis("D", 2)), np.tile(np.array([3, 1], np.int32), (2, 3, 1)))
    r = x.take("D", ix)
    assert r.axes == (Axis("D", 2), H, W)
    np.testing.assert_array_equal(r.array, np.moveaxis(np.asarray(x.array)[..., [3, 1]], -1, 0))
