"""einsum (ordered, unordered, output-only) and dot, compared with jnp.einsum."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from hypothesis import given, settings, strategies as st
from jax.sharding import AxisType

import haliax as hax
from haliax import Axis
from haliax.quantization import DefaultDotGeneralOp
from tests.helpers import close, rand

H, W, D, C = hax.make_axes(H=2, W=3, D=4, C=5)
X, Y, Z, O = hax.make_axes(X=2, Y=3, Z=4, O=5)


@pytest.fixture
def hwd_dc():
    return rand(H, W, D), rand(D, C, seed=1)


# --------------------------------------------------------------------------------------------------
# ordered


def test_ordered_matches_jnp(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("h w d, d c -> h w c", a, b)
    assert out.axes == (H, W, C)
    close(out.array, jnp.einsum("hwd,dc->hwc", a.array, b.array))
    out = hax.einsum("h w d, d c -> c h", a, b)
    assert out.axes == (C, H)
    close(out.array, jnp.einsum("hwd,dc->ch", a.array, b.array))


def test_ordered_identifiers_need_not_match_names(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("p q r, r s -> s p q", a, b)
    assert out.axes == (C, H, W)
    close(out.array, jnp.einsum("pqr,rs->spq", a.array, b.array))


def test_ordered_ellipsis(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("... d, d c -> ... c", a, b)
    assert out.axes == (H, W, C)
    close(out.array, jnp.einsum("...d,dc->...c", a.array, b.array))
    out = hax.einsum("h ... d, d c -> c ...", a, b)
    assert out.axes == (C, W)
    close(out.array, jnp.einsum("hwd,dc->cw", a.array, b.array))
    out = hax.einsum("... d, d ... -> ...", a, b)
    assert out.axes == (H, W, C)
    close(out.array, jnp.einsum("hwd,dc->hwc", a.array, b.array))


def test_ordered_without_arrow_contracts_everything(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("h w d, d c", a, b)
    assert out.axes == ()
    close(out.array, jnp.einsum("hwd,dc->", a.array, b.array))
    # an rhs `...` that is unbound on the lhs keeps nothing
    assert hax.einsum("h w d, d c -> ...", a, b).axes == ()


def test_ordered_single_array(hwd_dc):
    a, _ = hwd_dc
    assert hax.einsum("h w d -> h w d", a) is not None
    close(hax.einsum("h w d -> d h", a).array, jnp.einsum("hwd->dh", a.array))
    same = hax.einsum("h w d -> h w d", a)
    assert same.axes == a.axes and same.array is a.array


def test_ordered_alias_kwargs_check(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("h w d, d c -> h w c", a, b, d="D", c=C)
    assert out.axes == (H, W, C)
    with pytest.raises(ValueError, match="bound to axis D\\(4\\)"):
        hax.einsum("h w d, d c -> h w c", a, b, d="Q")


# --------------------------------------------------------------------------------------------------
# unordered


def test_unordered_rhs_last():
    # Haliax's order: "{X Z} -> X" on (X,Y,Z).(Z,O) -> (Y, O, X)
    a, b = rand(X, Y, Z), rand(Z, O, seed=1)
    out = hax.einsum("{X Z} -> X", a, b)
    assert out.axes == (Y, O, X)
    close(out.array, jnp.einsum("xyz,zo->yox", a.array, b.array))


def test_unordered_rhs_ellipsis_contracts_nothing():
    # with `...` on the rhs the braces contract nothing: an outer product
    out = hax.einsum("{D} -> ... C", hax.ones((H, W, D)), hax.ones((D, C)))
    assert out.axes == (H, W, D, C)
    assert bool(jnp.all(out.array == 1.0))


def test_unordered_pinned_depth_examples():
    Depth = Axis("Depth", 4)
    a, b = rand(H, W, Depth), rand(Depth, W, H, seed=1)
    close(hax.einsum("{Depth} -> Depth ...", a, b).array, jnp.einsum("ijk,kji->kij", a.array, b.array))
    close(hax.einsum("{Depth} -> ... Depth ...", a, b).array, jnp.einsum("ijk,kji->ijk", a.array, b.array))


def test_unordered_lhs_ellipsis_keeps_exactly_rhs(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("{...} -> C H", a, b)
    assert out.axes == (C, H)
    close(out.array, jnp.einsum("hwd,dc->ch", a.array, b.array))
    out = hax.einsum("{H ...} -> H", a, b)
    assert out.axes == (H,)
    close(out.array, jnp.einsum("hwd,dc->h", a.array, b.array))


def test_unordered_without_arrow(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("{D}", a, b)
    assert out.axes == (H, W, C)
    close(out.array, jnp.einsum("hwd,dc->hwc", a.array, b.array))
    assert hax.einsum("{...}", a, b).axes == ()


def test_unordered_aliases(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("{depth h} -> h", a, b, depth="D", h=H)
    assert out.axes == (W, C, H)
    close(out.array, jnp.einsum("hwd,dc->wch", a.array, b.array))
    size_msg = r"einsum: argument 'depth': Size mismatch: axis D has conflicting sizes: 4 \(arrays\[0\]\), 7 \(alias\)"
    with pytest.raises(ValueError, match=size_msg):
        hax.einsum("{depth} -> ...", a, b, depth=Axis("D", 7))
    with pytest.raises(ValueError, match=size_msg):  # the same message in ordered mode
        hax.einsum("h w depth, depth c -> h c", a, b, depth=Axis("D", 7))
    with pytest.raises(
        ValueError, match=r"argument 'depth': Size mismatch: axis D has conflicting sizes: 4 \(arrays\[1\]\)"
    ):
        hax.einsum("h w d, depth c -> h c", a, b, depth=Axis("D", 7))


def test_dot_like_batch_axes():
    a, b = rand(X, Y, Z), rand(Z, Y, seed=1)
    out = hax.einsum("{Z Y X} -> Y X", a, b)
    assert out.axes == (Y, X)
    close(out.array, jnp.einsum("xyz,zy->yx", a.array, b.array))


# --------------------------------------------------------------------------------------------------
# output-only


def test_output_only(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("-> C H", a, b)
    assert out.axes == (C, H)
    close(out.array, jnp.einsum("hwd,dc->ch", a.array, b.array))
    out = hax.einsum("-> ... C", a, b)
    assert out.axes == (H, W, D, C)
    close(out.array, jnp.einsum("hwd,dc->hwdc", a.array, b.array))
    out = hax.einsum("->", a, b)
    assert out.axes == ()
    close(out.array, jnp.einsum("hwd,dc->", a.array, b.array))
    out = hax.einsum("-> c", a, b, c="C")
    assert out.axes == (C,)


# --------------------------------------------------------------------------------------------------
# options, jit, sharding, caching


def test_custom_dot_general_and_precision(hwd_dc):
    a, b = hwd_dc
    calls = []

    def my_dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, **kw):
        calls.append(precision)
        return jax.lax.dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type, **kw)

    out = hax.einsum("h w d, d c -> h w c", a, b, _dot_general=my_dot_general, precision=jax.lax.Precision.HIGHEST)
    assert calls
    close(out.array, jnp.einsum("hwd,dc->hwc", a.array, b.array))


def test_preferred_element_type(hwd_dc):
    a, b = hwd_dc
    out = hax.einsum("{D C} -> C", a.astype(jnp.bfloat16), b.astype(jnp.bfloat16), preferred_element_type=jnp.float32)
    assert out.dtype == jnp.float32


def test_under_filter_jit_with_module_dot_general(hwd_dc):
    a, b = hwd_dc

    @eqx.filter_jit
    def f(op, a, b):
        return hax.einsum("{D}", a, b, _dot_general=op)

    out = f(DefaultDotGeneralOp(), a, b)
    assert out.axes == (H, W, C)
    close(out.array, jnp.einsum("hwd,dc->hwc", a.array, b.array))
    g = jax.grad(lambda arr: hax.einsum("-> H", hax.named(arr, (H, W, D)), b).array.sum())(a.array)
    close(g, jnp.broadcast_to(b.array.sum(axis=1), (2, 3, 4)))


def test_result_is_auto_sharded():
    mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    Bat = Axis("batch", 8)
    a, b = hax.ones((Bat, D)), hax.ones((D, C))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data"}):
        out = hax.einsum("{D}", a, b)
    assert out.array.sharding.spec == jax.sharding.PartitionSpec("data", None)


def test_plan_is_cached(hwd_dc):
    from haliax.ops import einsum as einsum_mod

    a, b = hwd_dc
    einsum_mod._einsum_plan.cache_clear()
    hax.einsum("{D}", a, b)
    hax.einsum("{D}", a, b)
    info = einsum_mod._einsum_plan.cache_info()
    assert info.hits == 1 and info.misses == 1


# --------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "equation, kwargs, message, caret_under",
    [
        ("-> H H", {}, "multiple times", "H"),
        ("{D} -> C C", {}, "multiple times", "C"),
        ("{D D} -> C", {}, "multiple times", "D"),
        ("h w d -> h", {}, "does not match number of arrays", "h w d"),
        ("h w, d c -> h", {}, "Mismatched number of axes", "h w"),
        ("h w d e, d c -> h", {}, "Mismatched number of axes", "h w d e"),
        ("h w d e ..., d c -> h", {}, "Mismatched number of axes", "h w d e ..."),
        ("h w d, w c -> h", {}, "Alias w is assigned to more than one axis", "w"),
        ("h w d, d c -> q", {}, "Identifier q on the rhs is not bound on the lhs", "q"),
        ("... h ..., d c -> h", {}, "Only one '...' is allowed per term", "..."),
        ("h w d, d c -> ... ...", {}, "Only one '...' is allowed on the rhs", "..."),
        (
            "{Q} -> H",
            {},
            "Axis Q not present: not found in any of the input arrays; the inputs have axes (H(2), W(3), D(4), C(5))",
            "Q",
        ),
        ("{d} -> H", {}, "Did you mean 'D'", "d"),
        ("-> Cc", {}, "Did you mean 'C'", "Cc"),
        ("{D} -> H", {}, "must also appear in the braces", "H"),
        ("{D}", {"zz": "Q"}, "Unused aliases from kwargs: zz", None),
        ("(h w) d, d c -> h", {}, "Parenthesised groups are not supported", "(h w)"),
        ("{D} -> (n: H W)", {}, "Parenthesised groups are not supported", "(n: H W)"),
    ],
)
def test_error_paths(hwd_dc, equation, kwargs, message, caret_under):
    a, b = hwd_dc
    with pytest.raises(ValueError) as info:
        hax.einsum(equation, a, b, **kwargs)
    msg = str(info.value)
    assert msg.startswith("einsum: ")
    assert message in msg
    assert msg.splitlines()[1].strip() == equation
    if caret_under is not None:
        caret = msg.splitlines()[-1]
        start = caret.index("^") - 2
        assert equation[start : start + len(caret.strip())] == caret_under


def test_other_errors(hwd_dc):
    a, b = hwd_dc
    with pytest.raises(ValueError, match="Axis H appears multiple times in the output"):
        hax.einsum("h w d, d c, x -> h x", a, b, rand(H))
    with pytest.raises(ValueError, match=r"einsum: axis D has conflicting sizes: 4 \(arrays\[0\]\), 5 \(arrays\[1\]\)"):
        hax.einsum("{D} -> H", a, rand(Axis("D", 5)))
    with pytest.raises(ValueError, match="at least one array"):
        hax.einsum("-> H")
    with pytest.raises(TypeError, match="argument 2 must be a NamedArray"):
        hax.einsum("{D} -> H", a, b.array)
    with pytest.raises(TypeError, match="equation must be a str"):
        hax.einsum(3, a)
    with pytest.raises(TypeError, match="binding x=None"):
        hax.einsum("{D} -> H", a, b, x=None)
    with pytest.raises(ValueError, match="Unexpected character"):
        hax.einsum("h w d; d c", a, b)


# --------------------------------------------------------------------------------------------------
# properties: dot and output-only einsum agree with jnp.einsum

_POOL = [Axis(n, s) for n, s in zip("ABCDEF", (2, 3, 1, 2, 3, 2), strict=True)]


@st.composite
def _operands(draw):
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        idx = draw(st.lists(st.integers(0, len(_POOL) - 1), min_size=0, max_size=4, unique=True))
        arrays.append(tuple(_POOL[i] for i in idx))
    union = list(dict.fromkeys(a for axes in arrays for a in axes))
    contract = draw(st.one_of(st.none(), st.lists(st.sampled_from(union), unique=True) if union else st.just([])))
    return arrays, contract


def _letters(axes):
    return "".join(a.name.lower() for a in axes)


@settings(max_examples=25, deadline=None)
@given(_operands())
def test_dot_agrees_with_jnp_einsum(data):
    axes_list, contract = data
    arrays = [rand(*axes, seed=i) for i, axes in enumerate(axes_list)]
    union = list(dict.fromkeys(a for axes in axes_list for a in axes))
    kept = [] if contract is None else [a for a in union if a not in contract]
    sel = None if contract is None else tuple(a.name for a in contract)
    out = hax.dot(*arrays, axis=sel)
    assert out.axes == tuple(kept)
    spec = ",".join(_letters(axes) for axes in axes_list) + "->" + _letters(kept)
    close(out.array, jnp.einsum(spec, *(a.array for a in arrays)))
    # the same contraction through einsum's output-only mode
    out2 = hax.einsum("-> " + " ".join(a.name for a in kept), *arrays)
    assert out2.axes == tuple(kept)
    close(out2.array, out.array)


# --------------------------------------------------------------------------------------------------
# messages that user code matches


Height, Width, Depth = hax.make_axes(Height=2, Width=3, Depth=4)


@pytest.fixture
def hwd3():
    m1 = rand(Height, Width, Depth)
    m2 = rand(Depth, Width, Height, seed=1)
    m3 = rand(Height, Depth, seed=2)
    return m1, m2, m3


def test_unordered_unknown_brace_name_message(hwd3):
    m1, m2, _ = hwd3
    with pytest.raises(ValueError, match="Axis c not present"):
        hax.einsum("{a b c} -> a b", m1, m2, a=Height, b=Width)
    with pytest.raises(ValueError, match="Axis Q not present"):
        hax.einsum("{a b c} -> a b", m1, m2, a=Height, b=Width, c="Q")
    # checked also when a side has `...` (Haliax ignores Q there)
    with pytest.raises(ValueError, match="Axis Q not present"):
        hax.einsum("{Q} -> ... Height", m1, m2)


def test_unordered_alias_size_is_checked(hwd3):
    m1, m2, _ = hwd3
    with pytest.raises(ValueError, match="Size mismatch"):
        hax.einsum("{a b} -> a b", m1, m2, a=Height.resize(5), b=Width)


def test_unordered_unused_alias_message(hwd3):
    m1, m2, _ = hwd3
    with pytest.raises(ValueError, match="Axis alias c not used"):
        hax.einsum("{a b} -> a b", m1, m2, a=Height, b=Width, c=Depth)
    with pytest.raises(ValueError, match=r"Axis alias q not used.*Unused aliases from kwargs: q, c$"):
        hax.einsum("{a b} -> a b", m1, m2, a=Height, q="Q", b=Width, c=Depth)


def test_unused_aliases_message_ends_with_the_list(hwd3):
    m1, _, _ = hwd3
    with pytest.raises(ValueError, match=r"Unused aliases from kwargs: R$"):
        hax.einsum("-> Width Height", m1, R=Axis("R", 2))
    with pytest.raises(ValueError, match=r"Unused aliases from kwargs: R, S$"):
        hax.einsum("-> Width Height", m1, R=Axis("R", 2), S="S")
    with pytest.raises(ValueError, match=r"Unused aliases from kwargs: S, R$"):
        hax.einsum("-> Width Height", m1, S="S", R=Axis("R", 2))
    # ordered mode
    with pytest.raises(ValueError, match=r"Unused aliases from kwargs: R$"):
        hax.einsum("h w d -> h", m1, R=Axis("R", 2))
    # the message names einsum and echoes the equation before the list
    with pytest.raises(ValueError) as info:
        hax.einsum("-> Width Height", m1, R=Axis("R", 2))
    lines = str(info.value).splitlines()
    assert lines[0].startswith("einsum: ") and lines[1].strip() == "-> Width Height"
    assert lines[-1] == "Axis alias R not used in the einsum. Unused aliases from kwargs: R"


def test_output_only_missing_axis_message(hwd3):
    m1, _, m3 = hwd3
    with pytest.raises(ValueError, match="not found in any of the input arrays"):
        hax.einsum("-> a b", m3, a=Height, b=Width)
    with pytest.raises(ValueError, match="not found in any of the input arrays"):
        hax.einsum("-> Q Width", m1)
    with pytest.raises(ValueError, match="not found in any of the input arrays"):
        hax.einsum("-> Q ...", m1)


def test_output_only_alias_size_mismatch_message(hwd3):
    m1, _, _ = hwd3
    with pytest.raises(ValueError, match="Size mismatch"):
        hax.einsum("-> a", m1, a=Height.resize(9))


def test_output_only_checks_follow_the_rhs_and_unused_aliases_come_last(hwd3):
    m1, _, m3 = hwd3
    # the first rhs name fails first: a size mismatch before a later missing name
    with pytest.raises(ValueError, match="Size mismatch"):
        hax.einsum("-> a Q", m1, a=Height.resize(9))
    with pytest.raises(ValueError, match="Axis Q not present"):
        hax.einsum("-> Q a", m1, a=Height.resize(9))
    # a missing name is reported before an unused alias
    with pytest.raises(ValueError, match="not found in any of the input arrays"):
        hax.einsum("-> b", m3, b=Width, R=Axis("R", 2))
