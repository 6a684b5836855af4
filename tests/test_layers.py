"""The packages import only downward (core -> ingest -> finetune -> assistant -> ui), checked by import-linter
with the contracts in pyproject.toml, and no module imports another module's private names, read from the
source with `ast` (import-linter sees modules, not names), so imports inside functions count too."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "ingest", "finetune", "assistant", "ui")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` run in `root`, on the packages found there, with the contracts of its pyproject.toml."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
            "--no-logo",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def private_imports(root: Path, package: str) -> list[str]:
    """Every `from module import _name` in `package` where `module` is another module than the importer."""
    problems = []
    for path in sorted((root / package).rglob("*.py")):
        importer = ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
                continue
            if node.module.split(".")[0] not in LAYERS or node.module == importer:
                continue
            private = [alias.name for alias in node.names if alias.name.startswith("_")]
            private = [name for name in private if not name.startswith("__")]
            where = f"{path.relative_to(root)}:{node.lineno}"
            problems += [f"{where} imports the private {node.module}.{name}" for name in private]
    return problems


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layers_contract_sees_an_upward_import_inside_a_function(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in (*LAYERS, "assistant/cli", "assistant/api", "assistant/evaluation"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "assistant/engine.py").write_text("class Assistant: ...\n")
    (tmp_path / "finetune/leaky.py").write_text("def f():\n    from assistant.engine import Assistant\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "finetune.leaky -> assistant.engine" in result.stdout


@pytest.mark.parametrize(
    "package",
    [
        "core",
        "ingest",
        "finetune",
        "assistant",
        "ui",
    ],
)
def test_no_module_imports_private_names_of_another_module(package):
    assert private_imports(ROOT, package) == []


def test_the_private_check_sees_a_private_name_of_a_sibling_module(tmp_path):
    (tmp_path / "finetune").mkdir()
    (tmp_path / "finetune/train.py").write_text("def _helper(): ...\nfrom finetune.train import _own\n")
    (tmp_path / "finetune/dpo.py").write_text("def f():\n    from finetune.train import _helper, __all__\n")
    assert private_imports(tmp_path, "finetune") == [
        "finetune/dpo.py:2 imports the private finetune.train._helper"
    ]
