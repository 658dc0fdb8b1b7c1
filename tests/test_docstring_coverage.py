"""Every public function and class has a docstring with a runnable ``>>>`` example (issue #10).

Public = every function or class named in the ``__all__`` of ``haliax`` and of each submodule whose path has
no ``_``-prefixed part. The examples themselves are run by tests/test_doctests.py.
"""

import importlib
import inspect
import pkgutil

import haliax

MODULES = ["haliax"] + sorted(
    m.name
    for m in pkgutil.walk_packages(haliax.__path__, prefix="haliax.")
    if not any(part.startswith("_") for part in m.name.split(".")[1:])
)


def _public_objects() -> dict[str, object]:
    """Qualified name -> object, for each public function/class (counted once, however often re-exported)."""
    seen: set[int] = set()
    out: dict[str, object] = {}
    for mod_name in MODULES:
        mod = importlib.import_module(mod_name)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name, None)
            if obj is None or not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            # aliases of objects defined elsewhere (e.g. `NamedOrNumeric = typing.Any`) cannot carry our docstring
            if not getattr(obj, "__module__", "").startswith("haliax"):
                continue
            seen.add(id(obj))
            out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return out


def test_public_api_is_found():
    objs = _public_objects()
    # a sanity floor: the walk must see the core, ops and nn APIs, or the check below would pass vacuously
    assert len(objs) > 300, len(objs)
    for q in (
        "haliax.core.NamedArray",
        "haliax.ops.elementwise.add",
        "haliax.nn.linear.Linear",
        "haliax.util.NotSpecified",
    ):
        assert q in objs, q


def test_every_public_function_and_class_has_an_example():
    docs = {q: inspect.getdoc(obj) or "" for q, obj in _public_objects().items()}
    missing = sorted(q for q, d in docs.items() if not d)
    no_example = sorted(q for q, d in docs.items() if d and ">>>" not in d)
    assert not missing and not no_example, (
        f"{len(missing)} public functions/classes have no docstring: {missing}\n"
        f"{len(no_example)} have a docstring without a `>>>` example: {no_example}"
    )
