"""The app on moto's in-process mock (`mock_aws`), for the tests and the in-process benchmarks.

moto's in-process mock answers AWS URLs only when they are fetched through botocore or `requests`
(it hooks requests through `responses`); the app fetches its few outbound URLs with urllib3
(`chalicelib.http`). `route_aws_urls_through_moto()` sends the app's AWS URLs (Cognito's JWKS)
through requests, so moto answers them; every other URL (the Toss stubs on 127.0.0.1) still goes
through urllib3, as in production.
"""

import functools
from urllib.parse import urlsplit

from chalicelib import http as app_http


class _AwsUrlsThroughMoto:
    def __init__(self, pool):
        self.pool = pool

    def request(self, method, url, body=None, headers=None, timeout=None, **options):
        if not (urlsplit(url).hostname or "").endswith(".amazonaws.com"):
            return self.pool.request(method, url, body=body, headers=headers, timeout=timeout, **options)
        import requests

        answer = requests.request(method, url, data=body, headers=headers, timeout=timeout)
        return type("Answer", (), {"status": answer.status_code, "data": answer.content})


def route_aws_urls_through_moto() -> None:
    """Once per process, before the first request (the pool is cached)."""
    if not isinstance(app_http._pool(), _AwsUrlsThroughMoto):
        app_http._pool = functools.cache(functools.partial(_AwsUrlsThroughMoto, app_http._pool()))
