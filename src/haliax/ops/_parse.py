"""The small expression parser shared by `haliax.rearrange` and `haliax.einsum`.

Grammar (whitespace and commas inside a term are separators)::

    expression := side ["->" side]
    side       := "{" item* "}"              # unordered: identifiers are axis names (or aliases)
                | term ("," term)*           # ordered: one term per array (einsum); rearrange joins them
    item       := NAME | "..." | group
    group      := "(" [NAME ":"] NAME* ")"
    NAME       := [^\\W\\d]\\w*  |  "quoted"  |  'quoted'

The parser knows nothing about arrays: it returns an immutable, hashable `Expression` (so parses are cached
by the string) whose items carry their character span. Every syntax error is a ``ValueError`` that echoes
the expression with a caret under the offending span (see `expression_error`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..axis import Axis

__all__: list[str] = []

Span = tuple[int, int]


@dataclass(frozen=True)
class Name:
    """An identifier (or quoted name)."""

    name: str
    span: Span


@dataclass(frozen=True)
class Dots:
    """An ``...``."""

    span: Span


@dataclass(frozen=True)
class Group:
    """A parenthesised group ``(name: a b)``; ``name`` is None for an anonymous ``(a b)``."""

    name: str | None
    items: tuple[Name, ...]
    span: Span


Item = Name | Dots | Group


@dataclass(frozen=True)
class Side:
    """One side of an expression: comma-separated terms, or a single braced (unordered) term."""

    terms: tuple[tuple[Item, ...], ...]
    unordered: bool
    span: Span

    @property
    def items(self) -> tuple[Item, ...]:
        """All items of all terms (commas treated as separators)."""
        return tuple(it for term in self.terms for it in term)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: ``rhs`` is None when there is no ``->``."""

    text: str
    lhs: Side
    rhs: Side | None


def expression_error(fn: str, text: str, msg: str, span: Span | None = None) -> ValueError:
    """A ``ValueError`` for ``fn`` that echoes ``text`` with a caret under ``span``.

    Examples:
        >>> from haliax.ops._parse import expression_error
        >>> print(expression_error("rearrange", "a b -> c", "Unknown identifier c", (7, 8)))
        rearrange: Unknown identifier c
          a b -> c
                 ^
    """
    out = f"{fn}: {msg}\n  {text}"
    if span is not None:
        start, end = span
        start = max(0, min(start, len(text)))
        end = max(start + 1, min(end, len(text)))
        out += "\n  " + " " * start + "^" * (end - start)
    return ValueError(out)


# --------------------------------------------------------------------------------------------------
# tokens

_IDENT = re.compile(r"[^\W\d]\w*")
_PUNCT = {"(", ")", "{", "}", ":", ","}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "name", "dots", "arrow", "end" or the punctuation character itself
    value: str
    span: Span


def _tokenize(text: str, fn: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _PUNCT:
            toks.append(_Tok(c, c, (i, i + 1)))
            i += 1
        elif text.startswith("->", i):
            toks.append(_Tok("arrow", "->", (i, i + 2)))
            i += 2
        elif text.startswith("...", i):
            toks.append(_Tok("dots", "...", (i, i + 3)))
            i += 3
        elif c in "\"'":
            j = text.find(c, i + 1)
            if j < 0:
                raise expression_error(fn, text, "Unterminated quoted name", (i, n))
            if j == i + 1:
                raise expression_error(fn, text, "Empty quoted name", (i, j + 1))
            toks.append(_Tok("name", text[i + 1 : j], (i, j + 1)))
            i = j + 1
        else:
            m = _IDENT.match(text, i)
            if m is None:
                if c.isdigit():
                    j = i
                    while j < n and text[j].isalnum():
                        j += 1
                    raise expression_error(fn, text, "Identifiers cannot start with a digit", (i, j))
                if c == ".":
                    raise expression_error(fn, text, "Expected '...' (three dots)", (i, i + 1))
                raise expression_error(fn, text, f"Unexpected character {c!r}", (i, i + 1))
            toks.append(_Tok("name", m.group(), m.span()))
            i = m.end()
    toks.append(_Tok("end", "", (n, n + 1)))
    return toks


# --------------------------------------------------------------------------------------------------
# parser


class _Parser:
    def __init__(self, text: str, fn: str):
        self.text = text
        self.fn = fn
        self.toks = _tokenize(text, fn)
        self.pos = 0

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        t = self.toks[self.pos]
        self.pos = min(self.pos + 1, len(self.toks) - 1)
        return t

    def error(self, msg: str, span: Span) -> ValueError:
        return expression_error(self.fn, self.text, msg, span)

    def unexpected(self, tok: _Tok, expected: str) -> ValueError:
        what = "end of expression" if tok.kind == "end" else repr(tok.value)
        return self.error(f"Unexpected {what}, expected {expected}", tok.span)

    def expression(self) -> Expression:
        lhs = self.side(is_lhs=True)
        rhs = None
        tok = self.peek()
        if tok.kind == "arrow":
            self.take()
            rhs = self.side(is_lhs=False)
            tok = self.peek()
            if tok.kind == "arrow":
                raise self.error("Only one '->' is allowed", tok.span)
        if tok.kind != "end":
            raise self.unexpected(tok, "'->' or the end of the expression")
        return Expression(self.text, lhs, rhs)

    def side(self, is_lhs: bool) -> Side:
        start = self.peek().span[0]
        if self.peek().kind == "{":
            open_tok = self.take()
            if not is_lhs:
                raise self.error("The rhs cannot be unordered ('{...}' is only allowed on the lhs)", open_tok.span)
            items = self.items(stop="}", in_braces=True)
            close = self.take()
            if close.kind != "}":
                raise self.error("Unmatched '{'", open_tok.span)
            return Side((items,), True, (start, close.span[1]))
        terms = [self.items(stop=None, in_braces=False)]
        while self.peek().kind == ",":
            self.take()
            terms.append(self.items(stop=None, in_braces=False))
        end = self.toks[self.pos - 1].span[1] if self.pos > 0 else start
        return Side(tuple(terms), False, (start, max(start, end)))

    def items(self, stop: str | None, in_braces: bool) -> tuple[Item, ...]:
        out: list[Item] = []
        while True:
            tok = self.peek()
            if tok.kind == "name":
                self.take()
                out.append(Name(tok.value, tok.span))
            elif tok.kind == "dots":
                self.take()
                out.append(Dots(tok.span))
            elif tok.kind == "(":
                out.append(self.group())
            elif tok.kind == "," and in_braces:
                self.take()
            elif tok.kind == stop or tok.kind in ("arrow", "end", ","):
                if stop is not None and tok.kind != stop:
                    raise self.unexpected(tok, f"{stop!r}")
                return tuple(out)
            elif tok.kind == "{":
                raise self.error("'{' is only allowed at the start of the lhs", tok.span)
            else:
                raise self.unexpected(tok, "an identifier, '...', '(' or '->'")

    def group(self) -> Group:
        open_tok = self.take()
        name: str | None = None
        if self.peek().kind == "name" and self.peek(1).kind == ":":
            name = self.take().value
            self.take()
        members: list[Name] = []
        while True:
            tok = self.take()
            if tok.kind == "name":
                members.append(Name(tok.value, tok.span))
            elif tok.kind == ",":
                continue
            elif tok.kind == ")":
                return Group(name, tuple(members), (open_tok.span[0], tok.span[1]))
            elif tok.kind == "dots":
                raise self.error("'...' is not allowed inside a group", tok.span)
            elif tok.kind == "(":
                raise self.error("Groups cannot be nested", tok.span)
            elif tok.kind == ":":
                raise self.error("':' must follow the group's name, as in (name: a b)", tok.span)
            elif tok.kind == "end":
                raise self.error("Unmatched '('", open_tok.span)
            else:
                raise self.unexpected(tok, "an identifier or ')'")


@functools.lru_cache(maxsize=2048)
def parse_expression(text: str, fn: str = "rearrange") -> Expression:
    """Parse ``text`` (cached). Syntax errors are ``ValueError``s naming ``fn``.

    Examples:
        >>> from haliax.ops._parse import parse_expression
        >>> e = parse_expression("b (h d) -> b h d")
        >>> [type(i).__name__ for i in e.lhs.items]
        ['Name', 'Group']
    """
    if not isinstance(text, str):
        raise TypeError(f"{fn}: expected the expression to be a str, got {type(text).__name__}")
    return _Parser(text, fn).expression()


def first_duplicate(items: tuple[Item, ...] | list[Item]) -> Name | None:
    """The first `Name` (including group members) whose name already appeared, if any."""
    seen: set[str] = set()
    for it in items:
        names = it.items if isinstance(it, Group) else (it,) if isinstance(it, Name) else ()
        for nm in names:
            if nm.name in seen:
                return nm
            seen.add(nm.name)
    return None


def normalize_bindings(fn: str, bindings: dict[str, object]) -> tuple[tuple[str, str | None, int | None], ...]:
    """Turn ``**bindings`` into a hashable, sorted tuple of ``(identifier, axis name or None, size or None)``.

    Values may be ints (sizes), strings (names) or Axis objects (both).

    Examples:
        >>> import haliax as hax
        >>> from haliax.ops._parse import normalize_bindings
        >>> normalize_bindings("rearrange", {"h": 2, "d": hax.Axis("D", 3), "x": "X"})
        (('d', 'D', 3), ('h', None, 2), ('x', 'X', None))
    """
    out = []
    for key, value in bindings.items():
        if isinstance(value, Axis):
            out.append((key, value.name, value.size))
        elif isinstance(value, str):
            out.append((key, value, None))
        elif isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError(f"{fn}: binding {key}={value!r} must be an int size, an axis name or an Axis")
        else:
            size = int(value.__index__())  # type: ignore[attr-defined]
            if size < 0:
                raise ValueError(f"{fn}: binding {key}={size} must be a non-negative size")
            out.append((key, None, size))
    return tuple(sorted(out))
