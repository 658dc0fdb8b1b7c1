"""Interop proof: a GPT-2 built from haliax.nn pieces loads a transformers ``GPT2LMHeadModel`` state dict (random
init from a small config, no download) and gives the same logits; its export loads back into a fresh
``GPT2LMHeadModel`` with the same logits again.

Layout notes (the recipe of docs/state_dict.md):

* GPT-2 uses ``Conv1D``, whose weight is ``(in, out)``: every Linear here is ``out_first=False``.
* The fused ``c_attn`` projection is one Linear with ``Out = (qkv, heads, head_size)``: its torch-compatible export
  flattens ``Out`` to ``3 * embed`` in exactly GPT-2's q|k|v, head-major order, so no manual split is needed.
* Key names come from field names, renamed with ``_state_dict_key_map`` (``blocks`` -> ``h``, ...); the Stacked
  blocks export per layer (``transformer.h.{i}...``); the tied ``lm_head.weight`` is added by ``to_state_dict``.
"""

import os

import equinox as eqx
import jax
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from haliax.state_dict import (
    ModuleWithStateDictSerialization,
    default_eqx_module_to_state_dict,
    from_torch_compatible_state_dict,
    load_state_dict,
    save_state_dict,
    to_torch_compatible_state_dict,
    with_prefix,
)

pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch", reason="the GPT-2 interop test needs torch (pip install haliax[test])")
transformers = pytest.importorskip(
    "transformers", reason="the GPT-2 interop test needs transformers (pip install haliax[test])"
)

VOCAB, POSITIONS, EMBED, HEADS, LAYERS = 50, 16, 32, 4, 2
Vocab, Pos, KPos, Embed = hax.make_axes(vocab=VOCAB, position=POSITIONS, key_position=POSITIONS, embed=EMBED)
Heads, HeadSize, Qkv, Mlp, Layers = hax.make_axes(
    heads=HEADS, head_size=EMBED // HEADS, qkv=3, mlp=4 * EMBED, layers=LAYERS
)
Batch = hax.Axis("batch", 2)


class Attention(eqx.Module):
    c_attn: hnn.Linear  # embed -> (qkv, heads, head_size), Conv1D layout
    c_proj: hnn.Linear  # (heads, head_size) -> embed

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        return Attention(
            hnn.Linear.init(Embed, (Qkv, Heads, HeadSize), key=k1, out_first=False),
            hnn.Linear.init((Heads, HeadSize), Embed, key=k2, out_first=False),
        )

    def __call__(self, x):
        qkv = self.c_attn(x)
        q, k, v = (qkv[{"qkv": i}] for i in range(3))
        k, v = (hax.rename(t, {"position": "key_position"}) for t in (k, v))
        mask = hnn.attention.causal_mask(Pos, KPos)
        return self.c_proj(hnn.attention.dot_product_attention(KPos, HeadSize, q, k, v, mask=mask))


class MLP(eqx.Module):
    c_fc: hnn.Linear
    c_proj: hnn.Linear

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        return MLP(
            hnn.Linear.init(Embed, Mlp, key=k1, out_first=False), hnn.Linear.init(Mlp, Embed, key=k2, out_first=False)
        )

    def __call__(self, x):
        return self.c_proj(hnn.gelu(self.c_fc(x), approximate=True))  # GPT-2's gelu_new is the tanh form


class Block(eqx.Module):
    ln_1: hnn.LayerNorm
    attn: Attention
    ln_2: hnn.LayerNorm
    mlp: MLP

    @staticmethod
    def init(*, key):
        k1, k2 = jax.random.split(key)
        return Block(hnn.LayerNorm.init(Embed), Attention.init(key=k1), hnn.LayerNorm.init(Embed), MLP.init(key=k2))

    def __call__(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(ModuleWithStateDictSerialization):
    token_embeddings: hnn.Embedding
    position_embeddings: hnn.Embedding
    blocks: hnn.Stacked
    ln_f: hnn.LayerNorm

    def _state_dict_key_map(self):
        return {"token_embeddings": "wte", "position_embeddings": "wpe", "blocks": "h"}

    def __call__(self, ids):
        x = self.token_embeddings.embed(ids) + self.position_embeddings.embed(hax.arange(Pos))
        return self.ln_f(self.blocks.fold(x))


class GPT2(ModuleWithStateDictSerialization):
    transformer: Transformer

    @staticmethod
    def init(key):
        k1, k2, k3 = jax.random.split(key, 3)
        return GPT2(
            Transformer(
                hnn.Embedding.init(Vocab, Embed, key=k1),
                hnn.Embedding.init(Pos, Embed, key=k2),
                hnn.Stacked.init(Layers, Block)(key=jax.random.split(k3, LAYERS)),
                hnn.LayerNorm.init(Embed),
            )
        )

    def __call__(self, ids):
        h = self.transformer(ids)
        return hax.dot(h, self.transformer.token_embeddings.weight, axis=Embed)  # tied lm_head

    def to_state_dict(self, prefix=None):
        sd = default_eqx_module_to_state_dict(self, prefix)
        sd[with_prefix(prefix, "lm_head.weight")] = sd[with_prefix(prefix, "transformer.wte.weight")]
        return sd  # loading uses the default walk, which never reads the (tied) lm_head.weight


def _hf_model(seed):
    config = transformers.GPT2Config(
        vocab_size=VOCAB,
        n_positions=POSITIONS,
        n_embd=EMBED,
        n_layer=LAYERS,
        n_head=HEADS,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(seed)
    return transformers.GPT2LMHeadModel(config).eval()


def _hf_logits(model, ids):
    with torch.no_grad():
        return model(torch.from_numpy(ids)).logits.numpy()


@pytest.fixture(scope="module")
def setup():
    hf = _hf_model(0)
    ids = np.random.default_rng(0).integers(0, VOCAB, (Batch.size, POSITIONS)).astype(np.int64)
    return hf, ids, _hf_logits(hf, ids)


@eqx.filter_jit
def _forward(model, ids):
    return model(ids)


def _our_logits(model, ids):
    return np.asarray(_forward(model, hax.named(ids.astype(np.int32), (Batch, Pos))).array)


def test_gpt2_state_dict_loads_into_haliax_and_back(setup, tmp_path):
    hf, ids, expected = setup
    hf_sd = {k: v.detach().numpy() for k, v in hf.state_dict().items()}

    template = eqx.filter_eval_shape(GPT2.init, jax.random.PRNGKey(0))
    model = from_torch_compatible_state_dict(template, hf_sd)  # strict: every key, shape and dtype matches
    np.testing.assert_allclose(_our_logits(model, ids), expected, atol=1e-4, rtol=0)

    # export through a safetensors file and load it into a fresh (differently initialised) GPT2LMHeadModel
    path = str(tmp_path / "gpt2.safetensors")
    save_state_dict(to_torch_compatible_state_dict(model), path)
    from safetensors.torch import load_file

    fresh = _hf_model(1)
    assert not np.allclose(_hf_logits(fresh, ids), expected, atol=1e-4)
    exported = load_file(path)
    assert sorted(exported) == sorted(hf_sd)
    fresh.load_state_dict(exported, strict=True)
    np.testing.assert_allclose(_hf_logits(fresh, ids), _our_logits(model, ids), atol=1e-4, rtol=0)
    np.testing.assert_allclose(_hf_logits(fresh, ids), expected, atol=1e-4, rtol=0)


def test_fused_qkv_export_is_gpt2_conv1d_layout(setup):
    hf, _, _ = setup
    model = from_torch_compatible_state_dict(
        eqx.filter_eval_shape(GPT2.init, jax.random.PRNGKey(2)),
        {k: v.detach().numpy() for k, v in hf.state_dict().items()},
    )
    c_attn = model.transformer.blocks.get_layer(1).attn.c_attn
    assert c_attn.weight.axes == (Embed, Qkv, Heads, HeadSize)
    hf_w = hf.transformer.h[1].attn.c_attn.weight.detach().numpy()  # (embed, 3 * embed): q | k | v, head-major
    np.testing.assert_array_equal(c_attn.weight.array[:, 1, 2, :], hf_w[:, EMBED + 2 * (EMBED // HEADS) :][:, :8])


def test_save_pretrained_checkpoint_loads_leniently(setup, tmp_path):
    """``save_pretrained`` drops the tied ``lm_head.weight``: strict loading says so, ``strict=False`` loads."""
    hf, ids, expected = setup
    hf.save_pretrained(tmp_path)
    path = os.path.join(tmp_path, "model.safetensors")
    template = eqx.filter_eval_shape(GPT2.init, jax.random.PRNGKey(0))
    with pytest.raises(KeyError, match="lm_head.weight"):
        load_state_dict(path, template)
    model, report = load_state_dict(path, template, strict=False)
    assert report.missing == ("lm_head.weight",) and not report.unexpected and not report.mismatched
    np.testing.assert_allclose(_our_logits(model, ids), expected, atol=1e-4, rtol=0)
