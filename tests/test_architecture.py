"""The layers of docs/architecture.md, checked on every import of the package.

Layers: every ``import`` and ``from ... import`` of ``xcrash/`` counts, those inside
functions and under ``TYPE_CHECKING`` too: a module imports its own layer or the layers
below it.  Cycles: no module imports (at run time: at module level or inside a function)
a module that imports it back.  Imports under ``if TYPE_CHECKING:`` are left out of the
cycle check only: they run in the type checker, never in the program, and they let a
helper name the target class it takes (``LinuxTarget``) while that class calls helpers.
"""
from __future__ import annotations

import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1] / "xcrash"

#: the layers, lowest first (docs/architecture.md); a module's layer is its first
#: dotted prefix found here
LAYERS: list[tuple[str, ...]] = [
    ("arch", "errors", "trace", "progress", "highlight", "cache", "parallel"),
    ("dump",),
    ("memory",),
    ("symbols",),
    ("objects", "caveats", "results"),
    ("targets",),
    ("session",),
    ("expr", "disasm"),
    ("layouts",),
    ("commands",),
    ("render",),
    ("engine",),
    ("api",),
    ("report",),
    ("triage",),
    ("shell",),
    ("cli", "crashopts", "course", "__main__", "__init__"),
]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    head = module.split(".")[0]
    for rank, names in enumerate(LAYERS):
        if head in names:
            return rank
    raise AssertionError(f"xcrash.{module} is in no layer of docs/architecture.md")


def imports_of(path: Path, *, typing: bool = True) -> set[str]:
    """The xcrash modules a file imports (relative to the package), anywhere in it;
    without ``typing``, not those under ``if TYPE_CHECKING:``."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    if not typing:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name[len("xcrash."):] for a in node.names
                         if a.name.startswith("xcrash."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                prefix = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("xcrash"):
                prefix = node.module[len("xcrash."):] if node.module != "xcrash" else ""
            else:
                continue
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}" if prefix else alias.name
                found.add(candidate if _exists(candidate) else prefix)
    found.discard("")
    return {m for m in found if _exists(m)}


def _exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph(*, typing: bool = True) -> dict[str, set[str]]:
    return {module_name(p): imports_of(p, typing=typing) for p in ROOT.rglob("*.py")}


def test_every_import_goes_to_the_same_layer_or_below() -> None:
    upward = [f"xcrash.{mod} imports xcrash.{dep}"
              for mod, deps in sorted(graph().items()) for dep in sorted(deps)
              if layer_of(dep) > layer_of(mod)]
    assert not upward, "\n".join(upward)


def test_no_import_cycles() -> None:
    edges = graph(typing=False)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}     # 1 on the path, 2 done
    path: list[str] = []

    def visit(mod: str) -> None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(edges.get(mod, ())):
            if dep == mod or dep not in edges:
                continue
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[mod] = 2

    for mod in sorted(edges):
        if mod not in state:
            visit(mod)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)
