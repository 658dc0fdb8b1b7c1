"""Reductions and axis-wise ops against jnp, on arrays whose axes are in different orders."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis, NamedArray
from haliax.ops.reductions import REDUCTIONS

X, Y, Z = hax.make_axes(X=2, Y=3, Z=4)


def data(axes, seed=0, nan=False):
    shape = tuple(a.size for a in axes)
    arr = jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)
    if nan:
        arr = arr.at[(0,) * len(shape)].set(jnp.nan)
    return hax.named(arr, axes)


def jnp_axis(x, sel):
    """The integer axes of x that a named selection stands for (written independently of haliax)."""
    if isinstance(sel, (str, Axis)):
        sel = [sel]
    names = [s.name if isinstance(s, Axis) else s for s in sel]
    return tuple([a.name for a in x.axes].index(n) for n in names)


SELECTIONS = ["Y", ("Z", "X"), Y, {"X": None, "Y": 3}]


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_matches_jnp(name):
    fn, _, extra = REDUCTIONS[name]
    x = data((Z, X, Y), nan=name.startswith("nan"))
    hfn = getattr(hax, name)
    for sel in SELECTIONS:
        out = hfn(x, sel)
        idx = jnp_axis(x, sel)
        assert out.axes == tuple(a for i, a in enumerate(x.axes) if i not in idx)
        np.testing.assert_allclose(np.asarray(out.array), np.asarray(fn(x.array, axis=idx)), rtol=1e-5, atol=1e-6)
    full = hfn(x)
    assert isinstance(full, NamedArray) and full.axes == ()
    np.testing.assert_allclose(np.asarray(full.array), np.asarray(fn(x.array)), rtol=1e-5, atol=1e-6)
    # method spelling (where it exists) agrees
    if hasattr(NamedArray, name):
        np.testing.assert_allclose(np.asarray(getattr(x, name)("Y").array), np.asarray(hfn(x, "Y").array), rtol=1e-6)
    # plain arrays go to the jnp function with integer axes
    np.testing.assert_allclose(np.asarray(hfn(x.array, 1)), np.asarray(fn(x.array, axis=1)), rtol=1e-5)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "all", "any", "std", "var", "nansum"])
def test_where(name):
    x = data((X, Y, Z))
    mask = hax.named(jnp.array([[True, False, True, True], [False, True, True, True]]), (X, Z))
    fn = REDUCTIONS[name][0]
    kw = {"initial": -5.0 if name == "max" else 5.0} if name in ("max", "min") else {}
    out = getattr(hax, name)(x, "Z", where=mask, **kw)
    expected = fn(x.array, axis=2, where=mask.array[:, None, :], **kw)
    assert out.axes == (X, Y)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(expected), rtol=1e-5)
    # a mask whose axes are in another order broadcasts by name
    mask_t = hax.named(mask.array.T, (Z, X))
    np.testing.assert_allclose(
        np.asarray(getattr(hax, name)(x, "Z", where=mask_t, **kw).array), np.asarray(expected), rtol=1e-5
    )


def test_mean_where_averages_selected_elements():
    x = hax.named(jnp.array([1.0, 2.0, 3.0, 10.0]), "Z")
    m = hax.named(jnp.array([True, True, True, False]), "Z")
    assert hax.mean(x, where=m).item() == 2.0


def test_dtype_and_ddof():
    x = data((X, Y, Z))
    assert hax.sum(x, "Y", dtype=jnp.float16).dtype == jnp.float16
    assert hax.mean(hax.arange(Z), dtype=jnp.float32).dtype == jnp.float32
    np.testing.assert_allclose(hax.var(x, "Z", ddof=1).array, jnp.var(x.array, axis=2, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(hax.std(x, ("X", "Z"), ddof=1).array, jnp.std(x.array, axis=(0, 2), ddof=1), rtol=1e-5)


@pytest.mark.parametrize("name", ["argmax", "argmin", "nanargmax", "nanargmin"])
def test_arg_reductions(name):
    x = data((Z, X, Y), nan=name.startswith("nan"))
    jfn = getattr(jnp, name)
    for sel, ax in (("X", 1), (Y, 2), (("Z",), 0)):
        out = getattr(hax, name)(x, sel)
        assert out.axes == tuple(a for i, a in enumerate(x.axes) if i != ax)
        np.testing.assert_array_equal(out.array, jfn(x.array, axis=ax))
    flat = getattr(hax, name)(x)
    assert flat.axes == () and int(flat.array) == int(jfn(x.array))
    with pytest.raises(ValueError, match=f"{name} only supports a single axis"):
        getattr(hax, name)(x, ("X", "Y"))


def test_reduction_errors():
    x = data((X, Y, Z))
    with pytest.raises(
        ValueError, match="sum: argument 'axis': axis y not found in \\(X\\(2\\), Y\\(3\\), Z\\(4\\)\\)"
    ) as e:
        hax.sum(x, "y")
    assert "Did you mean 'Y'?" in str(e.value)
    with pytest.raises(
        ValueError,
        match=r"mean: argument 'axis': Found axis with same name but different size: asked for Y\(7\), the array has Y\(3\)",
    ):
        hax.mean(x, Y.resize(7))
    with pytest.raises(ValueError, match="given more than once"):
        hax.sum(x, ("X", "X"))
    with pytest.raises(TypeError, match="sum: argument 'where' must be a NamedArray"):
        hax.sum(x, "X", where=jnp.ones((2, 3, 4), bool))
    with pytest.raises(ValueError, match="extra axes present"):
        hax.sum(x, "X", where=hax.ones((X, Axis("Q", 2)), dtype=bool))
    with pytest.raises(TypeError, match="keepdims"):
        hax.sum(x, "X", keepdims=True)  # TypeError (no such parameter), as in Haliax
    with pytest.raises(TypeError, match="out"):
        hax.max(x, "X", out=None)
    with pytest.raises(ValueError, match="ptp does not support the argument 'where'"):
        hax.ptp(x, "X", where=x > 0)
    with pytest.raises(TypeError, match="sum: argument 'axis'"):
        hax.sum(x, 0)
    with pytest.raises(TypeError, match="sum: argument 'axis': expected an axis name"):
        hax.sum(x, (0,))
    with pytest.raises(ValueError, match="max: argument 'axis': axis Q not found"):
        x.max("Q")


def test_unhashable_selections_work():
    x = data((X, Y, Z))
    np.testing.assert_allclose(hax.sum(x, ["Z", "X"]).array, jnp.sum(x.array, axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(hax.sum(x, {"Z": 4}).array, jnp.sum(x.array, axis=2), rtol=1e-6)


def test_reductions_map_over_pytrees():
    a, b = data((X, Y)), data((Y, Z), 1)
    out = hax.sum((a, {"b": b}), "Y")
    assert out[0].axes == (X,) and out[1]["b"].axes == (Z,)
    np.testing.assert_allclose(out[1]["b"].array, jnp.sum(b.array, axis=0), rtol=1e-6)
    m = hax.max([a, b])
    assert [v.axes for v in m] == [(), ()]


def test_wrap_reduction_call_with_custom_fn():
    x = data((X, Y, Z))

    def l2(arr, axis=None):
        return jnp.sqrt(jnp.sum(arr**2, axis=axis))

    out = hax.wrap_reduction_call(l2, x, ("Y", "Z"))
    assert out.axes == (X,)
    np.testing.assert_allclose(out.array, l2(x.array, axis=(1, 2)), rtol=1e-6)
    with pytest.raises(ValueError, match="l2 only supports a single axis"):
        hax.wrap_reduction_call(l2, x, ("Y", "Z"), single_axis_only=True)
    with pytest.raises(ValueError, match="l2 does not support the argument 'where'"):
        hax.wrap_reduction_call(l2, x, "Y", where=x > 0, supports_where=False)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_axiswise(name):
    x = data((Z, X, Y), nan=name.startswith("nan"))
    jfn = getattr(jnp, name)
    out = getattr(hax, name)(x, "X")
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, jfn(x.array, axis=1), rtol=1e-5)
    raw = getattr(hax, name)(x)  # axis=None returns a raw array, as in Haliax
    assert not isinstance(raw, NamedArray)
    np.testing.assert_allclose(raw, jfn(x.array), rtol=1e-5)
    assert getattr(hax, name)(x, "Y", dtype=jnp.float16).dtype == jnp.float16
    with pytest.raises(ValueError, match="axis Q not found"):
        getattr(hax, name)(x, "Q")
    with pytest.raises(ValueError, match="only supports a single axis"):
        getattr(hax, name)(x, ("X", "Y"))


def test_sort_argsort_top_k():
    x = data((Z, X))
    np.testing.assert_array_equal(hax.sort(x, "Z").array, jnp.sort(x.array, axis=0))
    np.testing.assert_array_equal(x.sort("X").array, jnp.sort(x.array, axis=1))
    np.testing.assert_array_equal(hax.argsort(x, "Z").array, jnp.argsort(x.array, axis=0))
    np.testing.assert_array_equal(hax.argsort(x, "Z", stable=True).array, jnp.argsort(x.array, axis=0, stable=True))
    assert not isinstance(hax.sort(x), NamedArray)

    vals, idx = hax.top_k(x, "Z", 2)
    assert vals.axes == idx.axes == (Z.resize(2), X)
    ev, ei = jax.lax.top_k(x.array.T, 2)
    np.testing.assert_array_equal(vals.array, ev.T)
    np.testing.assert_array_equal(idx.array, ei.T)
    vals, _ = x.top_k("Z", 3, new_axis="K")
    assert vals.axes == (Axis("K", 3), X)
    vals, _ = hax.top_k(x, "Z", 1, new_axis=Axis("K", 1))
    assert vals.axes == (Axis("K", 1), X)
    with pytest.raises(ValueError, match="top_k: new_axis K\\(5\\) must have size k=1"):
        hax.top_k(x, "Z", 1, new_axis=Axis("K", 5))
    with pytest.raises(ValueError, match="top_k: k=9"):
        hax.top_k(x, "Z", 9)
    with pytest.raises(ValueError, match="top_k: argument 'axis': axis W not found"):
        hax.top_k(x, "W", 1)


def test_reduction_grad_and_jit():
    x = data((Z, X, Y))

    def f(v):
        return (hax.mean(v, "X") * hax.max(v, ("X", "Y"))).sum().scalar()

    def g(a):
        return jnp.sum(jnp.mean(a, axis=1) * jnp.max(a, axis=(1, 2))[:, None])

    np.testing.assert_allclose(jax.grad(f)(x).array, jax.grad(g)(x.array), rtol=1e-5)
    np.testing.assert_allclose(jax.jit(f)(x), g(x.array), rtol=1e-5)
