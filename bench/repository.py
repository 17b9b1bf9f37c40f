"""The repository's root on sys.path for the scripts here: run by path, they have only `bench/` on it.

    from repository import ROOT  # before importing infra or chalicelib
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.project import PROJECT_DIR as ROOT  # noqa: E402

__all__ = ["ROOT"]
