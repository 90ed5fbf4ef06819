"""The house picture: imports point down (cli > web > services > storage/content/edges > base), one module per edge.

Every import is resolved to the module it actually loads: `from appliance import web` is an import of
`appliance.web`, and `from appliance.services.sync import engine` one of `appliance.services.sync.engine`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "appliance"
# web and hub are siblings (neither imports the other), as are services and webcore.
LAYER = {
    "cli": 8,
    "__main__": 9,
    "hub": 6,
    "web": 6,
    "services": 5,
    "webcore": 5,
    "protocol": 4,
    "storage": 3,
    "content": 3,
    "edges": 3,
    "paths": 2,
    "files": 0,
    "config": 1,
    "errors": 0,
    "strict_json": 0,
    "typed_numbers": 0,
    "__init__": 0,
}

EDGES = {
    "libzim.reader": "content/zimfile.py",
    "libzim.search": "content/zimfile.py",
    "libzim.suggestion": "content/zimfile.py",
    "libzim.writer": "content/zimwriter.py",
    "uvicorn": "cli/common.py",
    "argon2": "edges/passwords.py",
    "ctypes": ("edges/commands.py", "edges/memory.py", "edges/minisign.py"),
    "subprocess": "edges/commands.py",
    "zeroconf": "edges/mdns.py",
    "ifaddr": "edges/mdns.py",
    "gpiozero": "edges/panel_gpio.py",
    "cryptography": ("edges/minisign.py", "edges/x509.py"),
    "urllib.request": "edges/health_probe.py",
    "urllib.error": "edges/health_probe.py",
    "http.client": ("edges/health_probe.py", "edges/uplink.py"),
    "psycopg": "hub/storage/postgres.py",
    "psycopg_pool": "hub/storage/postgres.py",
    "PIL": "edges/images.py",
    "pypinyin": "edges/pinyin.py",
    "segno": "edges/qr_codes.py",
    "openpyxl": "edges/spreadsheets.py",
    "smtplib": "edges/mail.py",
}


def _modules(root: Path = PACKAGE):
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        yield rel, ast.parse(path.read_text(), filename=str(path))


def _module_name(root: Path, rel: Path) -> str:
    parts = rel.with_suffix("").parts
    return ".".join((root.name, *(parts[:-1] if parts[-1] == "__init__" else parts)))


def _known(root: Path) -> set[str]:
    """Every module and package of the tree, dotted."""
    return {_module_name(root, path.relative_to(root)) for path in root.rglob("*.py")}


def _imports(tree, known: set[str], typing_too: bool = True):
    """The modules a file imports, anywhere in it (functions too); `from P import N` is `P.N` when that is a module.
    Without `typing_too`, imports under `if TYPE_CHECKING:` (never run, so never part of a cycle) are left out."""
    hidden = (
        set()
        if typing_too
        else {
            id(inner)
            for node in ast.walk(tree)
            if _is_type_checking(node)
            for stmt in node.body
            for inner in ast.walk(stmt)
        }
    )
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                yield inner if inner in known else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def layer_violations(root: Path = PACKAGE, skip: tuple[str, ...] = ()) -> list[str]:
    """Imports that point up or sideways in the layer table (parts in `skip` are not read)."""
    known, wrong = _known(root), []
    for rel, tree in _modules(root):
        own = rel.parts[0].removesuffix(".py")
        if own in skip:
            continue
        for module in _imports(tree, known):
            if not module.startswith(root.name + "."):
                continue
            target = _part(module)
            if target != own and LAYER[target] >= LAYER[own]:
                wrong.append(f"{rel} imports {module}")
    return sorted(set(wrong))


def import_cycle(root: Path = PACKAGE, skip: tuple[str, ...] = ()) -> str | None:
    """One import cycle between modules of the tree, as "a -> b -> a", or None."""
    known = _known(root)
    graph: dict[str, set[str]] = {}
    for rel, tree in _modules(root):
        if rel.parts[0].removesuffix(".py") in skip:
            continue
        graph[_module_name(root, rel)] = {
            m for m in _imports(tree, known, typing_too=False) if m.startswith(root.name + ".")
        }
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> str | None:
        if node in stack:
            return " -> ".join(stack[stack.index(node) :] + [node])
        if node in seen:
            return None
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            found = visit(target)
            if found:
                return found
        stack.pop()
        seen.add(node)
        return None

    for node in sorted(graph):
        found = visit(node)
        if found:
            return found
    return None


def _storage_tables(root: Path = PACKAGE) -> set[str]:
    """Fields of `Kit` (services/kit.py) whose type comes from the storage floor: the database and its tables."""
    tree = ast.parse((root / "services" / "kit.py").read_text())
    from_storage = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(root.name + ".storage")
        for alias in node.names
    }
    kit = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Kit")
    return {
        field.target.id
        for field in kit.body
        if isinstance(field, ast.AnnAssign)
        and isinstance(field.target, ast.Name)
        and ast.unparse(field.annotation) in from_storage
    }


def storage_reaches(root: Path = PACKAGE, tables: set[str] | None = None) -> list[str]:
    """Places under web/ that reach storage: `kit.<table>.<method>` (called or passed on) or an import of storage."""
    tables = _storage_tables(root) if tables is None else tables
    known, wrong = _known(root), []
    for rel, tree in _modules(root / "web"):
        where = f"web/{rel}"
        for module in _imports(tree, known):
            if module == f"{root.name}.storage" or module.startswith(f"{root.name}.storage."):
                wrong.append(f"{where} imports {module}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in tables
                and _is_kit(node.value.value)
            ):
                wrong.append(f"{where}:{node.lineno} uses {ast.unparse(node)}")
    return sorted(wrong)


def _is_kit(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "kit") or (isinstance(node, ast.Attribute) and node.attr == "kit")


def test_imports_point_down_the_layers():
    assert layer_violations() == []


SQL = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH)\s")  # as the hub writes it: upper case
HUB_ROUTES = ("hub/app.py", "hub/api_routes.py", "hub/dashboard_routes.py", "hub/pages.py")


def test_imports_the_hubs_sql_lives_in_its_storage():
    """Every SQL statement of the hub is in hub/storage/ (a module per table group); its routes call its services,
    never storage."""
    known, wrong = _known(PACKAGE), []
    for rel, tree in _modules():
        if rel.parts[0] != "hub":
            continue
        if rel.parts[1] == "storage":  # below the hub's services: storage, settings, protocol and base modules only
            wrong += [
                f"{rel} imports {m}"
                for m in _imports(tree, known)
                if m.startswith("appliance.hub.")
                and not m.startswith(("appliance.hub.storage", "appliance.hub.settings"))
            ]
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                wrong.append(f"{rel}:{node.lineno} holds SQL: {node.value[:40]!r}")
        if str(rel) in HUB_ROUTES:
            wrong += [f"{rel} imports {m}" for m in _imports(tree, known) if m.startswith("appliance.hub.storage")]
    assert wrong == []


def test_imports_each_edge_in_exactly_one_module():
    wrong = []
    known = _known(PACKAGE)
    for rel, tree in _modules():
        for module in _imports(tree, known):
            for edge, home in EDGES.items():
                homes = (home,) if isinstance(home, str) else home  # the stdlib's HTTP client: probe and uplink
                if (module == edge or module.startswith(edge + ".")) and str(rel) not in homes:
                    wrong.append(f"{rel} imports {module} (only {' or '.join(homes)} may)")
    assert wrong == []


def test_imports_no_cycles_between_modules():
    assert import_cycle() is None


def test_imports_routes_do_not_reach_storage():
    assert storage_reaches() == []


def test_imports_kit_opened_in_one_place():
    """Paths are built and the database opened by services/kit.py alone (the hub has its own database)."""
    wrong = []
    for rel, tree in _modules():
        if rel.parts[0] == "hub" or str(rel) == "services/kit.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("Database", "Paths", "Paths.from_settings"):
                wrong.append(f"{rel}:{node.lineno} calls {ast.unparse(node.func)}")
    assert wrong == []


def test_imports_storage_tables_are_known():
    assert {"db", "people", "lessons", "quizzes", "accounts"} <= _storage_tables()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "appliance"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_imports_guard_sees_an_upward_import_of_a_package_by_name(tmp_path):
    root = _tree(
        tmp_path, {"web/__init__.py": "", "services/__init__.py": "", "services/a.py": "from appliance import web\n"}
    )
    assert layer_violations(root) == ["services/a.py imports appliance.web"]


def test_imports_guard_keeps_names_that_are_not_modules_on_their_package(tmp_path):
    root = _tree(
        tmp_path,
        {
            "errors.py": "class E(Exception): ...\n",
            "services/__init__.py": "",
            "services/a.py": "from appliance.errors import E\nfrom appliance import errors\n",
        },
    )
    assert layer_violations(root) == []


def test_imports_guard_sees_a_cycle_through_from_package_imports(tmp_path):
    root = _tree(
        tmp_path,
        {
            "services/__init__.py": "",
            "services/a.py": "from appliance.services import b\n",
            "services/b.py": "def f():\n    from appliance.services import a\n",
        },
    )
    assert import_cycle(root) == "appliance.services.a -> appliance.services.b -> appliance.services.a"


def test_imports_guard_lets_type_checking_imports_close_no_cycle(tmp_path):
    root = _tree(
        tmp_path,
        {
            "services/__init__.py": "",
            "services/a.py": "from appliance.services import b\n",
            "services/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from appliance.services import a\n",
        },
    )
    assert import_cycle(root) is None


def test_imports_guard_sees_a_cycle_in_a_nested_package(tmp_path):
    root = _tree(
        tmp_path,
        {
            "services/__init__.py": "",
            "services/sync/__init__.py": "",
            "services/sync/engine.py": "from appliance.services.sync import plan\n",
            "services/sync/plan.py": "import appliance.services.sync.engine\n",
        },
    )
    assert import_cycle(root) is not None


def test_imports_guard_sees_routes_reaching_storage(tmp_path):
    root = _tree(
        tmp_path,
        {
            "web/__init__.py": "",
            "web/a_routes.py": "import appliance.storage.people\n"
            "def page(request):\n    kit = request.app.state.kit\n    kit.people.staff()\n"
            "    request.app.state.kit.lessons.items(1)\n    kit.library.books()\n",
        },
    )
    assert storage_reaches(root, {"people", "lessons"}) == [
        "web/a_routes.py imports appliance.storage.people",
        "web/a_routes.py:4 uses kit.people.staff",
        "web/a_routes.py:5 uses request.app.state.kit.lessons.items",
    ]


KIT_ONLY = ("libzim", "gpiozero", "zeroconf", "PIL")  # pyproject's `kit` extra
HUB_ONLY = ("psycopg", "psycopg_pool")  # pyproject's `hub` extra
# Run in a fresh interpreter: the packages of the other program's extra are made unimportable (as on a machine
# that installed only this program's extra), then the modules are imported and what got loaded is printed.
_PROBE = """
import importlib, json, sys
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed here")
sys.meta_path.insert(0, Absent())
for module in MODULES:
    importlib.import_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(modules: list[str], blocked: tuple[str, ...]) -> set[str]:
    import json
    import subprocess
    import sys

    code = f"BLOCKED = {blocked!r}\nMODULES = {modules!r}\n" + _PROBE
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_imports_the_hub_runs_without_the_kits_packages():
    """A county server installs `tpkit[hub]` only: the hub's app, its worker entry point and `tpkit hub` load none
    of libzim, gpiozero, zeroconf or Pillow, nor the kit's services and web."""
    loaded = _loaded(
        [
            "appliance.hub.app",
            "appliance.hub.asgi",
            "appliance.cli.hub",
            "appliance.hub.ingest",
            "appliance.hub.lrs_forwarding",
            "appliance.hub.retention",
        ],
        KIT_ONLY,
    )
    assert _top(loaded) & set(KIT_ONLY) == set()
    kit_floors = ("appliance.services", "appliance.storage", "appliance.content")
    assert {m for m in loaded if m.startswith(kit_floors)} == set()
    assert {m for m in loaded if m == "appliance.web" or m.startswith("appliance.web.")} == set()


def test_imports_the_kit_runs_without_the_hubs_packages():
    loaded = _loaded(["appliance.web.app", "appliance.services.kit", "appliance.services.reporting.cycle"], HUB_ONLY)
    assert _top(loaded) & set(HUB_ONLY) == set()
    assert {m for m in loaded if m.startswith("appliance.hub")} == set()


def test_imports_protocol_stands_on_base_modules_alone():
    """The wire contract loads neither program: no kit or hub package, no web framework."""
    modules = sorted(
        f"appliance.protocol.{p.stem}" for p in (PACKAGE / "protocol").glob("*.py") if p.stem != "__init__"
    )
    loaded = _loaded(modules, KIT_ONLY + HUB_ONLY)
    assert _top(loaded) & {*KIT_ONLY, *HUB_ONLY, "starlette", "jinja2", "argon2", "uvicorn"} == set()
    assert {m.split(".")[1] for m in loaded if m.startswith("appliance.") and m.count(".")} <= {
        "protocol",
        "edges",
        "config",
        "errors",
        "strict_json",
        "typed_numbers",
    }
