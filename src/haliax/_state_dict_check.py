"""Strict loading for `haliax.state_dict`: compare a state dict with a template's keys, shapes and dtypes.

Strict loading works for every module without changes to the modules themselves: the *outermost*
``from_state_dict`` call (the function, or any module's method) compares the state dict with
``to_state_dict(template)`` (traced with `jax.eval_shape`, so nothing is computed), raises one
`StateDictMismatchError` listing every problem, or (``strict=False``) patches the dict so the ordinary, lenient
walk can load what matches and returns a `LoadReport`. The nested calls that module implementations make for
their children run the plain walk.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._state_dict_walk import NONE_FIELD, is_array_like, marking_none_fields, to_state_dict
from .core import NamedArray
from .state_dict_errors import KeyMismatch, LoadReport, StateDictMismatchError

__all__ = ["compare_state_dicts", "check_state_dict_arg", "checked_load", "loader_name", "strict_method"]

_LOADING: contextvars.ContextVar[bool] = contextvars.ContextVar("haliax_state_dict_loading", default=False)


def _dtype_name(x: Any) -> str | None:
    """The dtype ``x`` gets on device (JAX canonicalises, e.g. float64 → float32 without x64), or None."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return None
    try:
        return str(jax.dtypes.canonicalize_dtype(np.dtype(dtype)))
    except TypeError:  # e.g. a torch dtype: not comparable, skip the check
        return None


def _under(key: str, prefix: str | None) -> bool:
    return prefix is None or key == prefix or key.startswith(prefix + ".")


def compare_state_dicts(expected: Mapping[str, Any], given: Mapping[str, Any], prefix: str | None) -> LoadReport:
    """Compare the template's expected entries (arrays or ShapeDtypeStructs; non-array entries are optional;
    `NONE_FIELD` entries name None fields) with a state dict. Only keys under ``prefix`` can be unexpected."""
    missing, mismatched, shapes = [], [], {}
    none_keys = [k for k, v in expected.items() if v is NONE_FIELD]
    for k, exp in expected.items():
        if not is_array_like(exp):
            continue
        shapes[k] = (tuple(exp.shape), _dtype_name(exp))
        got = given.get(k)
        if got is None:
            missing.append(k)
            continue
        got_shape, got_dtype = tuple(np.shape(got)), _dtype_name(got)
        if got_shape != shapes[k][0] or (got_dtype is not None and shapes[k][1] not in (None, got_dtype)):
            mismatched.append(KeyMismatch(k, got_shape, got_dtype, *shapes[k]))
    unexpected, ignored = [], []
    for k in given:
        if (k in expected and expected[k] is not NONE_FIELD) or not _under(k, prefix):
            continue
        if any(k == n or k.startswith(n + ".") for n in none_keys):
            ignored.append(k)
        else:
            unexpected.append(k)
    return LoadReport(tuple(missing), tuple(unexpected), tuple(mismatched), tuple(ignored), shapes)


def _expected_entries(template: Any, prefix: str | None) -> dict[str, Any]:
    """``to_state_dict(template, prefix)`` with arrays as ShapeDtypeStructs (traced, nothing computed) and
    None fields marked."""
    with marking_none_fields():
        dynamic, static = eqx.partition(template, lambda x: eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct))
        others: dict[str, Any] = {}
        order: list[str] = []

        def arrays_of(dyn: Any) -> dict[str, Any]:
            sd = to_state_dict(eqx.combine(dyn, static), prefix)
            order.extend(sd)
            others.update({k: v for k, v in sd.items() if not eqx.is_array(v)})
            return {k: v for k, v in sd.items() if eqx.is_array(v)}

        try:
            arrays = jax.eval_shape(arrays_of, dynamic)
        except Exception:  # a module whose to_state_dict cannot be traced: compute it for real
            others.clear()
            order.clear()
            return to_state_dict(template, prefix)
        merged = {**arrays, **others}
        return {k: merged[k] for k in order}


def _patched(template: Any, state_dict: Mapping[str, Any], prefix: str | None, report: LoadReport) -> dict[str, Any]:
    """The state dict with missing and mis-shaped keys taken from the template and dtype-only mismatches cast."""
    out = dict(state_dict)
    need = set(report.missing) | {m.key for m in report.mismatched if m.shape != m.expected_shape}
    if need:
        concrete = jax.tree.map(
            lambda x: jnp.zeros(x.shape, x.dtype) if isinstance(x, jax.ShapeDtypeStruct) else x, template
        )
        values = to_state_dict(concrete, prefix)
        out.update({k: values[k] for k in need})
    for m in report.mismatched:
        if m.key not in need:
            out[m.key] = jnp.asarray(state_dict[m.key]).astype(m.expected_dtype)
    return out


def checked_load(
    template: Any,
    state_dict: Mapping[str, Any],
    prefix: str | None,
    strict: bool,
    load: Callable[..., Any],
    where: str,
) -> Any:
    """Run ``load(template, state_dict, prefix)`` (the lenient walk) with the strict-load policy around it.

    Only the outermost call checks; nested calls (modules loading their children) run ``load`` directly and
    return a plain tree whatever ``strict`` says.

    Args:
        template: the tree to load into.
        state_dict: the flat dict to load from.
        prefix: the key prefix of ``template`` in ``state_dict`` (None for none).
        strict: raise `StateDictMismatchError` on any mismatch; else return ``(tree, LoadReport)``.
        load: the lenient loader, called as ``load(template, state_dict, prefix)``.
        where: how errors name the loader, e.g. ``"from_state_dict"``.
    """
    if _LOADING.get():
        return load(template, state_dict, prefix)
    state_dict = check_state_dict_arg(template, state_dict, where, prefix)
    report = compare_state_dicts(_expected_entries(template, prefix), state_dict, prefix)
    if strict and not report.ok:
        raise StateDictMismatchError(report.describe(where, prefix), report)
    if not report.ok:
        state_dict = _patched(template, state_dict, prefix, report)
    token = _LOADING.set(True)
    try:
        out = load(template, state_dict, prefix)
    finally:
        _LOADING.reset(token)
    return out if strict else (out, report)


def check_state_dict_arg(template: Any, state_dict: Any, where: str, prefix: Any = None) -> dict[str, Any]:
    """``state_dict`` with `NamedArray` values replaced by their raw arrays, after checking that it is a mapping
    with string keys and that ``prefix`` is None or a string (``TypeError`` naming ``where`` otherwise).

    Haliax fails with an ``AttributeError`` (``'list' object has no attribute 'get'``) for a non-dict; the
    most likely mistake, the template and the state dict swapped, is pointed out.
    """
    if prefix is not None and not isinstance(prefix, str):
        raise TypeError(f"{where}: argument 'prefix' must be a str or None, got {prefix!r}")
    if not isinstance(state_dict, Mapping):
        swapped = (
            " (the arguments look swapped: the template comes first, the state dict second)"
            if isinstance(template, Mapping) and isinstance(state_dict, eqx.Module)
            else ""
        )
        raise TypeError(
            f"{where}: argument 'state_dict' must be a dict of arrays keyed by dotted names, got "
            f"{type(state_dict).__name__}{swapped}"
        )
    for k in state_dict:
        if not isinstance(k, str):
            raise TypeError(
                f"{where}: argument 'state_dict': key {k!r} is a {type(k).__name__}, but keys must be str "
                "(dotted names such as 'fc.weight')"
            )
    if any(isinstance(v, NamedArray) for v in state_dict.values()):  # as save_state_dict: store the raw array
        return {k: v.array if isinstance(v, NamedArray) else v for k, v in state_dict.items()}
    return state_dict if isinstance(state_dict, dict) else dict(state_dict)


def loader_name(mod: Any) -> str:
    """How errors name a module's loader, e.g. ``"Linear.from_state_dict"``."""
    return f"{type(mod).__name__}.from_state_dict"


def strict_method(impl: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a module's ``from_state_dict(self, state_dict, prefix)`` override with the ``strict`` policy."""

    @functools.wraps(impl)
    def from_state_dict(self: Any, state_dict: Mapping[str, Any], prefix: str | None = None, *, strict: bool = True):
        return checked_load(self, state_dict, prefix, strict, impl, loader_name(self))

    from_state_dict._haliax_strict = True  # type: ignore[attr-defined]
    return from_state_dict
