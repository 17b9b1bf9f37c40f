"""The tests' HTTP client: JSON calls and accounts through the API, as a client would make them."""

import itertools
import json
import os

PASSWORD = "Classpay-test-1"
_serial = itertools.count()


class Api:
    """A thin JSON client over `chalice.test.Client`."""

    def __init__(self, http):
        self.http = http

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        sent = {"Content-Type": "application/json"} if (body is not None or raw is not None) else {}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        return self.http.request(method, path, headers=sent, body=payload)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, body=body, **kwargs)

    def sign_up(self, roles=("learner",), name="Test User"):
        """A new account; returns (email, user_id)."""
        email = f"user{next(_serial)}-{os.getpid()}@classpay.test"
        response = self.post("/auth/signup", {"email": email, "password": PASSWORD, "name": name, "roles": list(roles)})
        assert response.status_code == 202, response.body  # the same answer for an email with an account
        # the answer carries no user id (it would tell a new account apart); an operator's look-up gives it
        import boto3

        user = boto3.client("cognito-idp").admin_get_user(UserPoolId=os.environ["USER_POOL_ID"], Username=email)
        return email, next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")

    def log_in(self, email, password=PASSWORD):
        response = self.post("/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.body
        return response.json_body

    def token_for(self, roles=("learner",), name="Test User"):
        email, _ = self.sign_up(roles, name)
        return self.log_in(email)["access_token"]

    def admin_token(self):
        """A new account in the `admins` group (operators add admins by hand; so do we)."""
        import boto3

        email, _ = self.sign_up(("learner",), "Admin")
        boto3.client("cognito-idp").admin_add_user_to_group(
            UserPoolId=os.environ["USER_POOL_ID"], Username=email, GroupName="admins")
        return self.log_in(email)["access_token"]
