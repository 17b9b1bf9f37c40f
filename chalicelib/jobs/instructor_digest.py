"""Daily (08:00 KST): one mail per instructor with activity in the last 24 hours (services/digest.py)."""

from datetime import datetime

from chalicelib.services import digest


def run(now: datetime) -> digest.DigestResult:
    return digest.send_digests(now)
