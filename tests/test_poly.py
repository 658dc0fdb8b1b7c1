"""haliax.poly against the jax.numpy polynomial functions, and the naming rule of the coefficient axis.

The top-level function ``haliax.poly`` shadows the submodule, so everything is imported from the module itself.
"""

import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
from haliax import Axis, NamedArray
from haliax.poly import (
    DEFAULT_POLY_AXIS_NAME,
    poly,
    polyadd,
    polyder,
    polydiv,
    polyfit,
    polyint,
    polymul,
    polysub,
    polyval,
    roots,
    trim_zeros,
    vander,
)
from tests.helpers import assert_same_on

P = jnp.array([1.0, 2.0, 3.0])
Q = jnp.array([1.0, -1.0])
p = hax.named(P, "coef")
q = hax.named(Q, "q")


def test_module_is_reachable_through_sys_modules():
    mod = sys.modules["haliax.poly"]
    assert isinstance(mod, types.ModuleType)
    assert mod.polyval is polyval
    assert DEFAULT_POLY_AXIS_NAME == "degree"
    assert "DEFAULT_POLY_AXIS_NAME" in mod.__all__ and "vander" in mod.__all__ and len(mod.__all__) == 13


# --------------------------------------------------------------------------------------------------
# the table of examples, and the naming rule


def test_poly():
    r = hax.named(jnp.array([1.0, 2.0]), "r")
    assert_same_on(poly(r), jnp.poly(r.array), (Axis("r", 3),))
    np.testing.assert_array_equal(poly(r).array, [1.0, -3.0, 2.0])
    assert_same_on(poly(jnp.array([1.0, 2.0])), jnp.poly(jnp.array([1.0, 2.0])), (Axis("degree", 3),))
    m = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    out = poly(m)
    assert_same_on(out, jnp.poly(m), (Axis("degree", 3),))
    assert out.dtype == jnp.complex64
    # a named matrix gives its characteristic polynomial too (Haliax rejects it), on the default axis
    for names in (("A", "B"), ("B", "A")):
        named_m = hax.named(m, names)
        assert_same_on(poly(named_m), jnp.poly(m), (Axis("degree", 3),))


def test_poly_rejects_non_square_or_higher_rank_named_input():
    with pytest.raises(ValueError, match="poly: argument 'seq_of_zeros': expected 1-D roots or a non-empty square"):
        poly(hax.zeros(hax.make_axes(A=2, B=3)))
    with pytest.raises(ValueError, match="poly: argument 'seq_of_zeros'"):
        poly(hax.zeros(hax.make_axes(A=2, B=2, C=2)))


def test_binary_examples_and_naming():
    assert_same_on(polyadd(p, q), jnp.polyadd(P, Q), (Axis("coef", 3),))
    np.testing.assert_array_equal(polyadd(p, q).array, [1, 3, 2])
    assert_same_on(polyadd(q, p), jnp.polyadd(Q, P), (Axis("q", 3),))
    assert_same_on(polysub(p, q), jnp.polysub(P, Q), (Axis("coef", 3),))
    np.testing.assert_array_equal(polysub(p, q).array, [1, 1, 4])
    assert_same_on(polymul(p, q), jnp.polymul(P, Q), (Axis("coef", 4),))
    np.testing.assert_array_equal(polymul(p, q).array, [1, 1, 1, -3])
    # the first named argument names the result; raw + raw gives "degree"
    for fn in (polyadd, polysub, polymul):
        jfn = getattr(jnp, fn.__name__)
        n = jfn(Q, P).shape[0]
        assert_same_on(fn(Q, p), jfn(Q, P), (Axis("coef", n),))
        assert_same_on(fn(q, P), jfn(Q, P), (Axis("q", n),))
        assert_same_on(fn(Q, P), jfn(Q, P), (Axis("degree", n),))


def test_polydiv():
    quo, rem = polydiv(p, q)
    want_q, want_r = jnp.polydiv(P, Q)
    assert_same_on(quo, want_q, (Axis("coef", 2),))
    assert_same_on(rem, want_r, (Axis("coef", 3),))
    np.testing.assert_array_equal(quo.array, [1, 3])
    np.testing.assert_array_equal(rem.array, [0, 0, 6])
    quo, rem = polydiv(P, q)
    assert quo.axes == (Axis("q", 2),) and rem.axes == (Axis("q", 3),)
    quo, rem = polydiv(P, Q)
    assert quo.axes == (Axis("degree", 2),) and rem.axes == (Axis("degree", 3),)


def test_polyint_and_polyder():
    assert_same_on(polyint(p), jnp.polyint(P), (Axis("coef", 4),))
    np.testing.assert_allclose(polyint(p).array, [1 / 3, 1, 3, 0], rtol=1e-6)
    out = polyint(p, k=hax.named(jnp.array([5.0]), "k"))
    assert_same_on(out, jnp.polyint(P, k=jnp.array([5.0])), (Axis("coef", 4),))
    assert out.array[-1] == 5
    assert_same_on(
        polyint(p, m=2, k=jnp.array([1.0, 2.0])), jnp.polyint(P, m=2, k=jnp.array([1.0, 2.0])), (Axis("coef", 5),)
    )
    assert_same_on(polyint(P, k=3.0), jnp.polyint(P, k=3.0), (Axis("degree", 4),))
    assert_same_on(polyder(p), jnp.polyder(P), (Axis("coef", 2),))
    np.testing.assert_array_equal(polyder(p).array, [2, 2])
    assert_same_on(polyder(p, m=2), jnp.polyder(P, m=2), (Axis("coef", 1),))
    assert_same_on(polyder(p, m=3), jnp.polyder(P, m=3), (Axis("coef", 0),))
    assert_same_on(polyder(P), jnp.polyder(P), (Axis("degree", 2),))


def test_polyval():
    xs = hax.arange(Axis("x", 4))
    assert_same_on(polyval(p, xs), jnp.polyval(P, xs.array), xs.axes)
    np.testing.assert_array_equal(polyval(p, xs).array, [3, 6, 11, 18])
    # a named x keeps its axes, in whatever order they are
    grid = jnp.asarray(np.random.default_rng(0).standard_normal((2, 3)), jnp.float32)
    for names in (("A", "B"), ("B", "A")):
        g = hax.named(grid if names == ("A", "B") else grid.T, names)
        assert_same_on(polyval(p, g), jnp.polyval(P, g.array), g.axes)
        assert_same_on(polyval(P, g), jnp.polyval(P, g.array), g.axes)
    # otherwise a raw array
    out = polyval(p, 2.0)
    assert not isinstance(out, NamedArray) and isinstance(out, jax.Array)
    assert out == 11.0
    raw = polyval(p, jnp.array([0.0, 1.0]))
    assert not isinstance(raw, NamedArray)
    np.testing.assert_array_equal(raw, jnp.polyval(P, jnp.array([0.0, 1.0])))
    np.testing.assert_array_equal(polyval(p, xs, unroll=1).array, jnp.polyval(P, xs.array, unroll=1))


def test_roots():
    c = hax.named(jnp.array([1.0, -3.0, 2.0]), "coef")
    out = roots(c)
    assert_same_on(out, jnp.roots(c.array), (Axis("coef", 2),))
    assert out.dtype == jnp.complex64
    np.testing.assert_allclose(sorted(out.array.real.tolist()), [1, 2], rtol=1e-5)
    lead = hax.named(jnp.array([0.0, 1.0, -3.0, 2.0]), "c")
    assert_same_on(roots(lead), jnp.roots(lead.array), (Axis("c", 2),))
    assert_same_on(roots(lead.array), jnp.roots(lead.array), (Axis("degree", 2),))
    assert_same_on(roots(lead, strip_zeros=False), jnp.roots(lead.array, strip_zeros=False), (Axis("c", 3),))


def test_trim_zeros():
    c = hax.named(jnp.array([0, 1, 2, 0]), "c")
    assert_same_on(trim_zeros(c), jnp.trim_zeros(c.array), (Axis("c", 2),))
    np.testing.assert_array_equal(trim_zeros(c).array, [1, 2])
    assert_same_on(trim_zeros(c, trim="f"), jnp.trim_zeros(c.array, "f"), (Axis("c", 3),))
    assert_same_on(trim_zeros(c, trim="b"), jnp.trim_zeros(c.array, "b"), (Axis("c", 3),))
    assert_same_on(trim_zeros(c.array), jnp.trim_zeros(c.array), (Axis("degree", 2),))


def test_vander():
    xs = hax.arange(Axis("x", 4))
    v = vander(xs, Axis("deg", 2))
    assert_same_on(v, jnp.vander(xs.array, 2), (Axis("x", 4), Axis("deg", 2)))
    np.testing.assert_array_equal(v.array, [[0, 1], [1, 1], [2, 1], [3, 1]])
    assert_same_on(vander(xs, "deg"), jnp.vander(xs.array), (Axis("x", 4), Axis("deg", 4)))
    assert_same_on(
        vander(xs, Axis("d", 3), increasing=True), jnp.vander(xs.array, 3, increasing=True), (xs.axes[0], Axis("d", 3))
    )


# --------------------------------------------------------------------------------------------------
# polyfit

XA = Axis("x", 4)
XS = hax.named(jnp.array([0.0, 1.0, 2.0, 3.0]), XA)
YS = hax.named(jnp.array([1.0, 2.1, 4.9, 10.2]), "y")


def test_polyfit_names_the_coefficients_after_the_samples():
    want = jnp.polyfit(XS.array, YS.array, 2)
    assert_same_on(polyfit(XS, YS, 2), want, (Axis("x", 3),))
    assert_same_on(polyfit(XS.array, YS, 2), want, (Axis("y", 3),))
    assert_same_on(polyfit(XS.array, YS.array, 2), want, (Axis("degree", 3),))
    assert_same_on(polyfit(XS, YS.array, 1), jnp.polyfit(XS.array, YS.array, 1), (Axis("x", 2),))
    assert_same_on(polyfit(XS, YS, 2, rcond=1e-3), jnp.polyfit(XS.array, YS.array, 2, rcond=1e-3), (Axis("x", 3),))


def test_polyfit_full_cov_and_weights():
    out = polyfit(XS, YS, 1, full=True)
    want = jnp.polyfit(XS.array, YS.array, 1, full=True)
    assert len(out) == 5
    assert_same_on(out[0], want[0], (Axis("x", 2),))
    for got, w in zip(out[1:], want[1:], strict=True):
        assert not isinstance(got, NamedArray)
        np.testing.assert_array_equal(got, w)
    coef, cov = polyfit(XS, YS, 1, cov=True)
    want_coef, want_cov = jnp.polyfit(XS.array, YS.array, 1, cov=True)
    assert_same_on(coef, want_coef, (Axis("x", 2),))
    assert_same_on(cov, want_cov, (Axis("x", 2), Axis("x_cov", 2)))
    w = jnp.array([1.0, 2.0, 1.0, 0.5])
    want_w = jnp.polyfit(XS.array, YS.array, 2, w=w)
    assert_same_on(polyfit(XS, YS, 2, w=w), want_w, (Axis("x", 3),))
    assert_same_on(polyfit(XS, YS, 2, w=hax.named(w, XA)), want_w, (Axis("x", 3),))


@pytest.mark.parametrize("order", ["xk", "kx"])
def test_polyfit_several_fits_at_once(order):
    # a 2-D y holds one fit per entry of its other axis (Haliax fails with a shape mismatch)
    K = Axis("k", 2)
    data = jnp.stack([YS.array, 2.0 * YS.array + 1.0], axis=1)  # (x, k)
    y = hax.named(data, (XA, K)) if order == "xk" else hax.named(data.T, (K, XA))
    want = jnp.polyfit(XS.array, data, 2)
    assert_same_on(polyfit(XS, y, 2), want, (Axis("x", 3), K))
    coef, cov = polyfit(XS, y, 1, cov=True)
    want_coef, want_cov = jnp.polyfit(XS.array, data, 1, cov=True)
    assert_same_on(coef, want_coef, (Axis("x", 2), K))
    assert_same_on(cov, want_cov, (Axis("x", 2), Axis("x_cov", 2), K))
    full = polyfit(XS, y, 1, full=True)
    want_full = jnp.polyfit(XS.array, data, 1, full=True)
    assert_same_on(full[0], want_full[0], (Axis("x", 2), K))
    np.testing.assert_array_equal(full[1], want_full[1])


def test_polyfit_errors():
    K = Axis("k", 2)
    y2 = hax.zeros((XA, K))
    with pytest.raises(ValueError, match="polyfit: argument 'y': with a 2-D y, x must be a NamedArray"):
        polyfit(XS.array, y2, 1)
    with pytest.raises(ValueError, match="polyfit: argument 'y': a 2-D y must be a NamedArray"):
        polyfit(XS, y2.array, 1)
    with pytest.raises(ValueError, match="polyfit: argument 'y': axis x not found in"):
        polyfit(XS, hax.zeros((Axis("s", 4), K)), 1)
    with pytest.raises(ValueError, match="polyfit: argument 'y': y must have 1 or 2 axes"):
        polyfit(XS, hax.zeros((XA, K, Axis("m", 2))), 1)
    with pytest.raises(ValueError, match="polyfit: argument 'x': Polynomial coefficient arrays must be 1D"):
        polyfit(y2, YS, 1)


# --------------------------------------------------------------------------------------------------
# errors


def test_named_inputs_must_be_1d():
    m = hax.zeros(hax.make_axes(A=2, B=3))
    cases = [
        (lambda: polyadd(m, q), "polyadd", "a1"),
        (lambda: polysub(p, m), "polysub", "a2"),
        (lambda: polymul(m, P), "polymul", "a1"),
        (lambda: polydiv(p, m), "polydiv", "v"),
        (lambda: polyint(m), "polyint", "p"),
        (lambda: polyder(m), "polyder", "p"),
        (lambda: polyval(m, 2.0), "polyval", "p"),
        (lambda: roots(m), "roots", "p"),
        (lambda: trim_zeros(m), "trim_zeros", "f"),
    ]
    for call, fn, arg in cases:
        with pytest.raises(ValueError, match=rf"{fn}: argument '{arg}': Polynomial coefficient arrays must be 1D"):
            call()


def test_python_lists_raise_jax_type_error():
    with pytest.raises(TypeError, match="polyadd requires ndarray or scalar arguments"):
        polyadd([1.0, 2.0], q)
    with pytest.raises(TypeError):
        polyval([1.0, 2.0], 1.0)


def test_vander_errors():
    xs = hax.arange(Axis("x", 4))
    with pytest.raises(ValueError, match="vander: argument 'x': vander only supports 1D input"):
        vander(hax.zeros(hax.make_axes(A=2, B=3)), "deg")
    with pytest.raises(ValueError, match="vander: argument 'degree': Axes must be unique, but x is also x's axis"):
        vander(xs, "x")
    with pytest.raises(TypeError, match="vander: argument 'x' must be a NamedArray, got ArrayImpl"):
        vander(xs.array, "deg")
    with pytest.raises(TypeError, match="vander: argument 'degree'"):
        vander(xs, 3)


# --------------------------------------------------------------------------------------------------
# jit and gradients


def test_roots_and_trim_zeros_are_not_jittable():
    c = hax.named(jnp.array([0.0, 1.0, -3.0, 2.0]), "c")
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(roots)(c)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(trim_zeros)(c)
    # without stripping, roots has a static size
    out = jax.jit(lambda a: roots(a, strip_zeros=False))(c)
    assert out.axes == (Axis("c", 3),)


def test_polyval_and_friends_under_jit():
    xs = hax.named(jnp.linspace(-1.0, 1.0, 5), "x")
    out = jax.jit(polyval)(p, xs)
    assert out.axes == xs.axes
    np.testing.assert_allclose(out.array, jnp.polyval(P, xs.array), rtol=1e-6)
    fit = jax.jit(lambda a, b: polyfit(a, b, 2))(XS, YS)
    assert fit.axes == (Axis("x", 3),)
    np.testing.assert_allclose(fit.array, jnp.polyfit(XS.array, YS.array, 2), rtol=1e-4, atol=1e-5)
    quo, rem = jax.jit(polydiv)(p, q)
    assert quo.axes == (Axis("coef", 2),) and rem.axes == (Axis("coef", 3),)


def test_polyval_gradients():
    def f(c, x):
        return polyval(hax.named(c, "coef"), hax.named(x, "x")).array

    check_grads(jax.jit(f), (P, jnp.array([-0.5, 0.25, 1.5])), order=2, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)
