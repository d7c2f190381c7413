"""Import direction: the domain is pure; projections do not reach into infrastructure."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_THIRD_PARTY = {"pydantic", "pydantic_core", "jsonpatch", "typing_extensions", "domain"}
HEAVY = {"psycopg", "orjson", "infrastructure", "cryptography", "pgserver"}
#: Adapter concerns the domain never mentions, in code, strings or comments (any case):
#: drivers, the process environment, the names of our variables.
ADAPTER_WORDS = ("psycopg", "redis", "os.environ", "CONDUIT__", "CONDUIT_CONFIG_")
#: Mentions that are not about our adapters: ``(file, word)`` -> why.
ADAPTER_WORDS_ALLOWED = {
    ("domain/areas/cache.py", "redis"): "a cache type users pick for their own caches",
    ("domain/secrets.py", "CONDUIT_CONFIG_"): "NO_KEY_MESSAGE names the key setting (debt)",
}
#: Parts of error class names that name an infrastructure concern.
INFRASTRUCTURE_ERROR_WORDS = ("Storage", "Authentication", "AuditKey", "Database", "Redis")


def module_of(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in a file, relative ones resolved.

    ``from X import a`` yields ``X.a`` (a may be a submodule); calls of ``import_module`` or
    ``__import__`` with a literal name count as imports too.
    """
    tree = ast.parse(source if source is not None else path.read_text(), str(path))
    package = module_of(path) if path.name == "__init__.py" else module_of(path)[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                name = "" if alias.name == "*" else alias.name
                yield node.lineno, ".".join(part for part in (module, name) if part)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            args = node.args
            if name in {"import_module", "__import__"} and args:
                first = args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield node.lineno, first.value


def domain_allows(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    if top in sys.stdlib_module_names or top in DOMAIN_THIRD_PARTY:
        return True
    return module == "eventsourcing.domain" or module.startswith("eventsourcing.domain.")


def projections_allow(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] != "infrastructure"


def violations(package: str, allowed: Callable[[str], bool]) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imports(path):
            if not allowed(module):
                found.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    return found


def py_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def adapter_mentions(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """``(line, word)`` of each :data:`ADAPTER_WORDS` mention not allowed for the file."""
    name = path.relative_to(ROOT).as_posix()
    text = source if source is not None else path.read_text()
    return [
        (number, word)
        for number, line in enumerate(text.splitlines(), start=1)
        for word in ADAPTER_WORDS
        if word.lower() in line.lower() and (name, word) not in ADAPTER_WORDS_ALLOWED
    ]


def test_packages_exist() -> None:
    assert len(py_files("domain")) >= 10
    assert py_files("projections")


def test_domain_imports_only_stdlib_pydantic_and_eventsourcing_domain() -> None:
    found = violations("domain", domain_allows)
    assert not found, "domain must stay pure:\n" + "\n".join(found)


def test_projections_never_import_infrastructure() -> None:
    found = violations("projections", projections_allow)
    assert not found, "projections must not import infrastructure:\n" + "\n".join(found)


def test_domain_mentions_no_adapter_concern() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: mentions {word!r}"
        for path in py_files("domain")
        for line, word in adapter_mentions(path)
    ]
    assert not found, "adapter formats belong to infrastructure:\n" + "\n".join(found)


def test_domain_defines_no_infrastructure_error() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}: class {node.name}"
        for path in py_files("domain")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ClassDef)
        and any(word in node.name for word in INFRASTRUCTURE_ERROR_WORDS)
    ]
    assert not found, "infrastructure errors belong to infrastructure/errors.py:\n" + "\n".join(
        found
    )


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("domain/x.py", "import os\nx = os.environ['A']", [(2, "os.environ")]),
        (
            "domain/x.py",
            '"""Kept in Redis."""\nPREFIX = "CONDUIT__"',
            [(1, "redis"), (2, "CONDUIT__")],
        ),
        (
            "domain/x.py",
            "# set CONDUIT_CONFIG_X\n# psycopg's",
            [(1, "CONDUIT_CONFIG_"), (2, "psycopg")],
        ),
        ("domain/areas/cache.py", 'CacheType = Literal["memory", "redis"]', []),
        ("domain/x.py", "environment = 'prod'  # CONDUIT_ alone is no variable", []),
    ],
)
def test_adapter_word_checker(path: str, source: str, expected: list[tuple[int, str]]) -> None:
    assert adapter_mentions(ROOT / path, source) == expected


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        ("domain/x.py", "import psycopg\nimport json", [(1, "psycopg")]),
        (
            "domain/x.py",
            "from eventsourcing.persistence import Recorder",
            [(1, "eventsourcing.persistence.Recorder")],
        ),
        (
            "domain/x.py",
            "from eventsourcing import application",
            [(1, "eventsourcing.application")],
        ),
        ("domain/x.py", "def f():\n    import orjson", [(2, "orjson")]),
        (
            "domain/x.py",
            "import importlib\nimportlib.import_module('infrastructure.store')",
            [(2, "infrastructure.store")],
        ),
        ("domain/areas/x.py", "from ..values import merge_patch\nfrom . import base", []),
        (
            "domain/x.py",
            "from eventsourcing.domain import BaseAggregate\nfrom eventsourcing import domain",
            [],
        ),
        (
            "domain/x.py",
            "import typing_extensions, pydantic_core\nfrom pydantic import BaseModel",
            [],
        ),
    ],
)
def test_domain_checker_flags_forbidden_imports(
    path: str, source: str, expected: list[tuple[int, str]]
) -> None:
    found = [(line, m) for line, m in imports(ROOT / path, source) if not domain_allows(m)]
    assert found == expected


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "projections/x.py",
            "from infrastructure.store import ConfigStore",
            [(1, "infrastructure.store.ConfigStore")],
        ),
        ("projections/x.py", "import infrastructure", [(1, "infrastructure")]),
        ("projections/x.py", "from .. import infrastructure", [(1, "infrastructure")]),
        ("projections/sub/x.py", "from ...infrastructure import db", [(1, "infrastructure.db")]),
        ("projections/x.py", "from domain.entry import ConfigEntry\nfrom . import audit", []),
    ],
)
def test_projections_checker_flags_infrastructure(
    path: str, source: str, expected: list[tuple[int, str]]
) -> None:
    found = [(line, m) for line, m in imports(ROOT / path, source) if not projections_allow(m)]
    assert found == expected


def test_domain_import_loads_no_infrastructure() -> None:
    code = (
        "import domain.entry, domain.areas, domain.values, domain.secrets; import sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
