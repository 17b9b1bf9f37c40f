"""The project's directory, its Chalice configuration (`.chalice/config.json`, read here only), and how an
infra command stops on a refusal (library code raises `Refusal`; only `run_command` exits)."""

import json
import sys
from collections.abc import Callable
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


class Refusal(Exception):
    """An infra command cannot go on (a port taken, another Python, a layer that fails its smoke test):
    the message says why and what to change."""


def run_command(main: Callable[[], int]) -> None:
    """`sys.exit(main())`, a `Refusal` said in one line on stderr (exit code 1) rather than as a traceback."""
    try:
        code = main()
    except Refusal as refusal:
        sys.stderr.write(f"{refusal}\n")
        code = 1
    sys.exit(code)
