import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import from_state_dict, to_state_dict

B, In, Out, C = hax.make_axes(B=4, In=3, Out=2, C=5)
KEY = jax.random.PRNGKey(0)


def _names(mlp):
    return [(layer.In.name, layer.Out.name) for layer in mlp.layers]


@pytest.mark.parametrize(
    "depth, expected",
    [
        (0, [("In", "Out")]),
        (1, [("In", "mlp"), ("mlp", "Out")]),
        (2, [("In", "mlp"), ("mlp", "mlp2"), ("mlp2", "Out")]),
        (3, [("In", "mlp"), ("mlp", "mlp2"), ("mlp2", "mlp"), ("mlp", "Out")]),
    ],
)
def test_hidden_axis_naming(depth, expected):
    mlp = hnn.MLP.init(In, Out, width=8, depth=depth, key=KEY)
    assert _names(mlp) == expected
    assert isinstance(mlp.layers, tuple) and len(mlp.layers) == depth + 1
    assert mlp.In == In and mlp.Out == Out
    for layer in mlp.layers[1:-1]:
        assert layer.In.size == 8 and layer.Out.size == 8


def test_width_as_axis_and_keys():
    W = hax.Axis("hidden", 6)
    mlp = hnn.MLP.init(In, Out, width=W, depth=2, key=KEY, use_bias=False, use_final_bias=True)
    assert _names(mlp) == [("In", "hidden"), ("hidden", "hidden2"), ("hidden2", "Out")]
    assert [layer.bias is None for layer in mlp.layers] == [True, True, False]
    keys = jax.random.split(KEY, 3)
    for layer, k in zip(mlp.layers, keys, strict=True):
        expected = hnn.Linear.init(layer.In, layer.Out, key=k, use_bias=False)
        np.testing.assert_array_equal(layer.weight.array, expected.weight.array)


def test_depth_zero_uses_final_options():
    mlp = hnn.MLP.init(In, Out, width=8, depth=0, key=KEY, use_bias=True, use_final_bias=False)
    assert mlp.layers[0].bias is None
    expected = hnn.Linear.init(In, Out, key=jax.random.split(KEY, 1)[0], use_bias=False)
    np.testing.assert_array_equal(mlp.layers[0].weight.array, expected.weight.array)
    x = hax.random.normal(KEY, (B, In))
    np.testing.assert_allclose(mlp(x).array, expected(x).array, rtol=1e-6)


def test_negative_depth_raises():
    with pytest.raises(ValueError, match="depth"):
        hnn.MLP.init(In, Out, width=8, depth=-1, key=KEY)


def test_forward_matches_manual():
    mlp = hnn.MLP.init(In, Out, width=8, depth=2, activation=hnn.gelu, key=KEY, out_first=False)
    assert mlp.layers[0].weight.axes[0] == In
    x = hax.random.normal(jax.random.PRNGKey(1), (B, In))
    h = x.array
    for i, layer in enumerate(mlp.layers):
        h = h @ layer.weight.array + layer.bias.array[None, :]
        if i < len(mlp.layers) - 1:
            h = jax.nn.gelu(h)
    out = mlp(x)
    assert out.axes == (B, Out)
    np.testing.assert_allclose(out.array, h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mlp(x, key=jax.random.PRNGKey(3)).array, out.array)


def test_multi_axis_input_and_batch_axes():
    H, W, E = hax.make_axes(H=2, W=3, E=4)
    mlp = hnn.MLP.init((H, W), E, width=5, depth=1, key=KEY)
    out = mlp(hax.ones((H, C, W)))
    assert out.axes == (C, E)


def test_activation_is_static_and_leaves_are_arrays():
    mlp = hnn.MLP.init(In, Out, width=8, depth=2, key=KEY)
    assert all(isinstance(x, jax.Array) for x in jax.tree_util.tree_leaves(mlp))
    assert len(jax.tree_util.tree_leaves(mlp)) == 6


def test_state_dict_treats_tuple_like_list():
    mlp = hnn.MLP.init(In, Out, width=8, depth=2, key=KEY)
    sd = to_state_dict(mlp, "ffn")
    assert sorted(sd) == [f"ffn.layers.{i}.{p}" for i in range(3) for p in ("bias", "weight")]
    assert sd["ffn.layers.0.weight"].shape == (8, 3)
    other = hnn.MLP.init(In, Out, width=8, depth=2, key=jax.random.PRNGKey(9))
    back = from_state_dict(other, sd, "ffn")
    assert isinstance(back.layers, tuple)
    assert back == mlp


def test_grads():
    mlp = hnn.MLP.init(In, Out, width=4, depth=1, activation=hnn.silu, key=KEY)
    x = hax.random.normal(jax.random.PRNGKey(1), (B, In))
    params, static = eqx.partition(mlp, eqx.is_array)

    def f(p, a):
        return eqx.combine(p, static)(hax.named(a, (B, In))).array

    check_grads(f, (params, x.array), order=1, modes=["rev"], eps=1e-2)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_training_toy_regression():
    """A 2-layer MLP fit with Adam for 200 steps gets the MSE on y = sin(x0) * x1 below 0.02 (variance of y ~0.8; it reaches ~0.006)."""
    X = hax.Axis("In", 2)
    Y = hax.Axis("Out", 1)
    N = hax.Axis("N", 128)
    xs = hax.random.uniform(jax.random.PRNGKey(1), (N, X), minval=-2.0, maxval=2.0)
    ys = hax.named(jnp.sin(xs.array[:, 0]) * xs.array[:, 1], N).broadcast_axis(Y)
    mlp = hnn.MLP.init(X, Y, width=64, depth=1, activation=hax.tanh, key=KEY)
    opt = optax.adam(1e-2)
    state = opt.init(eqx.filter(mlp, eqx.is_array))

    def loss_fn(m):
        return ((m(xs) - ys) ** 2).mean().scalar()

    @eqx.filter_jit
    def step(m, s):
        loss, g = eqx.filter_value_and_grad(loss_fn)(m)
        updates, s = opt.update(g, s, eqx.filter(m, eqx.is_array))
        return eqx.apply_updates(m, updates), s, loss

    baseline = float(jnp.var(ys.array))
    for _ in range(200):
        mlp, state, loss = step(mlp, state)
    final = float(loss_fn(mlp))
    assert baseline > 0.2
    assert final < 0.02, final
