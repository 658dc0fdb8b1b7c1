"""Train a small model three ways on 8 simulated CPU devices: one device, data parallel, and data x model
parallel. Losses and parameters must agree to 1e-5, and arrays must carry the shardings the mapping asks for."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AxisType, PartitionSpec as P

import haliax as hax
import haliax.nn as hnn

pytestmark = pytest.mark.slow

Batch, Embed, Mlp, Out = hax.make_axes(batch=16, embed=8, mlp=32, out=4)


class Model(eqx.Module):
    up: hnn.Linear
    norm: hnn.LayerNorm
    down: hnn.Linear

    @staticmethod
    def init(key):
        k1, k2 = jax.random.split(key)
        return Model(hnn.Linear.init(Embed, Mlp, key=k1), hnn.LayerNorm.init(Mlp), hnn.Linear.init(Mlp, Out, key=k2))

    def __call__(self, x):
        h = hnn.gelu(self.norm(self.up(x)))
        return self.down(h), h


def data(step):
    k1, k2 = jax.random.split(jax.random.PRNGKey(100 + step))
    x = hax.random.normal(k1, (Batch, Embed))
    y = hax.random.normal(k2, (Batch, Out))
    return x, y


def loss_fn(model, x, y):
    pred, h = model(x)
    return hax.mean((pred - y) ** 2).scalar(), h


def make_step(mapping):
    def step(model, x, y):
        (loss, h), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model, x, y)
        model = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, model, grads)
        return model, loss, h

    if mapping is None:
        return hax.named_jit(step)
    return hax.named_jit(step, axis_resources=mapping, in_axis_resources=mapping, out_axis_resources=mapping)


def train(mesh_shape, mapping, steps=4):
    model = Model.init(jax.random.PRNGKey(0))
    losses, acts = [], []
    if mesh_shape is None:
        step = make_step(None)
        for i in range(steps):
            model, loss, h = step(model, *data(i))
            losses.append(float(loss))
            acts.append(h)
        return model, losses, acts
    mesh = jax.make_mesh(
        mesh_shape, ("data", "model")[: len(mesh_shape)], axis_types=(AxisType.Auto,) * len(mesh_shape)
    )
    with jax.set_mesh(mesh), hax.axis_mapping(mapping):
        model = hax.shard(model)
        step = make_step(mapping)
        for i in range(steps):
            x, y = hax.shard(data(i))
            model, loss, h = step(model, x, y)
            losses.append(float(loss))
            acts.append(h)
    return model, losses, acts


@pytest.fixture(scope="module")
def single():
    return train(None, None)


def _spec(arr):
    """The array's PartitionSpec padded with None to its rank (P('data') == P('data', None) semantically)."""
    spec = tuple(arr.sharding.spec)
    return P(*(spec + (None,) * (arr.ndim - len(spec))))


def _leaves(model):
    return [
        np.asarray(a.array if isinstance(a, hax.NamedArray) else a)
        for a in jax.tree_util.tree_leaves(model, is_leaf=lambda a: isinstance(a, hax.NamedArray))
    ]


@pytest.mark.parametrize(
    "mesh_shape,mapping,expect",
    [
        ((8,), {"batch": "data"}, {"up.weight": P(None, None), "act": P("data", None)}),
        (
            (2, 4),
            {"batch": "data", "embed": "model", "mlp": "model"},
            {"up.weight": P("model", None), "act": P("data", "model")},
        ),
    ],
    ids=["data_parallel_8", "data2_x_model4"],
)
def test_sharded_training_matches_single_device(single, mesh_shape, mapping, expect):
    ref_model, ref_losses, _ = single
    model, losses, acts = train(mesh_shape, mapping)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5, atol=1e-5)
    for a, b in zip(_leaves(model), _leaves(ref_model), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # parameters and activations carry the shardings the mapping asked for
    assert model.up.weight.axes == (Mlp, Embed)
    assert _spec(model.up.weight.array) == expect["up.weight"]
    expected_down = tuple(hax.partitioning.pspec_for_axis(model.down.weight.axes, mapping))
    assert _spec(model.down.weight.array) == P(*expected_down)
    assert acts[-1].axes == (Batch, Mlp)
    assert _spec(acts[-1].array) == expect["act"]
    assert len(model.up.weight.array.sharding.device_set) == 8
    assert losses[-1] < losses[0]


def test_loss_decreases_single_device(single):
    _, losses, _ = single
    assert losses[-1] < losses[0]
    assert all(np.isfinite(losses))


def test_plain_jnp_reference_agrees(single):
    """The single-device haliax run equals the same math in plain jnp, so the comparison above is meaningful."""
    model = Model.init(jax.random.PRNGKey(0))
    w1, b1 = model.up.weight.array, model.up.bias.array
    g, bb = model.norm.weight.array, model.norm.bias.array
    w2, b2 = model.down.weight.array, model.down.bias.array

    def loss(params, x, y):
        w1, b1, g, bb, w2, b2 = params
        h = x @ w1.T + b1[None, :]
        mu = h.mean(-1, keepdims=True)
        var = ((h - mu) ** 2).mean(-1, keepdims=True)
        h = jax.nn.gelu((h - mu) * jax.lax.rsqrt(var + 1e-5) * g[None, :] + bb[None, :])
        return jnp.mean((h @ w2.T + b2[None, :] - y) ** 2)

    params = (w1, b1, g, bb, w2, b2)
    losses = []
    for i in range(4):
        x, y = data(i)
        val, grads = jax.value_and_grad(loss)(params, x.array, y.array)
        params = tuple(p - 0.1 * gr for p, gr in zip(params, grads, strict=True))
        losses.append(float(val))
    np.testing.assert_allclose(losses, single[1], rtol=1e-5, atol=1e-6)
