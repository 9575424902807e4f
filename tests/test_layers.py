"""The layers of docs/architecture.md, enforced: every `import` of a jiandu module in the
package's source is read with ast, and an import that goes the wrong way fails here, naming
the file, the line and the rule."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The repository's folders and the part of the one package each one is (pyproject's package-dir).
FOLDERS = {"jiandu": "jiandu", "connectors": "jiandu.connectors", "models": "jiandu.models",
           "flows": "jiandu.flows"}
APP = ("jiandu.cli", "jiandu.desk", "jiandu.flows", "jiandu.demo", "jiandu.__main__")


def _is_cli(module: str) -> bool:
    return module == "jiandu.cli" or module.startswith("jiandu.cli_")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    where: str  # file:line


def module_name(path: Path, root: Path = ROOT) -> str:
    folder = path.relative_to(root).parts[0]
    parts = list(path.relative_to(root / folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[folder], *parts])


def source_files(root: Path = ROOT) -> list[Path]:
    files = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root / folder).parts
            if "migrations" in relative or "__pycache__" in relative:
                continue
            if folder == "jiandu" and relative[0] in ("connectors", "models", "flows", "templates",
                                                      "examples"):
                continue  # links an installed tree may hold; the folders are read themselves
            files.append(path)
    return files


def known_modules(root: Path = ROOT) -> set[str]:
    return {module_name(path, root) for path in source_files(root)}


def imports_of(path: Path, modules: set[str], root: Path = ROOT) -> list[Import]:
    importer = module_name(path, root)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from jiandu.models import store` imports the module jiandu.models.store.
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                     else node.module for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}:{node.lineno}: relative import; write jiandu.… in full")
        for name in names:
            if name == "jiandu" or name.startswith("jiandu."):
                found.append(Import(importer, name, f"{path.relative_to(root)}:{node.lineno}"))
    return found


def all_imports(root: Path = ROOT) -> list[Import]:
    modules = known_modules(root)
    return [imp for path in source_files(root) for imp in imports_of(path, modules, root)]


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def declared_pure(module: str) -> bool:
    """A module whose docstring's first line says "(pure" does no I/O and holds no state."""
    path = next(p for p in source_files() if module_name(p) == module)
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return "(pure" in (docstring.splitlines() or [""])[0]


# (name of the rule, who it binds, what they may not import)
RULES = [
    ("connectors talk to the outside world with plain values: no database, stage, summariser, "
     "settings or application",
     lambda m: under(m, "jiandu.connectors"),
     lambda i: under(i, "jiandu.models", "jiandu.stages", "jiandu.summarising", "jiandu.settings",
                     "jiandu.runtime", *APP) or _is_cli(i)),
    ("models own the SQL and the state changes: no connector, stage, summariser, settings or "
     "application",
     lambda m: under(m, "jiandu.models"),
     lambda i: under(i, "jiandu.connectors", "jiandu.stages", "jiandu.summarising",
                     "jiandu.settings", "jiandu.runtime", *APP) or _is_cli(i)),
    ("summarisers take an ArticleInput and return a Summary: no database, stage or application",
     lambda m: under(m, "jiandu.summarising"),
     lambda i: under(i, "jiandu.models", "jiandu.stages", "jiandu.runtime", *APP) or _is_cli(i)),
    ("stages are called by the application, never the other way round",
     lambda m: under(m, "jiandu.stages"),
     lambda i: under(i, *APP) or _is_cli(i)),
    ("flows are thin Prefect wrappers over the stages; the CLI calls them, not they the CLI",
     lambda m: under(m, "jiandu.flows"),
     lambda i: _is_cli(i)),
    ("only the application's entry points import the CLI",
     lambda m: not (_is_cli(m) or under(m, "jiandu.demo", "jiandu.__main__")),
     lambda i: _is_cli(i)),
]


def test_the_import_graph_is_read():
    # Guards the guard: the parser must see the imports the rules are about.
    graph = {(imp.importer, imp.imported) for imp in all_imports()}
    assert ("jiandu.stages.ingest", "jiandu.models.store") in graph
    assert ("jiandu.connectors.feeds", "jiandu.connectors.http") in graph
    assert ("jiandu.models.store", "jiandu.models.transitions") in graph
    assert len(graph) > 100


@pytest.mark.parametrize("rule", RULES, ids=[rule[0].split(":")[0] for rule in RULES])
def test_no_import_goes_the_wrong_way(rule, root: Path = ROOT):
    name, binds, forbidden = rule
    wrong = [f"{imp.where}: {imp.importer} imports {imp.imported}"
             for imp in all_imports(root) if binds(imp.importer) and forbidden(imp.imported)]
    assert not wrong, f"{name}:\n" + "\n".join(wrong)


# What does I/O or holds the run's state: a pure module imports none of it.
IMPURE = ("jiandu.connectors", "jiandu.models", "jiandu.stages", "jiandu.settings",
          "jiandu.runtime", "jiandu.summarising.llm", "jiandu.interrupt", "jiandu.progress", *APP)


def test_pure_modules_import_nothing_that_does_io():
    pure = {m for m in known_modules() if declared_pure(m)}
    assert {"jiandu.zi", "jiandu.cjk", "jiandu.urls", "jiandu.issue_context"} <= pure
    wrong = [f"{imp.where}: {imp.importer} (pure) imports {imp.imported}"
             for imp in all_imports()
             if imp.importer in pure and (under(imp.imported, *IMPURE) or _is_cli(imp.imported))]
    assert not wrong, "a pure module does no I/O:\n" + "\n".join(wrong)


def test_orm_rows_stay_on_the_database_side():
    """jiandu.models.schema's rows are read by models, stages and the application's views;
    connectors, summarisers and pure modules get records (the rules above, seen from the
    schema's side: a row cannot reach code that cannot name its type)."""
    readers = {imp.importer for imp in all_imports() if under(imp.imported, "jiandu.models")}
    outside = sorted(m for m in readers
                     if under(m, "jiandu.connectors", "jiandu.summarising") or declared_pure(m))
    assert not outside, outside


def test_a_wrong_import_is_caught(tmp_path):
    # The checker on a tree written to break a rule: a connector that reads the database.
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    (tmp_path / "models" / "store.py").write_text("", encoding="utf-8")
    (tmp_path / "connectors" / "probe.py").write_text(
        "import json\n\nfrom jiandu.models import store\n", encoding="utf-8")
    test_no_import_goes_the_wrong_way(RULES[1], tmp_path)  # the models rule is kept
    with pytest.raises(AssertionError, match="probe.py:3: jiandu.connectors.probe "
                                             "imports jiandu.models.store"):
        test_no_import_goes_the_wrong_way(RULES[0], tmp_path)
