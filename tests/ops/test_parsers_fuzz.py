"""Fuzz the rearrange/einsum expression parsers: random strings may only ever raise ValueError."""

import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import haliax as hax
from haliax.ops._parse import parse_expression

ALPHABET = "abcdhwBSE_09 ->(){}:,.'\""
TOKENS = ["a", "b", "c", "h", "w", "d", "B", "S", "E", "x1", "...", "->", "(", ")", "{", "}", ":", ",", " ", "'B'", "."]

B, S, E = hax.make_axes(B=2, S=3, E=4)
X = hax.named(jnp.zeros((2, 3, 4)), (B, S, E))
Y = hax.named(jnp.zeros((4, 2)), (E, B))

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(alphabet=ALPHABET, max_size=30)
token_soup = st.lists(st.sampled_from(TOKENS), max_size=14).map(" ".join)

# near-valid expressions, so that the planners behind the parser get exercised too
ident = st.sampled_from(["a", "b", "c", "d", "h", "B", "S", "E", "'E'"])
group = st.tuples(st.sampled_from(["", "n: ", "E: ", "B:"]), st.lists(ident, max_size=3)).map(
    lambda t: "(" + t[0] + " ".join(t[1]) + ")"
)
item = st.one_of(ident, ident, st.just("..."), group)
term = st.lists(item, max_size=4).map(" ".join)
lhs = st.one_of(st.lists(term, min_size=1, max_size=3).map(", ".join), term.map(lambda t: "{" + t + "}"))
structured = st.tuples(lhs, st.one_of(st.none(), term)).map(lambda t: t[0] if t[1] is None else f"{t[0]} -> {t[1]}")
expressions = st.one_of(text, token_soup, structured, structured)
bindings = st.dictionaries(
    st.sampled_from(["a", "b", "h", "d", "n"]), st.sampled_from([0, 1, 2, 3, 4, "B", "E", hax.Axis("E", 4)]), max_size=2
)


def _only_value_error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ValueError as e:
        msg = str(e)
        assert msg.split(":", 1)[0] in ("rearrange", "einsum"), msg
        assert len(msg.splitlines()) >= 2 or "not found" in msg or "Partial order" in msg, msg


@_SETTINGS
@given(expressions)
def test_parser_raises_only_value_error(s):
    _only_value_error(parse_expression, s, "rearrange")
    _only_value_error(parse_expression, s, "einsum")


@_SETTINGS
@given(expressions, bindings)
def test_rearrange_raises_only_value_error(s, kw):
    _only_value_error(hax.rearrange, X, s)
    _only_value_error(hax.rearrange, X, s, **kw)


@_SETTINGS
@given(expressions, bindings)
def test_einsum_raises_only_value_error(s, kw):
    _only_value_error(hax.einsum, s, X, Y)
    _only_value_error(hax.einsum, s, X, **kw)


@pytest.mark.parametrize(
    "s",
    [
        "",
        "->",
        "{",
        "}",
        "(",
        ")",
        "...",
        "....",
        "..",
        ":",
        "(a:",
        "(:)",
        "{}",
        "{...}",
        "a -> -> b",
        "'",
        "''",
        "1a",
        "a-b",
        "a > b",
        "{a} {b}",
        "(a) -> (b)",
        "((",
        "{(a b)}",
        "{(B: a ...)}",
        "a, b, c -> ,",
    ],
)
def test_edge_cases(s):
    _only_value_error(parse_expression, s)
    _only_value_error(hax.rearrange, X, s)
    _only_value_error(hax.einsum, s, X, Y)
