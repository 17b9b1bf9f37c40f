"""The baseline for the cold-start benchmark: a bare Chalice app importing boto3 and PynamoDB."""

import boto3  # noqa: F401
from chalice import Chalice
from pynamodb.models import Model  # noqa: F401

app = Chalice(app_name="bare")


@app.route("/")
def index():
    return {}
