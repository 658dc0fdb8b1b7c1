"""Griffe extension used by the API reference (``mkdocs.yml``): names that static analysis cannot document.

* A module attribute bound at import time to a function or a class (``sum = _make_reduction(...)``,
  ``abs = _unary(...)``) is a plain assignment to static analysis, with no docstring; it gets the docstring of
  the object it holds, so the table-generated functions of ``haliax.ops`` render like hand-written ones.
* A name exported in ``__all__`` that static analysis takes for an import from outside the package (the
  ``if TYPE_CHECKING:`` spelling of the ``haliax.haxtyping`` dtype annotations, ``f32`` read as
  ``typing.Annotated``) but that holds one of our objects at run time is documented as that object: an
  attribute showing its ``repr`` and the docstring of its class.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Any

import griffe


def _runtime_module(path: str) -> ModuleType | None:
    try:
        return importlib.import_module(path)
    except Exception:
        return None


class RuntimeDocstrings(griffe.Extension):
    def on_attribute_instance(self, *, node: Any, attr: griffe.Attribute, agent: Any, **kwargs: Any) -> None:
        if attr.docstring is not None or attr.parent is None or not attr.parent.is_module:
            return
        module = _runtime_module(attr.parent.path)
        obj = getattr(module, attr.name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            return
        doc = inspect.getdoc(obj)
        if doc:
            attr.docstring = griffe.Docstring(doc, parent=attr)

    def on_module_members(self, *, node: Any, mod: griffe.Module, agent: Any, **kwargs: Any) -> None:
        package = mod.path.split(".")[0]
        module = _runtime_module(mod.path)
        exported = getattr(module, "__all__", None)
        if module is None or not exported:
            return
        for name in exported:
            member = mod.members.get(name)
            if not isinstance(member, griffe.Alias) or member.target_path.split(".")[0] == package:
                continue
            obj = getattr(module, name, None)
            if not getattr(type(obj), "__module__", "").startswith(package):
                continue
            doc = inspect.getdoc(type(obj))
            attr = griffe.Attribute(name, value=repr(obj), lineno=member.alias_lineno, endlineno=member.alias_endlineno)
            if doc:
                attr.docstring = griffe.Docstring(doc, parent=attr)
            mod.set_member(name, attr)
