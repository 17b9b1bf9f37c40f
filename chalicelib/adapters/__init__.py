"""The outside world: Toss Payments (payments, payouts), SSM secrets and SES mail, and the fakes that stand
in for Toss on the local and test stages.

Each port's values and protocol are in `payments.py` and `payouts.py`; which adapter a stage uses is its
configuration, read in one place (`stage.py`). Adapters know nothing of the services, the store, the API or
the jobs: they take and return plain values and raise `chalicelib.errors`.
"""
