"""Microseconds per eager call: named operations vs the jnp call that does the same work (32x32 arrays).

Usage: python bench/eager.py [--json PATH] [--number 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit

import jax
import jax.numpy as jnp

import haliax as hax
import haliax.nn as hnn


def cases():
    A, B, C = hax.make_axes(a=32, b=32, c=32)
    k = jax.random.split(jax.random.PRNGKey(0), 4)
    x = hax.random.normal(k[0], (A, B))
    y = hax.random.normal(k[1], (B, C))
    v = hax.random.normal(k[2], (B,))
    lin = hnn.Linear.init(B, C, key=k[3])
    xr, yr, vr = x.array, y.array, v.array
    wr, br = lin.weight.array, lin.bias.array  # weight (c, b)
    return [
        ("dot", lambda: hax.dot(x, y, axis=B), lambda: jnp.einsum("ab,bc->ac", xr, yr)),
        ("add_broadcast", lambda: x + v, lambda: xr + vr[None, :]),
        ("sum_axis", lambda: hax.sum(x, "a"), lambda: jnp.sum(xr, axis=0)),
        ("rearrange", lambda: hax.rearrange(x, ("b", "a")), lambda: jnp.transpose(xr, (1, 0))),
        ("slice", lambda: x["a", 2:10], lambda: xr[2:10]),
        ("linear", lambda: lin(x), lambda: jnp.einsum("ab,cb->ac", xr, wr) + br),
    ]


def measure(fn, number, repeats):
    jax.block_until_ready(fn())
    runs = timeit.repeat(lambda: jax.block_until_ready(fn()), number=number, repeat=repeats)
    per = sorted(r / number * 1e6 for r in runs)
    return statistics.median(per), per[len(per) // 4], per[(3 * len(per)) // 4]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--number", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", type=str, default=None)
    args = p.parse_args()
    rows = {}
    print(f"{'op':<15} {'named us':>9} {'jnp us':>9} {'ratio':>7}  (median over {args.repeats} x {args.number} calls)")
    for name, named_fn, raw_fn in cases():
        n_med, n_lo, n_hi = measure(named_fn, args.number, args.repeats)
        r_med, r_lo, r_hi = measure(raw_fn, args.number, args.repeats)
        rows[name] = {
            "named_us": n_med,
            "named_iqr": [n_lo, n_hi],
            "jnp_us": r_med,
            "jnp_iqr": [r_lo, r_hi],
            "ratio": n_med / r_med,
        }
        print(f"{name:<15} {n_med:9.2f} {r_med:9.2f} {n_med / r_med:7.2f}")
    out = {
        "machine": platform.platform(),
        "jax": jax.__version__,
        "results": rows,
        "max_ratio": max(r["ratio"] for r in rows.values()),
    }
    print(f"max ratio: {out['max_ratio']:.2f} (target <= 1.5)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
