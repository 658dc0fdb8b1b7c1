"""The API reference covers the whole public surface: every name in the ``__all__`` of every public module is
reachable from a ``:::`` target of ``docs/api.md`` or ``docs/nn.md``.

Public modules are found by walking the package: every module whose dotted path has no ``_``-prefixed part
and that defines ``__all__``. A name counts as documented when

* its module is itself a ``:::`` target whose member filters keep the name, or
* the object it names is rendered by some target: an explicit target resolving to that very object, or a
  module target that lists it among its kept members (a re-export documented at its home module counts), or
* it names a public module, whose own names are checked here in turn.

A slow test also builds the site and looks every name up in its object inventory (``objects.inv``), which
catches names a target reaches but mkdocstrings would not render (no docstring, generated at import time).

Member filters follow mkdocstrings' rules: the last matching regex decides (``!`` excludes), a name no regex
matches is kept unless every regex is an inclusion, the special filter ``public`` keeps the ``__all__`` names,
and with no ``filters`` option private (``_x``) names are dropped.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import types
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import haliax

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ("api.md", "nn.md")
TARGET = re.compile(r"^:::\s*(\S+)\s*$")
DEFAULT_FILTERS = ["!^_[^_]"]


@dataclass
class Target:
    path: str
    page: str
    filters: list[str] | None = None
    members: list[str] | None = None
    obj: Any = field(default=None, repr=False)


def _public_modules() -> list[types.ModuleType]:
    names = ["haliax"] + sorted(
        m.name
        for m in pkgutil.walk_packages(haliax.__path__, prefix="haliax.")
        if not any(part.startswith("_") for part in m.name.split(".")[1:])
    )
    mods = [importlib.import_module(n) for n in names]
    return [m for m in mods if isinstance(getattr(m, "__all__", None), (list, tuple))]


def _parse_list(text: str) -> list[str]:
    """A YAML flow list of strings, such as ``["!^_", "^wrap_"]`` (the only form the pages use)."""
    text = text.strip()
    assert text.startswith("[") and text.endswith("]"), f"expected a [..] list, got {text!r}"
    return re.findall(r"""["']([^"']*)["']""", text)


def _targets() -> list[Target]:
    out: list[Target] = []
    for page in PAGES:
        lines = (DOCS / page).read_text().splitlines()
        for i, line in enumerate(lines):
            m = TARGET.match(line)
            if not m:
                continue
            t = Target(m.group(1), page)
            # the indented YAML block under the target
            for opt in lines[i + 1 :]:
                if not opt.startswith("    "):
                    break
                key, _, value = opt.strip().partition(":")
                if key == "filters":
                    t.filters = ["public"] if value.strip() == "public" else _parse_list(value)
                elif key == "members":
                    t.members = _parse_list(value)
            t.obj = _resolve(t.path)
            out.append(t)
    return out


def _resolve(path: str) -> Any:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _kept(name: str, module: types.ModuleType, filters: list[str] | None) -> bool:
    filters = DEFAULT_FILTERS if filters is None else filters
    if filters == ["public"]:
        return name in getattr(module, "__all__", ())
    keep = None
    kinds = set()
    for f in filters:
        exclude = f.startswith("!")
        kinds.add(exclude)
        if re.search(f[1:] if exclude else f, name):
            keep = not exclude
    if keep is None:
        return kinds != {False}
    return keep


def _module_members(t: Target) -> list[str]:
    mod = t.obj
    names = list(getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")])
    if t.members is not None:
        names = [n for n in names if n in t.members]
    return [n for n in names if _kept(n, mod, t.filters)]


def _documented_ids(targets: list[Target]) -> set[int]:
    ids: set[int] = set()
    for t in targets:
        ids.add(id(t.obj))
        if isinstance(t.obj, types.ModuleType):
            ids.update(id(getattr(t.obj, n)) for n in _module_members(t) if hasattr(t.obj, n))
    return ids


def _undocumented() -> tuple[int, dict[str, list[str]]]:
    targets = _targets()
    ids = _documented_ids(targets)
    module_targets = {t.path: t for t in targets if isinstance(t.obj, types.ModuleType)}
    public = _public_modules()
    walked = {m.__name__ for m in public}
    checked = 0
    missing: dict[str, list[str]] = {}
    for mod in public:
        own = module_targets.get(mod.__name__)
        for name in mod.__all__:
            checked += 1
            obj = getattr(mod, name)
            if own is not None and name in _module_members(own):
                continue
            if id(obj) in ids:
                continue
            if isinstance(obj, types.ModuleType) and (obj.__name__ in walked or obj.__name__ in module_targets):
                continue
            missing.setdefault(mod.__name__, []).append(name)
    return checked, missing


def test_targets_resolve():
    targets = _targets()
    assert len(targets) > 50
    assert {t.page for t in targets} == set(PAGES)


def test_walk_sees_the_public_modules():
    names = {m.__name__ for m in _public_modules()}
    for expected in (
        "haliax",
        "haliax.nn",
        "haliax.ops",
        "haliax.random",
        "haliax.axis",
        "haliax.partitioning",
        "haliax.state_dict",
        "haliax.quantization",
        "haliax.tree_util",
        "haliax.haxtyping",
        "haliax.debug",
        "haliax.fft",
        "haliax.poly",
        "haliax.ref",
        "haliax.specialized_fns",
    ):
        assert expected in names, expected


def test_every_public_name_is_in_the_api_reference():
    checked, missing = _undocumented()
    assert checked > 800, checked
    detail = "\n".join(f"  {mod}: {', '.join(names)}" for mod, names in sorted(missing.items()))
    assert not missing, f"public names with no ::: target in docs/api.md or docs/nn.md:\n{detail}"


def test_filters_follow_mkdocstrings_rules():
    mod = importlib.import_module("haliax.ops.elementwise")
    assert _kept("wrap_elemwise_unary", mod, ["!^[a-z]+$", "^wrap_"])
    assert not _kept("sin", mod, ["!^[a-z]+$", "^wrap_"])
    assert not _kept("_private", mod, None)
    assert _kept("sin", mod, None)
    assert not _kept("other", mod, ["^wrap_"])  # inclusions only: a non-matching name is dropped
    assert _kept("sin", mod, ["public"]) and not _kept("jnp", mod, ["public"])


def _inventory(site: Path) -> set[str]:
    raw = (site / "objects.inv").read_bytes()
    body = zlib.decompress(raw.split(b"\n", 4)[4]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if line}


@pytest.mark.slow
def test_every_public_name_is_rendered(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        mkdocs = shutil.which("mkdocs")
    if mkdocs is None:
        pytest.skip("mkdocs is not installed")
    site = tmp_path / "site"
    proc = subprocess.run(
        [str(mkdocs), "build", "--site-dir", str(site)],
        cwd=DOCS.parent,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    inventory = _inventory(site)
    public = _public_modules()
    walked = {m.__name__ for m in public}
    missing: list[str] = []
    for mod in public:
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType) and obj.__name__ in walked:
                continue
            paths = {f"{mod.__name__}.{name}"}
            if hasattr(obj, "__qualname__") and isinstance(getattr(obj, "__module__", None), str):
                paths.add(f"{obj.__module__}.{obj.__qualname__}")
            if not paths & inventory:
                missing.append(f"{mod.__name__}.{name}")
    assert not missing, f"{len(missing)} public names not rendered in the API reference: {missing}"
