"""Pooling: fixed examples (values as in Haliax), dtypes, axis handling, ceil mode, errors, gradients and the adaptive
pools. (Randomised torch parity lives in test_pool_parity.py.)"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.nn.pool import pool

D = hax.Axis("D", 14)


def _arange(*axes, dtype=np.int32):
    return hax.named(np.arange(int(np.prod([a.size for a in axes])), dtype=dtype).reshape([a.size for a in axes]), axes)


# --------------------------------------------------------------------------------------------------
# fixed examples (values as in Haliax)


def test_pinned_1d_examples():
    x = _arange(D)
    assert hnn.max_pool(D.resize(2), x, stride=(3,)).tolist() == [1, 4, 7, 10, 13]
    assert hnn.max_pool(D.resize(3), x, stride=(3,), padding=0).tolist() == [2, 5, 8, 11]
    assert hnn.max_pool(D.resize(3), x, stride=(3,), padding=0, use_ceil=True).tolist() == [2, 5, 8, 11, 13]
    assert hnn.mean_pool(D.resize(2), x, stride=(3,)).tolist() == [0.5, 3.5, 6.5, 9.5, 12.5]
    same = hnn.mean_pool(D.resize(3), x, stride=(3,), padding="SAME", count_include_pad=False)
    assert same.tolist() == [1, 4, 7, 10, 12.5]
    incl = hnn.mean_pool(D.resize(3), x, stride=(3,), padding="SAME", count_include_pad=True)
    assert incl.dtype == jnp.float32
    assert bool(jnp.all(incl.array == jnp.array([1, 4, 7, 10, 25 / 3])))  # exact, correctly rounded


def test_pinned_2d_example():
    H, W = hax.make_axes(H=6, W=6)
    out = hnn.max_pool((H.resize(2), W.resize(2)), _arange(H, W), stride=(3, 2))
    assert out.axes == (H.resize(2), W.resize(3))
    assert out.tolist() == [[7, 9, 11], [25, 27, 29]]


def test_dtypes():
    x = _arange(D)
    assert hnn.max_pool(D.resize(2), x).dtype == jnp.int32
    assert hnn.min_pool(D.resize(2), x, padding=1).tolist()[:2] == [0, 0]
    assert hnn.min_pool(D.resize(2), x, padding=1).dtype == jnp.int32
    assert hnn.mean_pool(D.resize(2), x).dtype == jnp.float32
    xb = _arange(D, dtype=np.float32).astype(jnp.bfloat16)
    assert hnn.mean_pool(D.resize(2), xb).dtype == jnp.bfloat16
    assert hnn.max_pool(D.resize(2), xb).dtype == jnp.bfloat16


# --------------------------------------------------------------------------------------------------
# axes, window forms, padding forms


def test_other_axes_anywhere_and_window_forms():
    B, H, C, W = hax.make_axes(B=2, H=5, C=3, W=4)
    x = hax.named(np.random.default_rng(0).standard_normal((2, 5, 3, 4)).astype(np.float32), (B, H, C, W))
    y = hnn.max_pool({"W": 2, "H": 3}, x, stride=(1, 2))  # window order need not follow the input order
    assert y.axes == (B, H.resize(2), C, W.resize(3))
    y2 = hnn.max_pool((W.resize(2), H.resize(3)), x, stride=(1, 2))
    np.testing.assert_array_equal(np.asarray(y.array), np.asarray(y2.array))
    ref = jax.lax.reduce_window(x.array, -jnp.inf, jax.lax.max, (1, 3, 1, 2), (1, 2, 1, 1), "VALID")
    np.testing.assert_array_equal(np.asarray(y.array), np.asarray(ref))
    assert hnn.mean_pool(H.resize(5), x).axes == (B, H.resize(1), C, W)


def test_padding_forms_and_case():
    x = _arange(D, dtype=np.float32)
    lower = hnn.max_pool(D.resize(3), x, stride=3, padding="same")
    assert lower.tolist() == hnn.max_pool(D.resize(3), x, stride=3, padding="SAME").tolist()
    assert hnn.max_pool(D.resize(3), x, padding="valid").shape == {"D": 12}
    assert hnn.max_pool(D.resize(3), x, padding=((2, 0),)).shape == {"D": 14}
    assert hnn.max_pool(D.resize(3), x, padding=(1,)).shape == {"D": 14}
    # padding never wins a max / min, and a window over padding only is excluded from the mean by default
    assert hnn.max_pool(D.resize(2), -x - 1, padding=1).tolist()[0] == -1
    assert hnn.mean_pool(D.resize(2), x + 1, padding=1).tolist()[0] == 1.0
    assert hnn.mean_pool(D.resize(2), x + 1, padding=1, count_include_pad=True).tolist()[0] == 0.5


def test_use_ceil_by_name_with_batch_axes_first():
    """The ceil extension looks the axis up by name (Haliax zips window and input axes by position)."""
    B = hax.Axis("B", 2)
    x = hax.named(np.tile(np.arange(14), (2, 1)).astype(np.int32), (B, D))
    y = hnn.max_pool(D.resize(3), x, stride=(3,), padding=0, use_ceil=True)
    assert y.axes == (B, D.resize(5))
    assert y.tolist() == [[2, 5, 8, 11, 13]] * 2


def test_mean_pool_use_ceil_with_explicit_padding():
    """The divisor gets use_ceil too (Haliax raises a broadcasting error). The ceil overhang never counts (PyTorch)."""
    T = hax.Axis("T", 16)
    x = _arange(T, dtype=np.float32)
    excl = hnn.mean_pool(T.resize(3), x, stride=2, padding=1, use_ceil=True)
    incl = hnn.mean_pool(T.resize(3), x, stride=2, padding=1, use_ceil=True, count_include_pad=True)
    assert excl.shape == {"T": 9} and incl.shape == {"T": 9}
    assert excl.tolist()[0] == 0.5 and excl.tolist()[-1] == 15.0
    assert incl.tolist()[0] == np.float32(1 / 3) and incl.tolist()[-1] == 7.5


def test_use_ceil_drops_windows_starting_in_padding():
    """PyTorch's rule: the last window must start inside the input or the low padding."""
    T = hax.Axis("T", 5)
    y = hnn.max_pool(T.resize(2), _arange(T), stride=2, padding=1, use_ceil=True)
    assert y.tolist() == [0, 2, 4]  # not a fourth window made of padding only
    assert hnn.max_pool(T.resize(2), _arange(T), stride=2, use_ceil=True).tolist() == [1, 3, 4]
    assert hnn.max_pool(T.resize(2), _arange(T), stride=2, padding="SAME", use_ceil=True).shape == {"T": 3}


def test_general_pool():
    x = _arange(hax.Axis("t", 6))
    assert pool(hax.Axis("t", 2), x, 0, jax.lax.add, stride=2).tolist() == [1, 5, 9]
    assert pool(hax.Axis("t", 3), x, 1, jax.lax.mul, stride=3).tolist() == [0, 60]


# --------------------------------------------------------------------------------------------------
# errors


def test_errors():
    x = _arange(hax.Axis("B", 2), D)
    with pytest.raises(ValueError, match="max_pool: argument 'inputs': axis DD not found.*Did you mean 'D'"):
        hnn.max_pool(hax.Axis("DD", 2), x)
    with pytest.raises(ValueError, match="Window must give sizes"):
        hnn.max_pool("D", x)
    with pytest.raises(ValueError, match="Window must give sizes"):
        hnn.mean_pool({"D": None}, x)
    with pytest.raises(TypeError, match=r"mean_pool: argument 'Window': Axis: field 'size' of axis 'D' .* got 2.0"):
        hnn.mean_pool({"D": 2.0}, x)
    with pytest.raises(ValueError, match="Window names an axis twice"):
        hnn.max_pool((D.resize(2), D.resize(3)), x)
    with pytest.raises(ValueError, match=r"len\(Window\) \(1\) != len\(stride\) \(2\)"):
        hnn.max_pool(D.resize(2), x, stride=(1, 2))
    with pytest.raises(ValueError, match=r"len\(Window\) \(1\) != len\(padding\) \(2\)"):
        hnn.min_pool(D.resize(2), x, padding=(1, 1))
    with pytest.raises(ValueError, match="ints or \\(low, high\\) pairs"):
        hnn.max_pool(D.resize(2), x, padding=((1, 2, 3),))
    with pytest.raises(ValueError, match="Invalid padding 'FULL'"):
        hnn.mean_pool(D.resize(2), x, padding="FULL")
    with pytest.raises(ValueError, match="window D\\(17\\) is larger than the padded input along 'D'"):
        hnn.max_pool(D.resize(17), x, padding=1)
    with pytest.raises(ValueError, match="stride entries must be positive"):
        hnn.max_pool(D.resize(2), x, stride=0)
    with pytest.raises(TypeError, match="inputs must be a NamedArray"):
        hnn.max_pool(D.resize(2), jnp.ones(14))
    with pytest.raises(ValueError, match="adaptive_mean_pool: argument 'inputs': axis E not found"):
        hnn.adaptive_mean_pool(hax.Axis("E", 2), x)
    with pytest.raises(ValueError, match="Output must give sizes"):
        hnn.adaptive_max_pool("D", x)


# --------------------------------------------------------------------------------------------------
# adaptive pools


def test_adaptive_pools():
    T = hax.Axis("t", 5)
    xf = _arange(T, dtype=np.float32)
    assert hnn.adaptive_mean_pool(T.resize(2), xf).tolist() == [1.0, 3.0]  # bins [0,3) and [2,5)
    assert hnn.adaptive_max_pool({"t": 2}, _arange(T)).tolist() == [2, 4]
    assert hnn.adaptive_max_pool({"t": 2}, _arange(T)).dtype == jnp.int32
    assert hnn.adaptive_min_pool(T.resize(2), _arange(T)).tolist() == [0, 2]
    assert hnn.adaptive_mean_pool(T.resize(5), xf).tolist() == xf.tolist()
    assert hnn.adaptive_mean_pool(T.resize(7), xf).shape == {"t": 7}  # upsampling bins overlap
    assert hnn.adaptive_mean_pool(T.resize(1), _arange(T)).tolist() == [2.0]
    B, H, W = hax.make_axes(B=2, H=4, W=6)
    x = hax.named(np.random.default_rng(0).standard_normal((4, 2, 6)).astype(np.float32), (H, B, W))
    y = hnn.adaptive_mean_pool((W.resize(3), H.resize(2)), x)
    assert y.axes == (H.resize(2), B, W.resize(3))
    ref = x.array.reshape(2, 2, 2, 3, 2).mean(axis=(1, 4))
    np.testing.assert_allclose(np.asarray(y.array), np.asarray(ref), rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# transformations and gradients


def test_jit_and_filter_grad():
    B, H = hax.make_axes(B=2, H=7)
    x = hax.named(np.random.default_rng(1).standard_normal((2, 7)).astype(np.float32), (B, H))
    f = jax.jit(lambda x: hnn.mean_pool(H.resize(3), x, stride=2, padding=1, use_ceil=True))
    np.testing.assert_array_equal(
        np.asarray(f(x).array), np.asarray(hnn.mean_pool(H.resize(3), x, stride=2, padding=1, use_ceil=True).array)
    )
    g = eqx.filter_grad(lambda x: hax.sum(hnn.max_pool(H.resize(2), x)).scalar())(x)
    assert g.axes == x.axes


def test_max_pool_gradient_matches_equinox_maxpool3d():
    rng = np.random.default_rng(2)
    C, X, Y, Z = hax.make_axes(C=2, X=5, Y=4, Z=6)
    arr = rng.standard_normal((2, 5, 4, 6)).astype(np.float32)
    ref_pool = eqx.nn.MaxPool3d(kernel_size=(2, 3, 2), stride=(2, 1, 2))

    def ours(a):
        y = hnn.max_pool((X.resize(2), Y.resize(3), Z.resize(2)), hax.named(a, (C, X, Y, Z)), stride=(2, 1, 2))
        return jnp.sum(y.array * jnp.arange(y.array.size, dtype=jnp.float32).reshape(y.array.shape))

    def theirs(a):
        y = ref_pool(a)
        return jnp.sum(y * jnp.arange(y.size, dtype=jnp.float32).reshape(y.shape))

    np.testing.assert_allclose(float(ours(arr)), float(theirs(arr)), rtol=1e-6)  # sums in two XLA programs
    # the gradient routes integer weights to the maxima (sums of small integers): exact in any program
    np.testing.assert_array_equal(np.asarray(jax.grad(ours)(arr)), np.asarray(jax.grad(theirs)(arr)))


@pytest.mark.parametrize(
    "fn",
    [
        lambda W, x: hnn.max_pool(W, x, stride=2, padding=1, use_ceil=True),
        lambda W, x: hnn.min_pool(W, x, stride=(2, 1), padding="SAME"),
        lambda W, x: hnn.mean_pool(W, x, stride=2, padding=((1, 0), 1), use_ceil=True),
        lambda W, x: hnn.adaptive_mean_pool({"h": 2, "w": 3}, x),
        lambda W, x: hnn.adaptive_max_pool({"h": 3, "w": 2}, x),
    ],
    ids=["max", "min", "mean", "adaptive_mean", "adaptive_max"],
)
def test_check_grads(fn):
    W = (hax.Axis("h", 2), hax.Axis("w", 3))
    x = np.random.default_rng(3).permutation(5 * 2 * 7).reshape(5, 2, 7) / 10.0  # distinct: no ties
    with jax.enable_x64(True):
        f = jax.jit(lambda a: fn(W, hax.named(a, ("h", "b", "w"))).array)
        check_grads(f, (jnp.asarray(x, jnp.float64),), order=1, modes=("fwd", "rev"), eps=1e-4)
