"""Daily (08:00 KST): one mail per instructor with activity in the last 24 hours (services/digest.py).

A run that could not send every digest fails after trying them all: EventBridge invokes the job
asynchronously, so Lambda runs it again (twice, minutes apart), and those mailed already are
skipped (one mail per instructor and KST day). `POST /admin/jobs/instructor_digest/run` answers 503.
"""

from datetime import datetime

from chalicelib import errors
from chalicelib.services import digest


def run(now: datetime) -> digest.DigestResult:
    result = digest.send_digests(now)
    if result.failed:
        raise errors.ServiceUnavailable(
            f"{result.failed} of {result.failed + result.sent + result.already_sent} digests could not be sent; "
            "run the job again (digests already sent are not sent twice)")
    return result
