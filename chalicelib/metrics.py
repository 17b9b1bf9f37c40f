"""Business metrics as CloudWatch Embedded Metric Format: one JSON line on stdout per data point.

On Lambda, CloudWatch Logs turns each line into a metric (no API call, no client, nothing
to import at cold start); locally it is just a log line. Services call `emit` when money
moves, e.g. `metrics.emit(metrics.ORDERS_PAID)` or
`metrics.emit(metrics.ORDER_REVENUE, order.total.amount, unit="None", Currency="KRW")`.

The names are constants so that the alarms in `infra/template/` watch what is emitted.
"""

import json
import os
import sys
import time

NAMESPACE = "classpay"

ORDERS_PAID = "OrdersPaid"
ORDER_REVENUE = "OrderRevenue"
REFUNDS = "Refunds"
REFUNDED_AMOUNT = "RefundedAmount"
PAYOUTS_PAID = "PayoutsPaid"
PAYOUTS_FAILED = "PayoutsFailed"
PAYOUT_AMOUNT = "PayoutAmount"
# Emitted by the reconciliation job: 1 when an invariant is broken. `ReconciliationFailureAlarm` watches it.
RECONCILIATION_FAILURES = "ReconciliationFailures"

UNITS = frozenset({"Count", "None", "Milliseconds", "Seconds", "Percent", "Bytes"})


def document(name: str, value: float = 1, unit: str = "Count", **dimensions: str) -> dict:
    """The EMF document for one data point; `Stage` is always a dimension."""
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {sorted(UNITS)}")
    dimensions = {"Stage": os.environ.get("STAGE", "unknown"), **dimensions}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [sorted(dimensions)],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        },
        **dimensions,
        name: value,
    }


def emit(name: str, value: float = 1, unit: str = "Count", **dimensions: str) -> None:
    """Record one data point of metric `name` (dimensions are strings, e.g. `Currency="KRW"`)."""
    sys.stdout.write(json.dumps(document(name, value, unit, **dimensions), separators=(",", ":")) + "\n")
    sys.stdout.flush()
