"""The layout holds: the import-linter contracts of pyproject.toml, no import cycle,
no module over 400 lines, and one table of commands that every layer reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from bot.stages import command_table

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "demo")
MAX_LINES = 400


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), imports inside
    functions counted: grimp reads every import statement of a module."""
    modules = sorted(graph.modules)
    index, low, on_stack, stack, groups, counter = {}, {}, set(), [], [], [0]

    def visit(module: str) -> None:
        index[module] = low[module] = counter[0]
        counter[0] += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in modules:
        if module not in index:
            visit(module)
    return groups


def test_no_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path, monkeypatch) -> None:
    package = tmp_path / "loop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from loop import b\n")
    (package / "b.py").write_text("from loop import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("loop", cache_dir=None)) == [["loop.a", "loop.b"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_400_lines(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_command_of_the_table_has_its_words_in_both_languages() -> None:
    for spec in command_table.TABLE:
        assert spec.issues, spec.name
        assert callable(spec.action) and callable(spec.may)
    names = {spec.name for spec in command_table.TABLE}
    for lang in ("en", "fr"):
        words = (ROOT / "templates" / lang / "_names.md").read_text()
        for name in names:
            assert f'"{name}":' in words.split("commands = {", 1)[1].split("}", 1)[0], (lang, name)
            assert f'"{name}":' in words.split("command_help = {", 1)[1].split("}", 1)[0], (lang, name)
