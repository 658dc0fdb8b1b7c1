"""State dicts of Stacked / BlockSeq: the per-layer (torch ModuleList) layout, round trips, helpers."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax import NamedArray
from haliax.nn.scan import _stack_state_dict, _unstack_state_dict
from haliax.state_dict import (
    from_state_dict,
    from_torch_compatible_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
)

L, E, H, Batch = hax.make_axes(L=3, E=4, H=5, batch=2)


class Block(eqx.Module):
    up: hnn.Linear
    down: hnn.Linear
    drop: hnn.Dropout

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        return Block(hnn.Linear.init(E, H, key=k1), hnn.Linear.init(H, E, key=k2), hnn.Dropout(0.1, inference=True))

    def __call__(self, x):
        return x + self.down(hax.tanh(self.up(x)))


class Model(eqx.Module):
    blocks: hnn.Stacked | hnn.BlockSeq


def _make(cls, seed=0):
    return cls.init(L, Block)(key=jax.random.split(jax.random.PRNGKey(seed), L.size))


def _assert_same_dict(a, b, exact=True):
    assert sorted(a) == sorted(b)
    for k in a:
        if hasattr(a[k], "shape"):
            np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)
        else:
            assert a[k] == b[k], k


def test_per_layer_layout_and_identical_dicts():
    s, b = _make(hnn.Stacked), _make(hnn.BlockSeq)
    sd_s = to_state_dict(Model(s))
    expected = {f"blocks.{i}.{n}" for i in range(3) for n in ("up.weight", "up.bias", "down.weight", "down.bias")}
    expected |= {f"blocks.{i}.drop.inference" for i in range(3)}
    assert set(sd_s) == expected
    assert sd_s["blocks.1.up.weight"].shape == (5, 4)
    np.testing.assert_array_equal(sd_s["blocks.2.up.weight"], s.stacked.up.weight.array[2])
    _assert_same_dict(sd_s, to_state_dict(Model(b)))
    assert sorted(s.to_state_dict())[:2] == ["0.down.bias", "0.down.weight"]  # no prefix


def test_round_trip_stacked_blockseq_stacked_bit_exact():
    s = _make(hnn.Stacked)
    b_template = _make(hnn.BlockSeq, seed=1)
    b = from_state_dict(Model(b_template), to_state_dict(Model(s)))
    s_back = from_state_dict(Model(_make(hnn.Stacked, seed=2)), to_state_dict(b)).blocks
    for u, v in zip(jax.tree.leaves(s_back), jax.tree.leaves(s), strict=True):
        np.testing.assert_array_equal(u, v)
    for i in range(L.size):
        for u, v in zip(jax.tree.leaves(b.blocks.blocks[i]), jax.tree.leaves(s.get_layer(i)), strict=True):
            np.testing.assert_array_equal(u, v)
    assert s_back.stacked.drop.inference is True and s_back.Block == L
    x = NamedArray(jax.random.normal(jax.random.PRNGKey(3), (Batch.size, E.size)), (Batch, E))
    np.testing.assert_array_equal(s_back.fold(x).array, s.fold(x).array)
    np.testing.assert_allclose(b.blocks.fold(x).array, s.fold(x).array, atol=1e-5)


def test_missing_layer_and_wrong_shape():
    s = _make(hnn.Stacked)
    sd = to_state_dict(s, "h")
    del sd["h.2.up.weight"]
    with pytest.raises(KeyError):
        s.from_state_dict(sd, "h")
    sd = to_state_dict(s, "h")
    sd["h.1.up.bias"] = jnp.ones(7)
    with pytest.raises(ValueError, match="shape"):
        s.from_state_dict(sd, "h")


class Inner(eqx.Module):
    w: NamedArray

    @staticmethod
    def init(w):
        return Inner(w)

    def __call__(self, x):
        return x * self.w


class Outer(eqx.Module):
    inner: hnn.Stacked

    @staticmethod
    def init(w):
        return Outer(hnn.Stacked.init(hax.Axis("J", 2), Inner)(w))


def test_nested_stacked_layout_and_round_trip():
    J = hax.Axis("J", 2)
    w = hax.arange((L, J, E)) * 1.0
    outer = hnn.Stacked.init(L, Outer)(w)
    assert outer.stacked.inner.stacked.w.axes == (L, J, E)
    sd = outer.to_state_dict("h")
    assert sorted(sd) == [f"h.{i}.inner.{j}.w" for i in range(3) for j in range(2)]
    for i in range(3):
        for j in range(2):
            np.testing.assert_array_equal(sd[f"h.{i}.inner.{j}.w"], w.array[i, j])
    back = outer.from_state_dict({k: v + 1 for k, v in sd.items()}, "h")
    np.testing.assert_array_equal(back.stacked.inner.stacked.w.array, w.array + 1)


def test_stack_unstack_helpers():
    sd = {"h.0.w": jnp.ones(2, dtype=jnp.int32), "h.1.w": jnp.full(2, 0.5), "h.x": 3, "g.0.w": jnp.zeros(1)}
    st = _stack_state_dict(sd, "h")
    assert set(st) == {"h.w", "h.x", "g.0.w"} and st["h.x"] == 3
    assert st["h.w"].dtype == jnp.float32 and st["h.w"].tolist() == [[1, 1], [0.5, 0.5]]  # promotion
    assert set(_stack_state_dict({"0.a": jnp.ones(1), "1.a": jnp.ones(1), "b": 1})) == {"a", "b"}
    with pytest.raises(AssertionError):
        _stack_state_dict({"h.0.w": jnp.ones(1), "h.00.w": jnp.ones(1)}, "h")
    with pytest.raises(ValueError, match="expected 0..n-1"):
        _stack_state_dict({"h.0.w": jnp.ones(1), "h.2.w": jnp.ones(1)}, "h")
    un = _unstack_state_dict({"h.w": jnp.arange(6).reshape(3, 2), "h.s": 1.0, "hx.w": jnp.ones(3)}, "h")
    assert set(un) == {"h.0.w", "h.1.w", "h.2.w", "h.s", "hx.w"} and un["h.2.w"].tolist() == [4, 5]
    assert set(_unstack_state_dict({"w": jnp.ones((2, 1))})) == {"0.w", "1.w"}
    full = to_state_dict(_make(hnn.Stacked).stacked, "h")
    arrays = {k: v for k, v in full.items() if hasattr(v, "shape")}
    again = _stack_state_dict(_unstack_state_dict(arrays, "h"), "h")
    for k in arrays:
        np.testing.assert_array_equal(again[k], arrays[k])


def test_torch_module_list_parity():
    torch = pytest.importorskip("torch")

    class TorchBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.up = torch.nn.Linear(E.size, H.size)
            self.down = torch.nn.Linear(H.size, E.size)

        def forward(self, x):
            return x + self.down(torch.tanh(self.up(x)))

    torch.manual_seed(0)
    blocks = torch.nn.ModuleList([TorchBlock() for _ in range(L.size)])
    sd = {k: v.detach().numpy() for k, v in blocks.state_dict().items()}
    for cls in (hnn.Stacked, hnn.BlockSeq):
        m = from_torch_compatible_state_dict(_make(cls), sd)
        x = np.random.RandomState(0).randn(Batch.size, E.size).astype(np.float32)
        out = m.fold(NamedArray(jnp.asarray(x), (Batch, E)))
        ref = torch.from_numpy(x)
        for blk in blocks:
            ref = blk(ref)
        np.testing.assert_allclose(out.array, ref.detach().numpy(), atol=1e-4)
        exported = to_torch_compatible_state_dict(m)
        blocks2 = torch.nn.ModuleList([TorchBlock() for _ in range(L.size)])
        blocks2.load_state_dict({k: torch.tensor(np.array(v)) for k, v in exported.items()}, strict=True)
        for k, v in blocks.state_dict().items():
            np.testing.assert_array_equal(blocks2.state_dict()[k].numpy(), v.numpy())


@pytest.mark.slow  # integration: a torch interop check
def test_torch_compatible_export_flattens_per_layer():
    D, F, O = hax.make_axes(D=2, F=3, O=4)
    s = hnn.Stacked.init(L, hnn.Linear)((D, F), O, key=jax.random.split(jax.random.PRNGKey(0), L.size))
    sd = to_torch_compatible_state_dict(s, prefix="h")
    assert sorted(sd) == [f"h.{i}.{n}" for i in range(3) for n in ("bias", "weight")]
    assert sd["h.1.weight"].shape == (4, 6) and isinstance(sd["h.1.weight"], np.ndarray | jax.Array)
    np.testing.assert_array_equal(np.asarray(sd["h.2.weight"]), np.asarray(s.stacked.weight.array[2]).reshape(4, 6))
    back = from_torch_compatible_state_dict(s, sd, prefix="h")
    assert back.stacked.weight.axes == s.stacked.weight.axes
    np.testing.assert_array_equal(back.stacked.weight.array, s.stacked.weight.array)
