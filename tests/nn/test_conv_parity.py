"""Randomised parity of `Conv` / `ConvTranspose` against torch.nn.functional.conv{1,2,3}d and
conv_transpose{1,2,3}d: a seeded sweep over ranks, kernel sizes, strides, paddings (ints, per-axis ints,
asymmetric pairs, SAME/VALID), dilations, groups, output paddings and axis orders (batch axes before, between
and after the spatial axes; zero, one or two batch axes). Shapes are tiny so the sweep stays fast."""

import math

import equinox as eqx
import jax
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn
from tests.helpers import as_order, names

pytestmark = pytest.mark.slow  # torch interop: every test compares with torch

torch = pytest.importorskip("torch")
F = torch.nn.functional

SPATIAL_NAMES = ("h", "w", "z")
TOL = 1e-5
N_CONV = 60
N_CONV_T = 50

torch.set_num_threads(1)

# Every configuration is a fresh XLA compile; optimisation level 0 halves the compile time on CPU without changing
# what is computed. Modules are built with `eval_shape` (no compile for the random init; init is covered, bit for
# bit against Equinox, in test_conv.py) and given NumPy weights.
_call = jax.jit(lambda m, x: m(x), compiler_options={"xla_backend_optimization_level": 0})


def _module(rng: np.random.Generator, build):
    m = jax.eval_shape(lambda: build(jax.random.PRNGKey(0)))
    w = rng.uniform(-1, 1, m.weight.array.shape).astype(np.float32)
    m = eqx.tree_at(lambda m: m.weight.array, m, w)
    if m.bias is not None:
        m = eqx.tree_at(lambda m: m.bias.array, m, rng.uniform(-1, 1, m.bias.array.shape).astype(np.float32))
    return m


def _layout(rng: np.random.Generator, n_sp: int) -> tuple[list[str], list[str], list[str]]:
    """A random input axis order: channel, spatial axes and 0-2 batch axes, shuffled."""
    spatial = list(SPATIAL_NAMES[:n_sp])
    batch = [f"b{i}" for i in range(int(rng.integers(0, 3)))]
    order = ["c"] + spatial + batch
    rng.shuffle(order)
    return order, spatial, batch


def _random_input(rng: np.random.Generator, order, sizes) -> hax.NamedArray:
    arr = rng.standard_normal([sizes[n] for n in order]).astype(np.float32)
    return hax.named(arr, tuple(order))


def _conv_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n_sp = int(rng.integers(1, 4))
    order, spatial, batch = _layout(rng, n_sp)
    groups = int(rng.choice([1, 1, 2, 3]))
    c_in = groups * int(rng.integers(1, 3))
    c_out = groups * int(rng.integers(1, 3))
    k = [int(rng.integers(1, 4)) for _ in spatial]
    s = [int(rng.integers(1, 4)) for _ in spatial]
    d = [int(rng.integers(1, 3)) for _ in spatial]
    kind = rng.choice(["int", "ints", "pairs", "SAME", "VALID", "same"])
    if kind == "int":
        padding: object = int(rng.integers(0, 3))
    elif kind == "ints":
        padding = tuple(int(rng.integers(0, 3)) for _ in spatial)
    elif kind == "pairs":
        padding = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in spatial)
    else:
        padding = str(kind)
    sizes = {n: int(rng.integers(1, 3)) for n in batch}
    sizes["c"] = c_in
    for n, kk, dd in zip(spatial, k, d):
        sizes[n] = int(rng.integers(dd * (kk - 1) + 1, dd * (kk - 1) + 6))
    return dict(seed=seed, order=order, spatial=spatial, batch=batch, groups=groups, c_in=c_in, c_out=c_out,
                k=k, s=s, d=d, padding=padding, sizes=sizes, bias=bool(rng.integers(0, 4)))  # fmt: skip


def _pairs(case: dict) -> list[tuple[int, int]]:
    """The padding pairs, computed independently of the module (SAME: output ceil(n/s), odd pad at the end)."""
    p = case["padding"]
    if isinstance(p, int):
        return [(p, p)] * len(case["spatial"])
    if isinstance(p, str):
        if p.upper() == "VALID":
            return [(0, 0)] * len(case["spatial"])
        out = []
        for n, k, s, d in zip(case["spatial"], case["k"], case["s"], case["d"]):
            size = case["sizes"][n]
            total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
            out.append((total // 2, total - total // 2))
        return out
    return [q if isinstance(q, tuple) else (q, q) for q in p]


def _torch_pad(x: torch.Tensor, pairs) -> torch.Tensor:
    flat = []
    for lo, hi in reversed(pairs):
        flat += [lo, hi]
    return F.pad(x, flat)


CONV_CASES = [_conv_case(i) for i in range(N_CONV)]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"seed{c['seed']}")
def test_conv_matches_torch(case):
    spatial, batch = case["spatial"], case["batch"]
    rng = np.random.default_rng(1000 + case["seed"])
    C, O = hax.Axis("c", case["c_in"]), hax.Axis("o", case["c_out"])
    conv = _module(rng, lambda key: hnn.Conv.init(
        spatial, C, O, case["k"], stride=case["s"], padding=case["padding"], dilation=case["d"],
        groups=case["groups"], use_bias=case["bias"], key=key,
    ))  # fmt: skip
    x = _random_input(rng, case["order"], case["sizes"])
    y = _call(conv, x)

    # output keeps the input order with c -> o
    assert names(y) == [("o" if n == "c" else n) for n in case["order"]]

    bshape = [case["sizes"][n] for n in batch]
    xt = torch.from_numpy(
        np.ascontiguousarray(as_order(x, batch + ["c"] + spatial)).reshape(
            (-1, C.size) + tuple(x.shape[n] for n in spatial)
        )
    )
    conv_fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(spatial)]
    bias = torch.from_numpy(np.array(conv.bias.array)) if conv.bias is not None else None
    ref = conv_fn(
        _torch_pad(xt, _pairs(case)), torch.from_numpy(np.array(conv.weight.array)), bias,
        stride=case["s"], dilation=case["d"], groups=case["groups"],
    ).numpy()  # fmt: skip
    ref = ref.reshape(bshape + list(ref.shape[1:]))
    got = as_order(y, batch + ["o"] + spatial)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=TOL, atol=TOL)


def _conv_t_case(seed: int) -> dict:
    rng = np.random.default_rng(50_000 + seed)
    n_sp = int(rng.integers(1, 4))
    order, spatial, batch = _layout(rng, n_sp)
    groups = int(rng.choice([1, 1, 2, 3]))
    c_in = groups * int(rng.integers(1, 3))
    c_out = groups * int(rng.integers(1, 3))
    k = [int(rng.integers(1, 4)) for _ in spatial]
    s = [int(rng.integers(1, 4)) for _ in spatial]
    d = [int(rng.integers(1, 3)) for _ in spatial]
    op = [int(rng.integers(0, max(ss, dd))) for ss, dd in zip(s, d)]
    sizes = {n: int(rng.integers(1, 3)) for n in batch}
    sizes["c"] = c_in
    for n in spatial:
        sizes[n] = int(rng.integers(1, 5))
    # crop at most d*(k-1) per side and leave at least one output element
    full = [(sizes[n] - 1) * ss + dd * (kk - 1) + 1 + a for n, kk, ss, dd, a in zip(spatial, k, s, d, op)]
    maxpad = [min(dd * (kk - 1), (f - 1) // 2) for kk, dd, f in zip(k, d, full)]
    kind = rng.choice(["int", "ints", "pairs", "VALID"])
    if kind == "int":
        padding: object = int(rng.integers(0, min(maxpad) + 1))
    elif kind == "ints":
        padding = tuple(int(rng.integers(0, m + 1)) for m in maxpad)
    elif kind == "pairs":
        padding = tuple((int(rng.integers(0, m + 1)), int(rng.integers(0, m + 1))) for m in maxpad)
    else:
        padding = "VALID"
    return dict(seed=seed, order=order, spatial=spatial, batch=batch, groups=groups, c_in=c_in, c_out=c_out,
                k=k, s=s, d=d, op=op, full=full, padding=padding, sizes=sizes, bias=bool(rng.integers(0, 4)))  # fmt: skip


def _torch_transpose_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """Our (Out, In/g, *k), applied unflipped to the stride-dilated input, as torch's (In, Out/g, *k)."""
    out_c, in_g = w.shape[:2]
    k = w.shape[2:]
    w = w.reshape((groups, out_c // groups, in_g) + k)
    w = np.flip(w, axis=tuple(range(3, 3 + len(k))))
    w = np.transpose(w, (0, 2, 1) + tuple(range(3, 3 + len(k))))
    return np.ascontiguousarray(w.reshape((groups * in_g, out_c // groups) + k))


CONV_T_CASES = [_conv_t_case(i) for i in range(N_CONV_T)]


@pytest.mark.parametrize("case", CONV_T_CASES, ids=lambda c: f"seed{c['seed']}")
def test_conv_transpose_matches_torch(case):
    spatial, batch = case["spatial"], case["batch"]
    rng = np.random.default_rng(2000 + case["seed"])
    C, O = hax.Axis("c", case["c_in"]), hax.Axis("o", case["c_out"])
    pairs = _pairs(case)
    full = case["full"]  # torch's output size with padding 0
    m = _module(rng, lambda key: hnn.ConvTranspose.init(
        spatial, C, O, case["k"], stride=case["s"], padding=case["padding"], output_padding=case["op"],
        dilation=case["d"], groups=case["groups"], use_bias=case["bias"], key=key,
    ))  # fmt: skip
    x = _random_input(rng, case["order"], case["sizes"])
    y = _call(m, x)
    assert names(y) == [("o" if n == "c" else n) for n in case["order"]]

    bshape = [case["sizes"][n] for n in batch]
    xt = torch.from_numpy(
        np.ascontiguousarray(as_order(x, batch + ["c"] + spatial)).reshape(
            (-1, C.size) + tuple(x.shape[n] for n in spatial)
        )
    )
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[len(spatial)]
    wt = torch.from_numpy(_torch_transpose_weight(np.asarray(m.weight.array), case["groups"]))
    bias = torch.from_numpy(np.array(m.bias.array)) if m.bias is not None else None
    # padding (lo, hi) of a transposed conv crops lo/hi from the unpadded result (torch only has lo == hi)
    ref = fn(xt, wt, bias, stride=case["s"], output_padding=case["op"], groups=case["groups"], dilation=case["d"])
    crop = (slice(None), slice(None)) + tuple(slice(lo, f - hi) for (lo, hi), f in zip(pairs, full))
    ref = ref[crop].numpy()
    ref = ref.reshape(bshape + list(ref.shape[1:]))
    got = as_order(y, batch + ["o"] + spatial)
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, rtol=TOL, atol=TOL)


def test_symmetric_padding_uses_torch_padding_argument():
    """The crop emulation above agrees with torch's own `padding=` for symmetric pads."""
    rng = np.random.default_rng(7)
    C, O = hax.Axis("c", 2), hax.Axis("o", 3)
    m = _module(rng, lambda key: hnn.ConvTranspose.init(("h", "w"), C, O, 3, stride=2, padding=1, output_padding=1,
                                                       dilation=2, key=key))  # fmt: skip
    x = _random_input(rng, ["b0", "c", "h", "w"], {"b0": 2, "c": 2, "h": 4, "w": 5})
    ref = F.conv_transpose2d(
        torch.from_numpy(np.array(x.array)), torch.from_numpy(_torch_transpose_weight(np.asarray(m.weight.array), 1)),
        torch.from_numpy(np.array(m.bias.array)), stride=2, padding=1, output_padding=1, dilation=2,
    ).numpy()  # fmt: skip
    np.testing.assert_allclose(np.asarray(_call(m, x).array), ref, rtol=TOL, atol=TOL)
