"""Every 5 minutes: publish the courses whose `publish_at` has come (Query on the `scheduled` index)."""

from datetime import datetime

from chalicelib.services import studio


def run(now: datetime) -> dict:
    return {"published": studio.publish_due(now)}
