"""Causal attention: haliax's implementations vs `jax.nn.dot_product_attention`, forward and forward + backward.

Batch 1, 8 heads, head size 64, float32, query/key/value laid out (position, heads, head size), which is
`jax.nn.dot_product_attention`'s own layout (so the peer pays no transpose). For each sequence length, in one
process and interleaved round by round (a load change on this shared machine hits every program alike):

* `peer`: `jax.nn.dot_product_attention(q, k, v, is_causal=True)`;
* `dense`, `blockwise`, `auto`: haliax `dot_product_attention(..., implementation=...)` with the causal mask in
  each of the two spellings users write: `seed` = `causal_mask(Pos, KPos)` (the array Haliax's API builds, built
  inside the jitted function as a model does) and `mask` = `AttentionMask.causal()`.

Both `fwd` (the output) and `fwd+bwd` (`jax.grad` of `sum(out * ct)` with respect to q, k and v) are timed. Each
figure is the median over rounds; each ratio is the median of the per-round ratios (paired). Temp memory is
`compiled.memory_analysis().temp_size_in_bytes`. From 4096 positions on, calls take seconds (and the peer and
dense hold GiBs of scores), so these lengths run `--long-rounds` rounds counting the first (checked) call, and
dense runs in the `mask` spelling only (it does the same work in both).

Targets (issue 22): `auto` <= 0.9 x peer at 512 and <= 0.8 x peer from 1024 up, in both modes and both spellings;
`auto` never more than 10 % slower than the faster of `dense` and `blockwise` (same spelling, paired).

Usage: python bench/attention.py [--seqs 512 1024 2048 8192] [--rounds 5] [--long-rounds 1] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import haliax as hax
from haliax.nn.attention import AttentionMask, causal_mask, dot_product_attention

HEADS, HEAD_SIZE = 8, 64
MODES = ("fwd", "fwd+bwd")
SPELLINGS = ("seed", "mask")
IMPLS = ("dense", "blockwise", "auto")


def programs(seq: int, long: bool) -> dict[str, Callable[..., Any]]:
    """name -> attention function of raw (q, k, v) arrays, each (seq, heads, head size). For `long` sequences the
    dense kernel runs in one spelling only (both spellings give it the same work; one run takes seconds)."""
    Pos, KPos = hax.Axis("pos", seq), hax.Axis("kpos", seq)
    Heads, D = hax.Axis("heads", HEADS), hax.Axis("d", HEAD_SIZE)

    def named(impl: str, spelling: str) -> Callable[..., Any]:
        def attend(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
            qn = hax.NamedArray(q, (Pos, Heads, D))
            kn, vn = (hax.NamedArray(x, (KPos, Heads, D)) for x in (k, v))
            mask = causal_mask(Pos, KPos) if spelling == "seed" else AttentionMask.causal()
            return dot_product_attention(KPos, D, qn, kn, vn, mask=mask, implementation=impl).array

        return attend

    def peer(q: jax.Array, k: jax.Array, v: jax.Array) -> jax.Array:
        return jax.nn.dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]

    out = {"peer": peer}
    for spelling in SPELLINGS:
        for impl in IMPLS:
            if not (long and impl == "dense" and spelling == "seed"):
                out[f"{impl}/{spelling}"] = named(impl, spelling)
    return out


def jitted(fn: Callable[..., Any], mode: str) -> Callable[..., Any]:
    if mode == "fwd":
        return jax.jit(fn)

    def loss(q: jax.Array, k: jax.Array, v: jax.Array, ct: jax.Array) -> jax.Array:
        return jnp.sum(fn(q, k, v) * ct)

    return jax.jit(jax.grad(loss, argnums=(0, 1, 2)))


def run_seq(seq: int, rounds: int, long: bool) -> list[dict[str, Any]]:
    """Time every program at one length; `long`: the first (checked) call is a timed round too."""
    keys = jax.random.split(jax.random.PRNGKey(seq), 4)
    shape = (seq, HEADS, HEAD_SIZE)
    q, k, v, ct = (jax.random.normal(kk, shape, jnp.float32) for kk in keys)
    rows = []
    for mode in MODES:
        args = (q, k, v) if mode == "fwd" else (q, k, v, ct)
        compiled = {}
        for name, fn in programs(seq, long).items():
            t0 = time.perf_counter()
            compiled[name] = jitted(fn, mode).lower(*args).compile()
            rows.append(
                {
                    "seq": seq,
                    "mode": mode,
                    "impl": name,
                    "temp_bytes": int(compiled[name].memory_analysis().temp_size_in_bytes),
                    "compile_s": time.perf_counter() - t0,
                    "times": [],
                }
            )
        mine = {r["impl"]: r for r in rows if r["mode"] == mode}
        ref = None
        for name, c in compiled.items():  # warm-up, and a check that every program agrees with the peer
            t0 = time.perf_counter()
            out = jax.block_until_ready(c(*args))
            if long:
                mine[name]["times"].append(time.perf_counter() - t0)
            flat = jnp.concatenate([jnp.ravel(x) for x in jax.tree_util.tree_leaves(out)])
            ref = flat if ref is None else ref
            mine[name]["max_abs_diff_vs_peer"] = float(jnp.max(jnp.abs(flat - ref)))
            del out, flat
        del ref
        for _ in range(rounds - 1 if long else rounds):
            for name, c in compiled.items():
                t0 = time.perf_counter()
                jax.block_until_ready(c(*args))
                mine[name]["times"].append(time.perf_counter() - t0)
        peer = mine["peer"]["times"]
        for r in mine.values():
            r["time_s"] = statistics.median(r["times"])
            r["ratio_vs_peer"] = statistics.median([a / b for a, b in zip(r["times"], peer, strict=True)])
        for spelling in SPELLINGS:
            a, b = (mine[f"{i}/{spelling}"]["times"] for i in ("auto", "blockwise"))
            d = mine[f"dense/{spelling}" if f"dense/{spelling}" in mine else "dense/mask"]["times"]
            best = [x / min(y, z) for x, y, z in zip(a, d, b, strict=True)]
            mine[f"auto/{spelling}"]["ratio_vs_best"] = statistics.median(best)
        for name, r in mine.items():
            extra = f" auto/best {r['ratio_vs_best']:.3f}" if "ratio_vs_best" in r else ""
            print(
                f"seq={seq:5d} {mode:8s} {name:16s} {r['time_s'] * 1e3:9.1f} ms  / peer {r['ratio_vs_peer']:.3f}"
                f"  temp {r['temp_bytes'] / 2**20:8.1f} MiB{extra}",
                flush=True,
            )
    return rows


def targets_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if not r["impl"].startswith("auto/"):
            continue
        limit = 0.9 if r["seq"] <= 512 else 0.8
        tag = f"{r['seq']} {r['mode']} {r['impl']}"
        out.append(
            {
                "target": f"{tag}: time <= {limit} x jax.nn",
                "value": r["ratio_vs_peer"],
                "limit": limit,
                "ok": r["ratio_vs_peer"] <= limit,
            }
        )
        out.append(
            {
                "target": f"{tag}: time <= 1.1 x best of dense and blockwise",
                "value": r["ratio_vs_best"],
                "limit": 1.1,
                "ok": r["ratio_vs_best"] <= 1.1,
            }
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seqs", type=int, nargs="+", default=[512, 1024, 2048, 8192])
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (below 4096 positions)")
    p.add_argument("--long-rounds", type=int, default=1, help="rounds from 4096 positions on (the first call counts)")
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()
    rows = []
    for seq in args.seqs:
        long = seq >= 4096
        rows += run_seq(seq, args.long_rounds if long else args.rounds, long)
    targets = targets_of(rows)
    print("\n| seq | mode | impl | ms | / jax.nn (paired) | auto / best | temp MiB |\n|---|---|---|---|---|---|---|")
    for r in rows:
        best = f"{r['ratio_vs_best']:.3f}" if "ratio_vs_best" in r else ""
        print(
            f"| {r['seq']} | {r['mode']} | {r['impl']} | {r['time_s'] * 1e3:.1f} | {r['ratio_vs_peer']:.3f} | {best} "
            f"| {r['temp_bytes'] / 2**20:.1f} |"
        )
    print("\n| target | value | ok |\n|---|---|---|")
    for t in targets:
        print(f"| {t['target']} | {t['value']:.3f} | {'yes' if t['ok'] else 'NO'} |")
    print(f"targets met: {sum(t['ok'] for t in targets)}/{len(targets)}")
    out = {
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "batch": 1,
        "heads": HEADS,
        "head_size": HEAD_SIZE,
        "dtype": "float32",
        "rounds": args.rounds,
        "long_rounds": args.long_rounds,
        "results": rows,
        "targets": targets,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
