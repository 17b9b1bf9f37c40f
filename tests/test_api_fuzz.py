"""Schemathesis attacks the running API from outside: `chalice local` on an emulated AWS, as `make run` serves it.

Every check (server errors, undocumented statuses, content types, response
schema conformance, negative and positive data, auth, ...) as the demo
learner and the demo instructor, a bounded number of examples per operation
(`make fuzz` runs for long). See `infra/fuzz.py` for how the checks are tuned.
"""

import os

import pytest

from infra.fuzz import fuzz

pytestmark = pytest.mark.starts_first  # the longest module of make test: started while the others run

MOTO_PORT = int(os.environ.get("FUZZ_MOTO_PORT", "5803"))
API_PORT = int(os.environ.get("FUZZ_API_PORT", "8803"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))


def test_the_fuzzer_finds_no_server_error_and_no_undocumented_answer(capsys):
    status = fuzz(MOTO_PORT, API_PORT, examples=EXAMPLES)
    report = capsys.readouterr().out
    assert status == 0, report[-20_000:]
