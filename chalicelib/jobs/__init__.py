"""Bodies of scheduled and queue jobs: each takes `now` so a test or an admin run can move the clock."""
