"""Installs a requirements file into this virtualenv, saying what it is doing (the Makefile's stamps call it).

    .venv/bin/python -m infra.install requirements-run.txt

The installer is uv (pinned below, itself installed with the virtualenv's pip first): it downloads and
unpacks in parallel, so `requirements-dev.txt` takes seconds where pip took two minutes, the largest part
of a clean clone's `make test`. Modules are byte-compiled on first import (compiling all 9,000 files ahead
would cost longer than the install). uv reads PyPI by itself, not pip's configuration (a mirror, extra
indexes, a constraints file, a certificate): where it fails, pip installs the same file the way it always
did, with that configuration. Both take the same `==` pins. This prints the installer's summary lines and
a line every few seconds while it is busy without a word, so a first `make run` is never silent for long.
Standard library only: it runs before anything is installed.
"""

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

UV = "uv==0.13.9"
HEARTBEAT_SECONDS = 5
# the progress lines worth passing on: uv's resolution, large downloads and totals; pip's last line
_SAID = re.compile(r"^(Resolved|Downloading|Prepared|Installed|Uninstalled|Audited|Successfully installed) ")


def pinned(requirements: Path) -> list[str]:
    """The packages a requirements file names, its `-r` includes followed."""
    names: list[str] = []
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names += pinned(requirements.parent / line[3:].strip())
        elif line:
            names.append(re.split(r"[\[=<>~! ]", line, maxsplit=1)[0])
    return names


def _out(text: str, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _uv() -> Path | None:
    """uv in this virtualenv at the pinned version (installed with pip when it is not), or None if pip could not."""
    uv = Path(sys.executable).parent / "uv"
    pinned_version = UV.split("==")[1]
    if uv.exists() and subprocess.run([str(uv), "--version"], capture_output=True, text=True,
                                      check=False).stdout.split()[1:2] == [pinned_version]:
        return uv
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--progress-bar", "off", UV],
                          capture_output=True, text=True, check=False)  # its warnings only when it fails
    if done.returncode:
        _out(f"{done.stdout}{done.stderr}pip could not install {UV}; pip installs everything instead", sys.stderr)
        return None
    return uv


def _run(command: list[str], started: float) -> tuple[int, list[str]]:
    """Run an installer, passing on its progress lines and a heartbeat; its exit code and last lines."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    last_said = [time.monotonic()]
    done = threading.Event()

    def say(text: str) -> None:
        _out(text)
        last_said[0] = time.monotonic()

    def heartbeat() -> None:
        while not done.wait(1.0):
            if time.monotonic() - last_said[0] >= HEARTBEAT_SECONDS:
                say(f"  ... still working ({time.monotonic() - started:.0f} s)")

    threading.Thread(target=heartbeat, daemon=True).start()
    tail: list[str] = []
    for line in process.stdout:
        line = line.strip()
        tail = [*tail[-30:], line]
        if _SAID.match(line):
            say(f"  {line[:200]}")
    code = process.wait()
    done.set()
    return code, tail


def install(requirements: Path) -> int:
    started = time.monotonic()
    _out(f"Installing {requirements} into {sys.prefix}: {len(pinned(requirements))} pinned packages and what "
         "they need (first run only)...")
    code, tail = 1, []
    if uv := _uv():
        code, tail = _run([str(uv), "pip", "install", "--python", sys.executable, "-r", str(requirements)], started)
        if code:
            _out("\n".join(tail), sys.stderr)
            _out(f"uv failed (exit code {code}; its last lines are above): pip installs {requirements} instead, "
                 "with pip's own configuration (a mirror, a proxy's certificate)", sys.stderr)
    if code:
        code, tail = _run([sys.executable, "-m", "pip", "install", "--progress-bar", "off", "-r", str(requirements)],
                          started)
        if code:
            _out("\n".join(tail), sys.stderr)
            _out(f"pip failed (exit code {code}); its last lines are above", sys.stderr)
            return code
    _out(f"Installed {requirements} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(install(Path(sys.argv[1])))
