"""The packages import only downward: core -> ingest -> finetune -> assistant -> ui, and never another
module's private names. Read from the source with `ast`, so imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "ingest", "finetune", "assistant", "ui")


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names imported from it) for every absolute import in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def _problems() -> list[str]:
    problems = []
    for rank, layer in enumerate(LAYERS):
        for path in sorted((ROOT / layer).rglob("*.py")):
            for line, module, names in _imports(path):
                top = module.split(".")[0]
                where = f"{path.relative_to(ROOT)}:{line}"
                if top in LAYERS and LAYERS.index(top) > rank:
                    problems.append(f"{where} imports {module}, a layer above {layer}")
                if top in LAYERS and top != layer:
                    private = [name for name in names if name.startswith("_") and not name.startswith("__")]
                    problems += [f"{where} imports the private {module}.{name}" for name in private]
    return problems


def test_no_module_imports_upward_or_private_names_of_another_package():
    assert _problems() == []


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    layer = tmp_path / "finetune"
    layer.mkdir()
    (layer / "leaky.py").write_text("def f():\n    from assistant.engine import Assistant\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert _problems() == ["finetune/leaky.py:2 imports assistant.engine, a layer above finetune"]
