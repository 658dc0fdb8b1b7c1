"""NamedArray: construction and invariants, pytree, properties, axis queries, printing, dunders
(equality, no iteration, dtypes under x64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)


def xyz():
    return hax.named(jnp.arange(24.0).reshape(2, 3, 4), (X, Y, Z))


# --------------------------------------------------------------------------------------------------
# construction


def test_construction_forms():
    a = jnp.zeros((2, 3))
    assert NamedArray(a, (X, Y)).axes == (X, Y)
    assert NamedArray(a, [X, Y]).axes == (X, Y)
    assert NamedArray(a, {"X": 2, "Y": 3}).axes == (X, Y)
    assert NamedArray(jnp.zeros(2), X).axes == (X,)
    assert NamedArray(jnp.zeros(()), ()).axes == ()


def test_construction_errors():
    a = jnp.zeros((2, 3))
    with pytest.raises(TypeError, match="Expected Axis, got 'X'"):
        NamedArray(a, ("X", Y))
    with pytest.raises(TypeError, match="Expected Axis"):
        NamedArray(a, "XY")
    with pytest.raises(TypeError, match="Expected Axis"):
        NamedArray(a, (X, ["Y", 3]))  # unhashable entry still gets the proper message
    with pytest.raises(ValueError, match="Axes must be unique") as e:
        NamedArray(jnp.zeros((2, 2)), (X, X))
    assert "repeated: ['X']" in str(e.value)
    with pytest.raises(ValueError, match="Axes must be unique"):
        NamedArray(jnp.zeros((2, 5)), (X, X.resize(5)))
    with pytest.raises(ValueError, match=r"Shape of underlying array \(2, 3\) does not match shape of axes"):
        NamedArray(a, (Y, X))


def test_shape_checks_context():
    assert hax.are_shape_checks_enabled()
    with hax.enable_shape_checks(False) as prev:
        assert prev is True
        assert not hax.are_shape_checks_enabled()
        bad = NamedArray(jnp.zeros(3), (X,))  # not checked
        assert bad.axes == (X,)
        with pytest.raises(ValueError, match="unique"):  # uniqueness is always checked
            NamedArray(jnp.zeros((2, 2)), (X, X))
    assert hax.are_shape_checks_enabled()


def test_immutable():
    x = xyz()
    with pytest.raises(AttributeError):
        x.axes = (X,)


def test_pytree():
    x = xyz()
    leaves, treedef = jax.tree_util.tree_flatten(x)
    assert len(leaves) == 1 and leaves[0] is x.array
    y = jax.tree_util.tree_unflatten(treedef, [None])  # placeholders are allowed (no shape check)
    assert y.array is None and y.axes == x.axes
    z = jax.tree_util.tree_map(lambda a: a * 2, x)
    assert isinstance(z, NamedArray) and z.axes == x.axes
    np.testing.assert_array_equal(z.array, x.array * 2)
    s = jax.eval_shape(lambda v: v, x)
    assert s.axes == x.axes and s.array.shape == (2, 3, 4)
    out = jax.jit(lambda v: v + 1)(x)
    assert out.axes == x.axes
    np.testing.assert_array_equal(out.array, x.array + 1)
    vm = jax.vmap(lambda v: v.sum())(x)  # batched leaves inside transformations are fine
    assert vm.array.shape == (2,)


def test_named():
    a = jnp.zeros((2, 3))
    assert hax.named(a, ("X", "Y")).axes == (X, Y)
    assert hax.named(a, (X, "Y")).axes == (X, Y)
    assert hax.named(a, {"X": 2, "Y": None}).axes == (X, Y)
    assert hax.named(jnp.zeros(4), "Z").axes == (Z,)
    assert hax.named([1, 2], "X").array.dtype == jnp.int32
    assert hax.named(np.ones((2, 3)), (X, Y)).axes == (X, Y)
    with pytest.raises(ValueError, match="named: Shape mismatch: axis X\\(5\\) does not match"):
        hax.named(a, (X.resize(5), "Y"))
    with pytest.raises(ValueError, match="named: Shape mismatch: array has shape \\(2, 3\\)"):
        hax.named(a, "X")
    with pytest.raises(TypeError, match="named: argument 'axis'"):
        hax.named(a, ("X", 3))


# --------------------------------------------------------------------------------------------------
# properties and conversions


def test_properties():
    x = xyz()
    assert x.shape == {"X": 2, "Y": 3, "Z": 4}
    assert isinstance(x.shape, dict)
    assert x.dtype == jnp.float32
    assert x.ndim == 3
    assert x.size == 24
    assert x.nbytes == 96
    assert x.tolist() == np.arange(24.0).reshape(2, 3, 4).tolist()
    assert x.tobytes() == np.arange(24, dtype=np.float32).tobytes()
    c = x.copy()
    assert c.axes == x.axes and c.array is not x.array
    np.testing.assert_array_equal(c.array, x.array)
    one = hax.named(jnp.array([5.0]), "X")
    assert one.item() == 5.0 and isinstance(one.item(), float)
    s = x.sum()
    assert s.axes == () and float(s.scalar()) == 276.0
    with pytest.raises(ValueError, match="Expected scalar, got 3-dimensional array"):
        x.scalar()


def test_complex_parts():
    z = hax.named(jnp.array([1 + 2j, 3 - 4j]), "X")
    np.testing.assert_array_equal(z.real.array, jnp.array([1.0, 3.0]))
    np.testing.assert_array_equal(z.imag.array, jnp.array([2.0, -4.0]))
    np.testing.assert_array_equal(z.conj().array, jnp.array([1 - 2j, 3 + 4j]))
    assert z.real.axes == z.axes


def test_astype():
    x = hax.arange(X)
    assert x.astype(jnp.float16).dtype == jnp.float16
    assert x.astype(jnp.float16).axes == (X,)
    assert x.astype(None).dtype == jnp.float32  # default float
    with jax.enable_x64(True):
        y = hax.arange(X)
        assert y.dtype == jnp.int64  # the default int under x64, as in JAX
        assert y.astype(None).dtype == jnp.float64


def test_str_repr():
    x = hax.named(jnp.array([0, 1], dtype=jnp.int32), "X")
    assert str(x) == "NamedArray(int32{'X': 2}, [0 1])"
    assert repr(x).startswith("NamedArray(array=Array([0, 1], dtype=int32), axes=(Axis(name='X', size=2),))")
    seen = []

    @jax.jit
    def f(v):
        seen.append(str(v))
        return v

    f(x)
    assert seen == ["NamedArray(Tracer<int32{'X': 2}>)"]
    hollow = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(x), [None])
    assert "None" in str(hollow)


def test_no_implicit_jax_array():
    assert not hasattr(NamedArray, "__jax_array__")
    with pytest.raises(TypeError):
        jnp.sin(xyz())


def test_scalar_conversions_defer_to_the_raw_array():
    zero_d = hax.named(jnp.array(3.0), ())
    assert float(zero_d) == 3.0
    assert int(hax.named(jnp.array(3), ())) == 3
    assert complex(zero_d) == 3 + 0j
    assert bool(hax.named(jnp.array([1]), "X")) is True
    assert [10, 20, 30, 40][hax.named(jnp.array(2), ())] == 30  # __index__
    one = hax.named(jnp.array([3.0]), "X")
    for conv in (float, int, complex):  # whatever the raw array does (JAX 0.10: only 0-d converts)
        try:
            expected = conv(one.array)
        except TypeError:
            with pytest.raises(TypeError):
                conv(one)
        else:
            assert conv(one) == expected
    with pytest.raises((TypeError, ValueError)):
        bool(xyz())


def test_matmul_raises():
    x = xyz()
    with pytest.raises(ValueError, match="matmul is too ambiguous with NamedArrays. Use dot instead."):
        _ = x @ x
    with pytest.raises(ValueError, match="matmul is too ambiguous"):
        _ = jnp.ones((4, 2)) @ x


def test_hashable_by_identity():
    x = xyz()
    assert hash(x) == hash(x)
    assert len({x, x}) == 1


# --------------------------------------------------------------------------------------------------
# equality and iteration (no __len__/__iter__, as in Haliax)


def test_eq_is_elementwise():
    x = hax.arange(X)
    e = x == hax.named(jnp.array([0, 5]), "X")
    assert isinstance(e, NamedArray) and e.tolist() == [True, False]
    assert (x != 0).tolist() == [False, True]
    assert (x == 1).tolist() == [False, True]


def test_eq_with_none_arrays_is_a_bool():
    treedef = jax.tree_util.tree_structure(hax.arange(X))
    h1 = jax.tree_util.tree_unflatten(treedef, [None])
    h2 = jax.tree_util.tree_unflatten(treedef, [None])
    assert (h1 == h2) is True
    assert (h1 != h2) is False
    assert (h1 == hax.arange(X)) is False
    assert (hax.arange(X) == h1) is False
    assert (hax.arange(X) != h1) is True
    other = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(hax.arange(Y)), [None])
    assert (h1 == other) is False


def test_no_len_no_iter_iteration_raises_value_error():
    x = hax.arange(X)
    assert not hasattr(NamedArray, "__len__")
    assert not hasattr(NamedArray, "__iter__")
    with pytest.raises(ValueError, match="Invalid index type"):
        list(x)
    with pytest.raises(ValueError, match="Invalid index type"):
        a, b = x
    with pytest.raises(ValueError, match="Invalid index type"):
        for _ in x:
            pass
    with pytest.raises(TypeError):
        len(x)


# --------------------------------------------------------------------------------------------------
# axis queries


def test_axis_indices():
    x = xyz()
    assert x.axis_indices("Y") == 1
    assert x.axis_indices(Z) == 2
    assert x.axis_indices("Q") is None
    assert x.axis_indices(("Z", "Q", X)) == (2, None, 0)
    assert x.axis_indices({"Y": None, "X": 2}) == (1, 0)
    with pytest.raises(RuntimeError, match="Found axis with same name but different size"):
        x.axis_indices(X.resize(7))
    with pytest.raises(TypeError, match="axis_indices: argument .sel.: expected an axis name or Axis"):
        x.axis_indices(3)


def test_has_axis_checks_every_axis_of_a_sequence():
    x = xyz()
    assert x.has_axis("X")
    assert not x.has_axis("Q")
    assert x.has_axis((X, "Z"))
    assert not x.has_axis(("X", "Q"))  # Haliax says True here
    assert x.has_axis(())
    assert x.has_axis({"X": None, "Y": 3})
    assert not x.has_axis({"Q": None})
    with pytest.raises(RuntimeError):
        x.has_axis(Y.resize(9))


def test_axis_size_and_resolve_axis():
    x = xyz()
    assert x.axis_size("Y") == 3
    assert x.axis_size(("Z", X)) == (4, 2)
    assert x.axis_size({"X": None}) == (2,)
    assert x.resolve_axis("Z") == Z
    assert x.resolve_axis(("Z", "X")) == (Z, X)
    assert x.resolve_axis({"Y": None, "X": 2}) == {"Y": 3, "X": 2}
    with pytest.raises(ValueError, match="Axis Q not found") as e:
        x.resolve_axis("Q")
    assert "X(2), Y(3), Z(4)" in str(e.value) and "resolve_axis" in str(e.value)
    with pytest.raises(ValueError, match="Axis y not found.*Did you mean 'Y'"):
        x.axis_size("y")
    with pytest.raises(RuntimeError, match="same name but different size"):
        x.resolve_axis(Z.resize(1))


# --------------------------------------------------------------------------------------------------
# forwarded methods


def test_methods_forward_to_ops():
    x = xyz()
    np.testing.assert_allclose(x.sum("Y").array, jnp.sum(x.array, axis=1))
    np.testing.assert_allclose(x.mean(("X", "Z")).array, jnp.mean(x.array, axis=(0, 2)))
    assert x.sum("Y", jnp.float16).dtype == jnp.float16  # dtype positional in the method spelling
    np.testing.assert_allclose(x.var("Z", None, 1).array, jnp.var(x.array, axis=2, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(x.std("Z", ddof=1).array, jnp.std(x.array, axis=2, ddof=1), rtol=1e-6)
    w = hax.named(jnp.array([True, False, True]), "Y")
    np.testing.assert_allclose(x.sum("Y", where=w).array, jnp.sum(x.array, axis=1, where=w.array[None, :, None]))
    np.testing.assert_allclose(x.prod("X").array, jnp.prod(x.array, axis=0))
    np.testing.assert_allclose(x.product("X").array, jnp.prod(x.array, axis=0))
    assert x.argmax("Z").axes == (X, Y)
    assert x.max().axes == ()
    assert x.dot(hax.ones(Z), axis="Z").axes == (X, Y)
    assert x.broadcast_axis(Axis("W", 2)).axes[0].name == "W"
    assert x.broadcast_to((Z, Y, X)).axes == (Z, Y, X)
    assert x.clip(1, 2).max().item() == 2.0
    assert x.round().axes == x.axes
    assert x.cumsum("Y").axes == x.axes
    assert x.tril("Y", "Z").axes == (X, Y, Z)
    # a second call goes straight to the installed function
    assert x.clip(1, 2).min().item() == 1.0
