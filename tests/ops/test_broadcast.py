"""Broadcasting by name: the strict subset rule for operators and the explicit helpers (broadcast_to /
broadcast_axis, broadcast_arrays), with Haliax's result orders."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax import NamedArray
from tests.helpers import as_order, names, rand

X, Y, Z, W = hax.make_axes(X=2, Y=3, Z=4, W=5)


# --------------------------------------------------------------------------------------------------
# binary ops


def test_result_order_subset_and_equal_sets():
    xy, yx, y = rand((X, Y)), rand((Y, X), seed=1), rand((Y,), seed=2)
    assert (xy + yx).axes == (X, Y)  # equal sets: left operand's order
    assert (yx + xy).axes == (Y, X)
    assert (y + xy).axes == (X, Y)  # the bigger operand's order
    assert (xy * y).axes == (X, Y)
    np.testing.assert_allclose((xy + yx).array, xy.array + yx.array.T, rtol=1e-6)
    np.testing.assert_allclose((yx - xy).array, yx.array - xy.array.T, rtol=1e-6)
    np.testing.assert_allclose((y + xy).array, y.array[None, :] + xy.array, rtol=1e-6)


def test_subset_needs_transpose_and_reshape():
    xyz, zx, x = rand((X, Y, Z)), rand((Z, X), seed=1), rand((X,), seed=2)
    out = xyz * zx
    assert out.axes == (X, Y, Z)
    np.testing.assert_allclose(out.array, xyz.array * zx.array.T[:, None, :], rtol=1e-6)
    out = x - xyz
    assert out.axes == (X, Y, Z)
    np.testing.assert_allclose(out.array, x.array[:, None, None] - xyz.array, rtol=1e-6)


def test_zero_d_named_is_a_subset_of_anything():
    s = hax.named(jnp.array(2.0), ())
    xy = rand((X, Y))
    assert (s * xy).axes == (X, Y)
    assert (xy * s).axes == (X, Y)
    np.testing.assert_allclose((s * xy).array, 2.0 * xy.array)


def test_scalars_and_plain_arrays():
    xy = rand((X, Y))
    for other in (2, 2.5, np.float32(2.0), jnp.array(2.0), np.array(3)):
        assert (xy + other).axes == (X, Y)
        assert (other - xy).axes == (X, Y)
        np.testing.assert_allclose((other - xy).array, other - xy.array, rtol=1e-6)
    with pytest.raises(ValueError, match="Cannot apply add to a NamedArray and a non-scalar array of shape \\(2, 3\\)"):
        xy + jnp.ones((2, 3))
    with pytest.raises(ValueError, match="Cannot apply multiply to a NamedArray and a non-scalar"):
        jnp.ones(3) * xy  # jax defers to NamedArray.__rmul__
    with pytest.raises(ValueError, match="non-scalar"):
        np.ones(3) * xy  # numpy defers too (__array_priority__)
    s = hax.named(jnp.array(2.0), ())
    out = s + jnp.ones((2, 3))  # a 0-d NamedArray with a plain array gives the plain result
    assert not isinstance(out, NamedArray)
    np.testing.assert_allclose(out, 3.0 * np.ones((2, 3)))
    out = jnp.ones(3) - s
    assert not isinstance(out, NamedArray)


@pytest.mark.parametrize(
    "a_axes, b_axes",
    [((X,), (W,)), ((X, Y), (Y, Z)), ((X, Y), (Y, X.resize(5)))],
    ids=["disjoint", "partial-overlap", "size-mismatch"],
)
def test_no_subset_relationship_errors(a_axes, b_axes):
    a, b = rand(a_axes), rand(b_axes)
    with pytest.raises(
        ValueError,
        match="add: Cannot broadcast .*: no subset relationship. If you want to broadcast "
        "anyway, use the broadcast_axis function to explicitly add axes",
    ):
        a + b
    with pytest.raises(ValueError, match="multiply: Cannot broadcast"):
        hax.multiply(b, a)


def test_size_mismatch_message_shows_both_sizes():
    with pytest.raises(
        ValueError,
        match=r"add: Cannot broadcast .*; axis X has conflicting sizes: 2 \(first operand\), 5 \(second operand\)",
    ):
        rand((X, Y)) + rand((X.resize(5),))
    with pytest.raises(ValueError, match=r"\('X\(2\)', 'Y\(3\)'\) and \('X\(5\)',\)"):
        rand((X, Y)) + rand((X.resize(5),))


@pytest.mark.parametrize("mode", ["allow", "warn", "raise"])
def test_binary_ops_under_every_rank_promotion_setting(mode):
    # the leading size-1 dims are added explicitly unless jnp is allowed to add them itself
    xyz, zx, y = rand((X, Y, Z)), rand((Z, X), seed=1), rand((Y,), seed=2)
    with jax.numpy_rank_promotion(mode), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = xyz * zx + y
        rev = y - xyz
    assert out.axes == rev.axes == (X, Y, Z)
    expected = xyz.array * zx.array.T[:, None, :] + y.array[None, :, None]
    np.testing.assert_allclose(out.array, expected, rtol=1e-6)
    np.testing.assert_allclose(rev.array, y.array[None, :, None] - xyz.array, rtol=1e-6)


def test_broadcasting_under_jit_and_grad():
    xy, zx = rand((X, Y)), rand((Y,), seed=1)

    def f(a, b):
        return (a * b + a).sum().scalar()

    def g(a, b):
        return jnp.sum(a * b[None, :] + a)

    ga = jax.grad(f, argnums=(0, 1))(xy, zx)
    gb = jax.grad(g, argnums=(0, 1))(xy.array, zx.array)
    np.testing.assert_allclose(ga[0].array, gb[0], rtol=1e-5)
    np.testing.assert_allclose(ga[1].array, gb[1], rtol=1e-5)
    assert ga[1].axes == (Y,)
    np.testing.assert_allclose(jax.jit(f)(xy, zx), g(xy.array, zx.array), rtol=1e-5)


AXES = (X, Y, Z, W)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_property_broadcasting_commutes_up_to_axis_order(data):
    big = data.draw(st.permutations(AXES).flatmap(lambda p: st.integers(1, 4).map(lambda k: tuple(p[:k]))))
    small = data.draw(st.permutations(big).flatmap(lambda p: st.integers(0, len(p)).map(lambda k: tuple(p[:k]))))
    a, b = rand(big, seed=0), rand(small, seed=1)
    ab, ba = a + b, b + a
    assert ab.axes == big
    assert ba.axes == (small if set(small) == set(big) else big)  # equal sets: the left operand's order
    np.testing.assert_allclose(as_order(ab, big), as_order(ba, big), rtol=1e-6)
    # ... and equal the numpy expression on raw arrays aligned by hand
    b_raw = np.asarray(b.array)
    b_aligned = np.transpose(b_raw, sorted(range(len(small)), key=lambda i: big.index(small[i])))
    b_aligned = b_aligned.reshape([ax.size if ax in small else 1 for ax in big])
    np.testing.assert_allclose(as_order(ab, big), np.asarray(a.array) + b_aligned, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# broadcast_to


def test_broadcast_to_adds_and_orders():
    x = hax.arange(X)
    out = hax.broadcast_to(x, (Y, X))
    assert out.axes == (Y, X)
    np.testing.assert_array_equal(out.array, jnp.broadcast_to(x.array, (3, 2)))
    out = hax.broadcast_to(x, (X, Y))
    assert out.axes == (X, Y)
    np.testing.assert_array_equal(out.array, jnp.broadcast_to(x.array[:, None], (2, 3)))
    zx = rand((Z, X))
    out = hax.broadcast_to(zx, ("X", Y, "Z"))  # names of existing axes are fine
    assert out.axes == (X, Y, Z)
    np.testing.assert_allclose(out.array, np.broadcast_to(np.asarray(zx.array).T[:, None, :], (2, 3, 4)))
    assert hax.broadcast_to(zx, (Z, X)) is zx
    assert hax.broadcast_to(zx, {"Z": 4, "X": 2}).axes == (Z, X)
    assert hax.broadcast_to(x, X) is x


def test_broadcast_to_ensure_order_false_and_extra_axes():
    xz = rand((X, Z))
    # missing axes are prepended; no transpose when the requested axes are a subsequence
    out = hax.broadcast_to(xz, (Y, Z), enforce_no_extra_axes=False)
    assert names(out) == ["Y", "X", "Z"]
    out = hax.broadcast_to(xz, (Z, Y), enforce_no_extra_axes=False)
    assert names(out) == ["Z", "Y", "X"]
    out = hax.broadcast_to(xz, (Z, Y, X), ensure_order=False)
    assert names(out) == ["Y", "X", "Z"]
    np.testing.assert_allclose(as_order(out, (X, Z, Y))[..., 0], xz.array)
    with pytest.raises(ValueError, match=r"broadcast_to: Cannot broadcast .* extra axes present \['X\(2\)'\]"):
        hax.broadcast_to(xz, (Z, Y))


def test_broadcast_to_errors_and_scalars():
    x = hax.arange(X)
    with pytest.raises(ValueError, match="broadcast_to: argument 'axes': axis Q not found in \\(X\\(2\\)\\)"):
        hax.broadcast_to(x, ("Q",))
    with pytest.raises(
        ValueError,
        match=r"broadcast_to: argument 'axes': Found axis with same name but different size: asked for X\(9\), "
        r"the array has X\(2\)",
    ):
        hax.broadcast_to(x, (X.resize(9),))
    with pytest.raises(ValueError, match="names an axis twice"):
        hax.broadcast_to(x, (Y, Y))
    with pytest.raises(TypeError, match="broadcast_to: argument 'axes'"):
        hax.broadcast_to(x, (3,))
    out = hax.broadcast_to(3.0, (X, Y))  # non-NamedArray scalars are 0-d
    assert out.axes == (X, Y) and float(out.array[1, 2]) == 3.0
    out = hax.broadcast_to(jnp.array(2), X)
    assert out.tolist() == [2, 2]
    with pytest.raises(ValueError, match="broadcast_to: argument 'a' must be a NamedArray or a scalar"):
        hax.broadcast_to(jnp.ones(2), (X,))


# --------------------------------------------------------------------------------------------------
# broadcast_axis


def test_broadcast_axis_c1_examples():
    xz = rand((X, Z))
    assert names(xz.broadcast_axis((Y, Z))) == ["Y", "X", "Z"]
    assert names(xz.broadcast_axis((Z, Y))) == ["Z", "Y", "X"]
    out = xz.broadcast_axis((Z, Y))
    np.testing.assert_allclose(out.array, np.broadcast_to(np.asarray(xz.array).T[:, None, :], (4, 3, 2)))
    assert names(hax.arange(Z).broadcast_axis(X)) == ["X", "Z"]
    assert hax.broadcast_axis(xz, X) is xz
    assert names(hax.broadcast_axis(xz, {"W": 5})) == ["W", "X", "Z"]
    assert names(hax.broadcast_axis(xz, (Z, X))) == ["Z", "X"]  # only a transpose
    assert names(hax.broadcast_axis(2.0, (X,))) == ["X"]


def test_broadcast_axis_errors():
    xz = rand((X, Z))
    with pytest.raises(
        ValueError,
        match=r"broadcast_axis: argument 'axis': Found axis with same name but different size: asked for X\(7\), "
        r"the array has X\(2\)",
    ):
        xz.broadcast_axis(X.resize(7))
    with pytest.raises(TypeError, match="broadcast_axis: argument 'axis': expected Axis objects"):
        xz.broadcast_axis("Y")
    with pytest.raises(ValueError, match="names an axis twice"):
        xz.broadcast_axis((Y, Y))


# --------------------------------------------------------------------------------------------------
# broadcast_arrays


def test_broadcast_arrays_uses_the_biggest_array_order():
    zx, xz, x = rand((Z, X)), rand((X, Z), seed=1), rand((X,), seed=2)
    (a, b, c), axes = hax.broadcast_arrays_and_return_axes(x, xz, zx)
    assert axes == (X, Z)  # tie on size: the earliest of the biggest
    assert a.axes == b.axes == c.axes == (X, Z)
    np.testing.assert_allclose(c.array, zx.array.T)
    np.testing.assert_allclose(a.array, np.broadcast_to(np.asarray(x.array)[:, None], (2, 4)))
    (_, _), axes = hax.broadcast_arrays_and_return_axes(zx, xz)
    assert axes == (Z, X)
    xyz = rand((Y, X, Z))
    outs = hax.broadcast_arrays(x, xyz, None, 3.0)
    assert outs[0].axes == (Y, X, Z) and outs[2] is None and outs[3] == 3.0
    assert hax.broadcast_arrays(None, 1.0) == (None, 1.0)


def test_broadcast_arrays_union_and_errors():
    xy, zy = rand((X, Y)), rand((Z, Y), seed=1)
    with pytest.raises(ValueError, match="broadcast_arrays: Cannot broadcast .* no subset relationship"):
        hax.broadcast_arrays(xy, zy)
    (a, b), axes = hax.broadcast_arrays_and_return_axes(xy, zy, require_subset=False)
    assert axes == (X, Z, Y)  # zy is bigger; X is missing from it and goes in front
    assert a.axes == b.axes == axes
    np.testing.assert_allclose(a.array, np.broadcast_to(np.asarray(xy.array)[:, None, :], (2, 4, 3)))
    with pytest.raises(
        ValueError, match=r"broadcast_arrays: axis X has conflicting sizes: 5 \(arrays\[1\]\), 2 \(arrays\[0\]\)"
    ):
        hax.broadcast_arrays(xy, rand((X.resize(5), Y)), require_subset=False)
    # the sizes are attributed to the arguments they come from (X enters the union through arrays[1])
    with pytest.raises(
        ValueError, match=r"broadcast_arrays: axis X has conflicting sizes: 2 \(arrays\[1\]\), 5 \(arrays\[0\]\)"
    ):
        hax.broadcast_arrays(rand((X.resize(5),)), xy, zy, require_subset=False)
    outs = hax.broadcast_arrays(hax.arange(Y), rand((X, Y)), ensure_order=False)
    assert outs[0].axes == (X, Y)


@pytest.mark.parametrize("promotion", ["allow", "raise"])
def test_binary_ops_align_by_name_under_either_rank_promotion_rule(promotion):
    """The cached alignment plan of binary ops depends on the rank-promotion rule (leading size-1 dims are left
    to NumPy broadcasting only when it is allowed); the values never do."""
    X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)
    a = hax.random.normal(jax.random.PRNGKey(0), (X, Y, Z))
    for b_axes in [(Z,), (Y, Z), (Z, Y), (X,), (Z, X)]:
        b = hax.random.normal(jax.random.PRNGKey(1), b_axes)
        want = a.array + b.rearrange(tuple(ax for ax in (X, Y, Z) if ax in b_axes)).array.reshape(
            tuple(ax.size if ax in b_axes else 1 for ax in (X, Y, Z))
        )
        with jax.numpy_rank_promotion(promotion):
            for out in (a + b, b + a):
                assert out.axes == (X, Y, Z)
                np.testing.assert_array_equal(out.array, want)
    with pytest.raises(ValueError, match="add: Cannot broadcast"):
        a + hax.ones(hax.Axis("W", 2))
