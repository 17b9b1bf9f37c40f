"""The README's tour runs top to bottom as written, so it cannot rot.

The tour is `docs/tour.sh`; the README shows it whole (a test here keeps the two the same). It runs with
bash, curl and python3 against the `make run` stack (the shared `local_stack` of tests/support/local_stack.py:
moto with DynamoDB's guarantees, bootstrap and `chalice local`; the demo accounts only, since the tour signs
up its own users), as a newcomer would run it against `make run`: an
instructor publishes two courses and a coupon, a learner tops up, pays a checkout partly from the
wallet, completes a course and gets its certificate, reviews, asks, and takes the refund the policy
allows for 3 of 10 lessons studied (70,000 of 100,000 KRW). The guides' links stay inside the repository.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.project import PROJECT_DIR

TOUR = PROJECT_DIR / "docs" / "tour.sh"
README = PROJECT_DIR / "README.md"
TOUR_BLOCK = re.compile(r"^## A tour\n.*?^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _guides() -> list[Path]:
    return [README, *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def test_the_readme_shows_the_tour_script_as_it_is():
    shown = TOUR_BLOCK.search(README.read_text())
    assert shown is not None, "README.md needs a '## A tour' section with the script in a sh block"
    assert shown.group(1) == TOUR.read_text(), "README.md's tour differs from docs/tour.sh: paste the script"


@pytest.mark.parametrize("guide", _guides(), ids=lambda path: path.name)
def test_the_guides_link_only_to_files_of_the_repository(guide):
    text = guide.read_text()
    assert "../shared" not in text
    targets = [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]
    missing = [target for target in targets if not (guide.parent / target).resolve().is_relative_to(PROJECT_DIR)
               or not (guide.parent / target).exists()]
    assert missing == [], f"{guide.name} links to what the repository does not have: {missing}"


def test_the_tour_runs_to_its_end_against_a_local_stack(local_stack_url, tmp_path):
    # python3 is the interpreter running the tests (a version manager's shim can cost half a second a call)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    run = subprocess.run(["bash", str(TOUR)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "BASE": local_stack_url, "PATH": path, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, f"the tour stopped:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    out = run.stdout
    assert "checkout: paid, 115100 KRW by card" in out  # 35,100 (39,000 less WELCOME10) + 100,000 - 20,000 wallet
    assert re.search(r"^certificate issued: [0-9A-Z]{4}(-[0-9A-Z]{4}){3}$", out, re.MULTILINE), out
    assert '"rule":"pro_rata"' in out and '"refundable":{"amount":70000' in out, out
    assert "refunded: 70000 KRW" in out
    assert out.rstrip().endswith("== the tour is over")
    [pdf] = tmp_path.glob("certificate-*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
