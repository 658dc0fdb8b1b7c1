"""Microseconds per eager (un-jitted) call: named operations vs the `jax.numpy` call a user writes for the same work.

Each case runs at 32x32 (where Python overhead dominates) and 256x256. Named and jnp calls alternate round by round
(`--repeats` rounds of `--number` calls each, every call waited on with `block_until_ready`), so a change of load
hits both alike; the figure is the median per-call time, and the ratio is the median of the per-round ratios
(paired). `linear` is a layer built with `Linear.init`; `linear_tree_at` the same layer after `eqx.tree_at`
replaced its weight (which rebuilds every node of the module, as `tree_map` and optimizer updates do).

Target (issue 22): every named op <= 1.5 x its jnp peer, at both sizes.

Usage: python bench/eager.py [--json PATH] [--number 1000] [--repeats 7] [--sizes 32 256]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

import haliax as hax
import haliax.nn as hnn

LIMIT = 1.5


def cases(n: int) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    A, B, C = hax.make_axes(a=n, b=n, c=n)
    k = jax.random.split(jax.random.PRNGKey(0), 5)
    x = hax.random.normal(k[0], (A, B))
    x2 = hax.random.normal(k[4], (A, B))
    y = hax.random.normal(k[1], (B, C))
    v = hax.random.normal(k[2], (B,))
    lin = hnn.Linear.init(B, C, key=k[3])
    rebuilt = eqx.tree_at(lambda m: m.weight, lin, lin.weight * 1.0)
    xr, x2r, yr, vr = x.array, x2.array, y.array, v.array
    # the cheapest plain spelling of the layer: a weight already laid out (in, out), one matmul and one add
    wt, br = lin.weight.array.T.copy(), lin.bias.array
    wt2, br2 = rebuilt.weight.array.T.copy(), rebuilt.bias.array
    return [
        ("dot", lambda: hax.dot(x, y, axis=B), lambda: jnp.matmul(xr, yr)),
        ("add", lambda: x + x2, lambda: xr + x2r),
        ("add_broadcast", lambda: x + v, lambda: xr + vr),
        ("scalar_multiply", lambda: x * 2.0, lambda: xr * 2.0),
        ("exp", lambda: hax.exp(x), lambda: jnp.exp(xr)),
        ("sum", lambda: hax.sum(x, "a"), lambda: jnp.sum(xr, axis=0)),
        ("rearrange", lambda: hax.rearrange(x, ("b", "a")), lambda: jnp.transpose(xr, (1, 0))),
        ("slice", lambda: x["a", 2:10], lambda: xr[2:10]),
        ("integer_index", lambda: x["a", 3], lambda: xr[3]),
        ("softmax", lambda: hnn.softmax(x, "b"), lambda: jax.nn.softmax(xr, axis=1)),
        ("linear", lambda: lin(x), lambda: jnp.matmul(xr, wt) + br),
        ("linear_tree_at", lambda: rebuilt(x), lambda: jnp.matmul(xr, wt2) + br2),
        ("wrap", lambda: hax.NamedArray(xr, (A, B)), lambda: jnp.asarray(xr)),
    ]


def paired(named: Callable[[], Any], raw: Callable[[], Any], number: int, repeats: int) -> dict[str, Any]:
    for f in (named, raw):
        for _ in range(20):  # warm-up: compile caches, plan caches
            jax.block_until_ready(f())
    tn, tr = [], []
    for _ in range(repeats):
        tn.append(timeit.timeit(lambda: jax.block_until_ready(named()), number=number) / number * 1e6)
        tr.append(timeit.timeit(lambda: jax.block_until_ready(raw()), number=number) / number * 1e6)
    return {
        "named_us": statistics.median(tn),
        "jnp_us": statistics.median(tr),
        "ratio": statistics.median([a / b for a, b in zip(tn, tr, strict=True)]),
        "named_all": tn,
        "jnp_all": tr,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--number", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 256])
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()
    rows: dict[str, dict[str, Any]] = {}
    print(f"{'op':<24} {'named us':>9} {'jnp us':>9} {'ratio':>7}  (paired median over {args.repeats} rounds)")
    for n in args.sizes:
        number = args.number if n <= 64 else max(50, args.number // 10)
        for name, named_fn, raw_fn in cases(n):
            r = paired(named_fn, raw_fn, number, args.repeats)
            rows[f"{name}@{n}"] = {"op": name, "size": n, "number": number, **r}
            print(f"{name + '@' + str(n):<24} {r['named_us']:9.2f} {r['jnp_us']:9.2f} {r['ratio']:7.2f}", flush=True)
    targets = [
        {"target": f"eager {k}: named <= {LIMIT} x jnp", "value": r["ratio"], "limit": LIMIT, "ok": r["ratio"] <= LIMIT}
        for k, r in rows.items()
    ]
    worst = max(rows.items(), key=lambda kv: kv[1]["ratio"])
    print(f"max ratio: {worst[1]['ratio']:.2f} ({worst[0]}; target <= {LIMIT})")
    print(f"targets met: {sum(t['ok'] for t in targets)}/{len(targets)}")
    out = {
        "machine": platform.platform(),
        "jax": jax.__version__,
        "number": args.number,
        "repeats": args.repeats,
        "results": rows,
        "max_ratio": worst[1]["ratio"],
        "targets": targets,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
