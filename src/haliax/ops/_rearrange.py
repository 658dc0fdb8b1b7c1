"""The planner behind `haliax.rearrange`: turns an axis sequence or an einops-like expression plus the input
axes into a cached `_Plan` (reshape, transpose, reshape). See `haliax.ops.shape.rearrange` for the syntax."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from ..axis import (
    Axis,
    axes_str,
    axis_not_found_error,
    closest_name,
    conflicting_sizes_error,
    locate_axes,
    lookup_axis,
    name_index,
    rearrange_for_partial_order,
)
from ._parse import Dots, Group, Name, expression_error, first_duplicate, parse_expression

__all__: list[str] = []


# --------------------------------------------------------------------------------------------------
# rearrange: plans


@dataclass(frozen=True)
class _Plan:
    """Reshape to ``split_shape``, transpose by ``perm``, reshape to ``out_shape`` (each None = skip)."""

    split_shape: tuple[int, ...] | None
    perm: tuple[int, ...] | None
    out_shape: tuple[int, ...] | None
    out_axes: tuple[Axis, ...]

    def apply(self, x: Any) -> Any:
        """Run the plan on a raw array: one dispatch when eager, inlined when traced."""
        return _apply_plan(x, self)

    def _run(self, x: Any) -> Any:
        if self.split_shape is not None:
            x = jnp.reshape(x, self.split_shape)
        if self.perm is not None:
            x = jnp.transpose(x, self.perm)
        if self.out_shape is not None:
            x = jnp.reshape(x, self.out_shape)
        return x


@functools.partial(jax.jit, static_argnums=1, inline=True)
def _apply_plan(x: Any, plan: _Plan) -> Any:
    return plan._run(x)


def _make_plan(
    in_axes: tuple[Axis, ...], mid: list[Axis], perm: list[int], out_axes: tuple[Axis, ...], split: bool, merge: bool
) -> _Plan:
    identity = perm == list(range(len(mid)))
    out_shape = tuple(a.size for a in out_axes)
    if identity:
        needs_reshape = (split or merge) and out_shape != tuple(a.size for a in in_axes)
        return _Plan(None, None, out_shape if needs_reshape else None, out_axes)
    split_shape = tuple(a.size for a in mid)
    if split_shape == tuple(a.size for a in in_axes):
        split_shape = None  # type: ignore[assignment]
    mid_out = tuple(mid[k].size for k in perm)
    return _Plan(split_shape or None, tuple(perm), out_shape if mid_out != out_shape else None, out_axes)


@functools.lru_cache(maxsize=2048)
def sequence_plan(order: tuple[Any, ...], axes: tuple[Axis, ...]) -> _Plan:
    dots = [o for o in order if o is Ellipsis]
    if len(dots) > 1:
        raise ValueError(f"rearrange: only one ... is allowed in an axis sequence, got {order}")
    for sel in order:
        if sel is Ellipsis:
            continue
        if not isinstance(sel, (Axis, str)):
            raise TypeError(f"rearrange: expected axis names, Axis objects or ..., got {sel!r}")
    locate_axes(axes, tuple(s for s in order if s is not Ellipsis), "rearrange", "axes")
    new_axes = rearrange_for_partial_order(order, axes)
    idx = name_index(axes)
    return _make_plan(axes, list(axes), [idx[a.name] for a in new_axes], new_axes, False, False)


@dataclass
class _Entry:
    """One intermediate axis: its identifier (None for axes under an lhs ``...``) and its Axis."""

    ident: str | None
    axis: Axis


class _StringPlanner:
    """Builds the plan for a string rearrange (see `rearrange`)."""

    def __init__(self, text: str, axes: tuple[Axis, ...], bindings: tuple[tuple[str, str | None, int | None], ...]):
        self.text = text
        self.axes = axes
        self.bind = {k: (n, s) for k, n, s in bindings}
        self.used: set[str] = set()
        self.entries: list[_Entry] = []
        self.split = False
        self.unordered = False

    def err(self, msg: str, span: tuple[int, int] | None = None) -> ValueError:
        return expression_error("rearrange", self.text, msg, span)

    def not_found(self, name: str, present: Sequence[Any], span: tuple[int, int]) -> ValueError:
        return self.err(str(axis_not_found_error(name, present, capitalize=True)), span)

    def binding_size_err(self, ident: str, ax: Axis, size: int, span: tuple[int, int]) -> ValueError:
        """A binding whose size disagrees with the array's axis (the common conflicting-sizes message)."""
        core = conflicting_sizes_error(ax.name, {"array": ax.size, "binding": size}, arg=ident)
        return self.err(str(core), span)

    def plan(self) -> _Plan:
        expr = parse_expression(self.text, "rearrange")
        if expr.rhs is None:
            raise self.err("A rearrange expression needs '->' (as in 'a b -> b a')", (0, len(self.text)))
        dup = first_duplicate(expr.lhs.items)
        if dup is not None:
            raise self.err(f"Identifier {dup.name} appears more than once on the lhs", dup.span)
        self.unordered = expr.lhs.unordered
        if expr.lhs.unordered:
            self.bind_unordered(expr.lhs.items)
        else:
            self.bind_ordered(expr.lhs.items, expr.lhs.span)
        idents = [e.ident for e in self.entries if e.ident is not None]
        if len(set(idents)) != len(idents):
            name = next(n for n in idents if idents.count(n) > 1)
            raise self.err(f"Identifier {name} names two different axes; use an alias for one of them", expr.lhs.span)
        unused = sorted(set(self.bind) - self.used)
        if unused:
            raise self.err(f"Unused bindings {unused}: they do not appear on the lhs", expr.lhs.span)
        return self.order_rhs(expr.rhs.items, expr.rhs.span)

    # lhs --------------------------------------------------------------------------------------

    def check_whole(self, nm: Name, ax: Axis) -> None:
        if nm.name in self.bind:
            self.used.add(nm.name)
            bname, bsize = self.bind[nm.name]
            if bname is not None and bname != ax.name:
                want = str(Axis(bname, bsize if bsize is not None else ax.size))
                raise self.err(f"Identifier {nm.name} is bound to axis {ax}, but the binding says {want}", nm.span)
            if bsize is not None and bsize != ax.size:
                raise self.binding_size_err(nm.name, ax, bsize, nm.span)

    def split_group(self, group: Group, ax: Axis) -> None:
        self.split = True
        names, sizes = [], []
        for m in group.items:
            bname, bsize = self.bind.get(m.name, (None, None))
            if m.name in self.bind:
                self.used.add(m.name)
            names.append(bname or m.name)
            sizes.append(bsize)
        unknown = [i for i, s in enumerate(sizes) if s is None]
        known = math.prod(s for s in sizes if s is not None)
        if len(unknown) > 1:
            which = ", ".join(group.items[i].name for i in unknown)
            raise self.err(
                f"Cannot infer the sizes of {which} when splitting axis {ax}: at most one size per group may be "
                "unknown; pass the others as keyword arguments (e.g. h=8)",
                group.span,
            )
        if unknown:
            if known == 0 or ax.size % known != 0:
                raise self.err(f"Axis {ax} cannot be split evenly: {ax.size} is not divisible by {known}", group.span)
            sizes[unknown[0]] = ax.size // known
        elif known != ax.size:
            raise self.err(f"Group sizes multiply to {known}, but axis {ax} has size {ax.size}", group.span)
        for m, n, s in zip(group.items, names, sizes, strict=True):
            self.entries.append(_Entry(m.name, Axis(n, s)))  # type: ignore[arg-type]

    def bind_ordered(self, items: tuple[Any, ...], span: tuple[int, int]) -> None:
        dots = [i for i, it in enumerate(items) if isinstance(it, Dots)]
        if len(dots) > 1:
            raise self.err("Only one '...' is allowed on an ordered lhs", items[dots[1]].span)
        named = [it for it in items if not isinstance(it, Dots)]
        n = len(self.axes)
        if len(named) > n:
            raise self.err(
                f"Too many axes in lhs: {len(named)} given, but the array has {n} axes {axes_str(self.axes)}",
                named[n].span,
            )
        if not dots and len(named) < n:
            raise self.err(
                "Not all axes are bound, use ... to skip missing axes: "
                f"{len(named)} given, but the array has {n} axes {axes_str(self.axes)}",
                span,
            )
        k = dots[0] if dots else len(items)
        before, after = items[:k], items[k + 1 :]
        assigned: list[Any] = list(before) + [None] * (n - len(before) - len(after)) + list(after)
        for it, ax in zip(assigned, self.axes, strict=True):
            if it is None:
                self.entries.append(_Entry(None, ax))
            elif isinstance(it, Name):
                self.check_whole(it, ax)
                self.entries.append(_Entry(it.name, ax))
            else:  # a group: its label (if any) is accepted and ignored in ordered mode
                self.split_group(it, ax)

    def resolve_name(self, name: str, span: tuple[int, int]) -> int:
        bname, bsize = self.bind.get(name, (None, None))
        if name in self.bind:
            self.used.add(name)
        real = bname or name
        i = lookup_axis(self.axes, real, "rearrange", None)
        if i is None:
            raise self.not_found(real, self.axes, span)
        if bsize is not None and self.axes[i].size != bsize:
            raise self.binding_size_err(name, self.axes[i], bsize, span)
        return i

    def bind_unordered(self, items: tuple[Any, ...]) -> None:
        captured: dict[int, Any] = {}
        for it in items:
            if isinstance(it, Dots):
                continue
            if isinstance(it, Group) and it.name is None:
                raise self.err("Groups in an unordered lhs must name the axis they split: (name: a b)", it.span)
            i = self.resolve_name(it.name, it.span)  # type: ignore[arg-type]
            if i in captured:
                raise self.err(f"Axis {self.axes[i]} is captured more than once on the lhs", it.span)
            captured[i] = it
        for i, ax in enumerate(self.axes):
            it = captured.get(i)
            if it is None:
                self.entries.append(_Entry(ax.name, ax))
            elif isinstance(it, Name):
                self.entries.append(_Entry(it.name, ax))
            else:
                self.split_group(it, ax)

    # rhs --------------------------------------------------------------------------------------

    def lookup(self, nm: Name, ident: dict[str, int]) -> int:
        k = ident.get(nm.name)
        if k is None:
            bound = [e.ident for e in self.entries if e.ident is not None]
            if self.unordered:
                raise self.not_found(nm.name, bound, nm.span)
            msg = f"Identifier {nm.name} is not bound on the lhs; bound identifiers: ({', '.join(bound)})"
            hint = closest_name(nm.name, bound)
            raise self.err(msg + (f". Did you mean {hint!r}?" if hint else ""), nm.span)
        return k

    def order_rhs(self, items: tuple[Any, ...], span: tuple[int, int]) -> _Plan:
        dup = first_duplicate(items)
        if dup is not None:
            raise self.err(f"Identifier {dup.name} appears more than once on the rhs", dup.span)
        ident = {e.ident: k for k, e in enumerate(self.entries) if e.ident is not None}
        elements: list[tuple[Axis | None, list[int]]] = []  # (merged axis or None, entry indices)
        merge = False
        for it in items:
            if isinstance(it, Dots):
                continue
            if isinstance(it, Name):
                elements.append((None, [self.lookup(it, ident)]))
            else:
                if it.name is None:
                    raise self.err("All rhs axes must have a name. Use (name: bindings)", it.span)
                ks = [self.lookup(m, ident) for m in it.items]
                merge = True
                elements.append((Axis(it.name, math.prod(self.entries[k].axis.size for k in ks)), ks))
        mentioned = {k for _, ks in elements for k in ks}
        has_dots = any(isinstance(it, Dots) for it in items)
        if not has_dots:
            unused = [self.entries[k] for k in range(len(self.entries)) if k not in mentioned]
            if unused:
                names = ", ".join(e.ident or str(e.axis) for e in unused)
                raise self.err(f"Not all intermediate axes are used: {names}. Add them to the rhs or use ...", span)
        else:
            elements = self.place_with_dots(items, elements, mentioned)
        perm = [k for _, ks in elements for k in ks]
        out_axes = tuple(ax if ax is not None else self.entries[ks[0]].axis for ax, ks in elements)
        names = [a.name for a in out_axes]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise self.err(f"The result would have axis {twice} more than once: {axes_str(out_axes)}", span)
        mid = [e.axis for e in self.entries]
        return _make_plan(self.axes, mid, perm, out_axes, self.split, merge)

    def place_with_dots(
        self, items: tuple[Any, ...], elements: list[tuple[Axis | None, list[int]]], mentioned: set[int]
    ) -> list[tuple[Axis | None, list[int]]]:
        """Put unmentioned intermediate axes in the ``...`` slots (the partial-order heuristic)."""
        key = {}  # pseudo name -> element
        pseudo: list[Axis] = []
        partial: list[Any] = []
        first_of = {el[1][0]: el for el in elements if el[1]}
        for k, e in enumerate(self.entries):
            if k in first_of or k not in mentioned:
                pseudo.append(Axis(f"\x00{k}", e.axis.size))
                key[f"\x00{k}"] = first_of.get(k, (None, [k]))
        it_el = iter(elements)
        for j, it in enumerate(items):
            if isinstance(it, Dots):
                partial.append(Ellipsis)
                continue
            el = next(it_el)
            if el[1]:
                partial.append(f"\x00{el[1][0]}")
            else:  # an empty rhs group (a new size-1 axis): placed as if it came last
                name = f"\x00new{j}"
                pseudo.append(Axis(name, 1))
                key[name] = el
                partial.append(name)
        ordered = rearrange_for_partial_order(tuple(partial), tuple(pseudo))
        return [key[a.name] for a in ordered]


@functools.lru_cache(maxsize=2048)
def string_plan(text: str, axes: tuple[Axis, ...], bindings: tuple[tuple[str, str | None, int | None], ...]) -> _Plan:
    return _StringPlanner(text, axes, bindings).plan()
