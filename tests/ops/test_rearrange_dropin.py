"""rearrange as code written for Haliax uses it: several ``...`` in the sequence form, what keyword bindings
apply to in the string form, Haliax's error wording, and which error wins when two apply."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haliax as hax
from haliax import Axis
from tests.helpers import names, strs


@pytest.fixture
def x():
    """x(B=5, D=2, H=6, W=4, C=3) with distinct values."""
    return hax.named(jnp.arange(5 * 2 * 6 * 4 * 3).reshape(5, 2, 6, 4, 3), ("B", "D", "H", "W", "C"))


@pytest.fixture
def hwdc():
    return hax.named(jnp.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5), ("H", "W", "D", "C"))


@pytest.fixture
def y():
    """y(a=4, H=4)."""
    return hax.named(jnp.arange(16).reshape(4, 4), ("a", "H"))


def _perm(src, dst):
    return [src.index(n) for n in dst]


# --------------------------------------------------------------------------------------------------
# sequence form: any number of ...


@pytest.mark.parametrize(
    "order, expected",
    [
        (("C", ..., ...), ["C", "H", "W", "D"]),
        ((..., "C", ..., "W"), ["H", "D", "C", "W"]),
        ((..., "H", ..., "D"), ["H", "W", "C", "D"]),
        (("D", ..., "H", ...), ["D", "H", "W", "C"]),
        (("H", "W", "D", "C", ...), ["H", "W", "D", "C"]),
        (("H", ..., "W", "D", "C"), ["H", "W", "D", "C"]),
    ],
)
def test_sequence_several_ellipses(hwdc, order, expected):
    out = hax.rearrange(hwdc, order)
    assert names(out) == expected
    np.testing.assert_array_equal(out.array, jnp.transpose(hwdc.array, _perm(["H", "W", "D", "C"], expected)))
    assert names(hwdc.rearrange(order)) == expected


def test_sequence_is_the_partial_order_then_a_transpose(hwdc):
    order = ("D", ..., Axis("H", 2), ..., "C")
    assert hax.rearrange(hwdc, order).axes == hax.axis.rearrange_for_partial_order(order, hwdc.axes)


def test_sequence_mixed_str_and_axis_entries(hwdc):
    out = hax.rearrange(hwdc, (Axis("C", 5), ..., "H", ...))
    assert names(out) == ["C", "H", "W", "D"]


@pytest.mark.parametrize(
    "order, message",
    [
        (("H", "H", ...), "rearrange: argument 'axes': axis H is given more than once"),
        (("Q", ...), "rearrange: argument 'axes': axis Q not found in (H(2), W(3), D(4), C(5))"),
        (("h", ...), "Did you mean 'H'?"),
        (("H", "W"), "rearrange: argument 'axes': Partial order must be a permutation of the axes"),
        (("H", "W"), "leaves out (D(4), C(5))"),
        ((), "rearrange: argument 'axes': No axes specified"),
    ],
)
def test_sequence_errors_name_rearrange_and_the_argument(hwdc, order, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        hax.rearrange(hwdc, order)


def test_sequence_wrong_size_axis_entry(hwdc):
    with pytest.raises(hax.axis.AxisSizeMismatchError, match=re.escape("rearrange: argument 'axes'")):
        hax.rearrange(hwdc, (Axis("H", 7), ...))


def test_sequence_empty_on_a_scalar():
    s = hax.named(jnp.array(3.0), ())
    assert hax.rearrange(s, ()) is s


# --------------------------------------------------------------------------------------------------
# string form: the binding of an unordered group's label selects by name only


def test_unordered_label_that_is_also_a_piece(x):
    out = hax.rearrange(x, "{ B (H: h1 H) (W: w1 W)} -> (B: B h1 w1) H W ...", H=2, W=2)
    assert strs(out) == ["B(30)", "H(2)", "W(2)", "D(2)", "C(3)"]
    expected = x.array.reshape(5, 2, 3, 2, 2, 2, 3).transpose(0, 2, 4, 3, 5, 1, 6).reshape(30, 2, 2, 2, 3)
    np.testing.assert_array_equal(out.array, expected)


def test_unordered_label_piece_and_merge_into_new_name(x):
    out = hax.rearrange(x, "{ B (H: h1 H) (W: w1 W) D} -> (B: B h1 w1) (E: H W D)...", H=2, W=2)
    assert strs(out) == ["B(30)", "E(8)", "C(3)"]
    expected = x.array.reshape(5, 2, 3, 2, 2, 2, 3).transpose(0, 2, 4, 3, 5, 1, 6).reshape(30, 8, 3)
    np.testing.assert_array_equal(out.array, expected)


@pytest.mark.parametrize("size, p", [(2, 2), (4, 1)])
def test_unordered_label_binding_sizes_the_inner_piece(y, size, p):
    out = hax.rearrange(y, "{(H: p H)} -> ... p H", H=size)
    assert strs(out) == ["a(4)", f"p({p})", f"H({size})"]
    np.testing.assert_array_equal(out.array, y.array.reshape(4, p, size))


def test_unordered_label_binding_renames(x):
    out = hax.rearrange(x, "{(q: k m)} -> ... k m", q="H", k=2)
    assert strs(out) == ["B(5)", "D(2)", "W(4)", "C(3)", "k(2)", "m(3)"]
    np.testing.assert_array_equal(out.array, x.array.reshape(5, 2, 2, 3, 4, 3).transpose(0, 1, 4, 5, 2, 3))


def test_unordered_label_binding_to_an_absent_axis(x):
    with pytest.raises(ValueError, match=re.escape("Could not resolve axis Q")):
        hax.rearrange(x, "{(H: h1 H)} -> ...", H=Axis("Q", 2))


def test_unordered_plain_identifier_with_a_wrong_size_binding(y):
    with pytest.raises(
        ValueError, match=re.escape("argument 'H': axis H has conflicting sizes: 4 (array), 3 (binding)")
    ):
        hax.rearrange(y, "{H} -> H ...", H=3)


def test_unordered_label_only_binding_with_a_wrong_size(y):
    # Haliax ignores the size here; we say the binding disagrees with the axis it selects
    with pytest.raises(
        ValueError, match=re.escape("argument 'H': axis H has conflicting sizes: 4 (array), 3 (binding)")
    ):
        hax.rearrange(y, "{(H: p q)} -> ...", H=3, p=2)


# --------------------------------------------------------------------------------------------------
# string form: naming of rhs merge labels


@pytest.mark.parametrize("binding, expected", [("patch", "patch(16)"), (Axis("patch", 16), "patch(16)"), (16, "P(16)")])
def test_merge_label_binding_only_on_the_rhs(y, binding, expected):
    out = hax.rearrange(y, "a H -> (P: a H)", P=binding)
    assert strs(out) == [expected]
    np.testing.assert_array_equal(out.array, y.array.reshape(16))


def test_merge_label_that_is_an_ordered_lhs_identifier_takes_the_axis_name():
    a = hax.named(jnp.arange(24).reshape(2, 3, 4), ("X", "Y", "Z"))
    out = hax.rearrange(a, "x y z -> (x: x y) z")
    assert strs(out) == ["X(6)", "Z(4)"]
    np.testing.assert_array_equal(out.array, a.array.reshape(6, 4))


def test_merge_label_with_a_split_piece_on_the_lhs():
    a = hax.named(jnp.arange(5 * 6 * 4).reshape(5, 6, 4), ("B", "H", "W"))
    out = hax.rearrange(a, "b (H: h1 H) w -> (b: b h1) H w", H=2)
    assert strs(out) == ["B(15)", "H(2)", "W(4)"]
    np.testing.assert_array_equal(out.array, a.array.reshape(15, 2, 4))


def test_merge_label_binding_of_the_wrong_size(y):
    # Haliax silently ignores the size of the binding; the merged axis could only be mislabelled
    with pytest.raises(ValueError, match=re.escape("The binding P=patch(99) gives the merged axis size 99")):
        hax.rearrange(y, "a H -> (P: a H)", P=Axis("patch", 99))
    with pytest.raises(ValueError, match=re.escape("but its parts multiply to 16")):
        hax.rearrange(y, "a H -> (P: a H)", P=15)


def test_rhs_plain_identifier_bound_only_by_a_keyword(y):
    with pytest.raises(ValueError, match=re.escape("Axis P is not bound on the lhs")):
        hax.rearrange(y, "a H -> P H", P="patch")


def test_bindings_that_appear_nowhere_are_ignored(x):
    out = hax.rearrange(x, "{H W} -> ... H W", zz=3)
    assert names(out) == ["B", "D", "C", "H", "W"]
    np.testing.assert_array_equal(out.array, jnp.transpose(x.array, (0, 1, 4, 2, 3)))


def test_str_binding_naming_an_axis_gives_its_size():
    # h="S" makes the piece h an S(2), so d's size follows: no ambiguity
    a = hax.named(jnp.arange(2 * 12).reshape(2, 12), ("S", "E"))
    out = hax.rearrange(a, "{S (E: h d)} -> (M: S d) h", h="S")
    assert strs(out) == ["M(12)", "S(2)"]
    np.testing.assert_array_equal(out.array, a.array.reshape(2, 2, 6).transpose(0, 2, 1).reshape(12, 2))


# --------------------------------------------------------------------------------------------------
# error messages (Haliax's wording) and which one wins


@pytest.mark.parametrize(
    "expr, kwargs, message",
    [
        ("a b c d e f -> ...", {}, "Too many axes in lhs"),
        ("a b c d -> a b c d", {}, "Not all axes are bound"),
        ("a b c d e -> a b c d e k", {}, "Axis k is not bound on the lhs"),
        ("a b ... -> (z: a r) ...", {}, "Axis r is not bound on the lhs"),
        ("a ... b ... -> a b ...", {}, "Only one ellipsis allowed"),
        ("a b c k k -> ...", {}, "Capture k is assigned more than once"),
        ("a b c (k k) e -> ...", {"k": 4}, "Capture k is assigned more than once"),
        ("a b c d e -> a b c d e e", {}, "Axis C(3) is used more than once"),
        ("a b c d e -> a b c d", {}, "Not all intermediate axes are used"),
        ("a b c d e ... f g -> a b c d e f g", {}, "Axis C(3) is bound more than once"),
        ("a b c d e ... b f g -> a", {}, "Axis C(3) is bound more than once"),
        ("{H H} -> ... H", {}, "Axis H(6) is bound more than once"),
        ("{(H: k m) H} -> ...", {"k": 2}, "Axis H(6) is bound more than once"),
        ("(k m) b c d e -> ...", {"k": 3}, "Axes do not divide evenly into axis B(5)"),
        ("(k m) b c d e -> ...", {"k": 3, "m": 2}, "Axes do not divide evenly into axis B(5)"),
        ("(k m) b ... -> k m b ...", {}, "are ambiguous"),
        ("a b ... -> (a b) ...", {}, "must have a name"),
        ("{(k)} -> ... k", {}, "must be bound by name"),
        ("{(Q: k)} -> ... k", {}, "Could not resolve axis Q"),
        ("{Q} -> ... Q", {}, "Could not resolve axis Q"),
        # all sizes given, each divides, but the product is smaller than the axis (Haliax: a late TypeError)
        ("b d (x y) w c -> ...", {"x": 2, "y": 1}, "Axes do not divide evenly into axis H(6)"),
    ],
)
def test_error_messages(x, expr, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        hax.rearrange(x, expr, **kwargs)
    assert str(info.value).startswith("rearrange: ")


def test_positional_binding_is_checked_before_duplicate_identifiers(x):
    # "a b c d e ... b f g" repeats b and has too many entries around the ...: the binding error wins
    with pytest.raises(ValueError, match=re.escape("is bound more than once")) as info:
        hax.rearrange(x, "a b c d e ... b f g -> a")
    assert "Capture" not in str(info.value)
    with pytest.raises(ValueError, match=re.escape("Too many axes in lhs")):
        hax.rearrange(x, "a a b c d e f -> ...")


def test_duplicate_identifiers_are_checked_before_split_sizes(x):
    # (k k) with k=4 on W(4) would also not divide: the duplicate wins
    with pytest.raises(ValueError, match=re.escape("Capture k is assigned more than once")):
        hax.rearrange(x, "a b c (k k) e -> ...", k=4)


def test_unknown_rhs_identifier_suggests_the_closest(x):
    with pytest.raises(ValueError, match=re.escape("Axis head is not bound on the lhs")) as info:
        hax.rearrange(x, "b d (heads hd) w c -> b d head hd w c", heads=2)
    assert "Did you mean 'heads'?" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Haliax's private path


def test_einops_rearrange_alias(x):
    from haliax._src.rearrange import einops_rearrange

    out = einops_rearrange(x, "b d h w c -> c (m: b d) h w")
    assert strs(out) == ["C(3)", "m(10)", "H(6)", "W(4)"]
    np.testing.assert_array_equal(out.array, x.array.transpose(4, 0, 1, 2, 3).reshape(3, 10, 6, 4))


# --------------------------------------------------------------------------------------------------
# still one reshape/transpose under jit


def _prims(fn, arr):
    return [e.primitive.name for e in jax.make_jaxpr(fn)(arr).jaxpr.eqns]


def test_several_ellipses_lower_to_one_transpose(hwdc):
    assert _prims(lambda a: hax.rearrange(a, (..., "C", ..., "W")).array, hwdc) == ["transpose"]


def test_label_binding_split_and_merge_lower_to_reshape_transpose_reshape(x):
    fn = lambda a: hax.rearrange(a, "{ B (H: h1 H) (W: w1 W)} -> (B: B h1 w1) H W ...", H=2, W=2).array  # noqa: E731
    assert _prims(fn, x) == ["reshape", "transpose", "reshape"]
    np.testing.assert_array_equal(jax.jit(fn)(x), fn(x))
