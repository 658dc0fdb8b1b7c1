"""``einsum`` over named axes, in three modes chosen by the syntax (ordered, unordered, output-only).

The equation is parsed once (cached by the string, see `haliax.ops._parse`) and the resulting plan (a
positional einsum subscript plus the output axes) is cached by the equation, the input axes and the aliases.
The contraction is dispatched exactly as `haliax.dot` does it (`haliax.ops.linalg.contraction_fn`): a cached, jitted
`jax.numpy.einsum` with a pluggable ``_dot_general``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import jax

from ..axis import (
    Axis,
    axes_str,
    closest_name,
    conflicting_sizes_error,
    lookup_axis,
    rearrange_for_partial_order,
)
from ..core import NamedArray
from ..dot_general import DefaultDotGeneralOp
from ..partitioning import auto_sharded, explicit_auto_axes, explicit_out_sharding
from ..util import check_dtype
from ._parse import (
    Dots,
    Expression,
    Group,
    Name,
    expression_error,
    first_duplicate,
    normalize_bindings,
    parse_expression,
)
from .linalg import contraction_fn, contraction_plan, run_contraction

__all__ = ["einsum"]


@dataclass(frozen=True)
class _Plan:
    spec: str | None  # positional einsum subscripts; None when the result is the (single) input unchanged
    out_axes: tuple[Axis, ...]


class _Planner:
    def __init__(self, text: str, axes_list: tuple[tuple[Axis, ...], ...], aliases: tuple[Any, ...]):
        self.text = text
        self.axes_list = axes_list
        self.alias = {k: (n, s) for k, n, s in aliases}
        self.used: set[str] = set()
        union: dict[str, Axis] = {}
        origin: dict[str, int] = {}  # the array each axis of the union comes from
        for k, axes in enumerate(axes_list):
            for ax in axes:
                prev = union.setdefault(ax.name, ax)
                first = origin.setdefault(ax.name, k)
                if prev.size != ax.size:
                    sizes = {f"arrays[{first}]": prev.size, f"arrays[{k}]": ax.size}
                    raise conflicting_sizes_error(ax.name, sizes, "einsum")
        self.union = union
        self.union_axes = tuple(union.values())
        self.origin = origin

    def err(self, msg: str, span: tuple[int, int] | None = None) -> ValueError:
        return expression_error("einsum", self.text, msg, span)

    def size_err(self, alias: str, ax: Axis, size: int, k: int, span: tuple[int, int]) -> ValueError:
        """An alias (a keyword argument) whose size disagrees with axis ``ax`` of ``arrays[k]``: the common
        conflicting-sizes message, with the equation echoed."""
        core = conflicting_sizes_error(ax.name, {f"arrays[{k}]": ax.size, "alias": size})
        return self.err(f"argument {alias!r}: Size mismatch: {core}", span)

    def plan(self) -> _Plan:
        expr = parse_expression(self.text, "einsum")
        for side in (expr.lhs, expr.rhs):
            for it in side.items if side is not None else ():
                if isinstance(it, Group):
                    raise self.err(
                        "Parenthesised groups are not supported in einsum; use rearrange to split or merge axes",
                        it.span,
                    )
        rhs_items = expr.rhs.items if expr.rhs is not None else ()
        dup = first_duplicate(rhs_items)
        if dup is not None:
            raise self.err(f"{dup.name} appears multiple times on the rhs", dup.span)
        if expr.lhs.unordered:
            out = self.unordered(expr)
        elif expr.rhs is not None and expr.lhs.terms == ((),):
            out = self.output_only(expr)
        else:
            out = self.ordered(expr)
        unused = [k for k in self.alias if k not in self.used]  # keyword order
        if unused:
            # the message must end with the list (users anchor a regex on it), so the echo comes first
            raise ValueError(
                f"einsum: error while parsing:\n  {self.text}\n"
                f"Axis alias {unused[0]} not used in the einsum. Unused aliases from kwargs: {', '.join(unused)}"
            )
        return self.finish(out, expr)

    # modes ------------------------------------------------------------------------------------

    def resolve(self, nm: Name) -> str:
        """The real axis name an identifier stands for (through an alias), checked against the inputs."""
        real, size = nm.name, None
        if nm.name in self.alias:
            self.used.add(nm.name)
            bname, size = self.alias[nm.name]
            real = bname or real
        i = lookup_axis(self.union_axes, real, "einsum", None)
        if i is None:
            via = f" (alias {nm.name}={real})" if real != nm.name else ""
            msg = (
                f"Axis {real} not present: not found in any of the input arrays{via}; "
                f"the inputs have axes {axes_str(self.union_axes)}"
            )
            hint = closest_name(real, list(self.union))
            raise self.err(msg + (f". Did you mean {hint!r}?" if hint and hint != real else ""), nm.span)
        ax = self.union_axes[i]
        if size is not None and ax.size != size:
            raise self.size_err(nm.name, ax, size, self.origin[real], nm.span)
        return real

    def ordered(self, expr: Expression) -> list[str]:
        terms = expr.lhs.terms
        if len(terms) != len(self.axes_list):
            raise self.err(
                f"Number of lhs terms ({len(terms)}) does not match number of arrays ({len(self.axes_list)})",
                expr.lhs.span,
            )
        binding: dict[str, str] = {}
        dotted: list[str] = []  # axis names bound by a `...`, in order of first appearance
        for t, (term, axes) in enumerate(zip(terms, self.axes_list, strict=True)):
            dots = [i for i, it in enumerate(term) if isinstance(it, Dots)]
            if len(dots) > 1:
                raise self.err("Only one '...' is allowed per term", term[dots[1]].span)
            named = [it for it in term if isinstance(it, Name)]
            if len(named) > len(axes) or (not dots and len(named) != len(axes)):
                span = (term[0].span[0], term[-1].span[1]) if term else expr.lhs.span
                extra = " and ..." if dots else ""
                raise self.err(
                    f"Mismatched number of axes in term {t}: {len(named)} identifiers{extra} for array {t} with axes "
                    f"{axes_str(axes)}",
                    span,
                )
            k = dots[0] if dots else len(term)
            before, after = term[:k], term[k + 1 :]
            middle = axes[len(before) : len(axes) - len(after)]
            dotted.extend(a.name for a in middle if a.name not in dotted)
            for item, ax in zip(
                list(before) + list(after), axes[: len(before)] + axes[len(axes) - len(after) :], strict=True
            ):
                nm = cast(Name, item)  # the terms around the one ``...`` are names
                prev = binding.setdefault(nm.name, ax.name)
                if prev != ax.name:
                    raise self.err(f"Alias {nm.name} is assigned to more than one axis ({prev} and {ax.name})", nm.span)
                if nm.name in self.alias:
                    self.used.add(nm.name)
                    bname, bsize = self.alias[nm.name]
                    if bname is not None and bname != ax.name:
                        raise self.err(
                            f"Identifier {nm.name} is bound to axis {ax}, but its alias says otherwise", nm.span
                        )
                    if bsize is not None and bsize != ax.size:
                        raise self.size_err(nm.name, ax, bsize, t, nm.span)
        if expr.rhs is None:
            return []
        rhs = expr.rhs.items
        dots = [it for it in rhs if isinstance(it, Dots)]
        if len(dots) > 1:
            raise self.err("Only one '...' is allowed on the rhs of an ordered einsum", dots[1].span)
        out: list[Any] = []
        for it in rhs:
            if isinstance(it, Dots):
                out.append(Ellipsis)
                continue
            real = binding.get(it.name)  # type: ignore[union-attr]
            if real is None:
                hint = closest_name(it.name, list(binding))  # type: ignore[union-attr]
                msg = f"Identifier {it.name} on the rhs is not bound on the lhs; bound: ({', '.join(binding)})"  # type: ignore[union-attr]
                raise self.err(msg + (f". Did you mean {hint!r}?" if hint else ""), it.span)
            out.append(real)
        explicit = {n for n in out if n is not Ellipsis}
        expanded: list[str] = []
        for n in out:
            expanded.extend([d for d in dotted if d not in explicit] if n is Ellipsis else [n])
        return expanded

    def unordered(self, expr: Expression) -> list[str]:
        braces = [it for it in expr.lhs.items if isinstance(it, Name)]
        lhs_dots = any(isinstance(it, Dots) for it in expr.lhs.items)
        names: list[str] = []
        for nm in braces:
            real = self.resolve(nm)
            if real in names:
                raise self.err(f"Axis {real} appears multiple times in the braces", nm.span)
            names.append(real)
        if expr.rhs is None:  # contract the brace names (everything with a `...`)
            return [] if lhs_dots else [n for n in self.union if n not in names]
        rhs = expr.rhs.items
        if any(isinstance(it, Dots) for it in rhs):  # a partial order: nothing is contracted
            return self.partial_order(rhs)
        rhs_names = [self.resolve(it) for it in rhs]  # type: ignore[arg-type]
        if lhs_dots:
            return rhs_names
        for it, n in zip(rhs, rhs_names, strict=True):
            if n not in names:
                raise self.err(f"Axis {n} on the rhs must also appear in the braces (or use ... on the rhs)", it.span)
        return [n for n in self.union if n not in names and n not in rhs_names] + rhs_names

    def output_only(self, expr: Expression) -> list[str]:
        rhs = expr.rhs.items  # type: ignore[union-attr]
        if any(isinstance(it, Dots) for it in rhs):
            return self.partial_order(rhs)
        return [self.resolve(it) for it in rhs]  # type: ignore[arg-type]

    def partial_order(self, rhs: tuple[Any, ...]) -> list[str]:
        order = tuple(Ellipsis if isinstance(it, Dots) else self.resolve(it) for it in rhs)
        return [a.name for a in rearrange_for_partial_order(order, self.union_axes)]

    def finish(self, out: list[str], expr: Expression) -> _Plan:
        if len(set(out)) != len(out):
            twice = next(n for n in out if out.count(n) > 1)
            span = expr.rhs.span if expr.rhs is not None else None
            raise self.err(f"Axis {twice} appears multiple times in the output", span)
        contract = tuple((n, None) for n in self.union if n not in out)
        lhs = contraction_plan(self.axes_list, contract, fn="einsum")[0].split("->")[0]
        letters = {
            ax.name: ch
            for term, axes in zip(lhs.split(","), self.axes_list, strict=True)
            for ch, ax in zip(term, axes, strict=True)
        }
        rhs = "".join(letters[n] for n in out)
        out_axes = tuple(self.union[n] for n in out)
        if len(self.axes_list) == 1 and lhs == rhs:
            return _Plan(None, out_axes)
        return _Plan(f"{lhs}->{rhs}", out_axes)


@functools.lru_cache(maxsize=2048)
def _einsum_plan(equation: str, axes_list: tuple[tuple[Axis, ...], ...], aliases: tuple[Any, ...]) -> _Plan:
    return _Planner(equation, axes_list, aliases).plan()


def einsum(
    equation: str,
    *arrays: NamedArray,
    precision: Any = None,
    preferred_element_type: Any = None,
    _dot_general: Callable[..., Any] = jax.lax.dot_general,
    **aliases: Any,
) -> NamedArray:
    """Einstein summation over named axes. The mode is chosen by the syntax:

    1. **Ordered** (``"h w d, d c -> h w c"``): one comma-separated term per array; identifiers bind to that
       array's axes by position (one ``...`` per term binds from both ends). An identifier must bind to the
       same axis *name* everywhere; its spelling need not match the name. The rhs lists the identifiers to
       keep (the output uses the real names) and may hold one ``...`` (the axes bound by ``...`` on the lhs;
       nothing if none were). Identifiers not on the rhs are contracted; without ``->`` everything is.
    2. **Unordered** (``"{H W D} -> H W"``): brace names are real axis names (or aliases from ``**aliases``).
       If the rhs has ``...`` nothing is contracted and the rhs is only a partial order. Otherwise, with
       ``...`` in the braces the output is exactly the rhs names; without it the brace names missing from the
       rhs are contracted and everything else is kept, with the rhs names placed last in rhs order (rhs names
       must then be in the braces). Without ``->`` the brace names are contracted.
    3. **Output-only** (``"-> H W"``): keep exactly the listed axes, in order, contracting all others; ``...``
       on the rhs keeps the unmentioned axes too (placed by the partial-order rule).

    ``aliases`` map identifiers to axis names or Axis objects (size-checked); unused aliases are an error whose
    message ends with ``Unused aliases from kwargs: a, b`` (keyword order). Haliax skips the check of brace
    names when either side has ``...`` and ignores the sizes of Axis aliases in unordered mode; we raise
    ``ValueError`` for both (``Axis Q not present``, ``Size mismatch``).
    Groups ``(a b)`` are not supported (use `haliax.rearrange`). Errors are ``ValueError`` with the equation
    and a caret under the problem. ``precision``, ``preferred_element_type`` and ``_dot_general`` go to the
    underlying `jax.numpy.einsum`. The result is passed through `haliax.partitioning.auto_sharded`.

    Args:
        equation: the einsum equation, in one of the three modes above.
        *arrays: the NamedArrays to combine.
        precision: the precision of the contraction (as in `jax.numpy.einsum`).
        preferred_element_type: the accumulation and result dtype (as in `jax.numpy.einsum`).
        _dot_general: the `dot_general` implementation to use (e.g. a quantized one).
        **aliases: identifiers mapped to axis names or Axis objects.

    Examples:
        >>> import haliax as hax
        >>> H, W, D, C = hax.make_axes(H=2, W=3, D=4, C=5)
        >>> a, b = hax.ones((H, W, D)), hax.ones((D, C))
        >>> [ax.name for ax in hax.einsum("h w d, d c -> h w c", a, b).axes]
        ['H', 'W', 'C']
        >>> [ax.name for ax in hax.einsum("{D} -> C ...", a, b).axes]
        ['C', 'H', 'W', 'D']
        >>> y = hax.einsum("-> C", a, b)
        >>> y.axes, float(y.array[0])
        ((Axis(name='C', size=5),), 24.0)
    """
    if not arrays:
        raise ValueError("einsum: at least one array is required")
    for i, a in enumerate(arrays):
        if not isinstance(a, NamedArray):
            raise TypeError(f"einsum: argument {i + 1} must be a NamedArray, got {type(a).__name__}")
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a str, got {type(equation).__name__}")
    if preferred_element_type is not None:
        check_dtype(preferred_element_type, "einsum", "preferred_element_type")
    bindings: tuple[Any, ...] = ()
    if aliases:
        by_key = {b[0]: b for b in normalize_bindings("einsum", aliases)}
        bindings = tuple(by_key[k] for k in aliases)  # keyword order, for the unused-alias message
    plan = _einsum_plan(equation, tuple(a.axes for a in arrays), bindings)
    if plan.spec is None:
        out = arrays[0].array
    else:
        sharding = explicit_out_sharding(plan.out_axes, "einsum")  # None unless the mesh is explicit
        if (
            sharding is not None
            and _dot_general is not jax.lax.dot_general
            and type(_dot_general) is not DefaultDotGeneralOp
        ):
            # a custom product (a quantized op takes no out_sharding): run it on Auto axes, typed by the names
            def custom(op: Any, *xs: NamedArray) -> NamedArray:
                kw = {"precision": precision, "preferred_element_type": preferred_element_type}
                return einsum(equation, *xs, _dot_general=op, **kw, **aliases)

            return explicit_auto_axes(custom, plan.out_axes, "einsum")(_dot_general, *arrays)
        fn = contraction_fn(plan.spec, precision, preferred_element_type, _dot_general, sharding)
        out = run_contraction(fn, [a.array for a in arrays], f"einsum {plan.spec}")
    return auto_sharded(NamedArray(out, plan.out_axes))
