"""The import graph of src/haliax has no cycle, and modules respect the privacy rule.

Every ``import`` statement counts, at module level or inside a function (a lazy import that dodges a cycle is
still a cycle); only imports under ``if TYPE_CHECKING:`` are ignored, since they never run.
"""

import ast
import pathlib

import haliax

SRC = pathlib.Path(haliax.__file__).parent
PKG = "haliax"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    out: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[str, str]]]]:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    imported_names: dict[str, list[tuple[str, str]]] = {m: [] for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text())
        is_pkg = path.name == "__init__.py"
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
                names: list[tuple[str, str]] = []
            else:
                target = _resolve(mod, is_pkg, node)
                targets = [target] if node.module else []  # ``from . import x`` needs only x
                names = []
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in modules:  # ``from . import x`` imports the module x
                        targets.append(sub)
                    else:
                        names.append((target, a.name))
            for t in targets:
                if t.startswith(PKG) and t in modules and t != mod:
                    edges[mod].add(t)
            imported_names[mod].extend(names)
    return edges, imported_names


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state:
                found = dfs(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state:
            found = dfs(m)
            if found:
                return found
    return None


def test_no_import_cycle():
    edges, _ = _graph()
    # a submodule implicitly needs its parent package's __init__; packages that only re-export are fine, so the
    # graph ignores those implicit edges and counts the explicit import statements
    cycle = _find_cycle(edges)
    assert cycle is None, " -> ".join(cycle or [])


def test_no_module_imports_another_modules_private_name():
    _, imported = _graph()
    offenders = [
        f"{mod} imports {name} from {src}"
        for mod, pairs in imported.items()
        for src, name in pairs
        if src.startswith(PKG) and name.startswith("_") and not name.startswith("__")
    ]
    assert offenders == []


def test_private_modules_serve_one_public_module():
    """A ``_x.py`` module is imported only from inside its own package (the public module it serves) or by
    another private module of that package; never from outside it."""
    edges, _ = _graph()
    offenders = []
    for mod, targets in edges.items():
        for t in targets:
            leaf = t.rsplit(".", 1)[-1]
            if leaf.startswith("_") and not leaf.startswith("__") and not t.startswith("haliax._src"):
                if t.rsplit(".", 1)[0] != mod.rsplit(".", 1)[0] and t.rsplit(".", 1)[0] != mod:
                    offenders.append(f"{mod} -> {t}")
    assert offenders == []


def test_nothing_inside_the_package_uses_the_compatibility_aliases():
    edges, _ = _graph()
    users = [
        m for m, ts in edges.items() if not m.startswith("haliax._src") and any(t.startswith("haliax._src") for t in ts)
    ]
    assert users == []


def test_no_private_attribute_of_another_module():
    """``from . import _plan as _p`` then ``_p._helper`` is the same breach as importing ``_helper``."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    offenders = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text())
        is_pkg = path.name == "__init__.py"
        aliases: dict[str, str] = {}
        for node in _runtime_imports(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(mod, is_pkg, node)
                for a in node.names:
                    if f"{target}.{a.name}" in modules:
                        aliases[a.asname or a.name] = f"{target}.{a.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offenders.append(f"{mod}: {node.value.id}.{node.attr} ({aliases[node.value.id]})")
    assert offenders == []
