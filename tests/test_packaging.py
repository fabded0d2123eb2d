"""Packaging facts a deployer relies on (Docker cannot run here, so check what it would run)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"^([A-Za-z]+)\s+(.*)$", text, re.M)
        if not m.group(0).startswith("#")
    ]


def test_dockerfile_runs_the_bot_entry_point_as_non_root_with_a_volume_and_healthcheck():
    steps = _instructions()
    kinds = dict(steps)
    assert kinds["FROM"].startswith("python:3.11-slim")
    assert kinds["ENTRYPOINT"] == '["python", "-m", "bot"]'
    assert kinds["CMD"] == '["run"]'
    assert kinds["USER"] not in ("root", "0")
    assert '"/data"' in kinds["VOLUME"] and "DATABASE_PATH=/data/bot.db" in kinds["ENV"]
    assert '"python", "-m", "bot", "healthcheck"' in kinds["HEALTHCHECK"]


def test_console_script_points_at_the_same_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    [target] = project["scripts"].values()
    assert target == "bot.__main__:main"


def test_shipped_replay_data_is_packaged():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/market_2025/*" in config["tool"]["setuptools"]["package-data"]["bot"]
    assert (ROOT / "bot" / "data" / "market_2025" / "SOURCES.md").exists()


def test_the_readme_settings_table_says_what_set_does():
    """The README's table of per-chat settings is the one the rules' declarations make."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import readme_tables

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert readme_tables.updated(readme) == readme, "run python scripts/readme_tables.py"
    assert "| `/set move 3σ` | 3σ |" in readme
