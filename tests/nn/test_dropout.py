import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import to_state_dict

B, P, E = hax.make_axes(B=3, P=5, E=8)


def _x(dtype=jnp.float32):
    return hax.named(jax.random.normal(jax.random.PRNGKey(0), (B.size, P.size, E.size), dtype=dtype), (B, P, E))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_matches_equinox(p, dtype):
    x = _x(dtype)
    key = jax.random.PRNGKey(42)
    ours = hnn.Dropout(p)(x, key=key)
    theirs = np.asarray(eqx.nn.Dropout(p)(x.array, key=key), np.float32)
    assert ours.axes == x.axes and ours.dtype == dtype
    # The same elements are dropped (the mask reproduces jax.random bit for bit); the kept values are scaled by
    # another XLA program, so they agree to an ulp or two of the dtype.
    rtol = 1e-6 if dtype == jnp.float32 else 1e-2
    for out in (ours, hnn.dropout(x, p, inference=False, key=key)):  # the module and the function form
        got = np.asarray(out.array, np.float32)
        np.testing.assert_array_equal(got == 0, theirs == 0)
        np.testing.assert_allclose(got, theirs, rtol=rtol, atol=0)


def test_kept_values_scaled():
    out = hnn.dropout(hax.ones((B, E)), 0.5, inference=False, key=jax.random.PRNGKey(1))
    assert set(np.unique(out.array).tolist()) == {0.0, 2.0}


def test_inference_and_trivial_probabilities_need_no_key():
    x = _x()
    assert hnn.Dropout(0.5, inference=True)(x) is x
    assert hnn.Dropout(0.5)(x, inference=True) is x
    assert hnn.dropout(x, 0.0, inference=False) is x
    assert hnn.dropout(x, 0, inference=False) is x
    zeros = hnn.dropout(x, 1.0, inference=False)
    assert zeros.axes == x.axes and float(jnp.abs(zeros.array).sum()) == 0.0


def test_missing_key_raises():
    with pytest.raises(RuntimeError, match="Dropout requires a key"):
        hnn.Dropout(0.5)(_x())
    # a JAX-array probability is not a Python number, so it still demands a key
    with pytest.raises(RuntimeError, match="Dropout requires a key"):
        hnn.dropout(_x(), jnp.array(0.0), inference=False)
    # the call-time inference flag wins over the field
    with pytest.raises(RuntimeError):
        hnn.Dropout(0.5, inference=True)(_x(), inference=False)


def test_is_active():
    assert hnn.Dropout(0.5).is_active
    assert not hnn.Dropout(0.0).is_active
    assert not hnn.Dropout(0.5, inference=True).is_active


@pytest.mark.parametrize("bcast", [P, "P", (P, "B")])
def test_broadcast_axes_share_mask(bcast):
    x = hax.ones((B, P, E))
    out = hnn.Dropout(0.5, broadcast_axes=bcast)(x, key=jax.random.PRNGKey(3))
    arr = np.asarray(out.array)
    # every position along P sees the same mask (names work as well as Axis objects)
    assert (arr == arr[:, :1, :]).all()
    assert 0 < (arr == 0).sum() < arr.size


def test_broadcast_mask_matches_bernoulli_over_remaining_axes():
    x = hax.ones((B, P, E))
    key = jax.random.PRNGKey(7)
    out = hnn.dropout(x, 0.25, broadcast_axes=P, inference=False, key=key)
    mask = jax.random.bernoulli(key, 0.75, (B.size, E.size))
    np.testing.assert_array_equal(np.asarray(out.array[:, 0, :]) != 0, np.asarray(mask))


def test_broadcast_axis_missing_raises():
    with pytest.raises(ValueError, match="Q"):
        hnn.dropout(hax.ones((B, E)), 0.5, broadcast_axes="Q", inference=False, key=jax.random.PRNGKey(0))


def test_inference_is_a_leaf_and_in_state_dict():
    d = hnn.Dropout(0.3)
    assert jax.tree_util.tree_leaves(d) == [False]
    assert to_state_dict(d) == {"inference": False}
    assert to_state_dict(d, "drop") == {"drop.inference": False}
    flipped = eqx.tree_at(lambda m: m.inference, d, True)
    assert flipped.inference and flipped.pdrop == 0.3


def test_under_jit_and_grad():
    x = _x()
    key = jax.random.PRNGKey(5)
    drop = hnn.Dropout(0.5)

    @eqx.filter_jit
    def f(m, x, k):
        return m(x, key=k)

    np.testing.assert_array_equal(f(drop, x, key).array, drop(x, key=key).array)
    g = jax.grad(lambda a: hnn.dropout(hax.named(a, (B, P, E)), 0.5, inference=False, key=key).array.sum())(x.array)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(drop(hax.ones((B, P, E)), key=key).array))


def test_plain_array_input():
    key = jax.random.PRNGKey(2)
    arr = jnp.ones((4, 5))
    np.testing.assert_array_equal(hnn.dropout(arr, 0.5, inference=False, key=key), eqx.nn.Dropout(0.5)(arr, key=key))


# ---------------------------------------------------------------------------------------------- bad pdrop


@pytest.mark.parametrize("pdrop", [-0.1, 1.5, 2, float("nan"), float("inf")])
def test_module_pdrop_out_of_range_raises_at_construction(pdrop):
    with pytest.raises(ValueError, match=r"Dropout: argument 'pdrop' must be in \[0, 1\], got " + str(pdrop)):
        hnn.Dropout(pdrop)


@pytest.mark.parametrize("inference", [False, True])
@pytest.mark.parametrize("pdrop", [-0.5, 1.01])
def test_function_pdrop_out_of_range_raises(pdrop, inference):
    with pytest.raises(ValueError, match=r"dropout: argument 'pdrop' must be in \[0, 1\], got " + str(pdrop)):
        hnn.dropout(_x(), pdrop, inference=inference, key=jax.random.PRNGKey(0))


def test_concrete_array_pdrop_out_of_range_raises():
    with pytest.raises(ValueError, match=r"dropout: argument 'pdrop' must be in \[0, 1\]"):
        hnn.dropout(_x(), jnp.array(1.5), inference=False, key=jax.random.PRNGKey(0))


def test_traced_pdrop_is_not_checked():
    f = jax.jit(lambda p: hnn.dropout(_x(), p, inference=False, key=jax.random.PRNGKey(0)))
    assert f(jnp.array(0.5)).axes == (B, P, E)


@pytest.mark.parametrize("pdrop", [True, "0.5", None])
def test_pdrop_of_wrong_kind_is_type_error(pdrop):
    with pytest.raises(TypeError, match=r"Dropout: argument 'pdrop' must be a number in \[0, 1\]"):
        hnn.Dropout(pdrop)


def test_pdrop_with_a_shape_raises():
    with pytest.raises(ValueError, match=r"dropout: argument 'pdrop' must be a scalar probability, got shape \(2,\)"):
        hnn.dropout(_x(), jnp.array([0.1, 0.2]), inference=False, key=jax.random.PRNGKey(0))


def test_pdrop_bounds_are_valid():
    assert hnn.Dropout(0.0).pdrop == 0.0 and hnn.Dropout(1).pdrop == 1


def test_missing_key_is_runtime_and_value_error():
    with pytest.raises(RuntimeError, match=r"dropout: Dropout requires a key.*Pass key=") as e:
        hnn.Dropout(0.5)(_x())
    assert isinstance(e.value, ValueError)
    with pytest.raises(ValueError, match="Dropout requires a key"):
        hnn.dropout(_x(), 0.3, inference=False)


@pytest.mark.parametrize("bad", [3, "k", jnp.ones(2), jnp.zeros((2, 2), jnp.uint32)])
@pytest.mark.parametrize("form", ["module", "function", "plain"])
def test_bad_key_names_dropout_not_bernoulli(bad, form):
    expected = TypeError if not isinstance(bad, jax.Array) or bad.dtype != jnp.uint32 else ValueError
    with pytest.raises(expected, match=r"^dropout: key= must be a (single )?(raw )?PRNG key"):
        if form == "module":
            hnn.Dropout(0.5)(_x(), key=bad)
        elif form == "function":
            hnn.dropout(_x(), 0.5, inference=False, key=bad)
        else:
            hnn.dropout(jnp.ones(4), 0.5, inference=False, key=bad)
