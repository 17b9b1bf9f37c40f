"""The layer rule, checked on the import graph of `app.py` and every module under `chalicelib/`.

Every import counts: at module level, inside functions and under `if TYPE_CHECKING:`. Each module
belongs to one layer, and a layer imports only the layers of its row:

| layer    | modules                                                   | may import of the project                |
|----------|-----------------------------------------------------------|------------------------------------------|
| app      | `app.py` (wiring only)                                    | api, jobs, base                          |
| api      | `chalicelib/api/`                                         | api, services, domain, store, base (1)   |
| jobs     | `chalicelib/jobs/`                                        | jobs, services, base                     |
| services | `chalicelib/services/`                                    | services, adapters, store, domain, base  |
| adapters | `chalicelib/adapters/`, `aws.py`, `http.py`               | adapters, domain, base                   |
| store    | `chalicelib/store/`                                       | store, domain, base                      |
| domain   | `chalicelib/domain/`                                      | domain, `chalicelib.money` only          |
| base     | `chalicelib/__init__.py`, `errors.py`, `config.py`,       | base                                     |
|          | `clock.py`, `ids.py`, `logs.py`, `metrics.py`,            |                                          |
|          | `money.py`, `roles.py`                                    |                                          |

(1) and `api/admin.py` the jobs registry, `chalicelib.jobs` (the admin trigger runs jobs by name), and
`api/pagination.py` the stage's cursor key (`adapters/secrets.py`: cursors are signed at the edge). The api
reads the store's records (dataclasses) and the idempotency middleware its unit of work, never PynamoDB.

So nothing imports `chalicelib.api` or `chalicelib.jobs` from below, and nothing of `chalicelib` imports
`app`. The base modules are the vocabulary every layer shares (errors, money, the clock, ids, config,
logs and metrics lines, roles): they import nothing of the project but each other. `aws.py` (the boto3
client factory) and `http.py` (the HTTPS pool) reach the outside world, so they sit with the adapters.

Of the libraries, PynamoDB is the store's alone; botocore and boto3 the store's and the adapters'
(the services reach AWS through `chalicelib.aws.client`).
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASE = {"chalicelib", "chalicelib.errors", "chalicelib.config", "chalicelib.clock", "chalicelib.ids",
        "chalicelib.logs", "chalicelib.metrics", "chalicelib.money", "chalicelib.roles"}
OUTSIDE_WORLD = {"chalicelib.aws", "chalicelib.http"}
PACKAGES = ("api", "jobs", "services", "adapters", "store", "domain")

MAY_IMPORT = {
    "app": {"api", "jobs", "base"},
    "api": {"api", "services", "domain", "store", "base"},
    "jobs": {"jobs", "services", "base"},
    "services": {"services", "adapters", "store", "domain", "base"},
    "adapters": {"adapters", "domain", "base"},
    "store": {"store", "domain", "base"},
    "domain": {"domain"},
    "base": {"base"},
}
ALSO_ALLOWED = {  # (importer, imported module): the one-off exceptions of the table's footnote and row
    ("chalicelib.api.admin", "chalicelib.jobs"),
    ("chalicelib.api.pagination", "chalicelib.adapters.secrets"),
}
DOMAIN_MAY_IMPORT = {"chalicelib.money"}
LIBRARIES_OF = {"pynamodb": {"store"}, "botocore": {"store", "adapters"}, "boto3": {"store", "adapters"}}


def layer_of(module: str) -> str | None:
    if module == "app":
        return "app"
    if module in BASE:
        return "base"
    if module in OUTSIDE_WORLD:
        return "adapters"
    parts = module.split(".")
    if parts[0] == "chalicelib" and len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    return None


@dataclass(frozen=True)
class Import:
    path: str  # relative to the project, e.g. chalicelib/services/orders.py
    line: int
    importer: str  # chalicelib.services.orders
    imported: str  # chalicelib.store.orders, or a library's top-level name (pynamodb)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported}"


def module_name(path: str) -> str:
    name = path.removesuffix(".py").replace("/", ".")
    return name.removesuffix(".__init__")


def is_project_module(name: str, root: Path = ROOT) -> bool:
    relative = Path(*name.split("."))
    return (root / relative.with_suffix(".py")).is_file() or (root / relative / "__init__.py").is_file()


def imports_of(path: str, source: str, root: Path = ROOT) -> list[Import]:
    """Every import in `source` (the module at `path`), each resolved to a module: `from pkg import name`
    names the submodule `pkg.name` when there is one."""
    importer = module_name(path)
    package = importer if path.endswith("__init__.py") else importer.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, importer, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importer's package, one level up per dot after the first
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append(Import(path, node.lineno, importer, submodule if is_project_module(submodule, root) else base))
    return found


def violation(found: Import) -> str | None:
    """Why `found` breaks the layer rule, or None."""
    importer_layer = layer_of(found.importer)
    if importer_layer is None:
        return f"{found.path}: no layer; add the module to the table of tests/test_layers.py"
    library = found.imported.split(".")[0]
    if library in LIBRARIES_OF:
        if importer_layer in LIBRARIES_OF[library]:
            return None
        return f"{found} ({library} belongs to the {' and '.join(sorted(LIBRARIES_OF[library]))} only)"
    if library not in ("app", "chalicelib"):
        return None
    imported_layer = layer_of(found.imported)
    if (importer_layer == "domain" and found.imported in DOMAIN_MAY_IMPORT
            or (found.importer, found.imported) in ALSO_ALLOWED
            or imported_layer in MAY_IMPORT[importer_layer]):
        return None
    return f"{found} ({importer_layer} may import {', '.join(sorted(MAY_IMPORT[importer_layer]))}, not {imported_layer})"


def project_sources(root: Path = ROOT) -> list[Path]:
    return [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]


def violations_in(root: Path = ROOT) -> list[str]:
    found = []
    for source in project_sources(root):
        path = source.relative_to(root).as_posix()
        found += [why for why in map(violation, imports_of(path, source.read_text(), root)) if why]
    return found


def test_every_import_keeps_to_the_layers():
    found = violations_in()
    assert not found, "imports across the layers:\n" + "\n".join(found)


def test_every_module_has_a_layer():
    paths = [path.relative_to(ROOT).as_posix() for path in project_sources()]
    assert [path for path in paths if layer_of(module_name(path)) is None] == []


def check(path: str, source: str) -> list[str]:
    return [why for why in map(violation, imports_of(path, source)) if why]


def test_the_checker_refuses_pynamodb_in_a_service_at_module_or_function_level():
    source = "import json\nimport pynamodb\n\n\ndef f():\n    from pynamodb.models import Model\n    return Model\n"
    assert check("chalicelib/services/example.py", source) == [
        "chalicelib/services/example.py:2: chalicelib.services.example imports pynamodb "
        "(pynamodb belongs to the store only)",
        "chalicelib/services/example.py:6: chalicelib.services.example imports pynamodb.models "
        "(pynamodb belongs to the store only)",
    ]
    assert check("chalicelib/store/example.py", source) == []


def test_the_checker_refuses_imports_from_below_and_an_impure_domain():
    assert check("chalicelib/services/example.py", "from chalicelib.jobs import JOBS\n") == [
        "chalicelib/services/example.py:1: chalicelib.services.example imports chalicelib.jobs "
        "(services may import adapters, base, domain, services, store, not jobs)"]
    assert check("chalicelib/store/example.py", "from chalicelib.services import ledger\n") == [
        "chalicelib/store/example.py:1: chalicelib.store.example imports chalicelib.services.ledger "
        "(store may import base, domain, store, not services)"]
    assert check("chalicelib/domain/example.py", "from chalicelib import clock, money\nfrom . import calendar\n") == [
        "chalicelib/domain/example.py:1: chalicelib.domain.example imports chalicelib.clock "
        "(domain may import domain, not base)"]
    assert check("chalicelib/api/example.py", "from chalicelib.jobs import JOBS\n") != []
    assert check("chalicelib/api/admin.py", "from chalicelib.jobs import JOBS\n") == []
    assert check("chalicelib/api/admin.py", "from chalicelib.jobs import payouts\n") != []
