"""The planner behind `haliax.rearrange`: turns an axis sequence or an einops-like expression plus the input
axes into a cached `_Plan` (reshape, transpose, reshape). See `haliax.ops.shape.rearrange` for the syntax."""

from __future__ import annotations

import functools
import math
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
    """The plan for the sequence form: `rearrange_for_partial_order` of ``order`` over ``axes``, then a transpose.

    Every error names ``rearrange`` and its ``axes`` argument.
    """
    where = "rearrange: argument 'axes': "
    for sel in order:
        if sel is not Ellipsis and not isinstance(sel, (Axis, str)):
            raise TypeError(f"{where}expected axis names, Axis objects or ..., got {sel!r}")
    if not order and axes:
        raise ValueError(
            f"{where}No axes specified: name the axes of {axes_str(axes)} in their new order (... stands for the rest)"
        )
    named = tuple(s for s in order if s is not Ellipsis)
    locate_axes(axes, named, "rearrange", "axes")  # unknown names (with a suggestion) and wrong-size Axis entries
    seen: set[str] = set()
    for sel in named:
        n = sel if isinstance(sel, str) else sel.name
        if n in seen:
            raise ValueError(f"{where}Axis {n} appears more than once in the partial order {_order_str(order)}")
        seen.add(n)
    if Ellipsis not in order and len(seen) != len(axes):
        missing = axes_str([a for a in axes if a.name not in seen])
        raise ValueError(
            f"{where}Partial order must be a permutation of the axes if no ellipsis is provided: "
            f"{_order_str(order)} leaves out {missing}; name them or add ..."
        )
    new_axes = rearrange_for_partial_order(order, axes)
    idx = name_index(axes)
    return _make_plan(axes, list(axes), [idx[a.name] for a in new_axes], new_axes, False, False)


def _order_str(order: tuple[Any, ...]) -> str:
    return "(" + ", ".join("..." if s is Ellipsis else str(s) for s in order) + ")"


@dataclass
class _Entry:
    """One intermediate axis: its identifier (None for axes under an lhs ``...``) and its Axis."""

    ident: str | None
    axis: Axis


@dataclass(frozen=True)
class _Binding:
    """A keyword binding after normalisation: the name it gives (or None), its size (or None), and whether the
    user gave only a name (a str naming an existing axis also picks up that axis's size)."""

    name: str | None
    size: int | None
    from_str: bool


class _StringPlanner:
    """Builds the plan for a string rearrange (see `haliax.ops.shape.rearrange` for the rules)."""

    def __init__(self, text: str, axes: tuple[Axis, ...], bindings: tuple[tuple[str, str | None, int | None], ...]):
        self.text = text
        self.axes = axes
        self.bind: dict[str, _Binding] = {}
        idx = name_index(axes)
        for key, bname, bsize in bindings:
            if bname is not None and bsize is None:
                i = idx.get(bname)
                self.bind[key] = _Binding(bname, axes[i].size if i is not None else None, True)
            else:
                self.bind[key] = _Binding(bname, bsize, False)
        self.entries: list[_Entry] = []
        self.split = False
        self.unordered = False

    def err(self, msg: str, span: tuple[int, int] | None = None) -> ValueError:
        return expression_error("rearrange", self.text, msg, span)

    def binding_size_err(self, ident: str, ax: Axis, size: int, span: tuple[int, int]) -> ValueError:
        """A binding whose size disagrees with the array's axis (the common conflicting-sizes message)."""
        core = conflicting_sizes_error(ax.name, {"array": ax.size, "binding": size}, arg=ident)
        return self.err(str(core), span)

    def plan(self) -> _Plan:
        expr = parse_expression(self.text, "rearrange")
        if expr.rhs is None:
            raise self.err("A rearrange expression needs '->' (as in 'a b -> b a')", (0, len(self.text)))
        self.unordered = expr.lhs.unordered
        if expr.lhs.unordered:
            self.bind_unordered(expr.lhs.items)
        else:
            self.bind_ordered(expr.lhs.items, expr.lhs.span)
        idents = [e.ident for e in self.entries if e.ident is not None]
        if len(set(idents)) != len(idents):
            name = next(n for n in idents if idents.count(n) > 1)
            raise self.err(f"Identifier {name} names two different axes; use an alias for one of them", expr.lhs.span)
        return self.order_rhs(expr.rhs.items, expr.rhs.span)

    # lhs --------------------------------------------------------------------------------------

    def check_duplicate_captures(self, items: tuple[Any, ...]) -> None:
        dup = first_duplicate(items)
        if dup is not None:
            raise self.err(f"Capture {dup.name} is assigned more than once on the lhs", dup.span)

    def check_whole(self, nm: Name, ax: Axis) -> None:
        b = self.bind.get(nm.name)
        if b is None:
            return
        if b.name is not None and b.name != ax.name:
            want = str(Axis(b.name, b.size if b.size is not None else ax.size))
            raise self.err(f"Identifier {nm.name} is bound to axis {ax}, but the binding says {want}", nm.span)
        if b.size is not None and b.size != ax.size:
            raise self.binding_size_err(nm.name, ax, b.size, nm.span)

    def split_group(self, group: Group, ax: Axis) -> None:
        self.split = True
        names: list[str] = []
        sizes: list[int | None] = []
        for m in group.items:
            b = self.bind.get(m.name)
            names.append(b.name if b is not None and b.name is not None else m.name)
            sizes.append(b.size if b is not None else None)
        unknown = [i for i, s in enumerate(sizes) if s is None]
        known = math.prod(s for s in sizes if s is not None)
        if len(unknown) > 1:
            which = ", ".join(group.items[i].name for i in unknown)
            raise self.err(
                f"Sizes of {which} are ambiguous when splitting axis {ax}: at most one size per group may be "
                f"unknown; pass the others as keyword arguments (e.g. {group.items[unknown[0]].name}=2)",
                group.span,
            )
        if unknown:
            if known == 0 or ax.size % known != 0:
                raise self.err(
                    f"Axes do not divide evenly into axis {ax}: the given sizes multiply to {known}", group.span
                )
            sizes[unknown[0]] = ax.size // known
        elif known != ax.size:
            raise self.err(
                f"Axes do not divide evenly into axis {ax}: the sizes multiply to {known}, not {ax.size}", group.span
            )
        for m, n, s in zip(group.items, names, sizes, strict=True):
            self.entries.append(_Entry(m.name, Axis(n, s)))  # type: ignore[arg-type]

    def bind_ordered(self, items: tuple[Any, ...], span: tuple[int, int]) -> None:
        dots = [i for i, it in enumerate(items) if isinstance(it, Dots)]
        if len(dots) > 1:
            raise self.err("Only one ellipsis allowed on an ordered lhs", items[dots[1]].span)
        n = len(self.axes)
        k = dots[0] if dots else len(items)
        before, after = items[:k], items[k + 1 :]
        if len(before) > n:
            raise self.err(
                f"Too many axes in lhs: {len(before)} given, but the array has {n} axes {axes_str(self.axes)}",
                before[n].span,
            )
        if not dots and len(before) < n:
            raise self.err(
                "Not all axes are bound, use ... to skip missing axes: "
                f"{len(before)} given, but the array has {n} axes {axes_str(self.axes)}",
                span,
            )
        if len(before) + len(after) > n:
            # entries after the ... bind from the end: the first one that reaches an axis already bound
            j = next(j for j in range(len(after)) if n - 1 - j < len(before))
            ax = self.axes[n - 1 - j]
            raise self.err(
                f"Axis {ax} is bound more than once: {len(before)} entries before the ... and {len(after)} after "
                f"it, but the array has {n} axes {axes_str(self.axes)}",
                after[len(after) - 1 - j].span,
            )
        self.check_duplicate_captures(items)
        assigned: list[Any] = list(before) + [None] * (n - len(before) - len(after)) + list(after)
        for it, ax in zip(assigned, self.axes, strict=True):
            if it is None:
                self.entries.append(_Entry(None, ax))
            elif isinstance(it, Name):
                self.check_whole(it, ax)
                self.entries.append(_Entry(it.name, ax))
            else:  # a group: its position selects the axis; a label is accepted and ignored
                self.split_group(it, ax)

    def resolve(self, name: str, span: tuple[int, int]) -> int:
        """Position of the axis an unordered name or label selects (through its binding's name, if any)."""
        b = self.bind.get(name)
        real = b.name if b is not None and b.name is not None else name
        i = lookup_axis(self.axes, real, "rearrange", None)
        if i is None:
            core = axis_not_found_error(real, self.axes)
            raise self.err(f"Could not resolve axis {real}: {core}", span)
        return i

    def bind_unordered(self, items: tuple[Any, ...]) -> None:
        captured: dict[int, Any] = {}
        pieces = {m.name for it in items if isinstance(it, Group) for m in it.items}
        for it in items:
            if isinstance(it, Dots):
                continue
            if isinstance(it, Group) and it.name is None:
                raise self.err("Groups in an unordered lhs must be bound by name, as in (name: a b)", it.span)
            i = self.resolve(it.name, it.span)  # type: ignore[arg-type]
            ax = self.axes[i]
            b = self.bind.get(it.name)  # type: ignore[arg-type]
            # a label's binding selects by name; its size is checked only when the label is not also a piece
            if b is not None and b.size is not None and b.size != ax.size:
                if isinstance(it, Name) or it.name not in pieces:
                    raise self.binding_size_err(it.name, ax, b.size, it.span)  # type: ignore[arg-type]
            if i in captured:
                raise self.err(f"Axis {ax} is bound more than once on the lhs", it.span)
            captured[i] = it
        self.check_duplicate_captures(items)
        for i, ax in enumerate(self.axes):
            it = captured.get(i)
            if it is None:
                self.entries.append(_Entry(ax.name, ax))
            elif isinstance(it, Name):
                self.entries.append(_Entry(it.name, ax))
            else:
                self.split_group(it, ax)

    # rhs --------------------------------------------------------------------------------------

    def lookup(self, nm: Name, ident: dict[str, int], used: set[int]) -> int:
        k = ident.get(nm.name)
        if k is None:
            bound = [e.ident for e in self.entries if e.ident is not None]
            msg = f"Axis {nm.name} is not bound on the lhs; bound identifiers: ({', '.join(bound)})"
            hint = closest_name(nm.name, bound)
            raise self.err(msg + (f". Did you mean {hint!r}?" if hint else ""), nm.span)
        if k in used:
            raise self.err(f"Axis {self.entries[k].axis} is used more than once on the rhs", nm.span)
        used.add(k)
        return k

    def merged_axis(self, group: Group, size: int, ident: dict[str, int]) -> Axis:
        """The axis an rhs ``(N: ...)`` merges into: named after N's lhs axis, N's binding, or N itself."""
        label: str = group.name  # type: ignore[assignment]
        k = ident.get(label)
        if k is not None:  # an lhs identifier: its binding described that axis, so only its name carries over
            return Axis(self.entries[k].axis.name, size)
        b = self.bind.get(label)
        if b is None:
            return Axis(label, size)
        if b.size is not None and not b.from_str and b.size != size:
            raise self.err(
                f"The binding {label}={Axis(b.name, b.size) if b.name is not None else b.size} gives the merged "
                f"axis size {b.size}, but its parts multiply to {size}",
                group.span,
            )
        return Axis(b.name if b.name is not None else label, size)

    def order_rhs(self, items: tuple[Any, ...], span: tuple[int, int]) -> _Plan:
        ident = {e.ident: k for k, e in enumerate(self.entries) if e.ident is not None}
        used: set[int] = set()
        elements: list[tuple[Axis | None, list[int]]] = []  # (merged axis or None, entry indices)
        merge = False
        for it in items:
            if isinstance(it, Dots):
                continue
            if isinstance(it, Name):
                elements.append((None, [self.lookup(it, ident, used)]))
            else:
                if it.name is None:
                    raise self.err("All rhs axes must have a name. Use (name: bindings)", it.span)
                ks = [self.lookup(m, ident, used) for m in it.items]
                merge = True
                size = math.prod(self.entries[k].axis.size for k in ks)
                elements.append((self.merged_axis(it, size, ident), ks))
        has_dots = any(isinstance(it, Dots) for it in items)
        if not has_dots:
            unused = [self.entries[k] for k in range(len(self.entries)) if k not in used]
            if unused:
                names = ", ".join(e.ident or str(e.axis) for e in unused)
                raise self.err(f"Not all intermediate axes are used: {names}. Add them to the rhs or use ...", span)
        else:
            elements = self.place_with_dots(items, elements, used)
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
