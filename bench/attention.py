"""Attention implementations: time and compiled temp memory of forward + backward (causal).

Measures haliax `dot_product_attention` with implementation="dense", "blockwise" and "jax", and the peer
`jax.nn.dot_product_attention` called directly, for query/key/value in two axis orders: (Pos, Heads, HeadSize) and
(Heads, Pos, HeadSize). Batch 1, 8 heads, head size 64, causal mask, float32.

Temp memory is `jit(grad).lower(...).compile().memory_analysis().temp_size_in_bytes`. Implementations that hold
the [Heads, QPos, KPos] scores (dense, jax, the peer) are only compiled, not run, above `--max-dense-run` (their
runs would take minutes or not fit in memory); the table says "compile-only" there. Times are the minimum over
interleaved rounds (this machine is shared; fast calls get up to 15 rounds); a call slower than `--slow` seconds is
timed once.

Usage: python bench/attention.py [--seqs 512 2048 8192 16384] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp

import haliax as hax
from haliax.nn.attention import AttentionMask, dot_product_attention

HEADS, HEAD_SIZE = 8, 64
ORDERS = {"pos_heads_d": ("pos", "heads", "d"), "heads_pos_d": ("heads", "pos", "d")}
IMPLS = ("dense", "blockwise", "jax", "peer_jax_nn")
SCORE_HOLDERS = ("dense", "jax", "peer_jax_nn")


def make_fn(impl: str, order: tuple[str, ...], seq: int, block: int | None):
    Pos, KPos = hax.Axis("pos", seq), hax.Axis("kpos", seq)
    Heads, D = hax.Axis("heads", HEADS), hax.Axis("d", HEAD_SIZE)
    sizes = {"pos": Pos, "heads": Heads, "d": D}
    q_axes = tuple(sizes[n] for n in order)
    k_axes = tuple(KPos if a is Pos else a for a in q_axes)
    heads_first = order[0] == "heads"

    def attend(q, k, v):
        if impl == "peer_jax_nn":  # the caller's raw arrays into jax's (B, T, N, H) layout
            if heads_first:
                q, k, v = (jnp.swapaxes(x, 0, 1) for x in (q, k, v))
            out = jax.nn.dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
            return jnp.swapaxes(out, 0, 1) if heads_first else out
        qn, kn, vn = hax.NamedArray(q, q_axes), hax.NamedArray(k, k_axes), hax.NamedArray(v, k_axes)
        out = dot_product_attention(
            KPos, D, qn, kn, vn, mask=AttentionMask.causal(), implementation=impl, block_size=block
        )
        return out.array

    def loss(q, k, v, ct):
        return jnp.sum(attend(q, k, v) * ct)

    return jax.jit(jax.grad(loss, argnums=(0, 1, 2))), tuple(a.size for a in q_axes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seqs", type=int, nargs="+", default=[512, 2048, 8192, 16384])
    p.add_argument(
        "--max-dense-run",
        type=int,
        default=2048,
        help="longest sequence at which score-holding implementations are run (above it they are compiled only)",
    )
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--slow", type=float, default=3.0, help="seconds; slower calls are timed once")
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()

    results = []
    for seq in args.seqs:
        for oname, order in ORDERS.items():
            compiled, inputs = {}, None
            for impl in IMPLS:
                f, shape = make_fn(impl, order, seq, args.block_size)
                keys = jax.random.split(jax.random.PRNGKey(seq), 4)
                inputs = tuple(jax.random.normal(kk, shape, jnp.float32) for kk in keys)
                t0 = time.perf_counter()
                c = f.lower(*inputs).compile()
                temp = c.memory_analysis().temp_size_in_bytes
                run = not (impl in SCORE_HOLDERS and seq > args.max_dense_run)
                compiled[impl] = (c, run)
                results.append(
                    {
                        "seq": seq,
                        "order": oname,
                        "impl": impl,
                        "temp_bytes": int(temp),
                        "time_s": None,
                        "ran": run,
                        "compile_s": time.perf_counter() - t0,
                    }
                )
            rows = {r["impl"]: r for r in results if r["seq"] == seq and r["order"] == oname}
            for impl, (c, run) in compiled.items():  # first call (already compiled)
                if run:
                    t0 = time.perf_counter()
                    jax.block_until_ready(c(*inputs))
                    rows[impl]["time_s"] = time.perf_counter() - t0
            first = max([r["time_s"] for r in rows.values() if r["time_s"] is not None] + [1e-3])
            rounds = max(args.rounds, min(15, int(2.0 / first)))  # fast calls: more rounds (noise)
            for _ in range(rounds):  # interleaved rounds; calls slower than --slow are not repeated
                for impl, (c, run) in compiled.items():
                    if run and rows[impl]["time_s"] < args.slow:
                        t0 = time.perf_counter()
                        jax.block_until_ready(c(*inputs))
                        rows[impl]["time_s"] = min(rows[impl]["time_s"], time.perf_counter() - t0)
            for impl in IMPLS:
                r = rows[impl]
                t = f"{r['time_s'] * 1e3:10.1f}" if r["time_s"] is not None else "compile-only"
                print(
                    f"seq={seq:6d} {oname:12s} {impl:12s} time_ms={t:>12s} temp_MiB={r['temp_bytes'] / 2**20:10.1f}",
                    flush=True,
                )

    def get(seq: int, order: str, impl: str, key: str):
        for r in results:
            if r["seq"] == seq and r["order"] == order and r["impl"] == impl:
                return r[key]
        return None

    targets = []
    for oname in ORDERS:
        if 16384 in args.seqs:
            ratio = get(16384, oname, "blockwise", "temp_bytes") / get(16384, oname, "dense", "temp_bytes")
            targets.append(
                {
                    "target": f"16384 {oname}: blockwise temp <= dense temp / 20",
                    "value": ratio,
                    "limit": 1 / 20,
                    "ok": ratio <= 1 / 20,
                }
            )
        if 2048 in args.seqs:
            ratio = get(2048, oname, "blockwise", "time_s") / get(2048, oname, "dense", "time_s")
            targets.append(
                {
                    "target": f"2048 {oname}: blockwise time <= 1.5 x dense",
                    "value": ratio,
                    "limit": 1.5,
                    "ok": ratio <= 1.5,
                }
            )
        for seq in args.seqs:
            d, j = get(seq, oname, "dense", "time_s"), get(seq, oname, "peer_jax_nn", "time_s")
            if d is not None and j is not None:
                targets.append(
                    {
                        "target": f"{seq} {oname}: dense time <= 0.8 x jax.nn.dot_product_attention",
                        "value": d / j,
                        "limit": 0.8,
                        "ok": d / j <= 0.8,
                    }
                )

    print("\n| seq | order | impl | fwd+bwd ms | temp MiB |\n|---|---|---|---|---|")
    for r in results:
        t = f"{r['time_s'] * 1e3:.1f}" if r["time_s"] is not None else "compile-only"
        print(f"| {r['seq']} | {r['order']} | {r['impl']} | {t} | {r['temp_bytes'] / 2**20:.1f} |")
    print("\n| target | value | ok |\n|---|---|---|")
    for t in targets:
        print(f"| {t['target']} | {t['value']:.3f} | {'yes' if t['ok'] else 'NO'} |")

    out = {
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "heads": HEADS,
        "head_size": HEAD_SIZE,
        "batch": 1,
        "mask": "causal",
        "dtype": "float32",
        "results": results,
        "targets": targets,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
