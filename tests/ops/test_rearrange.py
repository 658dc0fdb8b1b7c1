"""rearrange: sequence and string forms, lowering, sharding, round trips and every error path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from jax.sharding import AxisType

import haliax as hax
from haliax import Axis
from tests.helpers import names, strs

B, S, E, H = hax.make_axes(B=2, S=3, E=6, H=4)


@pytest.fixture
def x():
    return hax.named(jnp.arange(2 * 3 * 6, dtype=jnp.float32).reshape(2, 3, 6), (B, S, E))


# --------------------------------------------------------------------------------------------------
# sequence form


def test_sequence_full_permutation(x):
    y = hax.rearrange(x, ("E", "B", "S"))
    assert y.axes == (E, B, S)
    np.testing.assert_array_equal(y.array, jnp.transpose(x.array, (2, 0, 1)))


@pytest.mark.parametrize(
    "order, expected",
    [
        (("E", ...), ["E", "B", "S"]),
        ((..., "B"), ["S", "E", "B"]),
        (("S", ..., "B"), ["S", "E", "B"]),
        ((..., "E", "S"), ["B", "E", "S"]),
        ((...,), ["B", "S", "E"]),
        ((E, ..., B), ["E", "S", "B"]),
    ],
)
def test_sequence_ellipsis(x, order, expected):
    y = hax.rearrange(x, order)
    assert names(y) == expected
    perm = [["B", "S", "E"].index(n) for n in expected]
    np.testing.assert_array_equal(y.array, jnp.transpose(x.array, perm))


def test_sequence_varargs_and_method(x):
    assert names(hax.rearrange(x, "E", ..., "B")) == ["E", "S", "B"]
    assert names(x.rearrange(("S", ...))) == ["S", "B", "E"]
    assert x.rearrange(("B", "S", "E")) is x


def test_sequence_errors(x):
    with pytest.raises(ValueError, match="Partial order must be a permutation"):
        hax.rearrange(x, ("E", "B"))
    with pytest.raises(ValueError, match="axis Q not found in .*B\\(2\\).*S\\(3\\).*E\\(6\\)"):
        hax.rearrange(x, ("Q", ...))
    with pytest.raises(ValueError, match="Did you mean 'E'"):
        hax.rearrange(x, ("e", ...))
    with pytest.raises(
        ValueError, match=r"Found axis with same name but different size: asked for E\(5\), the array has E\(6\)"
    ):
        hax.rearrange(x, (E.resize(5), ...))
    with pytest.raises(ValueError, match="more than once"):
        hax.rearrange(x, ("E", "E", ...))
    with pytest.raises(TypeError, match="expected axis names"):
        hax.rearrange(x, (3, ...))
    with pytest.raises(TypeError, match="only allowed with a string"):
        hax.rearrange(x, ("E", ...), h=2)
    with pytest.raises(TypeError, match="NamedArray"):
        hax.rearrange(jnp.zeros(3), ("E",))
    with pytest.raises(TypeError, match="expected an axis sequence"):
        hax.rearrange(x)


# --------------------------------------------------------------------------------------------------
# string form: fixed examples


def test_alias_keeps_original_names(x):
    y = hax.rearrange(x, "x y z -> z x y")
    assert y.axes == (E, B, S)
    np.testing.assert_array_equal(y.array, jnp.transpose(x.array, (2, 0, 1)))


def test_split_pieces_are_new_axes(x):
    y = hax.rearrange(x, "x (p q) z -> x p q z", p=3)
    assert strs(y) == ["B(2)", "p(3)", "q(1)", "E(6)"]
    np.testing.assert_array_equal(y.array, x.array.reshape(2, 3, 1, 6))


def test_split_and_transpose_matches_jnp(x):
    y = hax.rearrange(x, "b s (h d) -> b h s d", h=2)
    assert strs(y) == ["B(2)", "h(2)", "S(3)", "d(3)"]
    np.testing.assert_array_equal(y.array, x.array.reshape(2, 3, 2, 3).transpose(0, 2, 1, 3))


def test_merge_named_group(x):
    y = hax.rearrange(x, "b s e -> (t: b s) e")
    assert strs(y) == ["t(6)", "E(6)"]
    np.testing.assert_array_equal(y.array, x.array.reshape(6, 6))
    z = hax.rearrange(x, "b s e -> e (t: s b)")
    np.testing.assert_array_equal(z.array, x.array.transpose(2, 1, 0).reshape(6, 6))


def test_ordered_group_label_is_ignored(x):
    y = hax.rearrange(x, "b s (Whatever: h d) -> b s h d", h=3)
    assert strs(y) == ["B(2)", "S(3)", "h(3)", "d(2)"]


def test_ellipsis_on_ordered_lhs(x):
    assert names(hax.rearrange(x, "b ... -> ... b")) == ["S", "E", "B"]
    assert names(hax.rearrange(x, "... e -> e ...")) == ["E", "B", "S"]
    assert names(hax.rearrange(x, "b ... e -> e ... b")) == ["E", "S", "B"]
    assert names(hax.rearrange(x, "b s e ... -> e ...")) == ["E", "B", "S"]


def test_unordered_lhs(x):
    y = hax.rearrange(x, "{E B} -> E ...")
    assert names(y) == ["E", "B", "S"]
    y = hax.rearrange(x, "{(E: h d) ...} -> ... d h", h=2)
    assert strs(y) == ["B(2)", "S(3)", "d(3)", "h(2)"]
    np.testing.assert_array_equal(y.array, x.array.reshape(2, 3, 2, 3).transpose(0, 1, 3, 2))
    # names not mentioned in the braces are still addressable by name
    assert names(hax.rearrange(x, "{B} -> S B E")) == ["S", "B", "E"]


def test_unordered_split_then_merge_round_trip(x):
    y = hax.rearrange(x, "{(E: h d)} -> ... d h", h=2)
    z = hax.rearrange(y, "{d h} -> ... (E: h d)")
    assert z.axes == x.axes
    np.testing.assert_array_equal(z.array, x.array)


def test_bindings_int_str_axis(x):
    y = hax.rearrange(x, "b s (h d) -> b s h d", h="heads", d=Axis("hd", 3))
    assert strs(y) == ["B(2)", "S(3)", "heads(2)", "hd(3)"]
    y = hax.rearrange(x, "{q} -> ... q", q="B")
    assert names(y) == ["S", "E", "B"]
    y = hax.rearrange(x, "{q} -> ... q", q=B)
    assert names(y) == ["S", "E", "B"]
    y = hax.rearrange(x, "b s e -> e b s", e=6, b="B")
    assert names(y) == ["E", "B", "S"]
    assert hax.rearrange(x, "b s (h d) -> b s h d", h=np.int64(2)).axes[2].size == 2


def test_quoted_names_and_commas():
    X, Y = Axis("my axis", 2), Axis("other-one", 3)
    a = hax.arange((X, Y))
    y = hax.rearrange(a, "{'my axis', \"other-one\"} -> \"other-one\", 'my axis'")
    assert y.axes == (Y, X)
    y = hax.rearrange(a, 'a, b -> ("merged axis": b, a)')
    assert strs(y) == ["merged axis(6)"]
    np.testing.assert_array_equal(y.array, a.array.T.reshape(6))


def test_size_one_groups():
    X, One = Axis("X", 3), Axis("one", 1)
    a = hax.arange((X, One))
    y = hax.rearrange(a, "x () -> x")
    assert y.axes == (X,)
    z = hax.rearrange(y, "x -> (new:) x")
    assert strs(z) == ["new(1)", "X(3)"]
    np.testing.assert_array_equal(z.array, a.array.T)
    assert strs(hax.rearrange(y, "x -> x ... (n:)")) == ["X(3)", "n(1)"]
    assert hax.rearrange(a, "{(one:)} -> ...").axes == (X,)


def test_multiple_ellipses_use_partial_order():
    # Haliax's placement: (c, ..., a, ...) on (x, c, y, a, z) gives (c, x, a, y, z)
    ax = hax.make_axes(x=1, c=2, y=3, a=4, z=5)
    arr = hax.zeros(ax)
    assert names(hax.rearrange(arr, "{} -> c ... a ...")) == ["c", "x", "a", "y", "z"]
    ax2 = hax.make_axes(a=1, b=2, c=3, d=4)
    arr2 = hax.zeros(ax2)
    assert names(hax.rearrange(arr2, "{} -> ... c ... a ...")) == ["c", "a", "b", "d"]


def test_group_placement_with_ellipsis(x):
    y = hax.rearrange(x, "{S E} -> ... (SE: S E)")
    assert strs(y) == ["B(2)", "SE(18)"]
    y = hax.rearrange(x, "{B S} -> (BS: B S) ...")
    assert strs(y) == ["BS(6)", "E(6)"]


def test_expression_and_plan_are_cached(x):
    from haliax.ops import _rearrange

    _rearrange.string_plan.cache_clear()
    hax.rearrange(x, "b s e -> e s b")
    hax.rearrange(x, "b s e -> e s b")
    info = _rearrange.string_plan.cache_info()
    assert info.hits == 1 and info.misses == 1


def test_works_under_jit_and_grad(x):
    f = jax.jit(lambda a: hax.rearrange(a, "b s (h d) -> d h s b", h=3).array.sum() * 2)
    assert float(f(x)) == pytest.approx(float(x.array.sum() * 2))
    g = jax.grad(lambda arr: hax.rearrange(hax.named(arr, (B, S, E)), "b s e -> (f: e b) s").array[0, 0] * 3)(x.array)
    assert float(g[0, 0, 0]) == 3.0


# --------------------------------------------------------------------------------------------------
# lowering


def _prims(fn, arr):
    return [e.primitive.name for e in jax.make_jaxpr(fn)(arr).jaxpr.eqns]


def test_pure_transpose_is_one_transpose(x):
    assert _prims(lambda a: hax.rearrange(a, "b s e -> e b s").array, x) == ["transpose"]
    assert _prims(lambda a: hax.rearrange(a, ("E", ...)).array, x) == ["transpose"]
    assert _prims(lambda a: hax.rearrange(a, "{E} -> E ...").array, x) == ["transpose"]


def test_split_merge_lowering(x):
    assert _prims(lambda a: hax.rearrange(a, "b s (h d) -> b s h d", h=2).array, x) == ["reshape"]
    assert _prims(lambda a: hax.rearrange(a, "b s (h d) -> b h s d", h=2).array, x) == ["reshape", "transpose"]
    assert _prims(lambda a: hax.rearrange(a, "b s e -> (t: b s) e").array, x) == ["reshape"]
    assert _prims(lambda a: hax.rearrange(a, "b s e -> (t: s b) e").array, x) == ["transpose", "reshape"]
    assert _prims(lambda a: hax.rearrange(a, "b s e -> b s e").array, x) == []


def test_result_is_auto_sharded():
    mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    Bat, F = hax.make_axes(batch=8, feat=4)
    a = hax.zeros((F, Bat))
    with jax.set_mesh(mesh), hax.axis_mapping({"batch": "data"}):
        y = hax.rearrange(a, "f b -> b f")
    assert y.array.sharding.spec == jax.sharding.PartitionSpec("data", None)


# --------------------------------------------------------------------------------------------------
# errors (Haliax's message substrings; a caret under the offending span)


def _caret_line(msg):
    return msg.splitlines()[-1]


@pytest.mark.parametrize(
    "expr, kwargs, message, caret_under",
    [
        ("a b c d -> a", {}, "Too many axes in lhs", "d"),
        ("a b -> a b", {}, "Not all axes are bound, use ... to skip missing axes", "a b"),
        ("a b c -> (a b) c", {}, "All rhs axes must have a name. Use (name: bindings)", "(a b)"),
        ("a b c -> a b", {}, "Not all intermediate axes are used", "a b"),
        ("a b c -> a b q", {}, "Axis q is not bound on the lhs", "q"),
        ("a b c -> a b cc", {}, "Did you mean 'c'", "cc"),
        ("{Q} -> ...", {}, "Could not resolve axis Q: axis Q not found in (B(2), S(3), E(6))", "Q"),
        ("{e} -> ...", {}, "Did you mean 'E'", "e"),
        ("{B} -> ... Q", {}, "Axis Q is not bound on the lhs", "Q"),
        ("a b (c d) -> ...", {}, "Sizes of c, d are ambiguous", "(c d)"),
        (
            "a b (c d) -> ...",
            {"c": 4},
            "Axes do not divide evenly into axis E(6): the given sizes multiply to 4",
            "(c d)",
        ),
        ("a b (c d) -> ...", {"c": 2, "d": 2}, "the sizes multiply to 4, not 6", "(c d)"),
        ("a b c -> ...", {"a": 3}, "argument 'a': axis B has conflicting sizes: 2 (array), 3 (binding)", "a"),
        ("a b c -> ...", {"a": "X"}, "bound to axis B(2)", "a"),
        ("a a c -> ...", {}, "Capture a is assigned more than once on the lhs", "a"),
        ("a b c -> a a ...", {}, "Axis B(2) is used more than once on the rhs", "a"),
        ("a b c -> (m: a b) a", {}, "Axis B(2) is used more than once on the rhs", "a"),
        ("{(h d)} -> ...", {"h": 2}, "must be bound by name", "(h d)"),
        ("{B (B: h)} -> ...", {}, "Axis B(2) is bound more than once on the lhs", "(B: h)"),
        ("{q B} -> ...", {"q": "B"}, "Axis B(2) is bound more than once on the lhs", "B"),
        ("{(E: h d) (S: h s)} -> ...", {"h": 3}, "Capture h is assigned more than once", "h"),
        ("{q} -> ...", {"q": Axis("B", 5)}, "argument 'q': axis B has conflicting sizes: 2 (array), 5 (binding)", "q"),
        ("a ... c ... -> ...", {}, "Only one ellipsis allowed on an ordered lhs", "..."),
        ("a b ... c d -> ...", {}, "Axis S(3) is bound more than once", "c"),
        ("b s e -> (S: b) s e", {}, "axis S more than once", "(S: b) s e"),
        ("b s e", {}, "needs '->'", "b s e"),
        ("b s (h d) -> b s h d", {"h": 0}, "the given sizes multiply to 0", "(h d)"),
        (
            "b s e -> (m: b s) e",
            {"m": 5},
            "The binding m=5 gives the merged axis size 5, but its parts multiply to 6",
            "(m: b s)",
        ),
        (
            "{(E: a b)} -> ...",
            {"E": 3, "a": 2},
            "argument 'E': axis E has conflicting sizes: 6 (array), 3 (binding)",
            "(E: a b)",
        ),
    ],
)
def test_error_paths(x, expr, kwargs, message, caret_under):
    with pytest.raises(ValueError) as info:
        hax.rearrange(x, expr, **kwargs)
    msg = str(info.value)
    assert msg.startswith("rearrange: ")
    assert message in msg
    assert expr in msg.splitlines()[1]
    caret = _caret_line(msg)
    start = caret.index("^") - 2
    assert expr[start : start + len(caret.strip())] == caret_under


def test_unordered_identifier_conflict():
    X, x_ = Axis("X", 2), Axis("x", 3)
    a = hax.zeros((X, x_))
    with pytest.raises(ValueError, match="names two different axes"):
        hax.rearrange(a, "{x} -> ...", x="X")


def test_binding_type_errors(x):
    with pytest.raises(TypeError, match="binding h=1.5"):
        hax.rearrange(x, "b s (h d) -> b s h d", h=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        hax.rearrange(x, "b s (h d) -> b s h d", h=-2)


def test_syntax_errors_have_carets(x):
    with pytest.raises(ValueError, match=r"(?s)Groups cannot be nested.*\n  b \(s \(e\)\) -> b\n       \^"):
        hax.rearrange(x, "b (s (e)) -> b")


# --------------------------------------------------------------------------------------------------
# properties

_AXES = [Axis(n, s) for n, s in zip("PQRST", (2, 3, 1, 2, 3), strict=True)]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), st.permutations(range(n)))))
def test_round_trip_random_permutations(data):
    n, perm = data
    axes = tuple(_AXES[:n])
    raw = np.arange(int(np.prod([ax.size for ax in axes]))).reshape([ax.size for ax in axes])
    a = hax.named(raw, axes)
    order = [axes[i].name for i in perm]
    y = hax.rearrange(a, order)
    np.testing.assert_array_equal(y.array, np.transpose(raw, perm))
    ids = [f"i{i}" for i in range(n)]
    z = hax.rearrange(a, " ".join(ids) + " -> " + " ".join(ids[i] for i in perm))
    assert z.axes == y.axes
    np.testing.assert_array_equal(z.array, y.array)
    back = hax.rearrange(z, "{} -> " + " ".join(ax.name for ax in axes))
    assert back.axes == axes
    np.testing.assert_array_equal(back.array, raw)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2), st.permutations(range(3)))
def test_round_trip_split_merge(which, perm):
    axes = (Axis("A", 2), Axis("M", 6), Axis("C", 3))
    a = hax.named(jnp.arange(36).reshape(2, 6, 3), axes)
    pieces = ["p", "q", "c"] if which == 0 else ["c", "p", "q"] if which == 1 else ["p", "c", "q"]
    rhs = " ".join(pieces[i] for i in perm)
    y = hax.rearrange(a, "a (p q) c -> a " + rhs, p=2)
    back = hax.rearrange(y, "{p q} -> ... (M: p q) ...")
    back = hax.rearrange(back, ("A", "M", "C"))
    np.testing.assert_array_equal(back.array, a.array)
