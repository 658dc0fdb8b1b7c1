import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.nn.mup import (
    AbstractEmbeddingReparam,
    AbstractLinearReparam,
    AbstractReparam,
    EmbeddingMup,
    EmbeddingStandardParam,
    HiddenLinearMup,
    InputLinearMup,
    LinearStandardParam,
    OutputLinearMup,
    ReparamEnabled,
)
from haliax.state_dict import from_state_dict, to_state_dict

KEY = jax.random.PRNGKey(0)
In, Out = hax.make_axes(In=16, Out=8)
Vocab, Embed = hax.make_axes(Vocab=10, Embed=4)


@pytest.mark.parametrize(
    "cls, init, active, lr",
    [
        (LinearStandardParam, 1 / 4, 1, 1),
        (InputLinearMup, 1, 1, 1),
        (HiddenLinearMup, 1 / 4, 1, 1 / 16),
        (OutputLinearMup, 1, 1 / 16, 1),
    ],
)
def test_linear_table(cls, init, active, lr):
    assert issubclass(cls, AbstractLinearReparam) and issubclass(cls, AbstractReparam)
    assert math.isclose(cls.init_scale(In, Out), init)
    p = cls(In, Out)
    assert math.isclose(p.active_scale, active) and math.isclose(p.lr_scale, lr)
    # multi-axis In: N is the product of sizes
    multi = cls((hax.Axis("A", 4), hax.Axis("B", 4)), Out)
    assert math.isclose(multi.lr_scale, lr) and math.isclose(multi.active_scale, active)


@pytest.mark.parametrize("cls, init, unembed", [(EmbeddingStandardParam, 1 / 4, 1), (EmbeddingMup, 1, 1 / 4)])
def test_embedding_table(cls, init, unembed):
    assert issubclass(cls, AbstractEmbeddingReparam)
    assert math.isclose(cls.init_scale(Vocab, Embed), init)
    p = cls(Embed, Vocab)  # note the field order: Embed, Vocab
    assert p.Embed == Embed and p.Vocab == Vocab
    assert p.active_scale == 1 and p.lr_scale == 1 and math.isclose(p.unembed_active_scale, unembed)


def test_abstract_classes_cannot_be_instantiated():
    with pytest.raises(TypeError):
        AbstractLinearReparam(In, Out)
    with pytest.raises(TypeError):
        AbstractEmbeddingReparam(Embed, Vocab)


def test_modules_are_reparam_enabled():
    lin = hnn.Linear.init(In, Out, key=KEY)
    emb = hnn.Embedding.init(Vocab, Embed, key=KEY)
    assert isinstance(lin, ReparamEnabled) and isinstance(emb, ReparamEnabled)
    assert isinstance(lin.reparam, LinearStandardParam) and isinstance(emb.reparam, EmbeddingStandardParam)


def test_pinned_linear_facts():
    std = hnn.Linear.init(In, Out, key=KEY)
    inp = hnn.Linear.init(In, Out, key=KEY, reparam_cls=InputLinearMup)
    hid = hnn.Linear.init(In, Out, key=KEY, reparam_cls=HiddenLinearMup)
    assert inp.weight.axes == std.weight.axes
    np.testing.assert_allclose(inp.weight.array, std.weight.array * 4, rtol=1e-6)
    np.testing.assert_array_equal(hid.weight.array, std.weight.array)
    # OutputLinearMup with all-ones weight, In size 3, input 2.0 -> outputs 2.0
    I3 = hax.Axis("In", 3)
    out_layer = hnn.Linear(hax.ones((Out, I3)), None, I3, Out, _reparam_cls=OutputLinearMup)
    np.testing.assert_allclose(out_layer(hax.full(I3, 2.0)).array, np.full(Out.size, 2.0), rtol=1e-6)


def test_output_mup_state_dict_round_trip():
    lin = hnn.Linear.init(In, Out, key=KEY, reparam_cls=OutputLinearMup)
    sd = to_state_dict(lin)
    np.testing.assert_allclose(sd["weight"], lin.weight.array * lin.reparam.active_scale, rtol=1e-6)
    back = from_state_dict(lin, sd)
    np.testing.assert_allclose(back.weight.array, lin.weight.array, rtol=1e-6)


def test_switching_reparam_keeps_leaves():
    a = hnn.Linear.init(In, Out, key=KEY)
    b = hnn.Linear.init(In, Out, key=KEY, reparam_cls=HiddenLinearMup)
    assert [x.shape for x in jax.tree_util.tree_leaves(a)] == [x.shape for x in jax.tree_util.tree_leaves(b)]


# --------------------------------------------------------------------------------------------------
# coordinate check

DIn, DOut, N = hax.make_axes(In=8, Out=1, N=64)
WIDTHS = (32, 128, 512)


def _data():
    xs = hax.random.normal(jax.random.PRNGKey(1), (N, DIn))
    ys = hax.named(jnp.sin(xs.array.sum(-1))[:, None], (N, DOut))
    return xs, ys


def _mlp(width, mup):
    W = hax.Axis("W", width)
    W2 = W.alias("W2")
    k1, k2, k3 = jax.random.split(KEY, 3)
    return [
        hnn.Linear.init(DIn, W, key=k1, reparam_cls=hnn.Linear.input_reparam(mup)),
        hnn.Linear.init(W, W2, key=k2, reparam_cls=hnn.Linear.hidden_reparam(mup)),
        hnn.Linear.init(W2, DOut, key=k3, reparam_cls=hnn.Linear.output_reparam(mup)),
    ]


def _final_losses(width, mup, lrs, tx, steps=40):
    """Final training loss for each base learning rate in ``lrs`` (vmapped: one compilation per width).

    Each Linear's step is multiplied by its ``reparam.lr_scale``. Diverged runs count as loss 1.0 (the data's
    initial loss is ~0.5)."""
    xs, ys = _data()
    layers = _mlp(width, mup)
    scales = [layer.reparam.lr_scale for layer in layers]
    params, static = eqx.partition(layers, eqx.is_array)

    def loss_fn(p):
        m = eqx.combine(p, static)
        h = hnn.relu(m[0](xs))
        h = hnn.relu(m[1](h))
        return ((m[2](h) - ys) ** 2).mean().scalar()

    def run(lr):
        def step(_, carry):
            p, st = carry
            g, st = tx.update(jax.grad(loss_fn)(p), st)
            p = [jax.tree.map(lambda a, b, s=s: a - lr * s * b, pl, gl) for pl, gl, s in zip(p, g, scales, strict=True)]
            return p, st

        p, _ = jax.lax.fori_loop(0, steps, step, (params, tx.init(params)))
        return loss_fn(p)

    losses = jax.jit(jax.vmap(run))(jnp.asarray(lrs, dtype=jnp.float32))
    return jnp.where(jnp.isfinite(losses), jnp.minimum(losses, 1.0), 1.0)


def _mean_spread(mup, lrs, tx):
    table = jnp.stack([_final_losses(w, mup, lrs, tx) for w in WIDTHS])  # (width, lr)
    return float((table.max(axis=0) - table.min(axis=0)).mean())


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_coordinate_check_sgd():
    """Train a 3-layer MLP at widths 32/128/512 with SGD whose step is scaled by each layer's ``lr_scale``, over a
    small learning-rate sweep. Under standard parameterisation the final loss depends strongly on width (the widest
    nets become unstable); under µP the spread across widths is far smaller (we require <= 0.6x)."""
    lrs = (0.05, 0.1, 0.2)
    sp = _mean_spread(False, lrs, optax.identity())
    mup = _mean_spread(True, lrs, optax.identity())
    assert mup <= 0.6 * sp, (mup, sp)


@pytest.mark.slow  # integration: a training loop or a torch/transformers interop check
def test_coordinate_check_adam():
    """The same check with Adam-normalised steps, where the µP table's learning-rate scales are the textbook ones
    (hidden 1/fan_in) and the µP nets actually learn."""
    lrs = (0.01, 0.03)
    sp = _mean_spread(False, lrs, optax.scale_by_adam())
    mup = _mean_spread(True, lrs, optax.scale_by_adam())
    assert mup <= 0.6 * sp, (mup, sp)
