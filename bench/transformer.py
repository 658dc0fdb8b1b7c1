"""GPT-style LM train step (forward, backward, SGD) written with haliax.nn (in two spellings), raw JAX and equinox.nn.

Config (default): vocab 1024, d_model 256, 4 heads, mlp 1024, 4 layers, seq 256, batch 8, float32. Pre-norm
blocks (RmsNorm, causal multi-head attention, RmsNorm, gelu MLP), bias-free Linear layers, a learned positional
embedding, a final RmsNorm and an untied LM head; the loss is the mean one-hot cross-entropy. All stack the layers
and run them with one scan (haliax `Stacked.fold`, `lax.scan` over stacked arrays, and Equinox's `filter_vmap` +
`lax.scan` pattern), so the programs have the same structure and differ only in how they are written.

The haliax model is written as users write it, with the default attention implementation, in two spellings of the
causal mask: `haliax_seed` passes `causal_mask(Pos, KPos)` (the array Haliax's API builds) and `haliax_mask`
passes `AttentionMask.causal()`.

The same weights are copied into all of them and their losses must agree to 1e-5 before anything is timed.
Figures: step time (median over interleaved rounds, with the interquartile range), trace time
(`jit(f).trace`), lower time, compile time (`Lowered.compile`, median over fresh lowerings) and XLA temp memory
(`compiled.memory_analysis().temp_size_in_bytes`), each also as a ratio to raw JAX and to Equinox.

Usage: python bench/transformer.py [--layers 4] [--rounds 15] [--compile-repeats 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax

import haliax as hax
import haliax.nn as hnn
from haliax.nn.attention import AttentionMask, causal_mask, dot_product_attention

LR = 1e-2
NAMED = ("haliax_seed", "haliax_mask")


@dataclasses.dataclass(frozen=True)
class Config:
    vocab: int = 1024
    d_model: int = 256
    heads: int = 4
    mlp: int = 1024
    layers: int = 4
    seq: int = 256
    batch: int = 8

    @property
    def head_size(self) -> int:
        return self.d_model // self.heads

    # the named axes
    @property
    def Vocab(self) -> hax.Axis:
        return hax.Axis("vocab", self.vocab)

    @property
    def Embed(self) -> hax.Axis:
        return hax.Axis("embed", self.d_model)

    @property
    def Heads(self) -> hax.Axis:
        return hax.Axis("heads", self.heads)

    @property
    def HeadSize(self) -> hax.Axis:
        return hax.Axis("head_size", self.head_size)

    @property
    def Pos(self) -> hax.Axis:
        return hax.Axis("position", self.seq)

    @property
    def KPos(self) -> hax.Axis:
        return hax.Axis("key_position", self.seq)

    @property
    def Batch(self) -> hax.Axis:
        return hax.Axis("batch", self.batch)

    @property
    def Layers(self) -> hax.Axis:
        return hax.Axis("layers", self.layers)


# ================================================================================================
# haliax.nn


class Attention(eqx.Module):
    q_proj: hnn.Linear  # Embed -> (Heads, HeadSize)
    k_proj: hnn.Linear
    v_proj: hnn.Linear
    o_proj: hnn.Linear  # (Heads, HeadSize) -> Embed
    cfg: Config = eqx.field(static=True)
    spelling: str = eqx.field(static=True)  # "seed": causal_mask(Pos, KPos); "mask": AttentionMask.causal()

    @staticmethod
    def init(cfg: Config, spelling: str = "seed", *, key: jax.Array) -> Attention:
        kq, kk, kv, ko = jax.random.split(key, 4)
        qkv = (cfg.Heads, cfg.HeadSize)
        return Attention(
            hnn.Linear.init(cfg.Embed, qkv, key=kq, use_bias=False),
            hnn.Linear.init(cfg.Embed, qkv, key=kk, use_bias=False),
            hnn.Linear.init(cfg.Embed, qkv, key=kv, use_bias=False),
            hnn.Linear.init(qkv, cfg.Embed, key=ko, use_bias=False),
            cfg,
            spelling,
        )

    def __call__(self, x: hax.NamedArray) -> hax.NamedArray:
        to_k = {self.cfg.Pos.name: self.cfg.KPos.name}
        q = self.q_proj(x)
        k = hax.rename(self.k_proj(x), to_k)
        v = hax.rename(self.v_proj(x), to_k)
        if self.spelling == "seed":
            mask = causal_mask(self.cfg.Pos, self.cfg.KPos)
        else:
            mask = AttentionMask.causal()
        a = dot_product_attention(self.cfg.KPos, self.cfg.HeadSize, q, k, v, mask=mask)
        return self.o_proj(a)


class Block(eqx.Module):
    ln1: hnn.RmsNorm
    attn: Attention
    ln2: hnn.RmsNorm
    mlp: hnn.MLP

    @staticmethod
    def init(cfg: Config, spelling: str = "seed", *, key: jax.Array) -> Block:
        ka, km = jax.random.split(key)
        return Block(
            hnn.RmsNorm.init(cfg.Embed, use_bias=False),
            Attention.init(cfg, spelling, key=ka),
            hnn.RmsNorm.init(cfg.Embed, use_bias=False),
            hnn.MLP.init(
                cfg.Embed,
                cfg.Embed,
                width=cfg.mlp,
                depth=1,
                activation=hnn.gelu,
                use_bias=False,
                use_final_bias=False,
                key=km,
            ),
        )

    def __call__(self, x: hax.NamedArray) -> hax.NamedArray:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class NamedGPT(eqx.Module):
    embed: hnn.Embedding
    pos_embed: hax.NamedArray  # (Pos, Embed)
    blocks: hnn.Stacked[Block]
    ln_f: hnn.RmsNorm
    head: hnn.Linear  # Embed -> Vocab, no bias

    @staticmethod
    def init(cfg: Config, spelling: str = "seed", *, key: jax.Array) -> NamedGPT:
        ke, kp, kb, kh = jax.random.split(key, 4)
        blocks = hnn.Stacked.init(cfg.Layers, Block)(cfg, spelling, key=jax.random.split(kb, cfg.layers))
        return NamedGPT(
            hnn.Embedding.init(cfg.Vocab, cfg.Embed, key=ke),
            hax.random.normal(kp, (cfg.Pos, cfg.Embed)) * 0.02,
            blocks,
            hnn.RmsNorm.init(cfg.Embed, use_bias=False),
            hnn.Linear.init(cfg.Embed, cfg.Vocab, key=kh, use_bias=False),
        )

    def __call__(self, tokens: hax.NamedArray) -> hax.NamedArray:
        x = self.embed(tokens) + self.pos_embed
        x = self.blocks.fold(x)
        return self.head(self.ln_f(x))


def named_loss(model: NamedGPT, tokens: hax.NamedArray, targets: hax.NamedArray) -> jax.Array:
    logits = model(tokens)
    Vocab = model.embed.Vocab
    return hnn.cross_entropy_loss(logits, Vocab, hnn.one_hot(targets, Vocab)).scalar()


# ================================================================================================
# raw JAX (weights in the same layouts as the named model: PyTorch-style (out, in))


def raw_layer_norm(x: jax.Array, w: jax.Array, b: jax.Array, eps: float = 1e-5) -> jax.Array:
    """The raw twin of `hnn.LayerNorm` (not in this model; tests/test_hlo_parity.py compares the two)."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.maximum(jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True), 0.0)
    return w * ((x - mean) * lax.rsqrt(var + eps)) + b


def raw_rms_norm(x: jax.Array, w: jax.Array, eps: float = 1e-5) -> jax.Array:
    var = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    return w * (x * lax.rsqrt(var + eps))


def raw_attention(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """x (batch, seq, embed); wq/wk/wv (heads, head_size, embed); wo (embed, heads, head_size)."""
    q = jnp.einsum("bse,hde->bshd", x, p["wq"])
    k = jnp.einsum("bse,hde->bshd", x, p["wk"])
    v = jnp.einsum("bse,hde->bshd", x, p["wv"])
    q = q * (1.0 / math.sqrt(q.shape[-1]))
    s = jnp.einsum("bqhd,bkhd->bhqk", q, k)
    seq = x.shape[1]
    causal = jnp.arange(seq)[:, None] >= jnp.arange(seq)[None, :]
    s = jnp.where(causal, s, -1e9)
    w = jax.nn.softmax(s, axis=-1)
    o = jnp.einsum("bhqk,bkhd->bqhd", w, v)
    return jnp.einsum("bqhd,ehd->bqe", o, p["wo"])


def raw_mlp(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    h = jax.nn.gelu(jnp.einsum("bse,me->bsm", x, p["w1"]))
    return jnp.einsum("bsm,em->bse", h, p["w2"])


def raw_block(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    x = x + raw_attention(p, raw_rms_norm(x, p["ln1_w"]))
    return x + raw_mlp(p, raw_rms_norm(x, p["ln2_w"]))


def raw_forward(params: dict[str, Any], tokens: jax.Array) -> jax.Array:
    x = jnp.take(params["wte"], tokens, axis=0, mode="fill") + params["wpe"]
    x, _ = lax.scan(lambda h, p: (raw_block(p, h), None), x, params["blocks"])
    x = raw_rms_norm(x, params["lnf_w"])
    return jnp.einsum("bse,ve->bsv", x, params["head"])


def raw_cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """The same formula as hnn.cross_entropy_loss: mean of dot(one_hot, logsumexp - logits)."""
    onehot = jax.nn.one_hot(targets, logits.shape[-1], dtype=logits.dtype)
    lse = jax.nn.logsumexp(logits, axis=-1, keepdims=True)
    return jnp.mean(jnp.einsum("bsv,bsv->bs", onehot, lse - logits))


def raw_loss(params: dict[str, Any], tokens: jax.Array, targets: jax.Array) -> jax.Array:
    return raw_cross_entropy(raw_forward(params, tokens), targets)


def block_params_from_named(block: Block) -> dict[str, jax.Array]:
    """Raw arrays of a named Block (leading layer axis kept if the block is stacked)."""
    a = block.attn
    return {
        "ln1_w": block.ln1.weight.array,
        "ln2_w": block.ln2.weight.array,
        "wq": a.q_proj.weight.array,
        "wk": a.k_proj.weight.array,
        "wv": a.v_proj.weight.array,
        "wo": a.o_proj.weight.array,
        "w1": block.mlp.layers[0].weight.array,
        "w2": block.mlp.layers[1].weight.array,
    }


def raw_params_from_named(model: NamedGPT) -> dict[str, Any]:
    cfg_axes = model.blocks.stacked.attn.q_proj.weight.axes
    assert [a.name for a in cfg_axes] == ["layers", "heads", "head_size", "embed"], cfg_axes
    return {
        "wte": model.embed.weight.array,
        "wpe": model.pos_embed.array,
        "blocks": block_params_from_named(model.blocks.stacked),
        "lnf_w": model.ln_f.weight.array,
        "head": model.head.weight.array,
    }


# ================================================================================================
# equinox.nn


class EqxBlock(eqx.Module):
    ln1: eqx.nn.RMSNorm
    attn: eqx.nn.MultiheadAttention
    ln2: eqx.nn.RMSNorm
    mlp: eqx.nn.MLP

    def __init__(self, cfg: Config, key: jax.Array):
        ka, km = jax.random.split(key)
        self.ln1 = eqx.nn.RMSNorm(cfg.d_model, use_bias=False)
        self.attn = eqx.nn.MultiheadAttention(cfg.heads, cfg.d_model, key=ka)  # bias-free by default
        self.ln2 = eqx.nn.RMSNorm(cfg.d_model, use_bias=False)
        self.mlp = eqx.nn.MLP(
            cfg.d_model,
            cfg.d_model,
            cfg.mlp,
            depth=1,
            activation=jax.nn.gelu,
            use_bias=False,
            use_final_bias=False,
            key=km,
        )

    def __call__(self, x: jax.Array, mask: jax.Array) -> jax.Array:  # x (seq, embed)
        h = jax.vmap(self.ln1)(x)
        x = x + self.attn(h, h, h, mask=mask)
        return x + jax.vmap(self.mlp)(jax.vmap(self.ln2)(x))


class EqxGPT(eqx.Module):
    embed: eqx.nn.Embedding
    pos_embed: jax.Array
    blocks: EqxBlock  # every array has a leading layer dimension
    ln_f: eqx.nn.RMSNorm
    head: eqx.nn.Linear

    def __init__(self, cfg: Config, key: jax.Array):
        ke, kp, kb, kh = jax.random.split(key, 4)
        self.embed = eqx.nn.Embedding(cfg.vocab, cfg.d_model, key=ke)
        self.pos_embed = jax.random.normal(kp, (cfg.seq, cfg.d_model)) * 0.02
        self.blocks = eqx.filter_vmap(lambda k: EqxBlock(cfg, k))(jax.random.split(kb, cfg.layers))
        self.ln_f = eqx.nn.RMSNorm(cfg.d_model, use_bias=False)
        self.head = eqx.nn.Linear(cfg.d_model, cfg.vocab, use_bias=False, key=kh)

    def __call__(self, tokens: jax.Array) -> jax.Array:  # tokens (seq,)
        x = jax.vmap(self.embed)(tokens) + self.pos_embed
        seq = tokens.shape[0]
        mask = jnp.tril(jnp.ones((seq, seq), dtype=bool))
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def layer(h: jax.Array, d: Any) -> tuple[jax.Array, None]:
            return eqx.combine(d, static)(h, mask), None

        x, _ = lax.scan(layer, x, dynamic)
        return jax.vmap(self.head)(jax.vmap(self.ln_f)(x))


def eqx_from_named(model: NamedGPT, cfg: Config) -> EqxGPT:
    """An EqxGPT holding the named model's weights (q/k/v/o heads flattened head-major, as Equinox does)."""
    p = raw_params_from_named(model)
    b = p["blocks"]
    L, H, D, E = cfg.layers, cfg.heads, cfg.head_size, cfg.d_model
    m = EqxGPT(cfg, jax.random.PRNGKey(1))
    leaves = {
        lambda t: t.embed.weight: p["wte"],
        lambda t: t.pos_embed: p["wpe"],
        lambda t: t.ln_f.weight: p["lnf_w"],
        lambda t: t.head.weight: p["head"],
        lambda t: t.blocks.ln1.weight: b["ln1_w"],
        lambda t: t.blocks.ln2.weight: b["ln2_w"],
        lambda t: t.blocks.mlp.layers[0].weight: b["w1"],
        lambda t: t.blocks.mlp.layers[1].weight: b["w2"],
        lambda t: t.blocks.attn.output_proj.weight: b["wo"].reshape(L, E, H * D),
    }
    for name in ("query", "key", "value"):
        w = b["w" + name[0]]
        leaves[lambda t, n=name: getattr(t.blocks.attn, n + "_proj").weight] = w.reshape(L, H * D, E)
    for where, value in leaves.items():
        old = where(m)
        assert old.shape == value.shape, (old.shape, value.shape)
        m = eqx.tree_at(where, m, value)
    return m


def eqx_loss(model: EqxGPT, tokens: jax.Array, targets: jax.Array) -> jax.Array:
    return raw_cross_entropy(jax.vmap(model)(tokens), targets)


# ================================================================================================
# harness


def make_step(loss_fn: Callable[..., jax.Array]) -> Callable[..., Any]:
    """One SGD train step ``(params, tokens, targets) -> (loss, new_params)``; ``params`` is any pytree of arrays."""

    def step(params: Any, tokens: Any, targets: Any) -> tuple[jax.Array, Any]:
        loss, grads = jax.value_and_grad(loss_fn)(params, tokens, targets)
        return loss, jax.tree.map(lambda p, g: p - LR * g, params, grads)

    return step


def build(cfg: Config, seed: int = 0) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """The train steps with their arguments, all holding the same weights and data."""
    kmodel, kdata = jax.random.split(jax.random.PRNGKey(seed))
    named = NamedGPT.init(cfg, "seed", key=kmodel)
    named_mask = NamedGPT.init(cfg, "mask", key=kmodel)  # the same weights, the other mask spelling
    data = jax.random.randint(kdata, (cfg.batch, cfg.seq + 1), 0, cfg.vocab)
    tokens, targets = data[:, :-1], data[:, 1:]
    eqx_params, eqx_static = eqx.partition(eqx_from_named(named, cfg), eqx.is_inexact_array)

    def eqx_params_loss(params: Any, tok: jax.Array, tgt: jax.Array) -> jax.Array:
        return eqx_loss(eqx.combine(params, eqx_static), tok, tgt)

    ntok = hax.named(tokens, (cfg.Batch, cfg.Pos))
    ntgt = hax.named(targets, (cfg.Batch, cfg.Pos))
    return {
        "haliax_seed": (make_step(named_loss), (named, ntok, ntgt)),
        "haliax_mask": (make_step(named_loss), (named_mask, ntok, ntgt)),
        "raw_jax": (make_step(raw_loss), (raw_params_from_named(named), tokens, targets)),
        "equinox": (make_step(eqx_params_loss), (eqx_params, tokens, targets)),
    }


def stage_times(step: Callable[..., Any], args: tuple[Any, ...]) -> tuple[dict[str, float], Any]:
    """Trace, lower and compile a fresh jit of ``step`` (a new function object, so no jit cache hit): wall times
    and process CPU times (all threads; steadier than wall time on a shared machine)."""
    fresh = jax.jit(lambda *a: step(*a))
    c0, t0 = time.process_time(), time.perf_counter()
    traced = fresh.trace(*args)
    c1, t1 = time.process_time(), time.perf_counter()
    lowered = traced.lower()
    c2, t2 = time.process_time(), time.perf_counter()
    compiled = lowered.compile()
    c3, t3 = time.process_time(), time.perf_counter()
    return {
        "trace_s": t1 - t0,
        "lower_s": t2 - t1,
        "compile_s": t3 - t2,
        "trace_cpu_s": c1 - c0,
        "lower_cpu_s": c2 - c1,
        "compile_cpu_s": c3 - c2,
    }, compiled


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    s = sorted(xs)
    if len(s) < 4:
        return statistics.median(s), s[0], s[-1]
    q1, q2, q3 = statistics.quantiles(s, n=4)
    return q2, q1, q3


def check_losses(steps: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]], tol: float = 1e-5) -> dict[str, float]:
    losses = {name: float(jax.jit(step)(*args)[0]) for name, (step, args) in steps.items()}
    ref = losses["raw_jax"]
    bad = {k: v for k, v in losses.items() if abs(v - ref) > tol}
    if bad:
        raise SystemExit(f"losses disagree beyond {tol}: {losses}")
    return losses


def run(cfg: Config, rounds: int, compile_repeats: int) -> dict[str, Any]:
    steps = build(cfg)
    losses = check_losses(steps)
    res: dict[str, dict[str, Any]] = {name: {"loss": v} for name, v in losses.items()}
    compiled = {}
    stages: dict[str, dict[str, list[float]]] = {n: {} for n in steps}
    for _ in range(compile_repeats):  # interleaved, so load changes hit every implementation alike
        for name, (step, args) in steps.items():
            times, compiled[name] = stage_times(step, args)
            for k, v in times.items():
                stages[name].setdefault(k, []).append(v)
    for name, (_, args) in steps.items():
        mem = compiled[name].memory_analysis()
        res[name]["temp_bytes"] = int(mem.temp_size_in_bytes)
        res[name]["argument_bytes"] = int(mem.argument_size_in_bytes)
        for k, v in stages[name].items():
            res[name][k] = statistics.median(v)
            res[name][k + "_all"] = v
        jax.block_until_ready(compiled[name](*args))  # warm-up
    step_times: dict[str, list[float]] = {n: [] for n in steps}
    for _ in range(rounds):
        for name, (_, args) in steps.items():
            t0 = time.perf_counter()
            jax.block_until_ready(compiled[name](*args))
            step_times[name].append(time.perf_counter() - t0)
    for name, ts in step_times.items():
        med, q1, q3 = quartiles(ts)
        res[name].update(step_s=med, step_iqr=[q1, q3], step_all=ts)
    # per-round ratios (each round runs them back to back, so the ratio cancels slow drifts of load)
    for named in NAMED:
        for peer in ("raw_jax", "equinox"):
            paired = [a / b for a, b in zip(step_times[named], step_times[peer], strict=True)]
            med, q1, q3 = quartiles(paired)
            res[named][f"step_paired_ratio_vs_{peer}"] = {"median": med, "iqr": [q1, q3]}
    return res


FIGURES = (
    ("step_s", "step ms", 1e3),
    ("trace_s", "trace ms", 1e3),
    ("trace_cpu_s", "trace-CPU ms", 1e3),
    ("lower_s", "lower ms", 1e3),
    ("compile_s", "compile ms", 1e3),
    ("compile_cpu_s", "compile-CPU ms", 1e3),
    ("temp_bytes", "temp MiB", 2.0**-20),
)


def report(cfg: Config, res: dict[str, Any], rounds: int, compile_repeats: int) -> dict[str, Any]:
    print(
        f"GPT train step: vocab {cfg.vocab}, d_model {cfg.d_model}, heads {cfg.heads}, mlp {cfg.mlp}, "
        f"layers {cfg.layers}, seq {cfg.seq}, batch {cfg.batch}, fp32; step: median of {rounds} interleaved "
        f"rounds; trace/lower/compile: median of {compile_repeats}"
    )
    print("losses: " + ", ".join(f"{n} {r['loss']:.7f}" for n, r in res.items()))
    print("\n| impl | " + " | ".join(label for _, label, _ in FIGURES) + " | step IQR ms |")
    print("|---" * (len(FIGURES) + 2) + "|")
    for name, r in res.items():
        cells = [f"{r[k] * s:.1f}" for k, _, s in FIGURES]
        iqr = f"{r['step_iqr'][0] * 1e3:.1f}-{r['step_iqr'][1] * 1e3:.1f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {iqr} |")
    ratios: dict[str, dict[str, float]] = {}
    print(
        "\n| named / peer | "
        + " | ".join(label.split()[0] for _, label, _ in FIGURES)
        + " | step paired median (IQR) |"
    )
    print("|---" * (len(FIGURES) + 2) + "|")
    targets = []
    for named in NAMED:
        for peer in ("raw_jax", "equinox"):
            r = ratios[f"{named}_vs_{peer}"] = {k: res[named][k] / res[peer][k] for k, _, _ in FIGURES}
            pr = res[named][f"step_paired_ratio_vs_{peer}"]
            print(
                f"| {named} / {peer} | "
                + " | ".join(f"{r[k]:.3f}" for k, _, _ in FIGURES)
                + f" | {pr['median']:.3f} ({pr['iqr'][0]:.3f}-{pr['iqr'][1]:.3f}) |"
            )
        pr = res[named]["step_paired_ratio_vs_raw_jax"]
        mem = ratios[f"{named}_vs_raw_jax"]["temp_bytes"]
        targets += [
            {
                "target": f"{named}: step time <= 1.00 x raw JAX (lower quartile of the paired ratio)",
                "value": pr["iqr"][0],
                "median": pr["median"],
                "ok": pr["iqr"][0] <= 1.0,
            },
            {"target": f"{named}: temp memory <= 1.00 x raw JAX", "value": mem, "ok": mem <= 1.0},
        ]
    print("\n| target | value | ok |\n|---|---|---|")
    for t in targets:
        print(f"| {t['target']} | {t['value']:.3f} | {'yes' if t['ok'] else 'NO'} |")
    return {"ratios": ratios, "targets": targets}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds of the train step")
    p.add_argument("--compile-repeats", type=int, default=3, help="fresh trace/lower/compile runs per implementation")
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()
    cfg = Config(layers=args.layers, batch=args.batch, seq=args.seq)
    res = run(cfg, args.rounds, args.compile_repeats)
    summary = report(cfg, res, args.rounds, args.compile_repeats)
    out = {
        "config": dataclasses.asdict(cfg),
        "rounds": args.rounds,
        "compile_repeats": args.compile_repeats,
        "machine": platform.platform(),
        "cpus": jax.local_device_count(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "equinox": eqx.__version__,
        "results": res,
        **summary,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
