"""The shape of the code, checked on its syntax trees (fast, no database): the arrows between layers, no
module reaching into another's underscore names, and role names compared only by the one authority."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.workflow import EVENTS, EventRequest, Role

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for folder in ("app", "tests", "bench", "migrations") for p in (ROOT / folder).rglob("*.py"))
ROLE_NAMES = {role.value for role in Role}
AUTHORITY = ROOT / "app" / "workflow" / "authority.py"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(tree: ast.Module) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, name) for every import; name is None for `import module`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_the_scan_sees_the_whole_tree() -> None:
    modules = {_module_of(p) for p in SOURCES}
    assert {"app.workflow.authority", "app.services.cases.core", "tests.factories", "bench.generate"} <= modules


def test_no_module_imports_another_modules_underscore_names() -> None:
    found = []
    for path in SOURCES:
        tree = _tree(path)
        imported: set[str] = set()
        for line, module, name in _imports(tree):
            if any(_private(part) for part in module.split(".")) or (name is not None and _private(name)):
                found.append(f"{_where(path, line)} imports {module}{'.' + name if name else ''}")
            imported.add((name or module).split(".")[0])
        for node in ast.walk(tree):
            # `module._helper` reaches in as surely as `from module import _helper`.
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and _private(node.attr)
            ):
                found.append(f"{_where(path, node.lineno)} uses {node.value.id}.{node.attr}")
    assert found == [], "\n".join(found)


def test_an_underscore_import_would_be_found(tmp_path: Path) -> None:
    """The scan above can fail: the same checks find a planted private import and attribute."""
    tree = ast.parse("from app.services.cases.core import _unclosed\nimport app\napp._x\n")
    names = [name for _, _, name in _imports(tree)]
    assert "_unclosed" in names and _private("_unclosed") and not _private("__all__")
    assert any(isinstance(n, ast.Attribute) and _private(n.attr) for n in ast.walk(tree))


ARROWS = {
    # layer: the app packages it may import
    "app.workflow": {"app.workflow"},
    "app.models": {"app.models"},
    "app.security": {"app.security", "app.workflow"},
    "app.services": {"app.services", "app.workflow", "app.models", "app.security", "app.db", "app.clock", "app.config"},
}


@pytest.mark.parametrize("layer", sorted(ARROWS))
def test_layers_import_only_what_the_arrows_allow(layer: str) -> None:
    found = []
    for path in SOURCES:
        if not _module_of(path).startswith(layer + "."):
            continue
        for line, module, _ in _imports(_tree(path)):
            if module.startswith("app.") and not any(module.startswith(a) for a in ARROWS[layer]):
                found.append(f"{_where(path, line)} imports {module}")
    assert found == [], "\n".join(found)


def test_entrances_query_no_database_of_their_own() -> None:
    found = []
    for path in SOURCES:
        module = _module_of(path)
        if not (module.startswith(("app.api.", "app.web.")) or module == "app.cli"):
            continue
        for line, imported, _ in _imports(_tree(path)):
            if imported.startswith(("app.models", "app.db", "sqlalchemy")):
                found.append(f"{_where(path, line)} imports {imported}")
    assert found == [], "\n".join(found)


def _role_literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and node.value in ROLE_NAMES:
        return repr(node.value)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Role":
        return f"Role.{node.attr}"
    if isinstance(node, ast.Set | ast.List | ast.Tuple):
        return next((found for item in node.elts if (found := _role_literal(item))), None)
    return None


def test_role_names_are_compared_only_by_the_authority() -> None:
    """Who may do what is `app/workflow/authority.py`'s to say: nowhere else does a comparison or a set
    operation name a role (`"coordinator" in principal.roles`, `Role.assessor not in roles`, `roles & {...}`)."""
    found = []
    for path in SOURCES:
        if not _module_of(path).startswith("app.") or path == AUTHORITY:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.Sub | ast.BitOr):
                operands = [node.left, node.right]
            else:
                continue
            for operand in operands:
                literal = _role_literal(operand)
                if literal is not None:
                    found.append(f"{_where(path, node.lineno)} compares {literal}")
    assert found == [], "\n".join(found)


def test_a_role_comparison_would_be_found() -> None:
    compare = ast.parse('"coordinator" in principal.roles', mode="eval").body
    assert isinstance(compare, ast.Compare) and _role_literal(compare.left) == "'coordinator'"
    assert _role_literal(ast.parse("{Role.auditor, x}", mode="eval").body) == "Role.auditor"


def test_every_field_an_event_reads_is_a_field_of_the_request() -> None:
    fields = set(EventRequest.__dataclass_fields__)
    for name, rule in EVENTS.items():
        assert set(rule.fields) <= fields, name
