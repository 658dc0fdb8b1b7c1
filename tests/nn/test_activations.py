import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn

B, C, D = hax.make_axes(B=3, C=4, D=6)

SIMPLE = {
    "relu": jax.nn.relu,
    "relu6": jax.nn.relu6,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "soft_sign": jax.nn.soft_sign,
    "silu": jax.nn.silu,
    "swish": jax.nn.swish,
    "log_sigmoid": jax.nn.log_sigmoid,
    "leaky_relu": jax.nn.leaky_relu,
    "hard_sigmoid": jax.nn.hard_sigmoid,
    "hard_silu": jax.nn.hard_silu,
    "hard_swish": jax.nn.hard_swish,
    "hard_tanh": jax.nn.hard_tanh,
    "elu": jax.nn.elu,
    "celu": jax.nn.celu,
    "selu": jax.nn.selu,
    "gelu": jax.nn.gelu,
}


def _x(axes=(B, C), seed=0, dtype=jnp.float32):
    shape = tuple(a.size for a in axes)
    return hax.named(jax.random.normal(jax.random.PRNGKey(seed), shape, dtype=dtype) * 3, axes)


@pytest.mark.parametrize("name", sorted(SIMPLE))
def test_simple_activation_matches_jax_nn(name):
    fn = getattr(hnn, name)
    ref = SIMPLE[name]
    x = _x()
    out = fn(x)
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, ref(x.array), rtol=1e-6, atol=1e-6)
    # plain arrays and Python scalars go straight through
    np.testing.assert_allclose(fn(x.array), ref(x.array), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fn(-1.5), ref(-1.5), rtol=1e-6)
    assert fn.__name__ == name


def test_relu_scalar_and_defaults():
    assert hnn.relu(-1.0) == 0.0
    x = _x()
    np.testing.assert_allclose(hnn.leaky_relu(x).array, jax.nn.leaky_relu(x.array, 0.01))
    np.testing.assert_allclose(hnn.elu(x).array, jax.nn.elu(x.array, 1.0))


def test_gelu_approximate_flag():
    x = _x()
    np.testing.assert_allclose(hnn.gelu(x).array, jax.nn.gelu(x.array, approximate=True), rtol=1e-6)
    np.testing.assert_allclose(
        hnn.gelu(x, approximate=False).array, jax.nn.gelu(x.array, approximate=False), rtol=1e-6, atol=1e-7
    )


def test_quick_gelu():
    x = _x()
    np.testing.assert_allclose(hnn.quick_gelu(x).array, x.array * jax.nn.sigmoid(1.702 * x.array), rtol=1e-6)
    assert abs(float(hnn.quick_gelu(2.0)) - 2.0 * float(jax.nn.sigmoid(3.404))) < 1e-6


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32])
def test_relu_squared_dtype_and_values(dtype):
    x = _x(dtype=dtype)
    out = hnn.relu_squared(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(
        np.asarray(out.array, np.float32), np.asarray(jnp.square(jnp.maximum(x.array, 0)), np.float32)
    )


def test_relu_squared_nan_jit_scalar():
    x = hax.named(jnp.array([jnp.nan, -1.0, 2.0]), "B")
    out = jax.jit(hnn.relu_squared)(x)
    assert np.isnan(out.array[0]) and out.array[1] == 0.0 and out.array[2] == 4.0
    assert float(hnn.relu_squared(3.0)) == 9.0


def test_glu_semantics():
    x = _x((B, D))
    out = hnn.glu(x, D)
    assert out.axes == (B, D.resize(3))
    a, b = x.array[:, :3], x.array[:, 3:]
    np.testing.assert_allclose(out.array, a * jax.nn.sigmoid(b), rtol=1e-6)
    # string axis works and axis keeps its position
    x2 = _x((D, B))
    out2 = hnn.glu(x2, "D")
    assert out2.axes == (D.resize(3), B)
    np.testing.assert_allclose(out2.array, x2.array[:3] * jax.nn.sigmoid(x2.array[3:]), rtol=1e-6)


def test_glu_errors():
    with pytest.raises(ValueError, match="even"):
        hnn.glu(_x((B, C)), B)
    with pytest.raises(ValueError, match="Q"):
        hnn.glu(_x((B, C)), "Q")


def test_glu_grad():
    x = _x((B, D))
    check_grads(lambda a: hnn.glu(hax.named(a, (B, D)), D).array, (x.array,), order=1, modes=["rev"], eps=1e-2)


@pytest.mark.parametrize("axis", ["C", ("B", "C"), None])
def test_logsumexp(axis):
    x = _x()
    out = hnn.logsumexp(x, axis)
    if axis is None:
        assert out.axes == ()
        np.testing.assert_allclose(out.array, jax.nn.logsumexp(x.array), rtol=1e-6)
    elif axis == "C":
        assert out.axes == (B,)
        np.testing.assert_allclose(out.array, jax.nn.logsumexp(x.array, axis=1), rtol=1e-6)
    else:
        assert out.axes == ()
        np.testing.assert_allclose(out.array, jax.nn.logsumexp(x.array, axis=(0, 1)), rtol=1e-6)


def test_logsumexp_errors_and_plain():
    with pytest.raises(ValueError, match="Q"):
        hnn.logsumexp(_x(), "Q")
    arr = jnp.arange(4.0)
    np.testing.assert_allclose(hnn.logsumexp(arr, 0), jax.nn.logsumexp(arr, 0), rtol=1e-6)


@pytest.mark.parametrize("fn, ref", [(hnn.softmax, jax.nn.softmax), (hnn.log_softmax, jax.nn.log_softmax)])
def test_softmax_family(fn, ref):
    x = _x((B, C, D))
    out = fn(x, C)
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, ref(x.array, axis=1), rtol=1e-5, atol=1e-6)
    joint = fn(x, (C, "D"))
    np.testing.assert_allclose(joint.array, ref(x.array, axis=(1, 2)), rtol=1e-5, atol=1e-6)
    # axis=None returns a raw array normalised over every element (as in Haliax)
    whole = fn(x)
    assert not isinstance(whole, hax.NamedArray)
    np.testing.assert_allclose(whole, ref(x.array, axis=None), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn, ref", [(hnn.softmax, jax.nn.softmax), (hnn.log_softmax, jax.nn.log_softmax)])
def test_softmax_low_precision_computed_in_float32(fn, ref):
    x = _x((B, C), dtype=jnp.bfloat16) * 10
    out = fn(x, C)
    assert out.dtype == jnp.bfloat16
    expected = ref(x.array.astype(jnp.float32), axis=1).astype(jnp.bfloat16)
    bf16_ulp = 2.0**-7  # the largest relative spacing of bfloat16: results may round one ulp apart
    np.testing.assert_allclose(
        np.asarray(out.array, np.float32), np.asarray(expected, np.float32), rtol=bf16_ulp, atol=1e-6
    )
    lse = hnn.logsumexp(x, C)
    assert lse.dtype == jnp.bfloat16
    exp_lse = jax.nn.logsumexp(x.array.astype(jnp.float32), axis=1).astype(jnp.bfloat16)
    np.testing.assert_allclose(np.asarray(lse.array, np.float32), np.asarray(exp_lse, np.float32), rtol=bf16_ulp)


def test_softmax_grad():
    x = _x()
    check_grads(lambda a: hnn.softmax(hax.named(a, (B, C)), C).array, (x.array,), order=1, modes=["rev"], eps=1e-2)


def test_standardize_matches_jax():
    x = _x((B, C))
    out = hnn.standardize(x, C)
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, jax.nn.standardize(x.array, axis=1), rtol=1e-5, atol=1e-5)


def test_standardize_given_stats_and_where():
    x = _x((B, C))
    mean = hax.mean(x, C)
    var = hax.var(x, C)
    out = hnn.standardize(x, C, mean=mean, variance=var, epsilon=1e-3)
    expected = jax.nn.standardize(x.array, axis=1, mean=mean.array[:, None], variance=var.array[:, None], epsilon=1e-3)
    np.testing.assert_allclose(out.array, expected, rtol=1e-5, atol=1e-5)
    where = hax.named(jnp.array([True, True, False, True]), C)
    out_w = hnn.standardize(x, C, where=where)
    w = jnp.broadcast_to(where.array, x.array.shape)
    np.testing.assert_allclose(out_w.array, jax.nn.standardize(x.array, axis=1, where=w), rtol=1e-5, atol=1e-5)


def test_standardize_errors():
    with pytest.raises(ValueError, match="Q"):
        hnn.standardize(_x(), "Q")
    with pytest.raises(ValueError, match="D"):
        hnn.standardize(_x(), C, mean=hax.zeros(D))


def test_one_hot_named():
    ids = hax.named(jnp.array([0, 3, -1, 4]), "B")
    out = hnn.one_hot(ids, C)
    assert out.axes == (ids.axes[0], C)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out.array, jax.nn.one_hot(ids.array, 4))
    assert out.array[2].sum() == 0 and out.array[3].sum() == 0  # out of range → zero rows
    assert hnn.one_hot(ids, C, dtype=jnp.int32).dtype == jnp.int32


def test_one_hot_scalar():
    assert hnn.one_hot(1, C).tolist() == [0.0, 1.0, 0.0, 0.0]
    assert hnn.one_hot(-1, C).tolist() == [0.0, 0.0, 0.0, 1.0]
    assert hnn.one_hot(jnp.array(2), C).tolist() == [0.0, 0.0, 1.0, 0.0]
    assert hnn.one_hot(jnp.array(-1), C).axes == (C,)
    with pytest.raises(AssertionError):
        hnn.one_hot(4, C)
    with pytest.raises(TypeError, match="one_hot expects a scalar integer or NamedArray"):
        hnn.one_hot(jnp.array([1, 2]), C)
    with pytest.raises(TypeError):
        hnn.one_hot(jnp.array(1.0), C)
    with pytest.raises(ValueError, match="already"):
        hnn.one_hot(hax.zeros(C, dtype=int), C)


def test_activations_under_jit():
    x = _x()
    out = jax.jit(lambda a: hnn.silu(hnn.softmax(a, C)))(x)
    np.testing.assert_allclose(out.array, jax.nn.silu(jax.nn.softmax(x.array, axis=1)), rtol=1e-6)


@pytest.mark.parametrize("x", [4, 7, -5])
def test_one_hot_python_int_out_of_range_is_index_value_and_assertion_error(x):
    from haliax.axis import AxisIndexError

    with pytest.raises(
        AxisIndexError,
        match=rf"^one_hot: argument 'x' {x} is out of bounds for class_axis {C.name} with size 4 \(valid: -4 to 3\)$",
    ) as e:
        hnn.one_hot(x, C)
    assert isinstance(e.value, ValueError) and isinstance(e.value, AssertionError)


def test_standardize_where_and_stats_errors_name_standardize_and_the_argument():
    from haliax.axis import AxisSizeMismatchError

    x = hax.ones((B, C))
    with pytest.raises(AxisSizeMismatchError, match=r"^standardize: argument 'where': .*asked for B\(5\)"):
        hnn.standardize(x, C, where=hax.ones(B.resize(5), dtype=bool))
    with pytest.raises(AxisSizeMismatchError, match=r"^standardize: argument 'mean': .*asked for B\(5\)"):
        hnn.standardize(x, C, mean=hax.ones(B.resize(5)))
    with pytest.raises(ValueError, match=r"^standardize: argument 'where' has axis D\(6\) which is not in x's axes"):
        hnn.standardize(x, C, where=hax.ones(D, dtype=bool))
    with pytest.raises(TypeError, match=r"^standardize: argument 'where' must be a boolean mask, got dtype float32"):
        hnn.standardize(x, C, where=hax.ones(B))
    with pytest.raises(TypeError, match=r"^standardize: argument 'where' must be a NamedArray \(or a scalar\)"):
        hnn.standardize(x, C, where=jnp.ones((3, 4), dtype=bool))


def test_standardize_scalar_where_keeps_everything():
    x = hax.random.normal(jax.random.PRNGKey(0), (B, C))
    np.testing.assert_allclose(hnn.standardize(x, C, where=True).array, hnn.standardize(x, C).array, rtol=1e-6)


def test_one_hot_float_named_ids_are_type_error():
    with pytest.raises(TypeError, match=r"^one_hot: argument 'x' must hold integer class ids, got dtype float32"):
        hnn.one_hot(hax.named(jnp.array([0.5, 1.0, 2.0]), B), C)
    assert hnn.one_hot(hax.named(jnp.array([True, False, True]), B), C).array[:, 1].tolist() == [1.0, 0.0, 1.0]
