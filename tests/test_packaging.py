"""What an install (not only an editable one) carries: every package with its modules and data files."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_python_code_is_a_package_the_build_finds():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = set(find_packages(ROOT, include=config["packages"]["find"]["include"]))
    top = {name.split(".")[0] for name in found}
    folders = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for name in top
        for path in (ROOT / name).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders <= found, f"folders a wheel would leave out: {sorted(folders - found)}"
    assert "ui.app_pages" in found  # the app's pages, run by Streamlit from the installed package


def test_the_data_files_code_reads_are_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    for package, names in config["package-data"].items():
        for name in names:
            assert (ROOT / package / name).is_file(), f"{package}/{name}"
