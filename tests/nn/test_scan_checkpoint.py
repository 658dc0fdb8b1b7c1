"""ScanCheckpointPolicy: shorthands, the saved residual shapes (as in Haliax), equal gradients, and memory savings."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.ad_checkpoint import checkpoint_name

import haliax as hax
import haliax.nn as hnn
from haliax import NamedArray
from haliax.nn import ScanCheckpointPolicy as P

E, L = hax.make_axes(E=10, L=4)


class SinCos(eqx.Module):
    """The block of the jaxpr checks: sin and cos, tagged "sin" / "cos", plus a per-layer weight."""

    w: NamedArray

    @staticmethod
    def init(*, key):
        return SinCos(NamedArray(jax.random.normal(key, (E.size,)), (E,)))

    def __call__(self, x):
        x = hax.sin(x)
        x = NamedArray(checkpoint_name(x.array, "sin"), x.axes)
        x = hax.cos(x)
        x = NamedArray(checkpoint_name(x.array, "cos"), x.axes)
        return x + self.w


_STACK = {}


def _stack(cls=hnn.Stacked):
    if cls not in _STACK:
        _STACK[cls] = cls.init(L, SinCos)(key=jax.random.split(jax.random.PRNGKey(0), L.size))
    return _STACK[cls]


def _with_policy(m, policy):
    return dataclasses.replace(m, gradient_checkpointing=P.from_bool_or_str(policy))


def _loss(m, x):
    return hax.sum(m.fold(x) * hax.arange(E)).array


_grad = eqx.filter_jit(eqx.filter_grad(_loss, has_aux=False))


def test_shorthands():
    assert P.from_bool_or_str(True) == P(simple=True)
    assert P.from_bool_or_str(False) == P(disable=True, save_carries=True, save_inputs=True, save_block_internals=True)
    assert P.from_bool_or_str("offload") == P(save_carries="offload", save_inputs="offload")
    assert P.from_bool_or_str("full") == P.from_bool_or_str("recompute") == P(save_carries=False, save_inputs=False)
    assert P.from_bool_or_str("save_all") == P(save_carries=True, save_inputs=True, save_block_internals=True)
    assert P.from_bool_or_str("nested") == P(nested=True)
    p = P(save_block_internals=["a", "b"])
    assert (
        P._mk(p) is p and p.save_block_internals == ("a", "b") and hash(p) == hash(P(save_block_internals=("a", "b")))
    )
    for bad in ("bogus", None, 3):
        with pytest.raises(ValueError, match="Invalid checkpoint policy"):
            P.from_bool_or_str(bad)
    with pytest.raises(ValueError, match="save_carries must be True, False or 'offload'"):
        P(save_carries="yes")
    with pytest.raises(ValueError, match="nested must be"):
        P(nested=0)
    with pytest.raises(ValueError, match="Can't save all block internals and offload too"):
        P(save_block_internals=True, offload_block_internals=["x"])._jax_policy("c", "i")
    # default of Stacked/BlockSeq is *no* checkpointing
    assert hnn.Stacked.init(L, SinCos)(key=jax.random.split(jax.random.PRNGKey(0), 4)).gradient_checkpointing.disable
    assert P(nested=True).outer_size(16) == 4 and P(nested=True).outer_size(7) == 1 and P().outer_size(16) is None
    with pytest.raises(ValueError, match="Length 6 must be divisible by outer_size 4"):
        P(nested=4).outer_size(6)


def _first_scan(policy):
    m = _with_policy(_stack(), policy)
    jaxpr = jax.make_jaxpr(eqx.filter_grad(lambda m, x: hax.sum(m.fold(x)).array))(m, hax.ones(E))
    eqn = next(e for e in jaxpr.jaxpr.eqns if e.primitive.name == "scan")
    return [tuple(v.aval.shape) for v in eqn.outvars], eqn


@pytest.mark.parametrize(
    "policy, shapes",
    [
        (False, [(10,), (4, 10), (4, 10)]),
        (True, [(10,), (4, 10)]),
        (P(save_carries=True), [(10,), (4, 10)]),
        (P(save_carries=True, save_inputs=True, save_block_internals=True), [(10,), (4, 10), (4, 10)]),
        (P(save_carries=False, save_block_internals=True), [(10,), (4, 10), (4, 10)]),
        (P(save_carries=False, save_block_internals=["cos"]), [(10,), (4, 10)]),
        (P(save_carries=True, save_block_internals=["sin"]), [(10,), (4, 10), (4, 10)]),
        (P(simple=True), [(10,), (4, 10)]),
        (P(simple=True, nested=2), [(10,), (2, 10)]),
    ],
)
def test_pinned_first_scan_output_shapes(policy, shapes):
    assert _first_scan(policy)[0] == shapes


def test_pinned_offload_device_put_in_scan_body():
    shapes, eqn = _first_scan(P(save_carries=True, offload_block_internals=["sin"]))
    assert len(shapes) == 3
    body = str(eqn.params["jaxpr"])
    assert "device_put" in body


def test_checkpoint_names_and_unroll_forwarded():
    m = _stack()
    text = str(jax.make_jaxpr(lambda m, x: m.fold(x))(m, hax.ones(E)))
    # without a policy only the carry is tagged (an input tag would make autodiff store a copy of the weights)
    assert "scan(L)__carry" in text and "scan(L)__input" not in text
    text = str(jax.make_jaxpr(lambda m, x: m.fold(x))(_with_policy(m, "save_all"), hax.ones(E)))
    assert "scan(L)__carry" in text and "scan(L)__input" in text
    jaxpr = jax.make_jaxpr(lambda m, x: m.fold(x, unroll=2))(m, hax.ones(E))
    eqn = next(e for e in jaxpr.jaxpr.eqns if e.primitive.name == "scan")
    assert eqn.params["unroll"] == 2


_POLICIES = [
    True,
    "full",
    "save_all",
    "offload",
    "nested",
    P(save_inputs=True),
    P(save_carries=False, save_block_internals=["sin"]),
    P(save_carries=False, save_block_internals=True),
    P(offload_block_internals=["sin"]),
    P(simple=True, nested=2),
    P(save_carries=False, nested=2),
]


# BlockSeq runs the same policy objects through the same `checkpoint` code; one policy per code path is enough there
_BLOCKSEQ_POLICIES = [True, "full", "offload", "nested", P(save_carries=False, save_block_internals=["sin"])]


@pytest.mark.parametrize("cls, policies", [(hnn.Stacked, _POLICIES), (hnn.BlockSeq, _BLOCKSEQ_POLICIES)])
def test_every_policy_same_gradients(cls, policies):
    x = NamedArray(jnp.linspace(-1.0, 1.0, E.size), (E,))
    ref = _grad(_with_policy(_stack(cls), False), x)
    for policy in policies:
        g = _grad(_with_policy(_stack(cls), policy), x)
        for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(ref), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=str(policy))


def test_blockseq_applies_policy():
    seq = _stack(hnn.BlockSeq)

    def prims(policy):
        m = _with_policy(seq, policy)
        jaxpr = jax.make_jaxpr(eqx.filter_grad(lambda m, x: hax.sum(m.fold(x)).array))(m, hax.ones(E))
        return str(jaxpr)

    assert "checkpoint" not in prims(False) and "remat" not in prims(False)
    text = prims("full")
    assert ("checkpoint" in text or "remat" in text) and "scan(L)__carry" in text
    assert "BlockSeq[L(4), SinCos].carry" in text
    with pytest.raises(ValueError, match="Length 4 must be divisible by outer_size 3"):
        _grad(_with_policy(seq, P(nested=3)), hax.ones(E))


# --------------------------------------------------------------------------------------------------
# memory: a 16-layer stack whose activations dominate its weights

Batch, D, Hid, L16 = hax.make_axes(batch=256, D=32, Hid=64, L=16)


class Mlp(eqx.Module):
    up: hnn.Linear
    down: hnn.Linear

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        return Mlp(hnn.Linear.init(D, Hid, key=k1), hnn.Linear.init(Hid, D, key=k2))

    def __call__(self, x):
        h = hax.tanh(self.up(x))
        return x + self.down(hax.sin(h) * h)


def _temp_bytes(stack, policy):
    params, static = eqx.partition(_with_policy(stack, policy), eqx.is_array)

    def loss(p, x):
        return hax.sum(eqx.combine(p, static).fold(x)).array

    x = hax.ones((Batch, D))
    return jax.jit(jax.grad(loss)).lower(params, x).compile().memory_analysis().temp_size_in_bytes


def test_compiled_backward_memory_16_layers():
    shapes = eqx.filter_eval_shape(lambda: hnn.Stacked.init(L16, Mlp)(key=jax.random.split(jax.random.PRNGKey(0), 16)))
    stack = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype) if isinstance(s, jax.ShapeDtypeStruct) else s, shapes)
    everything = _temp_bytes(stack, "save_all")
    nothing = _temp_bytes(stack, "full")
    nested = _temp_bytes(stack, "nested")
    assert nothing < everything / 4, (nothing, everything)
    assert nested < everything / 4, (nested, everything)
    assert nested < nothing, (nested, nothing)  # sqrt-L: only 4 + 4 carries alive instead of 16


@pytest.mark.parametrize("module", ["haliax.checkpoint_policy", "haliax.nn.blockseq"])
def test_private_module_doctests(module):
    """The modules holding `ScanCheckpointPolicy` and `BlockSeq` (once private, so checked here too)."""
    import doctest
    import importlib

    mod = importlib.import_module(module)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(mod, module, globs={}):
        runner.run(test, out=out.append)
    assert runner.tries > 0 and runner.failures == 0, "".join(out)
