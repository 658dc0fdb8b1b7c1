"""Compile time of a transformer stack vs depth: `hnn.Stacked` (one `lax.scan`) vs `hnn.BlockSeq` (Python loop).

The program is one training-step gradient (`value_and_grad` of a mean-square loss) through ``L`` pre-norm blocks
(LayerNorm, causal multi-head attention, LayerNorm, gelu MLP). For each depth we time, on fresh functions (so no
cache is hit): trace (`jax.jit(f).trace`), lower (`Traced.lower`) and XLA compile (`Lowered.compile`), as wall
time and as process CPU time (the machine may be shared; CPU time is the steadier figure). Peers in the same run:
raw JAX with the same block written in `jnp`, once with `lax.scan` over stacked weights and once as a Python loop.

Reported: per-depth totals, the ratio ``total(L=max) / total(L=min)`` per variant (target for Stacked: <= 1.2, i.e.
compile time independent of depth), and each haliax variant as a ratio to its raw-JAX peer.

The Python-loop variants take minutes to compile at 32 layers on CPU; ``--variants Stacked jax_scan`` is quick.

Usage: python bench/stacked_compile.py [--layers 2 8 32] [--repeats 3] [--variants ...] [--json PATH]
"""

from __future__ import annotations

import argparse
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

import haliax as hax
import haliax.nn as hnn
from haliax.nn.attention import AttentionMask, dot_product_attention

Batch, Pos, KPos, Embed, Heads, HeadSize, Mlp = hax.make_axes(
    batch=4, position=64, key_position=64, embed=128, heads=4, head_size=32, mlp=512
)


class Block(eqx.Module):
    ln1: hnn.LayerNorm
    qkv: hnn.Linear  # Embed -> (3, Heads, HeadSize)
    out: hnn.Linear  # (Heads, HeadSize) -> Embed
    ln2: hnn.LayerNorm
    up: hnn.Linear
    down: hnn.Linear

    @staticmethod
    def init(*, key: jax.Array) -> Block:
        k = jax.random.split(key, 4)
        Qkv = hax.Axis("qkv", 3)
        return Block(
            hnn.LayerNorm.init(Embed),
            hnn.Linear.init(Embed, (Qkv, Heads, HeadSize), key=k[0]),
            hnn.Linear.init((Heads, HeadSize), Embed, key=k[1]),
            hnn.LayerNorm.init(Embed),
            hnn.Linear.init(Embed, Mlp, key=k[2]),
            hnn.Linear.init(Mlp, Embed, key=k[3]),
        )

    def __call__(self, x: hax.NamedArray) -> hax.NamedArray:
        qkv = self.qkv(self.ln1(x))
        q, k, v = (qkv["qkv", i] for i in range(3))
        k, v = (hax.rename(t, {"position": "key_position"}) for t in (k, v))
        a = dot_product_attention(KPos, HeadSize, q, k, v, mask=AttentionMask.causal(), implementation="dense")
        x = x + self.out(a)
        return x + self.down(hnn.gelu(self.up(self.ln2(x))))


def raw_block(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    def ln(x: jax.Array, w: jax.Array, b: jax.Array) -> jax.Array:
        mu = x.mean(-1, keepdims=True)
        return (x - mu) * jax.lax.rsqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5) * w + b

    h = ln(x, p["ln1_w"], p["ln1_b"])
    q, k, v = (jnp.einsum("bse,hde->bshd", h, p["wqkv"][i]) + p["bqkv"][i] for i in range(3))
    s = jnp.einsum("bqhd,bkhd->bhqk", q / math.sqrt(q.shape[-1]), k)
    n = x.shape[1]
    s = jnp.where(jnp.arange(n)[:, None] >= jnp.arange(n)[None, :], s, -1e9)
    o = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, axis=-1), v)
    x = x + jnp.einsum("bqhd,ehd->bqe", o, p["wo"]) + p["bo"]
    h = jax.nn.gelu(jnp.einsum("bse,me->bsm", ln(x, p["ln2_w"], p["ln2_b"]), p["w1"]) + p["b1"])
    return x + jnp.einsum("bsm,em->bse", h, p["w2"]) + p["b2"]


def raw_params(n: int) -> dict[str, jax.Array]:
    E, H, D, M = Embed.size, Heads.size, HeadSize.size, Mlp.size
    shapes = {
        "ln1_w": (E,),
        "ln1_b": (E,),
        "ln2_w": (E,),
        "ln2_b": (E,),  # fmt: skip
        "wqkv": (3, H, D, E),
        "bqkv": (3, H, D),
        "wo": (E, H, D),
        "bo": (E,),  # fmt: skip
        "w1": (M, E),
        "b1": (M,),
        "w2": (E, M),
        "b2": (E,),  # fmt: skip
    }
    keys = jax.random.split(jax.random.PRNGKey(0), len(shapes))
    return {k: 0.02 * jax.random.normal(kk, (n, *s)) for kk, (k, s) in zip(keys, shapes.items(), strict=True)}


def make_variant(name: str, n: int) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """A fresh (function, args) pair computing loss and gradients for ``n`` layers."""
    L = hax.Axis("layers", n)
    x = hax.ones((Batch, Pos, Embed))
    if name in ("Stacked", "BlockSeq"):
        cls = hnn.Stacked if name == "Stacked" else hnn.BlockSeq
        model = eqx.filter_eval_shape(lambda: cls.init(L, Block)(key=jax.random.split(jax.random.PRNGKey(0), n)))
        model = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype) if isinstance(s, jax.ShapeDtypeStruct) else s, model)
        params, static = eqx.partition(model, eqx.is_array)

        def loss(p: Any, x: hax.NamedArray) -> jax.Array:
            return hax.mean(eqx.combine(p, static).fold(x) ** 2).array

        return jax.value_and_grad(loss), (params, x)
    params = raw_params(n)
    if name == "jax_scan":

        def raw_loss(p: Any, x: jax.Array) -> jax.Array:
            return jnp.mean(jax.lax.scan(lambda h, lp: (raw_block(lp, h), None), x, p)[0] ** 2)

    else:

        def raw_loss(p: Any, x: jax.Array) -> jax.Array:
            for i in range(n):
                x = raw_block({k: v[i] for k, v in p.items()}, x)
            return jnp.mean(x**2)

    return jax.value_and_grad(raw_loss), (params, x.array)


def measure(name: str, n: int) -> dict[str, float]:
    fn, args = make_variant(name, n)
    out: dict[str, float] = {}
    w0, c0 = time.perf_counter(), time.process_time()
    traced = jax.jit(fn).trace(*args)
    w1, c1 = time.perf_counter(), time.process_time()
    lowered = traced.lower()
    w2, c2 = time.perf_counter(), time.process_time()
    lowered.compile()
    w3, c3 = time.perf_counter(), time.process_time()
    out.update(trace_s=w1 - w0, lower_s=w2 - w1, compile_s=w3 - w2, total_s=w3 - w0)
    out.update(trace_cpu_s=c1 - c0, lower_cpu_s=c2 - c1, compile_cpu_s=c3 - c2, total_cpu_s=c3 - c0)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, nargs="+", default=[2, 8, 32])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", nargs="+", default=["Stacked", "BlockSeq", "jax_scan", "jax_loop"])
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()

    measure("Stacked", 2)  # warm up imports and JAX internals
    results: dict[str, dict[str, dict[str, float]]] = {v: {} for v in args.variants}
    for _ in range(args.repeats):  # interleave variants and depths so machine load affects all alike
        for n in args.layers:
            for v in args.variants:
                for k, val in measure(v, n).items():
                    results[v].setdefault(str(n), {}).setdefault(k, []).append(val)  # type: ignore[arg-type]
    summary: dict[str, Any] = {}
    for v, per_depth in results.items():
        summary[v] = {n: {k: statistics.median(vals) for k, vals in m.items()} for n, m in per_depth.items()}
    lo, hi = str(min(args.layers)), str(max(args.layers))
    ratios = {
        v: {
            f"total_L{hi}_over_L{lo}": summary[v][hi]["total_s"] / summary[v][lo]["total_s"],
            f"total_cpu_L{hi}_over_L{lo}": summary[v][hi]["total_cpu_s"] / summary[v][lo]["total_cpu_s"],
        }
        for v in summary
    }
    peers = {"Stacked": "jax_scan", "BlockSeq": "jax_loop"}
    vs_peer = {
        v: {n: summary[v][n]["total_cpu_s"] / summary[peers[v]][n]["total_cpu_s"] for n in summary[v]}
        for v in peers
        if v in summary and peers[v] in summary
    }

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; median of {args.repeats}; seconds (wall / CPU)")
    print(f"{'variant':10} {'layers':>6} {'trace':>13} {'lower':>13} {'compile':>13} {'total':>13}")
    for v in summary:
        for n in map(str, args.layers):
            m = summary[v][n]
            cells = [f"{m[k + '_s']:6.2f}/{m[k + '_cpu_s']:6.2f}" for k in ("trace", "lower", "compile", "total")]
            print(f"{v:10} {n:>6} " + " ".join(f"{c:>13}" for c in cells))
    print()
    for v, r in ratios.items():
        extra = "  (target <= 1.2)" if v == "Stacked" else ""
        print(f"{v:10} total L{hi}/L{lo}: wall {list(r.values())[0]:.2f}, CPU {list(r.values())[1]:.2f}{extra}")
    for v, r in vs_peer.items():
        print(f"{v:10} CPU total / {peers[v]}: " + ", ".join(f"L{n}: {x:.2f}" for n, x in r.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "benchmark": "stacked_compile",
                    "jax": jax.__version__,
                    "platform": platform.platform(),
                    "backend": jax.devices()[0].platform,
                    "config": {
                        "layers": args.layers,
                        "repeats": args.repeats,
                        "shapes": {a.name: a.size for a in (Batch, Pos, Embed, Heads, HeadSize, Mlp)},
                    },
                    "results": summary,
                    "ratios": ratios,
                    "vs_peer_cpu": vs_peer,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
