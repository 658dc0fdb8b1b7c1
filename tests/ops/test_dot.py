"""hax.dot, trace/tril/triu: against jnp.einsum / jnp on arrays with axes in different orders."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from hypothesis import given, settings, strategies as st

import haliax as hax
from haliax import Axis, NamedArray
from haliax.quantization import DefaultDotGeneralOp
from tests.helpers import close, rand

B, S, E, H, K = hax.make_axes(B=2, S=3, E=4, H=5, K=3)


def test_matmul_with_axes_in_different_orders():
    x, w = rand((B, E)), rand((H, E), seed=1)
    y = hax.dot(x, w, axis=E)
    assert y.axes == (B, H)
    close(y.array, jnp.einsum("be,he->bh", x.array, w.array))
    y = hax.dot(w, x, axis="E")
    assert y.axes == (H, B)
    close(y.array, jnp.einsum("he,be->hb", w.array, x.array))


def test_batch_outer_and_summed_axes():
    x, w = rand((B, S, E)), rand((E, B, H), seed=1)
    y = hax.dot(x, w, axis="E")  # B is shared, not contracted: a batch axis
    assert y.axes == (B, S, H)
    close(y.array, jnp.einsum("bse,ebh->bsh", x.array, w.array))
    y = hax.dot(x, w, axis=())  # nothing contracted
    assert y.axes == (B, S, E, H)
    close(y.array, jnp.einsum("bse,ebh->bseh", x.array, w.array))
    y = hax.dot(x, w, axis=("E", "S"))  # S is only in x: it is summed out of it
    assert y.axes == (B, H)
    close(y.array, jnp.einsum("bse,ebh->bh", x.array, w.array))
    y = hax.dot(x, w, axis=None)  # everything: a 0-d NamedArray
    assert isinstance(y, NamedArray) and y.axes == ()
    close(y.array, jnp.einsum("bse,ebh->", x.array, w.array))
    y = hax.dot(x, w, axis={"E": 4, "B": None})
    assert y.axes == (S, H)
    close(y.array, jnp.einsum("bse,ebh->sh", x.array, w.array))


def test_one_and_three_arrays():
    x = rand((B, S, E))
    assert hax.dot(x, axis=()) is x
    close(hax.dot(x, axis="S").array, jnp.sum(x.array, axis=1))
    a, b, c = rand((B, E)), rand((E, H), seed=1), rand((H, S), seed=2)
    y = hax.dot(a, b, c, axis=("E", "H"))
    assert y.axes == (B, S)
    close(y.array, jnp.einsum("be,eh,hs->bs", a.array, b.array, c.array), rtol=1e-4)
    assert x.dot(rand((E,), seed=3), axis="E").axes == (B, S)


def test_out_axes():
    x, w = rand((B, S, E)), rand((E, H), seed=1)
    y = hax.dot(x, w, axis="E", out_axes=("H", ...))
    assert y.axes == (H, B, S)
    close(y.array, jnp.einsum("bse,eh->hbs", x.array, w.array))
    y = hax.dot(x, w, axis="E", out_axes=(S, H, B))
    assert y.axes == (S, H, B)
    y = hax.dot(x, w, axis="E", out_axes=[..., "B"])  # unhashable spec: slow path
    assert y.axes == (S, H, B)
    with pytest.raises(ValueError, match="The following axes are not present in output"):
        hax.dot(x, w, axis="E", out_axes=("E", ...))
    with pytest.raises(ValueError, match="Partial order must be a permutation"):
        hax.dot(x, w, axis="E", out_axes=("H", "B"))


def test_errors():
    x, w = rand((B, E)), rand((E, H), seed=1)
    with pytest.raises(ValueError, match="Must provide an axis to dot"):
        hax.dot(x, w)
    with pytest.raises(ValueError, match="dot: at least one array is required"):
        hax.dot(axis="E")
    with pytest.raises(ValueError, match="dot: Axis E has multiple sizes: 4 and 9"):
        hax.dot(x, rand((E.resize(9),), seed=2), axis="E")
    with pytest.raises(ValueError, match="dot: Axis Q not present in axis spec"):
        hax.dot(x, w, axis="Q")
    with pytest.raises(
        ValueError,
        match=r"dot: argument 'axis': Found axis with same name but different size: asked for E\(2\), the array has E\(4\)",
    ):
        hax.dot(x, w, axis=E.resize(2))
    with pytest.raises(TypeError, match="dot: argument arrays\\[1\\] must be a NamedArray, got ArrayImpl"):
        hax.dot(x, w.array, axis="E")
    with pytest.raises(TypeError, match="dot: argument arrays\\[2\\]"):
        hax.dot(x, w, 3.0, axis="E")


def test_deprecated_axis_first_form():
    x, w = rand((B, E)), rand((E, H), seed=1)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        y = hax.dot("E", x, w)
    assert y.axes == (B, H)
    close(y.array, (x.array @ w.array))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hax.dot(x, w, axis="E")  # the keyword form does not warn


def test_precision_preferred_element_type_and_custom_dot_general():
    x, w = rand((B, E), dtype=jnp.bfloat16), rand((E, H), seed=1, dtype=jnp.bfloat16)
    y = hax.dot(x, w, axis="E", preferred_element_type=jnp.float32)
    assert y.dtype == jnp.float32
    close(y.array, jnp.einsum("be,eh->bh", x.array, w.array, preferred_element_type=jnp.float32), rtol=1e-2)
    y = hax.dot(x, w, axis="E", precision=jax.lax.Precision.HIGHEST)
    assert y.dtype == jnp.bfloat16
    y = hax.dot(x, w, axis="E", precision=[jax.lax.Precision.HIGH, jax.lax.Precision.HIGH])  # lists are fine
    assert y.axes == (B, H)

    calls = []

    def counting_dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, **kw):
        calls.append(dimension_numbers)
        return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type, **kw)

    xf, wf = rand((B, E)), rand((E, H), seed=1)
    y = hax.dot(xf, wf, axis="E", dot_general=counting_dot_general)
    assert calls, "custom dot_general was not used"
    close(y.array, xf.array @ wf.array)
    y2 = hax.dot(xf, wf, axis="E", dot_general=DefaultDotGeneralOp.get())
    close(y2.array, y.array)

    @eqx.filter_jit
    def f(a, b, op):
        return hax.dot(a, b, axis="E", dot_general=op)

    close(f(xf, wf, DefaultDotGeneralOp()).array, y.array)


def test_named_scope_in_lowered_program():
    x, w = rand((B, E)), rand((E, H), seed=1)
    text = jax.jit(lambda a, b: hax.dot(a, b, axis="E")).lower(x, w).as_text(debug_info=True)
    assert "contract E -> B H" in text


def test_dot_under_jit_grad_and_vmap():
    x, w = rand((B, S, E)), rand((E, H), seed=1)

    def f(a, b):
        return hax.dot(a, b, axis="E").sum().scalar()

    def g(a, b):
        return jnp.einsum("bse,eh->bsh", a, b).sum()

    gx, gw = jax.grad(f, argnums=(0, 1))(x, w)
    ex, ew = jax.grad(g, argnums=(0, 1))(x.array, w.array)
    assert gx.axes == x.axes and gw.axes == w.axes
    close(gx.array, ex)
    close(gw.array, ew)
    close(jax.jit(f)(x, w), g(x.array, w.array), rtol=1e-4)


AXES = (B, S, E, H)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_property_dot_agrees_with_einsum(data):
    a_axes = tuple(data.draw(st.permutations(AXES)))[: data.draw(st.integers(1, 4))]
    b_axes = tuple(data.draw(st.permutations(AXES)))[: data.draw(st.integers(0, 4))]
    present = sorted({a.name for a in a_axes + b_axes})
    contract = data.draw(st.lists(st.sampled_from(present), unique=True))
    a, b = rand(a_axes, seed=0), rand(b_axes, seed=1)
    out = hax.dot(a, b, axis=tuple(contract))
    letters = {ax.name: "abcd"[i] for i, ax in enumerate(AXES)}
    seen = []
    for ax in a_axes + b_axes:
        if ax.name not in contract and ax.name not in seen:
            seen.append(ax.name)
    spec = (
        "".join(letters[x.name] for x in a_axes)
        + ","
        + "".join(letters[x.name] for x in b_axes)
        + "->"
        + "".join(letters[n] for n in seen)
    )
    assert [x.name for x in out.axes] == seen
    close(out.array, jnp.einsum(spec, a.array, b.array), rtol=1e-4)


def test_trace():
    x = rand((K, B, S))
    out = hax.trace(x, "K", "S")
    assert out.axes == (B,)
    close(out.array, jnp.trace(x.array, axis1=0, axis2=2))
    out = x.trace("S", K, offset=1)
    close(out.array, jnp.trace(x.array, offset=1, axis1=2, axis2=0))
    assert hax.trace(x, "K", "S", dtype=jnp.float16).dtype == jnp.float16
    with pytest.raises(ValueError, match="trace: argument 'axis': axis Q not found"):
        hax.trace(x, "Q", "S")
    with pytest.raises(ValueError, match="trace: argument 'axis': axis K is given more than once"):
        hax.trace(x, "K", "K")


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_tril_triu_move_the_two_axes_last(name):
    x = rand((K, B, S))
    fn, jfn = getattr(hax, name), getattr(jnp, name)
    out = fn(x, "K", "S")
    assert out.axes == (B, K, S)
    close(out.array, jfn(jnp.transpose(x.array, (1, 0, 2))))
    out = getattr(x, name)("S", "K", k=1)
    assert out.axes == (B, S, K)
    close(out.array, jfn(jnp.transpose(x.array, (1, 2, 0)), k=1))
    with pytest.raises(ValueError, match=f"{name}: argument 'axis'"):
        fn(x, "K", "K")
    assert fn(x, Axis("K", 3), "B").axes == (S, K, B)


class _ScaledDot(eqx.Module):
    """A stateful dot_general (holds an array, so it is unhashable)."""

    scale: jax.Array

    def __call__(self, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
        out = jax.lax.dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)
        return out * self.scale


def test_stateful_unhashable_dot_general():
    op = _ScaledDot(jnp.array(2.0))
    with pytest.raises(TypeError):
        hash(op)
    x, w = rand((B, S, E)), rand((H, E, B), seed=1)
    y = hax.dot(x, w, axis="E", dot_general=op)
    assert y.axes == (B, S, H)
    close(y.array, 2 * jnp.einsum("bse,heb->bsh", x.array, w.array))
    y = hax.dot(x, w, axis=("E", "S"), dot_general=op)  # S is only in x: summed out first
    close(y.array, 2 * jnp.einsum("bse,heb->bh", x.array, w.array))
    a, b, c = rand((B, E)), rand((E, H), seed=1), rand((H, B, S), seed=2)
    y = hax.dot(a, b, c, axis=("E", "H"), dot_general=op, out_axes=("S", ...))  # two dot_generals
    assert y.axes == (S, B)
    close(y.array, 4 * jnp.einsum("be,eh,hbs->sb", a.array, b.array, c.array), rtol=1e-4)

    @eqx.filter_jit
    def f(u, v, m):
        return hax.dot(u, v, axis="E", dot_general=m)

    close(f(x, w, op).array, 2 * jnp.einsum("bse,heb->bsh", x.array, w.array))
    close(f(x, w, _ScaledDot(jnp.array(3.0))).array, 3 * jnp.einsum("bse,heb->bsh", x.array, w.array))
    g = jax.grad(lambda m: hax.dot(x, w, axis=None, dot_general=m).scalar())(op)
    close(g.scale, jnp.einsum("bse,heb->", x.array, w.array), rtol=1e-4)
