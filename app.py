"""classpay: wiring only. Blueprints, the authorizer, middleware, schedules; the rules live in chalicelib."""

import logging
import os

from chalice import Cron, Rate

from chalicelib import clock
from chalicelib.api.admin import admin_api
from chalicelib.api.application import ClasspayApp
from chalicelib.api.auth import auth_api
from chalicelib.api.authorizer import authorizer_blueprint
from chalicelib.api.catalog import catalog_api
from chalicelib.api.checkouts import checkouts_api
from chalicelib.api.dashboard import dashboard_api
from chalicelib.api.edge import http_middleware
from chalicelib.api.learning import learning_api
from chalicelib.api.meta import meta_api
from chalicelib.api.orders import orders_api
from chalicelib.api.payouts import payouts_api
from chalicelib.api.questions import questions_api
from chalicelib.api.reconciliation import reconciliation_api
from chalicelib.api.reviews import reviews_api
from chalicelib.api.studio import studio_api
from chalicelib.api.tax import tax_api
from chalicelib.api.wallet import wallet_api
from chalicelib.api.webhooks import webhooks_api
from chalicelib.jobs import JOBS, json_safe
from chalicelib.logs import bound as bound_log
from chalicelib.logs import configure as configure_logs

app = ClasspayApp(app_name="classpay")
configure_logs(app.log, logging.INFO)  # JSON lines with request and caller ids, secrets redacted

app.register_blueprint(authorizer_blueprint)
app.api.binary_types.append("application/pdf")  # certificates; clients send `Accept: application/pdf`
app.api.binary_types.append("image/png")  # the dashboard chart; clients send `Accept: image/png`
for blueprint in (meta_api, auth_api, catalog_api, studio_api, admin_api, wallet_api, orders_api, checkouts_api,
                  reconciliation_api, learning_api, reviews_api, questions_api, payouts_api, dashboard_api,
                  webhooks_api, tax_api):
    app.register_blueprint(blueprint)
app.register_middleware(http_middleware(app), "http")


def _run_job(name: str) -> dict:
    with bound_log(job=name):
        return json_safe(JOBS[name].run(clock.now()))


# Schedules are UTC (EventBridge); the comments give Korea's time (UTC+9), where the business runs.

@app.schedule(Rate(5, unit=Rate.MINUTES))
def scheduled_publishing(event):
    return _run_job("scheduled_publishing")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def topup_expiry(event):
    return _run_job("topup_expiry")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def checkout_expiry(event):
    return _run_job("checkout_expiry")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def checkout_recovery(event):
    return _run_job("checkout_recovery")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def refund_retry(event):
    return _run_job("refund_retry")


@app.schedule(Cron(0, 15, "*", "*", "?", "*"))  # daily, 00:00 KST
def settlement(event):
    return _run_job("settlement")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def session_reminders(event):
    return _run_job("session_reminders")


@app.schedule(Cron(0, 23, "*", "*", "?", "*"))  # daily, 08:00 KST
def instructor_digest(event):
    return _run_job("instructor_digest")


@app.schedule(Cron(0, 18, "*", "*", "?", "*"))  # daily, 03:00 KST
def reconciliation(event):
    return _run_job("reconciliation")


@app.schedule(Cron(0, 1, "?", "*", "MON", "*"))  # weekly, Monday 10:00 KST: one message per instructor to pay
def payouts(event):
    return _run_job("payouts")


# The queue is named when the app is loaded (`chalice package` and `chalice local` load it with the
# stage's variables; infra/template/ refuses a queue no `*_QUEUE` of the stage names).
@app.on_sqs_message(queue=os.environ.get("PAYOUT_QUEUE", "PAYOUT_QUEUE-is-not-set"), batch_size=10)
def payout_worker(event):
    from chalicelib.jobs import payouts as payout_job  # deferred: 16 ms of cold start only this function needs

    with bound_log(job="payout_worker"):
        return payout_job.handle(record.to_dict() for record in event)


@app.on_sqs_message(queue=os.environ.get("WEBHOOK_QUEUE", "WEBHOOK_QUEUE-is-not-set"), batch_size=10)
def webhook_worker(event):
    from chalicelib.jobs import webhooks as webhook_job

    with bound_log(job="webhook_worker"):
        return webhook_job.handle(record.to_dict() for record in event)
