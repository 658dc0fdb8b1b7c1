"""Randomised parity of the pools against torch.nn.functional: max_pool{1,2,3}d, avg_pool{1,2,3}d (ceil_mode,
count_include_pad), min via -max_pool(-x), and adaptive_{avg,max}_pool{1,2,3}d. A seeded sweep over window sizes,
strides, paddings (ints, per-axis ints, asymmetric pairs, SAME/VALID), ceil mode and axis orders (other axes
before, between and after the window axes). Shapes are tiny so the sweep stays fast."""

import math

import jax
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from tests.helpers import as_order, names

pytestmark = pytest.mark.slow  # torch interop: every test compares with torch

torch = pytest.importorskip("torch")
F = torch.nn.functional

WINDOW_NAMES = ("h", "w", "z")
TOL = 1e-5
N_POOL = 90
N_ADAPTIVE = 36

torch.set_num_threads(1)

# One XLA compile per configuration; optimisation level 0 keeps it cheap without changing what is computed.
_FAST = {"compiler_options": {"xla_backend_optimization_level": 0}}
_pool_fns = {
    "max": jax.jit(hnn.max_pool, static_argnums=(0, 2, 3, 4), **_FAST),
    "min": jax.jit(hnn.min_pool, static_argnums=(0, 2, 3, 4), **_FAST),
    "mean": jax.jit(
        hnn.mean_pool, static_argnums=(0, 2, 3), static_argnames=("use_ceil", "count_include_pad"), **_FAST
    ),
}
_adaptive_fns = {
    "max": jax.jit(hnn.adaptive_max_pool, static_argnums=0, **_FAST),
    "mean": jax.jit(hnn.adaptive_mean_pool, static_argnums=0, **_FAST),
    "min": jax.jit(hnn.adaptive_min_pool, static_argnums=0, **_FAST),
}


def _layout(rng: np.random.Generator, n_win: int) -> tuple[list[str], list[str], list[str]]:
    window = list(WINDOW_NAMES[:n_win])
    other = ["b0", "f"][: int(rng.integers(0, 3))]
    order = window + other
    rng.shuffle(order)
    return order, window, other


def _torch_input(x: hax.NamedArray, other: list[str], window: list[str]) -> torch.Tensor:
    arr = as_order(x, other + window)
    return torch.from_numpy(arr.reshape((1, -1) + arr.shape[len(other) :]))


def _pool_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n_win = int(rng.integers(1, 4))
    order, window, other = _layout(rng, n_win)
    kind = str(rng.choice(["max", "mean", "mean", "min"]))
    k = [int(rng.integers(1, 4)) for _ in window]
    s = [int(rng.integers(1, 4)) for _ in window]
    pad_kind = str(rng.choice(["int", "ints", "pairs", "SAME", "VALID", "none"]))
    half = [kk // 2 for kk in k]
    if pad_kind == "int":
        padding: object = int(rng.integers(0, min(half) + 1))
    elif pad_kind == "ints":
        padding = tuple(int(rng.integers(0, h + 1)) for h in half)
    elif pad_kind == "pairs":
        padding = tuple((int(rng.integers(0, h + 1)), int(rng.integers(0, h + 1))) for h in half)
    elif pad_kind == "none":
        padding = None  # the default, "VALID"
    else:
        padding = pad_kind
    use_ceil = bool(rng.integers(0, 2)) and pad_kind in ("int", "ints", "VALID", "none")
    sizes = {n: int(rng.integers(1, 3)) for n in other}
    for n, kk in zip(window, k):
        sizes[n] = int(rng.integers(kk, kk + 6))
    return dict(seed=seed, order=order, window=window, other=other, kind=kind, k=k, s=s, padding=padding,
                use_ceil=use_ceil, count_include_pad=bool(rng.integers(0, 2)), sizes=sizes)  # fmt: skip


def _explicit_pairs(case: dict) -> list[tuple[int, int]]:
    p = case["padding"]
    if p is None or p == "VALID":
        return [(0, 0)] * len(case["window"])
    if isinstance(p, int):
        return [(p, p)] * len(case["window"])
    if p == "SAME":  # output ceil(n/s), the odd pad at the end
        out = []
        for n, k, s in zip(case["window"], case["k"], case["s"]):
            size = case["sizes"][n]
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            out.append((total // 2, total - total // 2))
        return out
    return [q if isinstance(q, tuple) else (q, q) for q in p]


def _torch_pool(case: dict, xt: torch.Tensor) -> torch.Tensor:
    n = len(case["window"])
    pairs = _explicit_pairs(case)
    symmetric = all(lo == hi for lo, hi in pairs)
    k, s, ceil = tuple(case["k"]), tuple(case["s"]), case["use_ceil"]
    maxp = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    avgp = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
    if symmetric:
        pad = tuple(lo for lo, _ in pairs)
        if case["kind"] == "max":
            return maxp(xt, k, s, pad, ceil_mode=ceil)
        if case["kind"] == "min":
            return -maxp(-xt, k, s, pad, ceil_mode=ceil)
        return avgp(xt, k, s, pad, ceil_mode=ceil, count_include_pad=case["count_include_pad"])
    assert not ceil
    flat = [v for lo, hi in reversed(pairs) for v in (lo, hi)]
    if case["kind"] == "max":
        return maxp(F.pad(xt, flat, value=-math.inf), k, s)
    if case["kind"] == "min":
        return -maxp(F.pad(-xt, flat, value=-math.inf), k, s)
    total = avgp(F.pad(xt, flat), k, s)
    if case["count_include_pad"]:
        return total
    return total / avgp(F.pad(torch.ones_like(xt), flat), k, s)


POOL_CASES = [_pool_case(i) for i in range(N_POOL)]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"seed{c['seed']}-{c['kind']}")
def test_pool_matches_torch(case):
    rng = np.random.default_rng(1000 + case["seed"])
    x = hax.named(
        rng.standard_normal([case["sizes"][n] for n in case["order"]]).astype(np.float32), tuple(case["order"])
    )
    Window = tuple(hax.Axis(n, k) for n, k in zip(case["window"], case["k"]))
    stride = tuple(case["s"])
    padding = "VALID" if case["padding"] is None else case["padding"]
    if case["kind"] == "mean":
        y = _pool_fns["mean"](
            Window, x, stride, padding, use_ceil=case["use_ceil"], count_include_pad=case["count_include_pad"]
        )
    else:
        y = _pool_fns[case["kind"]](Window, x, stride, padding, case["use_ceil"])
    assert names(y) == case["order"]

    ref = _torch_pool(case, _torch_input(x, case["other"], case["window"])).numpy()
    ref = ref.reshape([case["sizes"][n] for n in case["other"]] + list(ref.shape[2:]))
    got = as_order(y, case["other"] + case["window"])
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=TOL, atol=TOL)


def _adaptive_case(seed: int) -> dict:
    rng = np.random.default_rng(70_000 + seed)
    n_win = int(rng.integers(1, 4))
    order, window, other = _layout(rng, n_win)
    sizes = {n: int(rng.integers(1, 3)) for n in other}
    for n in window:
        sizes[n] = int(rng.integers(1, 8))
    target = [int(rng.integers(1, sizes[n] + 3)) for n in window]
    return dict(seed=seed, order=order, window=window, other=other, sizes=sizes, target=target,
                kind=str(rng.choice(["max", "mean", "min"])))  # fmt: skip


ADAPTIVE_CASES = [_adaptive_case(i) for i in range(N_ADAPTIVE)]


@pytest.mark.parametrize("case", ADAPTIVE_CASES, ids=lambda c: f"seed{c['seed']}-{c['kind']}")
def test_adaptive_pool_matches_torch(case):
    rng = np.random.default_rng(3000 + case["seed"])
    x = hax.named(
        rng.standard_normal([case["sizes"][n] for n in case["order"]]).astype(np.float32), tuple(case["order"])
    )
    Output = tuple(hax.Axis(n, m) for n, m in zip(case["window"], case["target"]))
    y = _adaptive_fns[case["kind"]](Output, x)
    assert names(y) == case["order"]
    assert [y.shape[n] for n in case["window"]] == case["target"]

    n = len(case["window"])
    xt = _torch_input(x, case["other"], case["window"])
    target = tuple(case["target"])
    if case["kind"] == "mean":
        ref = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}[n](xt, target)
    else:
        maxp = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}[n]
        ref = maxp(xt, target) if case["kind"] == "max" else -maxp(-xt, target)
    ref = ref.numpy().reshape([case["sizes"][a] for a in case["other"]] + list(target))
    np.testing.assert_allclose(as_order(y, case["other"] + case["window"]), ref, rtol=TOL, atol=TOL)
