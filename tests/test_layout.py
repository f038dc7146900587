"""The README's layout table is the tree: every package has a row, every row names what is there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_ROOTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
    "targets"
]["wheel"]["packages"]
"""Every package the wheel ships."""


def layout_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `([^`]+)/` \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def packages() -> list[str]:
    found = []
    for root in CODE_ROOTS:
        for init in sorted((ROOT / root).rglob("__init__.py")):
            folder = init.parent.relative_to(ROOT).as_posix()
            if any(p.name != "__init__.py" for p in init.parent.glob("*.py")):
                found.append(folder)
    return found


def test_every_package_has_a_row_and_every_row_a_folder() -> None:
    rows = layout_rows()
    missing = [folder for folder in packages() if folder not in rows]
    assert not missing, f"README layout has no row for {missing}"
    gone = [folder for folder in rows if not (ROOT / folder).is_dir()]
    assert not gone, f"README layout names folders that do not exist: {gone}"


def test_every_row_names_each_module_of_its_folder_and_no_other() -> None:
    for folder, text in layout_rows().items():
        if folder not in packages():
            continue
        named = set(re.findall(r"`([\w]+\.py)`", text))
        present = {p.name for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py"}
        assert not named - present, f"{folder}/: README names missing modules {named - present}"
        assert not present - named, f"{folder}/: README does not mention {present - named}"


BUILDERS = {"builder.py", "video.py", "launch.py"}
"""The graph's builders: the studio graph and its format subgraphs wire the agents' nodes."""


def test_the_layers_import_downwards() -> None:
    """graph/ sits between the engine and agents/: only the builders import agents."""
    for path in (ROOT / "graph").glob("*.py"):
        used = set(re.findall(r"^\s*(?:from|import) (agents\b[\w.]*)", path.read_text(), re.M))
        if path.name in BUILDERS:
            continue
        assert not used, (path.name, used)
    for lower in (root for root in CODE_ROOTS if root != "api"):
        for path in (ROOT / lower).rglob("*.py"):
            assert not re.search(r"^\s*(from|import) api\b", path.read_text(), re.M), path


def test_adapters_are_the_bottom_layer() -> None:
    """adapters/ (protocols, vendors, plain data) imports no layer above it."""
    above = re.compile(r"^\s*(from|import) (api|engine|store|people|graph|agents)\b", re.M)
    for path in (ROOT / "adapters").rglob("*.py"):
        assert not above.search(path.read_text()), path
