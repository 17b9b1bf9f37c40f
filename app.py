"""classpay: wiring only. Blueprints, the authorizer, middleware, schedules; the rules live in chalicelib."""

import logging

from chalice import Rate

from chalicelib import clock
from chalicelib.api.admin import admin_api
from chalicelib.api.application import ClasspayApp
from chalicelib.api.auth import auth_api
from chalicelib.api.authorizer import authorizer_blueprint
from chalicelib.api.catalog import catalog_api
from chalicelib.api.dashboard import dashboard_api
from chalicelib.api.edge import http_middleware
from chalicelib.api.learning import learning_api
from chalicelib.api.meta import meta_api
from chalicelib.api.orders import orders_api
from chalicelib.api.questions import questions_api
from chalicelib.api.reconciliation import reconciliation_api
from chalicelib.api.reviews import reviews_api
from chalicelib.api.studio import studio_api
from chalicelib.api.wallet import wallet_api
from chalicelib.jobs import JOBS
from chalicelib.logs import configure as configure_logs

app = ClasspayApp(app_name="classpay")
configure_logs(app.log, logging.INFO)  # JSON lines with request and caller ids, secrets redacted

app.register_blueprint(authorizer_blueprint)
app.api.binary_types.append("application/pdf")  # certificates; clients send `Accept: application/pdf`
app.api.binary_types.append("image/png")  # the dashboard chart; clients send `Accept: image/png`
for blueprint in (meta_api, auth_api, catalog_api, studio_api, admin_api, wallet_api, orders_api, reconciliation_api,
                  learning_api, reviews_api, questions_api, dashboard_api):
    app.register_blueprint(blueprint)
app.register_middleware(http_middleware(app), "http")


@app.schedule(Rate(5, unit=Rate.MINUTES))
def scheduled_publishing(event):
    return JOBS["scheduled_publishing"].run(clock.now())


@app.schedule(Rate(5, unit=Rate.MINUTES))
def topup_expiry(event):
    return JOBS["topup_expiry"].run(clock.now())
