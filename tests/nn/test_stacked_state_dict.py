"""Stacked state dicts for blocks with their own from_state_dict / to_state_dict (a Mixtral-style expert block):
the block's method runs once on the stacked block; plain blocks and BlockSeq load layer by layer."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax import NamedArray
from haliax.nn.stacked import _merge_layers, has_own_state_dict_method
from haliax.state_dict import (
    ModuleWithStateDictSerialization,
    StateDictMismatchError,
    from_state_dict,
    load_state_dict,
    save_state_dict,
    to_state_dict,
    to_torch_compatible_state_dict,
    with_prefix,
)

L, Exp, Mlp, Embed, Batch = hax.make_axes(layers=3, experts=4, mlp=5, embed=6, batch=2)

CALLS: list[dict] = []


class Experts(ModuleWithStateDictSerialization):
    """Mixtral-style experts: torch stores one matrix per expert (``experts.{e}.w1.weight``, shape (mlp, embed)),
    we store them concatenated along an ``experts`` axis."""

    w1: NamedArray  # (experts, mlp, embed)
    w2: NamedArray  # (experts, embed, mlp)
    gate: hnn.Linear  # embed -> experts, loaded by the default walk

    @classmethod
    def init(cls, *, key):
        k1, k2, k3 = jax.random.split(key, 3)
        return cls(
            hax.random.normal(k1, (Exp, Mlp, Embed)),
            hax.random.normal(k2, (Exp, Embed, Mlp)),
            hnn.Linear.init(Embed, Exp, key=k3),
        )

    def __call__(self, x):
        probs = hnn.softmax(self.gate(x), Exp)
        h = hax.tanh(hax.dot(x, self.w1, axis=Embed))
        return x + hax.dot(probs, hax.dot(h, self.w2, axis=Mlp), axis=Exp)

    def from_state_dict(self, state_dict, prefix=None):
        # Stacked calls this once with the stacked block: each per-expert entry has the layer dim first, so the
        # experts are concatenated along the axis after it
        CALLS.append({"prefix": prefix, "w1_axes": self.w1.axes})
        n = self.w1.axes.index(Exp)

        def gather(name):
            parts = [
                jnp.expand_dims(jnp.asarray(state_dict[with_prefix(prefix, f"experts.{e}.{name}.weight")]), n)
                for e in range(Exp.size)
            ]
            return jnp.concatenate(parts, axis=n)

        gate = from_state_dict(self.gate, state_dict, with_prefix(prefix, "gate"))
        w1 = NamedArray(gather("w1"), self.w1.axes)
        w2 = NamedArray(gather("w2"), self.w2.axes)
        return dataclasses.replace(self, w1=w1, w2=w2, gate=gate)

    def to_state_dict(self, prefix=None):
        out = {}
        for e in range(Exp.size):
            out[with_prefix(prefix, f"experts.{e}.w1.weight")] = self.w1["experts", e].array
            out[with_prefix(prefix, f"experts.{e}.w2.weight")] = self.w2["experts", e].array
        out.update(to_state_dict(self.gate, with_prefix(prefix, "gate")))
        return out


class Model(eqx.Module):
    blocks: hnn.Stacked | hnn.BlockSeq


def _keys():
    return jax.random.split(jax.random.PRNGKey(0), L.size)


def _torch_style_dict(prefix="blocks", seed=1):
    """A per-layer, per-expert state dict as a PyTorch Mixtral checkpoint lays it out (NumPy values)."""
    rng = np.random.default_rng(seed)
    sd = {}
    for i in range(L.size):
        for e in range(Exp.size):
            sd[f"{prefix}.{i}.experts.{e}.w1.weight"] = rng.standard_normal((Mlp.size, Embed.size)).astype(np.float32)
            sd[f"{prefix}.{i}.experts.{e}.w2.weight"] = rng.standard_normal((Embed.size, Mlp.size)).astype(np.float32)
        sd[f"{prefix}.{i}.gate.weight"] = rng.standard_normal((Exp.size, Embed.size)).astype(np.float32)
        sd[f"{prefix}.{i}.gate.bias"] = rng.standard_normal((Exp.size,)).astype(np.float32)
    return sd


def _assert_same_dict(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]), err_msg=k)
        assert np.asarray(a[k]).dtype == np.asarray(b[k]).dtype, k


def test_block_with_own_methods_is_detected():
    s = hnn.Stacked.init(L, Experts)(key=_keys())
    assert has_own_state_dict_method(s.stacked, "from_state_dict")
    assert has_own_state_dict_method(s.stacked, "to_state_dict")
    assert not has_own_state_dict_method(hnn.LayerNorm.init(Embed), "from_state_dict")
    assert not has_own_state_dict_method(s, "from_state_dict")  # a stack used as a block goes layer by layer


def test_mixtral_block_loads_once_with_stacked_arrays():
    template = Model(hnn.Stacked.init(L, Experts)(key=_keys()))
    sd = _torch_style_dict()
    CALLS.clear()
    model = from_state_dict(template, sd)
    assert len(CALLS) == 1  # the block's own method runs once, on the whole stack
    assert CALLS[0]["prefix"] == "blocks" and CALLS[0]["w1_axes"] == (L, Exp, Mlp, Embed)

    # built by hand: per layer, the experts stacked along the axis after the layer axis
    w1 = np.stack([np.stack([sd[f"blocks.{i}.experts.{e}.w1.weight"] for e in range(Exp.size)]) for i in range(L.size)])
    w2 = np.stack([np.stack([sd[f"blocks.{i}.experts.{e}.w2.weight"] for e in range(Exp.size)]) for i in range(L.size)])
    gate = np.stack([sd[f"blocks.{i}.gate.weight"] for i in range(L.size)])
    blocks = model.blocks.stacked
    assert blocks.w1.axes == (L, Exp, Mlp, Embed) and blocks.w2.axes == (L, Exp, Embed, Mlp)
    np.testing.assert_array_equal(np.asarray(blocks.w1.array), w1)
    np.testing.assert_array_equal(np.asarray(blocks.w2.array), w2)
    np.testing.assert_array_equal(np.asarray(blocks.gate.weight.array), gate)
    assert blocks.gate.weight.axes == (L, Exp, Embed)


def test_mixtral_block_round_trips_bit_for_bit():
    template = Model(hnn.Stacked.init(L, Experts)(key=_keys()))
    sd = _torch_style_dict()
    model = from_state_dict(template, sd)
    _assert_same_dict(to_state_dict(model), sd)  # load -> save -> identical dict
    again = from_state_dict(template, to_state_dict(model))
    for u, v in zip(jax.tree.leaves(again), jax.tree.leaves(model), strict=True):
        np.testing.assert_array_equal(u, v)


def test_mixtral_block_round_trips_through_a_safetensors_file(tmp_path):
    template = Model(hnn.Stacked.init(L, Experts)(key=_keys()))
    sd = _torch_style_dict()
    path = str(tmp_path / "mixtral.safetensors")
    save_state_dict(sd, path)
    model = load_state_dict(path, template)
    _assert_same_dict(to_torch_compatible_state_dict(model), sd)


def test_mixtral_block_without_prefix_and_layer_results():
    stack = hnn.Stacked.init(L, Experts)(key=_keys())
    sd = {k[len("blocks.") :]: v for k, v in _torch_style_dict().items()}
    loaded = stack.from_state_dict(sd)
    _assert_same_dict(loaded.to_state_dict(), sd)
    # each layer of the loaded stack equals a layer loaded by hand from its own keys
    x = hax.random.normal(jax.random.PRNGKey(3), (Batch, Embed))
    expected = x
    for i in range(L.size):
        layer = loaded.get_layer(i)
        for e in range(Exp.size):
            np.testing.assert_array_equal(np.asarray(layer.w1["experts", e].array), sd[f"{i}.experts.{e}.w1.weight"])
        expected = layer(expected)
    out = loaded.fold(x)
    np.testing.assert_allclose(np.asarray(out.rearrange((Batch, Embed)).array), np.asarray(expected.array), atol=1e-5)


def test_mixtral_checkpoint_moves_between_stacked_and_blockseq():
    sd = _torch_style_dict()
    stacked = from_state_dict(Model(hnn.Stacked.init(L, Experts)(key=_keys())), sd)
    CALLS.clear()
    seq = from_state_dict(Model(hnn.BlockSeq.init(L, Experts)(key=_keys())), sd)
    # BlockSeq loads block by block: the method runs once per block, each block without the layer axis
    assert [c["prefix"] for c in CALLS] == [f"blocks.{i}" for i in range(L.size)]
    assert all(c["w1_axes"] == (Exp, Mlp, Embed) for c in CALLS)
    _assert_same_dict(to_state_dict(seq), sd)
    for i in range(L.size):
        for u, v in zip(
            jax.tree.leaves(seq.blocks.blocks[i]), jax.tree.leaves(stacked.blocks.get_layer(i)), strict=True
        ):
            np.testing.assert_array_equal(u, v)


def test_mixtral_strict_and_lenient_loading():
    template = Model(hnn.Stacked.init(L, Experts)(key=_keys()))
    sd = _torch_style_dict()
    del sd["blocks.2.experts.1.w2.weight"]
    with pytest.raises(StateDictMismatchError, match=r"blocks\.2\.experts\.1\.w2\.weight"):
        from_state_dict(template, sd)
    model, report = from_state_dict(template, {**sd, "blocks.9.gate.bias": np.zeros(4)}, strict=False)
    assert report.missing == ("blocks.2.experts.1.w2.weight",)
    assert report.unexpected == ("blocks.9.gate.bias",)
    # the missing expert kept the template's value, the others were loaded
    kept = template.blocks.stacked.w2.array[2, 1]
    np.testing.assert_array_equal(np.asarray(model.blocks.stacked.w2.array[2, 1]), np.asarray(kept))
    np.testing.assert_array_equal(np.asarray(model.blocks.stacked.w2.array[2, 0]), sd["blocks.2.experts.0.w2.weight"])


class Recorder(ModuleWithStateDictSerialization):
    """A child module with its own from_state_dict that records the axes it was called with."""

    w: NamedArray

    @staticmethod
    def init(*, key):
        return Recorder(hax.random.normal(key, (Embed,)))

    def from_state_dict(self, state_dict, prefix=None):
        CALLS.append({"prefix": prefix, "w1_axes": self.w.axes})
        return dataclasses.replace(self, w=NamedArray(jnp.asarray(state_dict[with_prefix(prefix, "w")]), self.w.axes))


class PlainBlock(eqx.Module):
    """A block without its own state-dict methods, holding a child that has one."""

    rec: Recorder
    ln: hnn.LayerNorm

    @staticmethod
    def init(*, key):
        return PlainBlock(Recorder.init(key=key), hnn.LayerNorm.init(Embed))


@pytest.mark.parametrize("kind", [hnn.Stacked, hnn.BlockSeq])
def test_plain_block_loads_layer_by_layer(kind):
    stack = kind.init(L, PlainBlock)(key=_keys())
    sd = {k: np.asarray(v) + 1 for k, v in to_state_dict(Model(stack)).items()}
    assert "blocks.2.rec.w" in sd and "blocks.0.ln.weight" in sd
    CALLS.clear()
    loaded = from_state_dict(Model(stack), sd)
    # the child's own method ran once per layer, on one layer's arrays (no layer axis)
    assert [c["prefix"] for c in CALLS] == [f"blocks.{i}.rec" for i in range(L.size)]
    assert all(c["w1_axes"] == (Embed,) for c in CALLS)
    _assert_same_dict(to_state_dict(loaded), sd)


def test_stacked_linear_uses_its_own_methods_and_round_trips():
    stack = hnn.Stacked.init(L, hnn.Linear)(Embed, Mlp, key=_keys())
    sd = stack.to_state_dict("h")
    assert sorted(sd) == sorted(f"h.{i}.{n}" for i in range(L.size) for n in ("weight", "bias"))
    np.testing.assert_array_equal(np.asarray(sd["h.1.weight"]), np.asarray(stack.stacked.weight.array[1]))
    back = hnn.Stacked.init(L, hnn.Linear)(Embed, Mlp, key=jax.random.split(jax.random.PRNGKey(5), L.size))
    back = back.from_state_dict(sd, "h")
    for u, v in zip(jax.tree.leaves(back), jax.tree.leaves(stack), strict=True):
        np.testing.assert_array_equal(u, v)


class BadSplit(Experts):
    def to_state_dict(self, prefix=None):
        return {with_prefix(prefix, "w1"): self.w1.array.reshape(-1)}  # loses the layer dim


def test_own_to_state_dict_must_keep_the_layer_dim():
    stack = hnn.Stacked.init(L, BadSplit)(key=_keys())
    with pytest.raises(
        ValueError, match=r"Stacked\.to_state_dict \(BadSplit\.to_state_dict\).*'h\.w1'.*shape \(360,\)"
    ):
        stack.to_state_dict("h")
    with pytest.raises(ValueError, match=r"not the Block axis layers\(3\)"):
        stack.to_state_dict("h")


def test_merge_layers_errors():
    where = "Stacked.from_state_dict (Experts.from_state_dict)"
    with pytest.raises(ValueError, match=r"'h\.\{i\}\.w' is given for layers \[0, 2\] but missing for layers \[1\]"):
        _merge_layers({"h.0.w": np.ones(2), "h.2.w": np.ones(2)}, "h", L, where)
    with pytest.raises(ValueError, match=r"layer index 1 appears twice for key 'w' \(at 'h\.01\.w'\)") as info:
        _merge_layers({"h.1.w": np.ones(2), "h.01.w": np.ones(2)}, "h", L, where)
    assert isinstance(info.value, AssertionError)  # what Haliax raises for a duplicate layer
    with pytest.raises(ValueError, match=r"non-array value of 'h\.\{i\}\.flag' differs between layers"):
        _merge_layers({"h.0.flag": True, "h.1.flag": False, "h.2.flag": True}, "h", L, where)
    merged = _merge_layers({f"h.{i}.flag": True for i in range(3)} | {"h.7.w": 1, "o": 2}, "h", L, where)
    assert merged == {"h.flag": True, "h.7.w": 1, "o": 2}  # shared values kept once; extra layers pass through


def test_duplicate_layer_index_when_loading_leniently():
    template = Model(hnn.Stacked.init(L, Experts)(key=_keys()))
    sd = _torch_style_dict()
    sd["blocks.01.gate.bias"] = sd["blocks.1.gate.bias"]
    with pytest.raises(StateDictMismatchError, match=r"blocks\.01\.gate\.bias"):
        from_state_dict(template, sd)
    with pytest.raises(ValueError, match=r"Stacked\.from_state_dict \(Experts\.from_state_dict\): layer index 1"):
        from_state_dict(template, sd, strict=False)
