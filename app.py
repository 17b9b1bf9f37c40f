"""classpay: wiring only. Blueprints, the authorizer, middleware; the rules live in chalicelib."""

import logging

from chalice import Chalice

from chalicelib.api.auth import auth_api
from chalicelib.api.authorizer import authorizer_blueprint
from chalicelib.api.edge import http_middleware
from chalicelib.api.meta import meta_api
from chalicelib.logs import configure as configure_logs

app = Chalice(app_name="classpay")
configure_logs(app.log, logging.INFO)  # JSON lines with request and caller ids, secrets redacted

app.register_blueprint(authorizer_blueprint)
for blueprint in (meta_api, auth_api):
    app.register_blueprint(blueprint)
app.register_middleware(http_middleware(app), "http")
