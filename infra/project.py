"""The project's directory and its Chalice configuration (`.chalice/config.json`), read here only."""

import json
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"


def chalice_config() -> dict:
    """The whole `.chalice/config.json`."""
    return json.loads(CHALICE_CONFIG.read_text())


def stage_config(stage: str) -> dict:
    """One stage's settings: its environment variables, policy files, per-function settings."""
    return chalice_config()["stages"][stage]


def stage_environment(stage: str) -> dict[str, str]:
    """The stage's environment variables."""
    return dict(stage_config(stage)["environment_variables"])
