"""Names are free: the optimized HLO of a jitted haliax module equals that of the same math in raw JAX.

For Linear, LayerNorm, RmsNorm, MLP, dense attention and one transformer block (those of ``bench/transformer.py``;
its attention written with the seed's ``causal_mask(Pos, KPos)`` and the default implementation), the
compiled HLO (``jax.jit(f).lower(...).compile().as_text()``) of the named version must have the same histogram of
instruction opcodes (parameter/constant/tuple/get-tuple-element bookkeeping ignored; every other opcode, bitcasts
and copies included, counts, inside fused computations too) and the same ``cost_analysis()["flops"]`` as the
raw-JAX version written with ``jnp.einsum``. Weights are arguments (not closed-over constants), so XLA cannot
fold them away. Shapes are small; nothing here is timed.
"""

from __future__ import annotations

import collections
import importlib.util
import math
import re
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
import haliax.nn as hnn

_BENCH = Path(__file__).resolve().parents[1] / "bench" / "transformer.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_transformer", _BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses and equinox look the module up while building classes
    spec.loader.exec_module(mod)
    return mod


T = _load_bench()

BOOKKEEPING = frozenset({"parameter", "constant", "tuple", "get-tuple-element"})
# `%name = <shape> opcode(operands), attributes`; shapes may be tuples, so take the first `word(` after `=`
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*[^=]*?\s([a-z][a-z0-9\-]*)\(")


def op_histogram(hlo_text: str) -> collections.Counter[str]:
    """Opcode counts of every instruction in every computation of an HLO module's text."""
    hist: collections.Counter[str] = collections.Counter()
    for line in hlo_text.splitlines():
        m = _INSTR.match(line)
        if m and m.group(1) not in BOOKKEEPING:
            hist[m.group(1)] += 1
    return hist


def compiled_profile(fn, *args) -> tuple[collections.Counter[str], float]:
    compiled = jax.jit(fn).lower(*args).compile()
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):  # older JAX returned one dict per computation
        cost = cost[0]
    return op_histogram(compiled.as_text()), float(cost["flops"])


def _numpy_style(fn):
    """bench/transformer.py's raw twin is plain jnp written NumPy style (implicit rank promotion, e.g. `h + bias`),
    which the test suite's `jax_numpy_rank_promotion="raise"` would reject: trace it with promotion allowed."""

    def run(*args):
        with jax.numpy_rank_promotion("allow"):
            return fn(*args)

    return run


CFG = T.Config(vocab=64, d_model=32, heads=4, mlp=64, layers=1, seq=16, batch=2)


@pytest.fixture(scope="module")
def setup():
    # the block's structure from its init, its values from NumPy (no JAX compile needed to make them)
    rng = np.random.default_rng(0)
    # the seed spelling: `causal_mask(Pos, KPos)` with the default implementation (dense at this size)
    shapes = eqx.filter_eval_shape(lambda k: T.Block.init(CFG, "seed", key=k), jax.random.PRNGKey(0))
    block = jax.tree.map(lambda s: jnp.asarray(rng.normal(0.0, 0.2, s.shape), s.dtype), shapes)
    ln = jax.tree.map(lambda s: jnp.asarray(rng.normal(0.0, 0.2, s.shape), s.dtype), hnn.LayerNorm.init(CFG.Embed))
    params = {**T.block_params_from_named(block), "ln_w": ln.weight.array, "ln_b": ln.bias.array}
    x = hax.random.normal(jax.random.PRNGKey(1), (CFG.Batch, CFG.Pos, CFG.Embed))
    return (block, ln), params, x


CASES = {
    "linear": (
        lambda m, x: m[0].attn.q_proj(x).array,
        _numpy_style(lambda p, x: jnp.einsum("bse,hde->bshd", x, p["wq"])),
    ),
    "layer_norm": (lambda m, x: m[1](x).array, _numpy_style(lambda p, x: T.raw_layer_norm(x, p["ln_w"], p["ln_b"]))),
    "rms_norm": (lambda m, x: m[0].ln1(x).array, _numpy_style(lambda p, x: T.raw_rms_norm(x, p["ln1_w"]))),
    "mlp": (lambda m, x: m[0].mlp(x).array, _numpy_style(T.raw_mlp)),
    "attention_dense": (lambda m, x: m[0].attn(x).array, _numpy_style(T.raw_attention)),
    "transformer_block": (lambda m, x: m[0](x).array, _numpy_style(T.raw_block)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_named_hlo_matches_raw(setup, case):
    block, params, x = setup
    named_fn, raw_fn = CASES[case]
    # same math first (else the comparison below would be meaningless)
    np.testing.assert_allclose(
        np.asarray(jax.jit(named_fn)(block, x)), np.asarray(jax.jit(raw_fn)(params, x.array)), rtol=1e-5, atol=1e-5
    )
    named_hist, named_flops = compiled_profile(named_fn, block, x)
    raw_hist, raw_flops = compiled_profile(raw_fn, params, x.array)
    assert named_hist["dot"] >= 1 or case in ("layer_norm", "rms_norm")
    assert sum(named_hist.values()) > 0
    diff = {op: (named_hist[op], raw_hist[op]) for op in named_hist | raw_hist if named_hist[op] != raw_hist[op]}
    assert not diff, f"{case}: opcode counts differ (named, raw): {diff}"
    assert named_flops == raw_flops, f"{case}: flops named {named_flops} vs raw {raw_flops}"


def test_histogram_parser_sees_fused_and_tuple_shaped_instructions():
    text = """
%fused (p: f32[4]) -> f32[4] {
  %p = f32[4]{0} parameter(0)
  ROOT %t = f32[4]{0} tanh(%p), metadata={op_name="x"}
}
ENTRY %main (a: f32[4]) -> (f32[4], s32[]) {
  %a = f32[4]{0} parameter(0)
  %c = s32[] constant(1)
  %f = f32[4]{0} fusion(%a), kind=kLoop, calls=%fused
  %w = (f32[4]{0}, (s32[], f32[2]{0})) while(%a), condition=%cond, body=%body
  %g = f32[4]{0} get-tuple-element(%w), index=0
  ROOT %r = (f32[4]{0}, s32[]) tuple(%f, %c)
}
"""
    assert op_histogram(text) == {"tanh": 1, "fusion": 1, "while": 1}


def test_parity_check_detects_an_extra_transpose(setup):
    """The comparison has teeth: a raw twin with a needless layout change differs."""
    _, params, x = setup

    @_numpy_style
    def moved(p, x):
        y = jnp.einsum("bse,hde->bshd", x, p["wq"])
        return jnp.swapaxes(y, 1, 2) * 2.0

    plain, _ = compiled_profile(CASES["linear"][1], params, x.array)
    other, _ = compiled_profile(moved, params, x.array)
    assert plain != other


def test_stacked_gradient_stores_no_more_than_raw_scan():
    """Under `jax.grad`, the scans of `Stacked.fold` output (carry + per-layer residuals for the backward pass) no
    more bytes than `lax.scan` over the same stacked weights. A per-step input tag once made JAX stack a copy of
    every layer's weights there (+3% XLA temp memory on bench/transformer.py). Checked on the jaxpr (shapes only),
    since compiling the two gradients costs about 10 s; bench/transformer.py measures the compiled temp memory."""
    cfg = T.Config(vocab=64, d_model=32, heads=4, mlp=64, layers=3, seq=16, batch=2)
    model = eqx.filter_eval_shape(lambda k: T.NamedGPT.init(cfg, "seed", key=k), jax.random.PRNGKey(0))
    raw = T.raw_params_from_named(model)["blocks"]
    x = hax.NamedArray(
        jax.ShapeDtypeStruct((cfg.batch, cfg.seq, cfg.d_model), jnp.float32), (cfg.Batch, cfg.Pos, cfg.Embed)
    )

    def named(blocks, x):
        return hax.sum(blocks.fold(x)).scalar()

    @_numpy_style
    def plain(p, x):
        return jnp.sum(jax.lax.scan(lambda h, q: (T.raw_block(q, h), None), x, p)[0])

    def scan_output_bytes(f, *args):
        jaxpr = jax.make_jaxpr(jax.grad(f, argnums=(0, 1)))(*args).jaxpr
        scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
        assert len(scans) == 2  # forward and backward
        return sum(math.prod(v.aval.shape) * v.aval.dtype.itemsize for e in scans for v in e.outvars)

    assert scan_output_bytes(named, model.blocks, x) <= scan_output_bytes(plain, raw, x.array)
