"""The project's import graph: no cycles, and no upward imports.

Layers, lowest first: the library (``moderation``, but its command line), ``training``, the app
factory (``service``), the command line (``moderation.cli``). A module may import its own layer
and those below. Every import counts, at module level or inside a function, except those under
``if TYPE_CHECKING:`` (never run).
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    paths = [ROOT / "service.py", *(ROOT / "moderation").rglob("*.py"), *(ROOT / "training").rglob("*.py")]
    modules = {_module_name(p): p for p in paths}
    # Compiled modules are described by their stubs: leaves of the graph.
    for stub in (ROOT / "moderation").rglob("*.pyi"):
        modules.setdefault(_module_name(stub), stub)
    return modules


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports."""
    if path.suffix == ".pyi":
        return set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            # "from package import module" imports the module; "from module import name" the module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports(name, path, modules) for name, path in modules.items()}


def layer(name: str) -> int:
    if name == "moderation.cli":
        return 3
    if name == "service":
        return 2
    if name.split(".")[0] == "training":
        return 1
    return 0


def test_the_graph_sees_the_imports_it_must_see():
    g = graph()
    assert "moderation.detectors" in g["moderation.moderator"]
    assert "moderation.features.analysis" in g["moderation.features.vocabulary"]
    assert "moderation.accel" in g["moderation.scan"]          # "from . import accel"
    assert "training.default" in g["moderation.cli"]           # imported inside a function
    assert "moderation.rulebook" not in g["moderation.detectors.base"]   # only under TYPE_CHECKING


def test_no_module_imports_a_layer_above_its_own():
    upward = sorted((a, b) for a, targets in graph().items() for b in targets if layer(b) > layer(a))
    assert upward == [], "upward imports (the library must import neither training nor service): " + \
        ", ".join(f"{a} -> {b}" for a, b in upward)


def test_there_is_no_import_cycle():
    g = graph()
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v, counter=[0]):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"
