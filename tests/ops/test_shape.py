"""Shape functions compared with jax.numpy, on arrays whose axes come in different orders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax import Axis
from tests.helpers import rand, strs

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)


# --------------------------------------------------------------------------------------------------
# concatenate / stack / split / unbind


def test_concatenate_different_orders_and_sizes():
    a = rand(X, Y, Z)
    b = rand(Z, Y.resize(5), X, seed=1)
    out = hax.concatenate("Y", [a, b])
    assert strs(out) == ["X(2)", "Y(8)", "Z(4)"]
    np.testing.assert_allclose(out.array, jnp.concatenate([a.array, jnp.transpose(b.array, (2, 1, 0))], axis=1))
    assert hax.concatenate(Y.resize(8), [a, b]).axes == out.axes
    assert hax.concatenate("Y", [a]).axes == a.axes


def test_concatenate_errors():
    a = rand(X, Y)
    with pytest.raises(
        ValueError,
        match=r"concatenate: argument 'axis': axis Y has conflicting sizes: 3 \(axis\), 6 \(the arrays' total\)",
    ):
        hax.concatenate(Y, [a, a])
    with pytest.raises(ValueError, match="argument 'arrays\\[1\\]': axis Y not found"):
        hax.concatenate("Y", [a, rand(X, Z)])
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.concatenate("Q", [a, a])
    with pytest.raises(ValueError, match="differ from arrays\\[0\\]"):
        hax.concatenate("Y", [a, rand(X.resize(3), Y)])
    with pytest.raises(ValueError, match="empty"):
        hax.concatenate("Y", [])
    with pytest.raises(TypeError, match="NamedArray"):
        hax.concatenate("Y", [a, a.array])
    with pytest.raises(TypeError, match="axis name or an Axis"):
        hax.concatenate(1, [a])


def test_stack_new_axis_first():
    a, b = rand(X, Y), rand(Y, X, seed=1)
    s = hax.stack("L", [a, b])
    assert strs(s) == ["L(2)", "X(2)", "Y(3)"]
    np.testing.assert_allclose(s.array, jnp.stack([a.array, b.array.T]))
    assert hax.stack(Axis("L", 2), [a, b]).axes == s.axes


def test_stack_errors():
    a = rand(X, Y)
    with pytest.raises(
        ValueError,
        match=r"stack: argument 'axis': axis L has conflicting sizes: 3 \(axis\), 2 \(the number of arrays\)",
    ):
        hax.stack(Axis("L", 3), [a, a])
    with pytest.raises(ValueError, match="already present"):
        hax.stack("X", [a, a])
    with pytest.raises(ValueError, match="differ from arrays\\[0\\]"):
        hax.stack("L", [a, rand(X, Z)])
    with pytest.raises(ValueError, match="empty"):
        hax.stack("L", [])


def test_split_matches_jnp():
    a = rand(Y, Z, X)
    A, Bx = Axis("A", 1), Axis("B", 3)
    p, q = hax.split(a, "Z", [A, Bx])
    assert strs(p) == ["Y(3)", "A(1)", "X(2)"] and strs(q) == ["Y(3)", "B(3)", "X(2)"]
    ref = jnp.split(a.array, [1], axis=1)
    np.testing.assert_allclose(p.array, ref[0])
    np.testing.assert_allclose(q.array, ref[1])
    assert len(a.split(Z, [Axis("Z", 2), Axis("Z", 2)])) == 2


def test_split_errors():
    a = rand(X, Z)
    with pytest.raises(ValueError, match="add up to 3, but axis Z\\(4\\)"):
        hax.split(a, "Z", [Axis("A", 1), Axis("B", 2)])
    with pytest.raises(ValueError, match="add up to 5"):
        hax.split(a, Z, [Axis("A", 1), Axis("B", 4)])
    with pytest.raises(TypeError, match="Axis objects"):
        hax.split(a, "Z", ["A", "B"])
    with pytest.raises(ValueError, match="axis W not found"):
        hax.split(a, "W", [Axis("A", 4)])


def test_unbind():
    a = rand(X, Y, Z)
    parts = hax.unbind(a, "Y")
    assert len(parts) == 3 and all(p.axes == (X, Z) for p in parts)
    for i, p in enumerate(parts):
        np.testing.assert_allclose(p.array, a.array[:, i, :])
    assert len(a.unbind("X")) == 2
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.unbind(a, "Q")


# --------------------------------------------------------------------------------------------------
# flatten / unflatten


def test_flatten_axes_position_and_order():
    a = rand(X, Y, Z)
    out = hax.flatten_axes(a, ("Z", "X"), "ZX")
    # merged axis sits where the first of the old axes (X) is; elements in the listed order (Z major)
    assert strs(out) == ["ZX(8)", "Y(3)"]
    np.testing.assert_allclose(out.array, jnp.transpose(a.array, (2, 0, 1)).reshape(8, 3))
    out2 = hax.flatten_axes(a, ("Y", "Z"), Axis("YZ", 12))
    assert strs(out2) == ["X(2)", "YZ(12)"]
    np.testing.assert_allclose(out2.array, a.array.reshape(2, 12))
    out3 = a.flatten_axes(("Z", "Y"), "ZY")
    np.testing.assert_allclose(out3.array, jnp.transpose(a.array, (0, 2, 1)).reshape(2, 12))


def test_flatten_axes_empty_prepends_size_one():
    a = rand(X, Y)
    out = hax.flatten_axes(a, (), "one")
    assert strs(out) == ["one(1)", "X(2)", "Y(3)"]
    np.testing.assert_allclose(out.array[0], a.array)


def test_flatten_axes_spec_forms():
    assert hax.flatten_axes((X, Y, Z), ("Y", "Z"), "YZ") == (X, Axis("YZ", 12))
    assert hax.flatten_axes({"X": 2, "Y": 3, "Z": 4}, (Z, X), "ZX") == {"ZX": 8, "Y": 3}
    assert hax.flatten_axes((X, Y), "XY") == Axis("XY", 6)
    assert hax.flatten_axes((X, Y), Axis("XY", 6)) == Axis("XY", 6)
    with pytest.raises(
        ValueError,
        match=r"flatten_axes: argument 'new_axis': axis XY has conflicting sizes: 5 \(new_axis\), 6 \(the merged axes\)",
    ):
        hax.flatten_axes((X, Y), Axis("XY", 5))
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.flatten_axes((X, Y), ("Q",), "q")


def test_flatten_axes_errors():
    a = rand(X, Y)
    with pytest.raises(
        ValueError,
        match=r"flatten_axes: argument 'new_axis': axis XY has conflicting sizes: 7 \(new_axis\), 6 \(the merged axes\)",
    ):
        hax.flatten_axes(a, ("X", "Y"), Axis("XY", 7))
    with pytest.raises(ValueError, match="more than once"):
        hax.flatten_axes(a, ("X", "X"), "XX")
    with pytest.raises(ValueError, match="axis W not found in \\(X\\(2\\), Y\\(3\\)\\)"):
        hax.flatten_axes(a, ("W",), "q")
    with pytest.raises(TypeError, match="needs new_axis"):
        hax.flatten_axes(a, "XY")


def test_unflatten_axis():
    E = Axis("E", 6)
    a = rand(X, E, Z)
    H, D = Axis("H", 2), Axis("D", 3)
    out = hax.unflatten_axis(a, "E", (H, D))
    assert out.axes == (X, H, D, Z)
    np.testing.assert_allclose(out.array, a.array.reshape(2, 2, 3, 4))
    assert hax.unflatten_axis(a, E, {"H": 2, "D": 3}).axes == (X, H, D, Z)
    assert a.unflatten_axis("E", Axis("F", 6)).axes == (X, Axis("F", 6), Z)
    one = rand(X, Axis("one", 1))
    assert hax.unflatten_axis(one, "one", ()).axes == (X,)


def test_unflatten_axis_errors():
    a = rand(X, Axis("E", 6))
    with pytest.raises(ValueError, match="total size 4, but axis E\\(6\\)"):
        hax.unflatten_axis(a, "E", (Axis("H", 2), Axis("D", 2)))
    with pytest.raises(ValueError, match="total size 1"):
        hax.unflatten_axis(a, "E", ())
    with pytest.raises(ValueError, match="axis W not found"):
        hax.unflatten_axis(a, "W", (Axis("H", 6),))
    with pytest.raises(ValueError, match="Axes must be unique"):
        hax.unflatten_axis(a, "E", (Axis("X", 2), Axis("D", 3)))


def test_ravel_flatten():
    a = rand(Y, X)
    r = hax.ravel(a, "flat")
    assert r.axes == (Axis("flat", 6),)
    np.testing.assert_allclose(r.array, a.array.reshape(-1))
    assert a.flatten("f").axes == (Axis("f", 6),)
    assert a.ravel("f").axes == (Axis("f", 6),)
    assert hax.ravel(hax.named(jnp.float32(3.0), ()), "f").axes == (Axis("f", 1),)


def test_flatten_all_axes_but_round_trip():
    a = rand(X, Y, Z)
    flat, unflatten = hax.flatten_all_axes_but(a, "XZ", ("X", "Z"))
    assert flat.axes[0] == Axis("XZ", 8)
    back = unflatten(flat)
    np.testing.assert_allclose(hax.rearrange(back, ("X", "Y", "Z")).array, a.array)


@settings(max_examples=20, deadline=None)
@given(
    st.permutations(range(4)),
    st.integers(1, 4).flatmap(lambda k: st.lists(st.integers(0, 3), min_size=k, max_size=k, unique=True)),
)
def test_flatten_then_unflatten_is_identity(order, chosen):
    axes = tuple(Axis(n, s) for n, s in zip("ABCD", (2, 3, 1, 2), strict=True))
    axes = tuple(axes[i] for i in order)
    raw = np.arange(12).reshape([a.size for a in axes])
    a = hax.named(raw, axes)
    old = tuple(axes[i] for i in chosen)
    flat = hax.flatten_axes(a, old, "merged")
    back = hax.unflatten_axis(flat, "merged", old)
    back = hax.rearrange(back, tuple(ax.name for ax in axes))
    assert back.axes == axes
    np.testing.assert_array_equal(back.array, raw)


# --------------------------------------------------------------------------------------------------
# rename / roll


def test_rename():
    a = rand(X, Y)
    assert hax.rename(a, {"X": "batch"}).axes == (Axis("batch", 2), Y)
    assert hax.rename(a, {X: Axis("b", 2), "Y": "y"}).axes == (Axis("b", 2), Axis("y", 3))
    swapped = a.rename({"X": "Y", "Y": "X"})
    assert swapped.axes == (Axis("Y", 2), Axis("X", 3))
    assert swapped.array is a.array


def test_rename_errors():
    a = rand(X, Y)
    with pytest.raises(ValueError, match="sizes differ"):
        hax.rename(a, {"X": Axis("b", 5)})
    with pytest.raises(
        ValueError,
        match=r"rename: argument .renames.: Found axis with same name but different size: asked for X\(5\), the array has X\(2\)",
    ):
        hax.rename(a, {X.resize(5): "b"})
    with pytest.raises(ValueError, match="axis Xx not found .* Did you mean 'X'"):
        hax.rename(a, {"Xx": "b"})
    with pytest.raises(ValueError, match="duplicate axis names"):
        hax.rename(a, {"X": "Y"})
    with pytest.raises(ValueError, match="more than once"):
        hax.rename(a, {"X": "b", X: "c"})
    with pytest.raises(TypeError, match="mapping"):
        hax.rename(a, "X")


def test_roll_matches_jnp():
    a = rand(X, Y, Z)
    np.testing.assert_allclose(hax.roll(a, 2, "Z").array, jnp.roll(a.array, 2, axis=2))
    np.testing.assert_allclose(hax.roll(a, (1, -1), ("Z", "X")).array, jnp.roll(a.array, (1, -1), axis=(2, 0)))
    np.testing.assert_allclose(a.roll(hax.named(jnp.int32(1), ()), Y).array, jnp.roll(a.array, 1, axis=1))
    f = jax.jit(lambda arr, s: hax.roll(arr, s, "Y").array)
    np.testing.assert_allclose(f(a, 2), jnp.roll(a.array, 2, axis=1))


def test_roll_per_row_shift():
    a = rand(Y, X, Z)
    shifts = hax.named(jnp.array([0, 1, -3]), (Y,))
    out = hax.roll(a, shifts, "Z")
    for i, s in enumerate([0, 1, -3]):
        np.testing.assert_allclose(out.array[i], jnp.roll(a.array[i], s, axis=1))


def test_roll_errors():
    a = rand(X, Z)
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.roll(a, 1, "Q")
    with pytest.raises(TypeError, match="roll: shift must be a scalar NamedArray.*other than the rolled axis"):
        hax.roll(a, hax.named(jnp.arange(4), (Z,)), "Z")
    with pytest.raises(TypeError, match="roll: shift must be a scalar NamedArray when rolling along several axes"):
        hax.roll(a, hax.named(jnp.arange(2), (X,)), ("Z", "X"))
    with pytest.raises(TypeError, match=r"roll: shift must be a scalar NamedArray.*axis X has conflicting sizes"):
        hax.roll(a, hax.named(jnp.arange(5), (X.resize(5),)), "Z")


# --------------------------------------------------------------------------------------------------
# pad / pad_left / repeat / tile


def test_pad_matches_jnp():
    a = rand(X, Y)
    out = hax.pad(a, {"Y": (1, 2), X: 1}, constant_values=7.0)
    assert strs(out) == ["X(4)", "Y(6)"]
    np.testing.assert_allclose(out.array, jnp.pad(a.array, ((1, 1), (1, 2)), constant_values=7.0))
    edge = a.pad({"Y": (0, 2)}, mode="edge")
    np.testing.assert_allclose(edge.array, jnp.pad(a.array, ((0, 0), (0, 2)), mode="edge"))
    refl = hax.pad(a, {"Y": (2, 0)}, mode="reflect", reflect_type="odd")
    np.testing.assert_allclose(refl.array, jnp.pad(a.array, ((0, 0), (2, 0)), mode="reflect", reflect_type="odd"))


def test_pad_errors():
    a = rand(X, Y)
    with pytest.raises(ValueError, match="axis Q not found"):
        hax.pad(a, {"Q": 1})
    with pytest.raises(ValueError, match="must be an int or \\(before, after\\)"):
        hax.pad(a, {"X": (1, 2, 3)})
    with pytest.raises(ValueError, match="must be an int or"):
        hax.pad(a, {"X": -1})
    with pytest.raises(TypeError, match="mapping"):
        hax.pad(a, 2)


def test_pad_left():
    a = rand(X, Y)
    P = Axis("P", 5)
    out = hax.pad_left(a, Y, P, value=-1.0)
    assert out.axes == (X, P)
    np.testing.assert_allclose(out.array, jnp.pad(a.array, ((0, 0), (2, 0)), constant_values=-1.0))
    assert hax.pad_left(a, "Y", P).axes == (X, P)
    with pytest.raises(TypeError, match="must be an Axis"):
        hax.pad_left(a, Y, "P")
    with pytest.raises(ValueError, match="smaller"):
        hax.pad_left(a, Y, Axis("P", 2))


def test_repeat_matches_jnp():
    a = rand(X, Y)
    out = hax.repeat(a, 2, "Y")
    assert strs(out) == ["X(2)", "Y(6)"]
    np.testing.assert_allclose(out.array, jnp.repeat(a.array, 2, axis=1))
    reps = jnp.array([1, 0, 3])
    out2 = a.repeat(reps, "Y")
    np.testing.assert_allclose(out2.array, jnp.repeat(a.array, reps, axis=1))
    out3 = hax.repeat(a, hax.named(reps, (Y,)), "Y", total_repeat_length=5)
    np.testing.assert_allclose(out3.array, jnp.repeat(a.array, reps, axis=1, total_repeat_length=5))
    with pytest.raises(ValueError, match="must be 0-d or have exactly axis"):
        hax.repeat(a, hax.named(jnp.array([1, 2]), (X,)), "Y")


def test_tile_matches_jnp():
    a = rand(X, Y)
    out = hax.tile(a, {"Y": 2})
    assert strs(out) == ["X(2)", "Y(6)"]
    np.testing.assert_allclose(out.array, jnp.tile(a.array, (1, 2)))
    out2 = a.tile({"C": 3, X: 2})
    assert strs(out2) == ["C(3)", "X(4)", "Y(3)"]
    np.testing.assert_allclose(out2.array, jnp.tile(a.array, (3, 2, 1)))
    assert hax.tile(a, {Axis("C", 3): 3}).axes[0] == Axis("C", 3)
    with pytest.raises(
        ValueError,
        match=r"tile: argument 'reps': axis C has conflicting sizes: 2 \(the Axis key\), 3 \(its repetition count\)",
    ):
        hax.tile(a, {Axis("C", 2): 3})
    with pytest.raises(
        ValueError,
        match=r"tile: argument 'reps': Found axis with same name but different size: asked for X\(4\), the array has X\(2\)",
    ):
        hax.tile(a, {X.resize(4): 3})
    with pytest.raises(ValueError, match="non-negative int"):
        hax.tile(a, {"X": 1.5})


def test_roll_with_a_shift_over_a_foreign_axis_is_a_type_error():
    H, W, dummy = hax.make_axes(H=4, W=3, dummy=2)
    a = hax.arange((H, W))
    with pytest.raises(TypeError, match="shift must be a scalar NamedArray"):
        hax.roll(a, hax.arange(dummy), "H")
    r = hax.roll(a, hax.named(jnp.int32(1), ()), "H")
    np.testing.assert_array_equal(r.array, jnp.roll(a.array, 1, axis=0))
