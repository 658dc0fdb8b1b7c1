"""Elementwise functions and operators: each named function against the jnp function it wraps, on
operands whose axes are in different orders."""

import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
from haliax import NamedArray
from haliax.ops.elementwise import BINARY_FUNCTIONS, UNARY_FUNCTIONS

X, Y = hax.make_axes(X=2, Y=3)
INT_ONLY = {"bitwise_count", "bitwise_invert", "bitwise_not", "invert"}
INT_BINARY = {
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
}


def data(axes, *, kind="float", seed=0):
    shape = tuple(a.size for a in axes)
    rng = np.random.default_rng(seed)
    if kind == "int":
        return hax.named(jnp.asarray(rng.integers(0, 5, shape), jnp.int32), axes)
    return hax.named(jnp.asarray(rng.uniform(0.1, 0.9, shape), jnp.float32), axes)


@pytest.mark.parametrize("name", sorted(UNARY_FUNCTIONS))
def test_unary_matches_jnp(name):
    x = data((Y, X), kind="int" if name in INT_ONLY else "float")
    if name == "arccosh":
        x = x + 1.0
    fn = getattr(hax, name)
    out = fn(x)
    assert isinstance(out, NamedArray) and out.axes == (Y, X)
    expected = UNARY_FUNCTIONS[name](x.array)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(expected), rtol=1e-5, atol=1e-6)
    # plain input passes straight through
    np.testing.assert_allclose(np.asarray(fn(x.array)), np.asarray(expected), rtol=1e-5, atol=1e-6)


def test_unary_extras():
    assert UNARY_FUNCTIONS["rsqrt"] is jax.lax.rsqrt
    x = data((X, Y))
    np.testing.assert_allclose(hax.fix(x * 10 - 5).array, jnp.trunc(x.array * 10 - 5))
    np.testing.assert_allclose(hax.round(x * 10, 1).array, jnp.round(x.array * 10, 1))
    m, e = hax.frexp(x)
    em, ee = jnp.frexp(x.array)
    assert m.axes == e.axes == (X, Y)
    np.testing.assert_array_equal(m.array, em)
    np.testing.assert_array_equal(e.array, ee)
    assert hax.ndim(x) == 2 and hax.ndim(jnp.ones((1, 2, 3))) == 3


@pytest.mark.parametrize("name", sorted(BINARY_FUNCTIONS))
def test_binary_matches_jnp_with_axes_in_different_orders(name):
    kind = "int" if name in INT_BINARY else "float"
    a, b = data((X, Y), kind=kind, seed=1), data((Y, X), kind=kind, seed=2)
    fn = getattr(hax, name)
    jfn = BINARY_FUNCTIONS[name]
    out = fn(a, b)
    assert out.axes == (X, Y)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(jfn(a.array, b.array.T)), rtol=1e-5)
    # subset operand on the left, scalar on either side
    y = data((Y,), kind=kind, seed=3)
    out = fn(y, a)
    assert out.axes == (X, Y)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(jfn(y.array[None, :], a.array)), rtol=1e-5)
    two = 2 if kind == "int" else 2.0
    np.testing.assert_allclose(np.asarray(fn(a, two).array), np.asarray(jfn(a.array, two)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fn(two, a).array), np.asarray(jfn(two, a.array)), rtol=1e-5)
    # plain arrays pass straight through
    np.testing.assert_allclose(np.asarray(fn(a.array, a.array)), np.asarray(jfn(a.array, a.array)), rtol=1e-5)


BINARY_OPS = [
    (operator.add, jnp.add),
    (operator.sub, jnp.subtract),
    (operator.mul, jnp.multiply),
    (operator.truediv, jnp.true_divide),
    (operator.floordiv, jnp.floor_divide),
    (operator.mod, jnp.mod),
    (operator.pow, jnp.power),
    (operator.lt, jnp.less),
    (operator.le, jnp.less_equal),
    (operator.gt, jnp.greater),
    (operator.ge, jnp.greater_equal),
    (operator.eq, jnp.equal),
    (operator.ne, jnp.not_equal),
]
INT_OPS = [
    (operator.and_, jnp.bitwise_and),
    (operator.or_, jnp.bitwise_or),
    (operator.xor, jnp.bitwise_xor),
    (operator.lshift, jnp.left_shift),
    (operator.rshift, jnp.right_shift),
]


@pytest.mark.parametrize("op, jfn", BINARY_OPS + INT_OPS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_operators_and_reflected_forms(op, jfn):
    kind = "int" if (op, jfn) in INT_OPS else "float"
    a, b = data((X, Y), kind=kind, seed=1), data((Y, X), kind=kind, seed=2)
    out = op(a, b)
    assert isinstance(out, NamedArray) and out.axes == (X, Y)
    np.testing.assert_allclose(np.asarray(out.array), np.asarray(jfn(a.array, b.array.T)), rtol=1e-5)
    three = 3 if kind == "int" else 3.0
    np.testing.assert_allclose(np.asarray(op(three, a).array), np.asarray(jfn(three, a.array)), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(op(a, three).array), np.asarray(jfn(a.array, three)), rtol=1e-5)


def test_unary_operators_and_divmod():
    a = data((X, Y)) - 0.5
    np.testing.assert_allclose((-a).array, -a.array)
    np.testing.assert_allclose((+a).array, a.array)
    np.testing.assert_allclose(abs(a).array, jnp.abs(a.array))
    i = data((X, Y), kind="int")
    np.testing.assert_array_equal((~i).array, ~i.array)
    q, r = divmod(i + 3, data((Y,), kind="int", seed=4) + 1)
    assert q.axes == r.axes == (X, Y)
    dq, dr = jnp.divmod(i.array + 3, data((Y,), kind="int", seed=4).array[None, :] + 1)
    np.testing.assert_array_equal(q.array, dq)
    np.testing.assert_array_equal(r.array, dr)
    q2, r2 = divmod(7, i + 1)
    np.testing.assert_array_equal(q2.array, 7 // (i.array + 1))
    np.testing.assert_array_equal(r2.array, 7 % (i.array + 1))


def test_clip():
    a = data((X, Y)) * 10
    np.testing.assert_allclose(hax.clip(a, 2.0, 5.0).array, jnp.clip(a.array, 2.0, 5.0))
    lo = hax.named(jnp.array([1.0, 2.0, 3.0]), "Y")
    hi = hax.named(jnp.array([6.0, 7.0]), "X")
    out = hax.clip(a, lo, hi)
    assert out.axes == (X, Y)
    np.testing.assert_allclose(out.array, jnp.clip(a.array, lo.array[None, :], hi.array[:, None]))
    np.testing.assert_allclose(hax.clip(a, None, 5.0).array, jnp.minimum(a.array, 5.0))
    np.testing.assert_allclose(a.clip(2.0, None).array, jnp.maximum(a.array, 2.0))
    with pytest.raises(TypeError):
        hax.clip(a, 1.0)  # a_min and a_max are both required, as in Haliax


def test_isclose_allclose_array_equal_equiv():
    a = data((X, Y))
    b = hax.named(a.array.T + 1e-7, (Y, X))
    close = hax.isclose(a, b)
    assert close.axes == (X, Y) and bool(jnp.all(close.array))
    assert hax.allclose(a, b) is True
    assert hax.allclose(a, b + 1.0) is False
    assert hax.allclose(a, a + 0.05, atol=0.1)
    assert hax.isclose(a, jnp.nan, equal_nan=True).axes == (X, Y)
    same = hax.named(a.array.T, (Y, X))
    assert hax.array_equal(a, same)
    assert not hax.array_equal(a, same + 1)
    assert not hax.array_equal(a, a.sum("Y"))
    assert hax.array_equiv(hax.ones((X, Y)), hax.ones(Y))
    assert not hax.array_equiv(hax.ones((X, Y)), hax.zeros(Y))
    assert not hax.array_equiv(hax.ones(X), hax.ones(Y))


def test_wrap_helpers():
    x = data((X, Y))
    out = hax.wrap_elemwise_unary(jnp.tanh, x)
    assert out.axes == (X, Y)
    np.testing.assert_allclose(out.array, jnp.tanh(x.array))
    assert hax.wrap_elemwise_unary(jnp.tanh, 0.5) == jnp.tanh(0.5)
    with pytest.raises(ValueError, match="does not match shape of axes"):
        hax.wrap_elemwise_unary(lambda v: v.sum(), x)  # user functions are shape-checked

    def halfdiff(u, v):
        return (u - v) / 2

    binop = hax.wrap_elemwise_binary(halfdiff)
    assert binop.__name__ == "halfdiff"
    out = binop(x, hax.named(x.array.T, (Y, X)))
    assert out.axes == (X, Y) and float(jnp.abs(out.array).max()) == 0.0
    with pytest.raises(ValueError, match="halfdiff: Cannot broadcast"):
        binop(x, hax.ones(hax.Axis("Q", 2)))
    assert hax.unwrap_namedarrays(x, 1, None)[0] is x.array


def test_grads_through_named_elementwise_ops():
    a, b = data((X, Y), seed=5), data((Y, X), seed=6)

    def named_fn(u, v):
        return (hax.exp(u) * hax.sin(v) + u**2 / (v + 1.0) - hax.logaddexp(u, v)).array

    check_grads(lambda u, v: named_fn(u, v), (a, b), order=2, modes=["rev"], eps=1e-2, atol=1e-2, rtol=1e-2)
    ga = jax.grad(lambda u, v: named_fn(u, v).sum(), argnums=(0, 1))(a, b)

    def plain(u, v):
        vt = v.T
        return jnp.sum(jnp.exp(u) * jnp.sin(vt) + u**2 / (vt + 1.0) - jnp.logaddexp(u, vt))

    gp = jax.grad(plain, argnums=(0, 1))(a.array, b.array)
    np.testing.assert_allclose(ga[0].array, gp[0], rtol=1e-5)
    np.testing.assert_allclose(ga[1].array, gp[1], rtol=1e-5)
    assert ga[1].axes == (Y, X)
