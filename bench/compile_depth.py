"""Trace + compile time of the GPT train step at 2, 8 and 32 layers: haliax `Stacked` vs a raw `lax.scan`.

The models and the train step (forward, backward, SGD) are those of bench/transformer.py (d_model 256, 4 heads,
mlp 1024, seq 256, batch 8, fp32). Parameters are abstract (`eval_shape`), so nothing is run and deep models cost
no memory. Each figure is the median over fresh `jax.jit(...).trace(...).lower().compile()` runs (a new function
object each time, so no jit cache hit), interleaved across depths and implementations. Because both stacks are
one scan, depth should barely change the time: the target is 32-layer / 2-layer <= 1.2.

Usage: python bench/compile_depth.py [--depths 2 8 32] [--repeats 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from transformer import Config, NamedGPT, make_step, named_loss, raw_loss, raw_params_from_named, stage_times

import haliax as hax

IMPLS = ("haliax_stacked", "raw_scan")


def abstract_args(cfg: Config) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """Train steps of both implementations with shape-only arguments."""
    named = eqx.filter_eval_shape(lambda k: NamedGPT.init(cfg, key=k), jax.random.PRNGKey(0))
    tok = jax.ShapeDtypeStruct((cfg.batch, cfg.seq), jnp.int32)
    ntok = hax.NamedArray(tok, (cfg.Batch, cfg.Pos))
    return {
        "haliax_stacked": (make_step(named_loss), (named, ntok, ntok)),
        "raw_scan": (make_step(raw_loss), (raw_params_from_named(named), tok, tok)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depths", type=int, nargs="+", default=[2, 8, 32])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()

    setups = {d: abstract_args(Config(layers=d)) for d in args.depths}
    for impl in IMPLS:  # untimed warm-up: first-use costs (imports, caches, XLA start-up) fall on no depth
        stage_times(*setups[min(args.depths)][impl])
    runs: dict[tuple[str, int], list[dict[str, float]]] = {(i, d): [] for i in IMPLS for d in args.depths}
    for _ in range(args.repeats):
        for d in args.depths:
            for impl in IMPLS:
                step, a = setups[d][impl]
                runs[(impl, d)].append(stage_times(step, a)[0])

    results = []
    for impl in IMPLS:
        for d in args.depths:
            rs = runs[(impl, d)]
            row = {"impl": impl, "layers": d}
            for k in ("trace_s", "lower_s", "compile_s"):
                row[k] = statistics.median(r[k] for r in rs)
            row["total_s"] = statistics.median(r["trace_s"] + r["lower_s"] + r["compile_s"] for r in rs)
            row["total_cpu_s"] = statistics.median(r["trace_cpu_s"] + r["lower_cpu_s"] + r["compile_cpu_s"] for r in rs)
            results.append(row)

    def get(impl: str, d: int) -> dict[str, Any]:
        return next(r for r in results if r["impl"] == impl and r["layers"] == d)

    lo, hi = min(args.depths), max(args.depths)
    print(f"GPT train step trace+lower+compile (d_model 256, seq 256, batch 8), median of {args.repeats}")
    print(
        f"\n| impl | layers | trace ms | lower ms | compile ms | total ms | total / {lo} layers | total CPU ms | "
        f"CPU / {lo} layers |\n|---|---|---|---|---|---|---|---|---|"
    )
    for r in results:
        base = get(r["impl"], lo)
        print(
            f"| {r['impl']} | {r['layers']} | {r['trace_s'] * 1e3:.0f} | {r['lower_s'] * 1e3:.0f} | "
            f"{r['compile_s'] * 1e3:.0f} | {r['total_s'] * 1e3:.0f} | {r['total_s'] / base['total_s']:.3f} | "
            f"{r['total_cpu_s'] * 1e3:.0f} | {r['total_cpu_s'] / base['total_cpu_s']:.3f} |"
        )
    print("\n| haliax / raw | layers | trace | compile | total |\n|---|---|---|---|---|")
    for d in args.depths:
        h, r = get("haliax_stacked", d), get("raw_scan", d)
        print(
            f"| ratio | {d} | {h['trace_s'] / r['trace_s']:.3f} | {h['compile_s'] / r['compile_s']:.3f} | "
            f"{h['total_s'] / r['total_s']:.3f} |"
        )
    targets = []
    for impl in IMPLS:
        ratio = get(impl, hi)["total_s"] / get(impl, lo)["total_s"]
        cpu = get(impl, hi)["total_cpu_s"] / get(impl, lo)["total_cpu_s"]
        targets.append(
            {
                "target": f"{impl}: trace+compile at {hi} layers / at {lo} layers <= 1.2",
                "value": ratio,
                "cpu_value": cpu,
                "limit": 1.2,
                "ok": ratio <= 1.2,
            }
        )
    print("\n| target | wall value | CPU value | ok |\n|---|---|---|---|")
    for t in targets:
        print(f"| {t['target']} | {t['value']:.3f} | {t['cpu_value']:.3f} | {'yes' if t['ok'] else 'NO'} |")
    out = {
        "config": {k: v for k, v in dataclasses.asdict(Config()).items() if k != "layers"},
        "depths": args.depths,
        "repeats": args.repeats,
        "machine": platform.platform(),
        "jax": jax.__version__,
        "results": results,
        "all_runs": {f"{i}@{d}": v for (i, d), v in runs.items()},
        "targets": targets,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
