"""The package as a whole: how it is laid out (no import cycles, no private names across modules, sizes,
every package in the wheel) and how users get it (a wheel with the `nas` command and the bundled spaces,
run from an empty folder)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support import ROOT

NAS = ROOT / "nas"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60
SUBCOMMANDS = ("search", "export", "report", "dashboard", "inspect", "build-lut", "train", "validate-proxy")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__``)."""
    out = {}
    for path in sorted(NAS.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, list[str], int]]:
    """(imported nas module, names taken from it, line) for every import in the module, in functions too."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "nas"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "nas":
                continue
            for alias in node.names:  # `from nas.x import y` imports module nas.x.y when there is one
                sub = f"{base}.{alias.name}"
                found.append((sub, [], node.lineno) if sub in known else (base, [alias.name], node.lineno))
    return found


def test_no_import_cycles() -> None:
    mods = modules()
    graph = {name: {target for target, _, _ in imports(name, path, set(mods)) if target in mods and target != name}
             for name, path in mods.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert len(graph) > 60  # the walk saw the whole package


def test_no_module_imports_a_private_name_from_another() -> None:
    mods = modules()
    offences = [f"{path.relative_to(ROOT)}:{line}: {target}.{n}"
                for name, path in mods.items() for target, names, line in imports(name, path, set(mods))
                for n in names if n.startswith("_") and not n.startswith("__")]
    offences += [f"{path.relative_to(ROOT)}:{line}: {target}" for name, path in mods.items()
                 for target, _, line in imports(name, path, set(mods))
                 if any(part.startswith("_") and not part.startswith("__") for part in target.split("."))]
    assert not offences, "private names imported across modules:\n" + "\n".join(offences)


def test_modules_and_functions_are_small_or_say_why() -> None:
    too_long = []
    for path in sorted(NAS.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES and "Long because" not in (ast.get_docstring(ast.parse(text)) or ""):
            too_long.append(f"{path.relative_to(ROOT)}: module of {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and "Long because" not in (ast.get_docstring(node) or ""):
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.name} has {length} lines")
    assert not too_long, "\n".join(too_long)


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in NAS.rglob("__init__.py")} | {"nas.search_spaces"}
    assert listed == on_disk
    assert config["tool"]["setuptools"]["package-dir"] == {"nas.search_spaces": "search_spaces"}
    assert config["project"]["scripts"] == {"nas": "nas.cli:main"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel (`pip wheel --no-deps .`) installed into an empty target folder, as a user gets it."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp / "dist"), str(ROOT)], check=True, capture_output=True, timeout=600)
    wheels = list((tmp / "dist").glob("nas-*.whl"))
    assert len(wheels) == 1
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                    str(wheels[0])], check=True, capture_output=True, timeout=600)
    return target


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run([str(target / "bin" / "nas"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_wheel_ships_the_spaces_the_zoo_and_the_command(installed: Path) -> None:
    package = installed / "nas"
    assert sorted(p.name for p in (package / "search_spaces").glob("*.yaml")) == sorted(
        p.name for p in (ROOT / "search_spaces").glob("*.yaml"))
    assert len(list((package / "arch" / "zoo").glob("*.yaml"))) == 8
    assert (installed / "bin" / "nas").is_file()


def test_installed_nas_help_lists_the_subcommands(installed: Path, tmp_path: Path) -> None:
    out = run_installed(installed, tmp_path, "--help")
    assert out.returncode == 0, out.stderr
    for command in SUBCOMMANDS:
        assert command in out.stdout


def test_installed_search_runs_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = run_installed(installed, empty, "search", "--latency-target", "5ms", "--space", "mobile_32px", "--trials",
                        "4", "--proxy", "params", "--threads", "1", "--out", str(tmp_path / "out"), "--no-progress")
    assert out.returncode == 0, out.stderr
    run_dirs = list((tmp_path / "out").iterdir())
    assert len(run_dirs) == 1
    assert (run_dirs[0] / "pareto.yaml").is_file() and list((run_dirs[0] / "pareto").glob("*.yaml"))
    assert sorted(p.name for p in empty.iterdir()) == []  # nothing written into the working folder
    probe = subprocess.run([sys.executable, "-c", "import nas; print(nas.__file__)"], cwd=empty, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(installed)}, timeout=60)
    assert probe.stdout.strip().startswith(str(installed))  # the installed copy ran, not the checkout
