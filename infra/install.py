"""Installs a requirements file into this virtualenv, saying what it is doing (the Makefile's stamps call it).

    .venv/bin/python -m infra.install requirements-run.txt

pip's own output is either silent (`--quiet`) or pages of it; this prints one line per package as pip
resolves it, the count it then installs, and a line every few seconds while pip is busy without a word
(unpacking and byte-compiling a large wheel), so a first `make run` is never silent for long.
Standard library only: it runs before anything is installed.
"""

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HEARTBEAT_SECONDS = 5
_COLLECTING = re.compile(r"^Collecting ([A-Za-z0-9_.\-]+)")
_INSTALLING = re.compile(r"^Installing collected packages: (.*)$")
_INSTALLED = re.compile(r"^Successfully installed (.*)$")


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


def install(requirements: Path) -> int:
    started = time.monotonic()
    _out(f"Installing {requirements} into {sys.prefix}: {len(pinned(requirements))} pinned packages and what "
         "they need (first run only)...")
    process = subprocess.Popen(
        [sys.executable, "-m", "pip", "install", "--progress-bar", "off", "-r", str(requirements)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
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
    collected = 0
    tail: list[str] = []
    for line in process.stdout:
        line = line.rstrip()
        tail = [*tail[-30:], line]
        if match := _COLLECTING.match(line):
            collected += 1
            say(f"  [{collected}] {match.group(1)}")
        elif match := _INSTALLING.match(line):
            say(f"  installing {len(match.group(1).split(', '))} packages...")
        elif match := _INSTALLED.match(line):
            say(f"  installed {len(match.group(1).split())} packages")
    code = process.wait()
    done.set()
    if code:
        _out("\n".join(tail), sys.stderr)
        _out(f"pip failed (exit code {code}); its last lines are above", sys.stderr)
        return code
    _out(f"Installed {requirements} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(install(Path(sys.argv[1])))
