"""The house picture: imports point down (cli > web > services > storage/content/edges > base), one module per edge."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "appliance"
# web and hub are siblings (neither imports the other), as are services and webcore.
LAYER = {"cli": 8, "__main__": 9, "hub": 7, "web": 6, "services": 5, "webcore": 5, "protocol": 4,
         "storage": 3, "content": 3, "edges": 3, "paths": 2, "files": 0, "config": 1, "errors": 0, "__init__": 0}
EDGES = {"libzim.reader": "content/zimfile.py", "libzim.search": "content/zimfile.py",
         "libzim.suggestion": "content/zimfile.py", "libzim.writer": "content/zimwriter.py",
         "uvicorn": "cli/common.py", "argon2": "services/people/auth.py", "ctypes": ("edges/memory.py", "edges/minisign.py"),
         "subprocess": "edges/commands.py",
         "zeroconf": "edges/mdns.py", "ifaddr": "edges/mdns.py",
         "gpiozero": "edges/panel_gpio.py", "cryptography": "edges/minisign.py",
         "urllib.request": "edges/health_probe.py", "urllib.error": "edges/health_probe.py",
         "http.client": ("edges/health_probe.py", "edges/uplink.py"), "psycopg": "hub/postgres.py",
         "PIL": "edges/images.py"}


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        yield rel, ast.parse(path.read_text(), filename=str(path))


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def test_imports_point_down_the_layers():
    wrong = []
    for rel, tree in _modules():
        own = rel.parts[0].removesuffix(".py")
        for module in _imports(tree):
            if not module.startswith("appliance."):
                continue
            target = _part(module)
            if target == own:
                continue
            if LAYER[target] >= LAYER[own]:
                wrong.append(f"{rel} imports {module}")
    assert wrong == []


def test_imports_each_edge_in_exactly_one_module():
    wrong = []
    for rel, tree in _modules():
        for module in _imports(tree):
            for edge, home in EDGES.items():
                homes = (home,) if isinstance(home, str) else home  # the stdlib's HTTP client: probe and uplink
                if (module == edge or module.startswith(edge + ".")) and str(rel) not in homes:
                    wrong.append(f"{rel} imports {module} (only {' or '.join(homes)} may)")
    assert wrong == []


def test_imports_no_cycles_between_modules():
    graph: dict[str, set[str]] = {}
    for rel, tree in _modules():
        name = "appliance." + ".".join(rel.with_suffix("").parts)
        graph[name] = {m for m in _imports(tree) if m.startswith("appliance.")}
    seen, stack = set(), []

    def visit(node: str) -> None:
        if node in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(node):] + [node]))
        if node in seen:
            return
        stack.append(node)
        for target in graph.get(node, ()):
            visit(target)
        stack.pop()
        seen.add(node)

    for node in graph:
        visit(node)
