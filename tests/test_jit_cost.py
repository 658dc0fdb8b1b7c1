"""Names are free under jit: a computation written with named ops compiles to the same optimized HLO
(same histogram of HLO ops) and the same flop count as the hand-written jax.numpy version
(DESIGN.md "How data flows")."""

import collections
import re

import jax
import jax.numpy as jnp
import pytest

import haliax as hax

B, S, E, H = hax.make_axes(B=2, S=3, E=4, H=5)


def hlo_op_histogram(text: str) -> collections.Counter:
    """Count the opcodes of every instruction of an HLO module's text (all computations)."""
    ops: collections.Counter = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*(?:ROOT\s+)?%[\w.\-]+\s*=\s*(.*)", line)
        if not m:
            continue
        rest = m.group(1)
        if rest.startswith("("):  # a tuple type: skip its balanced parentheses
            depth = 0
            for i, ch in enumerate(rest):
                depth += {"(": 1, ")": -1}.get(ch, 0)
                if depth == 0:
                    rest = rest[i + 1 :]
                    break
        else:
            rest = rest.split(" ", 1)[1]
        op = re.match(r"\s*([\w\-]+)\(", rest)
        assert op is not None, line
        ops[op.group(1)] += 1
    return ops


def compiled(f, *args):
    c = jax.jit(f).lower(*args).compile()
    cost = c.cost_analysis()
    if isinstance(cost, list):  # older JAX returned one dict per device
        cost = cost[0]
    return hlo_op_histogram(c.as_text()), cost


def assert_same_program(named_fn, plain_fn, named_args, plain_args):
    named_ops, named_cost = compiled(named_fn, *named_args)
    plain_ops, plain_cost = compiled(plain_fn, *plain_args)
    assert named_ops == plain_ops
    assert named_cost.get("flops") == plain_cost.get("flops")
    assert named_cost.get("bytes accessed") == plain_cost.get("bytes accessed")


def inputs():
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    x = hax.named(jax.random.normal(k1, (2, 3, 4)), (B, S, E))
    w = hax.named(jax.random.normal(k2, (5, 4)), (H, E))  # stored transposed w.r.t. the math
    b = hax.named(jax.random.normal(k3, (5,)), (H,))
    return x, w, b


def test_dot_broadcast_add_reduction():
    def named_fn(x, w, b):
        h = hax.dot(x, w, axis="E") + b
        return hax.sum(hax.tanh(h), "S")

    def plain_fn(x, w, b):
        h = jnp.einsum("bse,he->bsh", x, w) + b[None, None, :]
        return jnp.sum(jnp.tanh(h), axis=1)

    x, w, b = inputs()
    assert_same_program(named_fn, plain_fn, (x, w, b), (x.array, w.array, b.array))


def test_with_rearrange_and_slice():
    def named_fn(x, w, b):
        h = hax.dot(x, w, axis="E") + b  # (B, S, H)
        h = h.rearrange(("H", "B", "S"))
        h = h["S", 0:2]
        return hax.mean(h, "H")

    def plain_fn(x, w, b):
        h = jnp.einsum("bse,he->bsh", x, w) + b[None, None, :]
        h = jnp.transpose(h, (2, 0, 1))[:, :, 0:2]
        return jnp.mean(h, axis=0)

    x, w, b = inputs()
    assert_same_program(named_fn, plain_fn, (x, w, b), (x.array, w.array, b.array))


def test_operands_in_other_orders_and_grad():
    def named_loss(x, w, b):
        h = hax.dot(w, x, axis="E")  # (H, B, S): the names decide, the order follows the operands
        h = h + b
        return hax.sum(h * h).scalar()

    def plain_loss(x, w, b):
        h = jnp.einsum("he,bse->hbs", w, x) + b[:, None, None]
        return jnp.sum(h * h)

    x, w, b = inputs()
    assert_same_program(
        jax.grad(named_loss, argnums=(0, 1, 2)),
        jax.grad(plain_loss, argnums=(0, 1, 2)),
        (x, w, b),
        (x.array, w.array, b.array),
    )


@pytest.mark.parametrize("reduction", ["max", "var", "argmax"])
def test_other_reductions(reduction):
    def named_fn(x):
        return getattr(hax, reduction)(x, "S")

    def plain_fn(x):
        return getattr(jnp, reduction)(x, axis=1)

    x, _, _ = inputs()
    assert_same_program(named_fn, plain_fn, (x,), (x.array,))


def test_histogram_parser():
    text = """
  %p = f32[2]{0} parameter(0)
  %t = (f32[2]{0}, s32[]) tuple(%p, %c), metadata={op_name="x(y)"}
  ROOT %r.1 = f32[2]{0} add(%p, %p)
"""
    assert hlo_op_histogram(text) == {"parameter": 1, "tuple": 1, "add": 1}
