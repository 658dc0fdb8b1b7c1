"""haliax.fft against jax.numpy.fft, on arrays whose axes are in different orders.

The top-level function ``haliax.fft`` shadows the submodule, so everything is imported from the module itself.
"""

import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
from haliax import Axis
from haliax.fft import fft, fftfreq, fftshift, hfft, ifft, ifftshift, ihfft, irfft, rfft, rfftfreq
from tests.helpers import assert_same_on

X, Y = hax.make_axes(X=4, Y=6)
T = Axis("T", 8)
LAYOUTS = [(X, Y), (Y, X)]


def real(axes, seed=0):
    shape = tuple(a.size for a in axes)
    return hax.named(jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32), axes)


def cplx(axes, seed=0):
    shape = tuple(a.size for a in axes)
    rng = np.random.default_rng(seed)
    arr = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return hax.named(jnp.asarray(arr, jnp.complex64), axes)


def pos(x, name):
    """The position of a named axis, written without haliax."""
    return [a.name for a in x.axes].index(name)


def ref(fn, x, names, s=None, norm=None):
    """The plain jnp call: the 1-D function for one axis, the n-D one for several."""
    p = tuple(pos(x, n) for n in names)
    if len(p) == 1:
        return getattr(jnp.fft, fn)(x.array, n=None if s is None else s[0], axis=p[0], norm=norm)
    return getattr(jnp.fft, fn + "n")(x.array, s=s, axes=p, norm=norm)


def expected_axes(x, changed):
    return tuple(changed.get(a.name, a) for a in x.axes)


def test_module_is_reachable_through_sys_modules():
    mod = sys.modules["haliax.fft"]
    assert isinstance(mod, types.ModuleType)
    assert mod.rfft is rfft
    assert mod.__all__ == [
        "fft",
        "ifft",
        "rfft",
        "irfft",
        "hfft",
        "ihfft",
        "fftfreq",
        "rfftfreq",
        "fftshift",
        "ifftshift",
    ]


# --------------------------------------------------------------------------------------------------
# the examples of the docs


def test_doc_examples():
    img = hax.arange((X, Y), dtype=jnp.float32)
    out = fft(img, axis="Y")
    assert out.axes == (X, Y) and out.dtype == jnp.complex64
    np.testing.assert_array_equal(out.array, jnp.fft.fft(img.array, axis=1))
    assert fft(img, axis={"X": None, "Y": Axis("Y", 10)}).axes == (X, Axis("Y", 10))
    t = fft(hax.arange(Axis("T", 4), dtype=jnp.float32), axis="T")
    np.testing.assert_array_equal(t.array, jnp.array([6, -2 + 2j, -2, -2 - 2j], jnp.complex64))


def test_real_transform_doc_lengths():
    img = hax.arange((X, Y), dtype=jnp.float32)
    assert rfft(hax.arange(T, dtype=jnp.float32)).axes == (Axis("T", 5),)
    assert rfft(img).axes == (X, Axis("Y", 4))
    assert rfft(img, axis=("Y", "X")).axes == (Axis("X", 3), Y)
    assert rfft(img, {"X": None, "Y": Axis("F", 10)}).axes == (X, Axis("F", 6))
    r = rfft(hax.arange(T, dtype=jnp.float32))
    assert irfft(r).axes == (T,)
    assert irfft(r, axis=Axis("T", 9)).axes == (Axis("T", 9),)
    r2 = rfft(img)  # (X4, Y4)
    out = irfft(r2, {"Y": 6, "X": None})
    assert out.axes == (Axis("X", 6), Y)
    np.testing.assert_array_equal(out.array, jnp.fft.irfftn(r2.array, s=(6, 6), axes=(1, 0)))


# --------------------------------------------------------------------------------------------------
# every axis form, both layouts, against the jnp call on the same raw array

# (axis argument, names transformed in order, s (lengths) or None, {old name: output Axis})
COMPLEX_CASES = [
    ("Y", ("Y",), None, {}),
    (Axis("Y", 10), ("Y",), (10,), {"Y": Axis("Y", 10)}),
    (Axis("Y", 3), ("Y",), (3,), {"Y": Axis("Y", 3)}),
    (["Y"], ("Y",), None, {}),
    (("X", "Y"), ("X", "Y"), None, {}),
    (("Y", "X"), ("Y", "X"), None, {}),
    ((Axis("X", 5), "Y"), ("X", "Y"), (5, 6), {"X": Axis("X", 5)}),
    ({"Y": None}, ("Y",), None, {}),
    ({"Y": 8}, ("Y",), (8,), {"Y": Axis("Y", 8)}),
    ({X: None, "Y": None}, ("X", "Y"), None, {}),
    ({"X": None, "Y": Axis("F", 10)}, ("X", "Y"), (4, 10), {"Y": Axis("F", 10)}),
    ({"Y": Axis("F", 3), "X": 2}, ("Y", "X"), (3, 2), {"Y": Axis("F", 3), "X": Axis("X", 2)}),
]


@pytest.mark.parametrize("fn", [fft, ifft])
@pytest.mark.parametrize("layout", LAYOUTS, ids=["XY", "YX"])
@pytest.mark.parametrize("case", COMPLEX_CASES, ids=repr)
def test_complex_transforms_every_axis_form(fn, layout, case):
    axis, names, s, changed = case
    for x in (real(layout), cplx(layout)):
        assert_same_on(fn(x, axis=axis), ref(fn.__name__, x, names, s), expected_axes(x, changed))


@pytest.mark.parametrize("fn", [fft, ifft])
@pytest.mark.parametrize("layout", LAYOUTS, ids=["XY", "YX"])
def test_complex_default_axis_is_the_last(fn, layout):
    x = real(layout)
    assert_same_on(fn(x), getattr(jnp.fft, fn.__name__)(x.array, axis=-1), x.axes)


@pytest.mark.parametrize("fn", [fft, ifft, rfft, irfft])
@pytest.mark.parametrize("empty", [(), {}, []])
def test_empty_selection_casts_to_complex(fn, empty):
    x = real((X, Y))
    out = fn(x, axis=empty)
    assert_same_on(out, jnp.fft.fftn(x.array, axes=()), x.axes)
    assert out.dtype == jnp.complex64


def test_integer_input_gives_complex64():
    x = hax.arange(T)
    out = fft(x)
    assert out.dtype == jnp.complex64
    np.testing.assert_array_equal(out.array, jnp.fft.fft(x.array))


@pytest.mark.parametrize("norm", [None, "backward", "ortho", "forward"])
def test_norm_is_passed_through(norm):
    x = real((Y, X))
    assert_same_on(fft(x, "X", norm=norm), jnp.fft.fft(x.array, axis=1, norm=norm), x.axes)
    assert_same_on(ifft(x, ("X", "Y"), norm=norm), jnp.fft.ifftn(x.array, axes=(1, 0), norm=norm), x.axes)
    want = jnp.fft.rfft(x.array, axis=0, norm=norm)
    assert_same_on(rfft(x, "Y", norm=norm), want, (Axis("Y", 4), X))
    r = rfft(x, "Y")
    assert_same_on(irfft(r, "Y", norm=norm), jnp.fft.irfft(r.array, axis=0, norm=norm), (Axis("Y", 6), X))
    c = cplx((Axis("R", 5),))
    assert_same_on(hfft(c, norm=norm), jnp.fft.hfft(c.array, norm=norm), (Axis("R", 8),))
    assert_same_on(ihfft(real((T,)), norm=norm), jnp.fft.ihfft(real((T,)).array, norm=norm), (Axis("T", 5),))


# rfft: the last listed axis becomes n//2+1 (n: input or requested length)
RFFT_CASES = [
    (None, ("Y",), None, {"Y": Axis("Y", 4)}),
    ("X", ("X",), None, {"X": Axis("X", 3)}),
    (Axis("Y", 9), ("Y",), (9,), {"Y": Axis("Y", 5)}),
    (("Y", "X"), ("Y", "X"), None, {"X": Axis("X", 3)}),
    (("X", "Y"), ("X", "Y"), None, {"Y": Axis("Y", 4)}),
    ((Axis("X", 2), "Y"), ("X", "Y"), (2, 6), {"X": Axis("X", 2), "Y": Axis("Y", 4)}),
    ({"X": None, "Y": Axis("F", 10)}, ("X", "Y"), (4, 10), {"Y": Axis("F", 6)}),
    ({"Y": None, "X": 7}, ("Y", "X"), (6, 7), {"X": Axis("X", 4)}),
]


@pytest.mark.parametrize("layout", LAYOUTS, ids=["XY", "YX"])
@pytest.mark.parametrize("case", RFFT_CASES, ids=repr)
def test_rfft_every_axis_form(layout, case):
    axis, names, s, changed = case
    x = real(layout)
    if axis is None:  # the last axis of this layout
        last = x.axes[-1]
        names, changed = (last.name,), {last.name: last.resize(last.size // 2 + 1)}
    assert_same_on(rfft(x, axis=axis), ref("rfft", x, names, s), expected_axes(x, changed))


# irfft on (X4, Y4)-shaped complex input: the last listed axis becomes 2*(m-1) unless given
R = (X, Axis("Y", 4))
IRFFT_CASES = [
    ("Y", ("Y",), None, {"Y": Axis("Y", 6)}),
    ("X", ("X",), None, {"X": Axis("X", 6)}),
    (Axis("Y", 7), ("Y",), (7,), {"Y": Axis("Y", 7)}),
    ({"Y": 5}, ("Y",), (5,), {"Y": Axis("Y", 5)}),
    ({"Y": Axis("T", 9)}, ("Y",), (9,), {"Y": Axis("T", 9)}),
    (("X", "Y"), ("X", "Y"), None, {"Y": Axis("Y", 6)}),
    (("Y", "X"), ("Y", "X"), None, {"X": Axis("X", 6)}),
    ({"Y": 6, "X": None}, ("Y", "X"), (6, 6), {"Y": Axis("Y", 6), "X": Axis("X", 6)}),
    ({"X": 3, "Y": None}, ("X", "Y"), (3, 6), {"X": Axis("X", 3), "Y": Axis("Y", 6)}),
    ({"X": None, "Y": Axis("F", 7)}, ("X", "Y"), (4, 7), {"Y": Axis("F", 7)}),
]


@pytest.mark.parametrize("layout", [R, R[::-1]], ids=["XY", "YX"])
@pytest.mark.parametrize("case", IRFFT_CASES, ids=repr)
def test_irfft_every_axis_form(layout, case):
    axis, names, s, changed = case
    x = cplx(layout)
    out = irfft(x, axis=axis)
    assert_same_on(out, ref("irfft", x, names, s), expected_axes(x, changed))
    assert out.dtype == jnp.float32


@pytest.mark.parametrize("layout", LAYOUTS, ids=["XY", "YX"])
def test_rfft_irfft_round_trip(layout):
    x = real(layout)
    back = irfft(rfft(x, "Y"), "Y")
    assert back.axes == x.axes
    np.testing.assert_allclose(back.array, x.array, atol=1e-5)
    odd = Axis("T", 9)
    t = real((odd,))
    np.testing.assert_allclose(irfft(rfft(t), axis=odd).array, t.array, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# hfft / ihfft: one axis


@pytest.mark.parametrize("layout", [(X, Axis("R", 5)), (Axis("R", 5), X)], ids=["XR", "RX"])
def test_hfft_axis_forms(layout):
    x = cplx(layout)
    p = pos(x, "R")
    cases = [
        ("R", None, Axis("R", 8)),
        (Axis("R", 10), 10, Axis("R", 10)),
        ({"R": None}, None, Axis("R", 8)),
        ({"R": 9}, 9, Axis("R", 9)),
        ({"R": Axis("T", 8)}, 8, T),
        (["R"], None, Axis("R", 8)),
        (("R",), None, Axis("R", 8)),
    ]
    if layout[-1].name == "R":
        cases.append((None, None, Axis("R", 8)))
    for axis, n, out_ax in cases:
        out = hfft(x, axis=axis)
        assert_same_on(out, jnp.fft.hfft(x.array, n=n, axis=p), expected_axes(x, {"R": out_ax}))
        assert out.dtype == jnp.float32


def test_hfft_doc_lengths():
    r = cplx((Axis("T", 5),))  # e.g. an rfft of a T(8) signal
    assert_same_on(hfft(r), jnp.fft.hfft(r.array), (T,))
    assert_same_on(hfft(r, axis=Axis("T", 9)), jnp.fft.hfft(r.array, n=9), (Axis("T", 9),))
    assert_same_on(ihfft(real((T,))), jnp.fft.ihfft(real((T,)).array), (Axis("T", 5),))


@pytest.mark.parametrize("layout", [(X, T), (T, X)], ids=["XT", "TX"])
def test_ihfft_requested_length_labels_the_jax_length(layout):
    # the output axis is n//2+1 long, as JAX computes it (Haliax labels it n and fails)
    x = real(layout)
    p = pos(x, "T")
    cases = [
        (None if layout[-1] == T else "T", None, Axis("T", 5)),
        ("T", None, Axis("T", 5)),
        (Axis("T", 6), 6, Axis("T", 4)),
        (Axis("T", 11), 11, Axis("T", 6)),
        ({"T": 6}, 6, Axis("T", 4)),
        ({"T": Axis("F", 6)}, 6, Axis("F", 4)),
        ({T: None}, None, Axis("T", 5)),
        (["T"], None, Axis("T", 5)),
    ]
    for axis, n, out_ax in cases:
        out = ihfft(x, axis=axis)
        assert_same_on(out, jnp.fft.ihfft(x.array, n=n, axis=p), expected_axes(x, {"T": out_ax}))
        assert out.dtype == jnp.complex64


@pytest.mark.parametrize("fn", [hfft, ihfft])
@pytest.mark.parametrize("axis", [("X", "Y"), ["X", "Y"], {"X": None, "Y": None}, (), {}])
def test_hfft_ihfft_reject_several_axes(fn, axis):
    with pytest.raises(ValueError, match=f"^{fn.__name__} only supports a single axis"):
        fn(cplx((X, Y)), axis=axis)


# --------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("fn", [fft, ifft, rfft, irfft, hfft, ihfft])
def test_axis_errors(fn):
    name = fn.__name__
    x = cplx((X, Y)) if fn in (irfft, hfft) else real((X, Y))
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': Axis Z not found in \(X\(4\), Y\(6\)\)"):
        fn(x, axis="Z")
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': Axis F\(10\) not found in \("):
        fn(x, axis=Axis("F", 10))
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': Axis y not found .*Did you mean 'Y'"):
        fn(x, axis={"y": None})
    # a wrong-size Axis key of a mapping is a size mismatch (a RuntimeError, as in Haliax, and a ValueError)
    with pytest.raises(RuntimeError, match=rf"{name}: argument 'axis': Found axis with same name"):
        fn(x, axis={Axis("X", 5): None})
    with pytest.raises(TypeError, match=rf"{name}: argument 'axis'"):
        fn(x, axis=1)
    with pytest.raises(TypeError, match=rf"{name}: argument 'axis': the value for 'Y'"):
        fn(x, axis={"Y": "F"})
    with pytest.raises(TypeError, match=rf"{name}: argument 'a' must be a NamedArray, got ArrayImpl"):
        fn(x.array)
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': the array has no axes"):
        fn(hax.named(jnp.float32(1.0), ()))


@pytest.mark.parametrize("fn", [fft, ifft, rfft, irfft])
def test_multi_axis_errors(fn):
    name = fn.__name__
    x = real((X, Y))
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': axis X is given more than once"):
        fn(x, axis=("X", "X"))
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': Axis Z not found"):
        fn(x, axis=("X", "Z"))
    with pytest.raises(ValueError, match=rf"{name}: argument 'axis': renaming gives repeated axis names \['X'\]"):
        fn(x, axis={"Y": Axis("X", 6)})


@pytest.mark.parametrize("fn", [fftshift, ifftshift])
def test_shift_raw_input_raises_type_error(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: argument 'x' must be a NamedArray"):
        fn(np.zeros(4))


# --------------------------------------------------------------------------------------------------
# frequencies and shifts


def test_fftfreq_and_rfftfreq():
    f = fftfreq(T)
    assert f.axes == (T,) and f.dtype == jnp.float32
    np.testing.assert_array_equal(f.array, jnp.array([0, 0.125, 0.25, 0.375, -0.5, -0.375, -0.25, -0.125]))
    np.testing.assert_array_equal(fftfreq(T, 0.5).array, jnp.fft.fftfreq(8, 0.5))
    np.testing.assert_array_equal(fftfreq(Y, d=2.0).array, jnp.fft.fftfreq(6, 2.0))
    r = rfftfreq(T)
    assert r.axes == (Axis("T", 5),)
    np.testing.assert_array_equal(r.array, jnp.fft.rfftfreq(8))
    assert_same_on(rfftfreq(Axis("T", 9), 0.1), jnp.fft.rfftfreq(9, 0.1), (Axis("T", 5),))


@pytest.mark.parametrize("fn", [fftfreq, rfftfreq])
def test_freq_needs_a_sized_axis(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}: argument 'axis' must be an Axis"):
        fn("T")


@pytest.mark.parametrize("fn", [fftshift, ifftshift])
@pytest.mark.parametrize("layout", [(X, Y), (Y, X), (Axis("Z", 5), Y, X)], ids=["XY", "YX", "ZYX"])
def test_shifts(fn, layout):
    jfn = getattr(jnp.fft, fn.__name__)
    x = real(layout)
    assert_same_on(fn(x), jfn(x.array), x.axes)
    assert_same_on(fn(x, "Y"), jfn(x.array, axes=(pos(x, "Y"),)), x.axes)
    assert_same_on(fn(x, Y), jfn(x.array, axes=(pos(x, "Y"),)), x.axes)
    assert_same_on(fn(x, ("Y", "X")), jfn(x.array, axes=(pos(x, "Y"), pos(x, "X"))), x.axes)
    assert_same_on(fn(x, axes=["X"]), jfn(x.array, axes=(pos(x, "X"),)), x.axes)
    with pytest.raises(ValueError, match=rf"{fn.__name__}: argument 'axes': Axis Z not found in \("):
        fn(real((X, Y)), ("X", "Z"))
    with pytest.raises(ValueError, match=rf"{fn.__name__}: argument 'axes': axis X is given more than once"):
        fn(x, ("X", "X"))


def test_shift_round_trip_on_odd_length():
    f = fftfreq(Axis("T", 5))
    np.testing.assert_array_equal(ifftshift(fftshift(f)).array, f.array)


# --------------------------------------------------------------------------------------------------
# jit and gradients


def test_fft_under_jit():
    x = real((Y, X))
    out = jax.jit(lambda a: fft(a, axis={"X": None, "Y": Axis("F", 8)}))(x)
    assert out.axes == (Axis("F", 8), X)
    np.testing.assert_allclose(out.array, jnp.fft.fftn(x.array, s=(4, 8), axes=(1, 0)), rtol=1e-5, atol=1e-5)
    r = jax.jit(lambda a: irfft(rfft(a, "Y"), Y))(x)
    assert r.axes == x.axes
    np.testing.assert_allclose(r.array, x.array, atol=1e-5)


def test_rfft_irfft_gradients():
    def round_trip(a):
        x = hax.named(a, ("Y", "X"))
        return irfft(rfft(x, "Y") * 2.0, axis=Axis("Y", 6)).array

    check_grads(jax.jit(round_trip), (real((Y, X)).array,), order=1, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)

    def spectrum_power(a):
        r = rfft(hax.named(a, ("X", "Y")), ("X", "Y"))
        return (r.array * jnp.conj(r.array)).real.sum()

    check_grads(jax.jit(spectrum_power), (real((X, Y)).array,), order=1, modes=("fwd", "rev"), atol=1e-2, rtol=1e-2)
