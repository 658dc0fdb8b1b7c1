import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.nn.normalization import LayerNormBase
from haliax.state_dict import (
    flatten_modules_for_export,
    from_state_dict,
    to_state_dict,
    unflatten_modules_from_export,
)

B, S, H, E = hax.make_axes(B=2, S=3, H=8, E=4)


def _x(axes=(B, S, H), dtype=jnp.float32, seed=0):
    shape = tuple(a.size for a in axes)
    return hax.named((jax.random.normal(jax.random.PRNGKey(seed), shape) * 3 + 1).astype(dtype), axes)


def _random_affine(ln, seed=1):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    w = hax.random.normal(k1, ln.weight.axes) if ln.weight is not None else None
    b = hax.random.normal(k2, ln.bias.axes) if ln.bias is not None else None
    return eqx.tree_at(lambda m: (m.weight, m.bias), ln, (w, b), is_leaf=lambda x: x is None)


def test_layernorm_matches_equinox():
    x = _x()
    ln = hnn.LayerNorm.init(H)
    ref = jax.vmap(jax.vmap(eqx.nn.LayerNorm(shape=(H.size,))))(x.array)
    out = ln(x)
    assert out.axes == x.axes
    np.testing.assert_allclose(out.array, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_weight", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
def test_layernorm_matches_torch(use_weight, use_bias):
    torch = pytest.importorskip("torch")
    x = _x()
    ln = _random_affine(hnn.LayerNorm.init(H, eps=1e-5, use_weight=use_weight, use_bias=use_bias))
    assert (ln.weight is None) != use_weight and (ln.bias is None) != use_bias
    ref = torch.nn.functional.layer_norm(
        torch.from_numpy(np.array(x.array)),
        (H.size,),
        weight=torch.from_numpy(np.array(ln.weight.array)) if use_weight else None,
        bias=torch.from_numpy(np.array(ln.bias.array)) if use_bias else None,
        eps=1e-5,
    )
    np.testing.assert_allclose(ln(x).array, ref.numpy(), rtol=1e-4, atol=1e-4)


def test_layernorm_multi_axis_and_axis_not_last():
    torch = pytest.importorskip("torch")
    x = _x((S, H, B, E))
    ln = _random_affine(hnn.LayerNorm.init((H, E)))
    out = ln(x)
    assert out.axes == x.axes
    raw = jnp.transpose(x.array, (0, 2, 1, 3))  # (S, B, H, E)
    ref = torch.nn.functional.layer_norm(
        torch.from_numpy(np.array(raw)),
        (H.size, E.size),
        weight=torch.from_numpy(np.array(ln.weight.array)),
        bias=torch.from_numpy(np.array(ln.bias.array)),
    )
    np.testing.assert_allclose(jnp.transpose(out.array, (0, 2, 1, 3)), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_rmsnorm_matches_torch():
    torch = pytest.importorskip("torch")
    x = _x()
    rms = _random_affine(hnn.RmsNorm.init(H, eps=1e-6, use_bias=False))
    ref = torch.nn.functional.rms_norm(
        torch.from_numpy(np.array(x.array)), (H.size,), weight=torch.from_numpy(np.array(rms.weight.array)), eps=1e-6
    )
    np.testing.assert_allclose(rms(x).array, ref.numpy(), rtol=1e-4, atol=1e-5)


def test_rmsnorm_has_bias_by_default_and_no_mean_subtraction():
    rms = hnn.RmsNorm.init(H)
    assert rms.bias is not None and rms.weight is not None
    x = _x()
    expected = x.array / jnp.sqrt(jnp.mean(x.array**2, axis=-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(rms(x).array, expected, rtol=1e-5, atol=1e-6)


def test_rmsnorm_multi_axis():
    x = _x((B, H, E))
    out = hnn.RmsNorm.init((H, E), use_bias=False)(x)
    expected = x.array / jnp.sqrt(jnp.mean(x.array**2, axis=(1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out.array, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [hnn.LayerNorm, hnn.RmsNorm])
def test_low_precision_dtypes(cls):
    x = _x(dtype=jnp.bfloat16)
    # float32 weight/bias promote a bf16 input to a float32 output
    assert cls.init(H)(x).dtype == jnp.float32
    bare = cls.init(H, use_weight=False, use_bias=False)
    out = bare(x)
    assert out.dtype == jnp.bfloat16
    # statistics are computed in float32, then the result is cast back to bf16
    expected = cls.init(H, use_weight=False, use_bias=False)(x.astype(jnp.float32)).astype(jnp.bfloat16)
    np.testing.assert_array_equal(np.asarray(out.array, np.float32), np.asarray(expected.array, np.float32))


def test_rmsnorm_explicit_dtype():
    x = _x(dtype=jnp.float32)
    rms = hnn.RmsNorm.init(H, use_weight=False, use_bias=False, dtype=jnp.bfloat16)
    out = rms(x)
    assert out.dtype == jnp.float32  # cast back to the input dtype
    xb = x.array.astype(jnp.bfloat16)
    expected = (xb * jax.lax.rsqrt(jnp.mean(jnp.square(xb), axis=-1, keepdims=True) + 1e-5)).astype(jnp.float32)
    np.testing.assert_allclose(out.array, expected, rtol=2e-2, atol=1e-6)  # a couple of bf16 ulps


def test_missing_axis_error():
    with pytest.raises(ValueError, match="H"):
        hnn.LayerNorm.init(H)(hax.ones((B, S)))
    with pytest.raises(ValueError, match="H"):
        hnn.RmsNorm.init(H.resize(5))(hax.ones((B, H)))


def test_base_is_abstract():
    with pytest.raises(TypeError):
        LayerNormBase.init(H)


def test_positional_eps_and_fields():
    ln = hnn.LayerNorm.init(H, 1e-3)
    assert ln.eps == 1e-3 and ln.dtype is None and ln.axis == H
    assert ln.weight.dtype == jnp.float32 and ln.bias.tolist() == [0.0] * H.size
    assert jax.tree_util.tree_leaves(ln)[0].shape == (H.size,)


@pytest.mark.parametrize("cls", [hnn.LayerNorm, hnn.RmsNorm])
def test_grads(cls):
    x = _x((B, H))
    ln = _random_affine(cls.init(H))

    def f(a, w, b):
        m = eqx.tree_at(lambda m: (m.weight, m.bias), ln, (hax.named(w, H), hax.named(b, H)))
        return m(hax.named(a, (B, H))).array

    check_grads(f, (x.array, ln.weight.array, ln.bias.array), order=1, modes=["rev"], eps=1e-2, atol=5e-2, rtol=5e-2)


def test_state_dict_keys_and_round_trip():
    ln = _random_affine(hnn.LayerNorm.init(H))
    sd = to_state_dict(ln, "ln")
    assert sorted(sd) == ["ln.bias", "ln.weight"]
    back = from_state_dict(hnn.LayerNorm.init(H), sd, "ln")
    assert back == ln
    no_bias = hnn.RmsNorm.init(H, use_bias=False)
    assert sorted(to_state_dict(no_bias)) == ["weight"]
    # a None bias stays None even if the dict has a key for it
    assert from_state_dict(no_bias, {"weight": np.ones(H.size), "bias": np.ones(H.size)}).bias is None


def test_flatten_for_export_round_trip():
    ln = _random_affine(hnn.LayerNorm.init((H, E)))
    flat = ln.flatten_for_export()
    assert flat.axis == hax.Axis("__OUT", H.size * E.size)
    sd = to_state_dict(flat)
    assert sd["weight"].shape == (H.size * E.size,) and sd["bias"].shape == (H.size * E.size,)
    np.testing.assert_array_equal(sd["weight"], ln.weight.array.reshape(-1))
    back = flat.unflatten_from_export(ln)
    assert back == ln
    # a single axis is left alone
    single = hnn.LayerNorm.init(H)
    assert single.flatten_for_export() is single
    # through the tree-level helpers
    tree = {"a": ln, "b": single}
    back_tree = unflatten_modules_from_export(flatten_modules_for_export(tree), tree)
    assert back_tree["a"] == ln and back_tree["b"] == single


def test_jit():
    ln = hnn.LayerNorm.init(H)
    x = _x()
    np.testing.assert_allclose(eqx.filter_jit(lambda m, x: m(x))(ln, x).array, ln(x).array, rtol=1e-6)
