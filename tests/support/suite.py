"""What a run of the suite knows about itself."""

import pytest

FULL_RUN = pytest.StashKey[bool]()  # the run collected the whole suite, deselected nothing and passed
