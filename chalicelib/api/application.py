"""The Chalice app class: Chalice, with the current request kept per thread.

Chalice keeps `current_request` (and `lambda_context`) on the app object.
`chalice local` serves requests on threads, and so do concurrent tests, so
one request could read another's caller and body. On Lambda (one request
per container at a time) this changes nothing.
"""

import threading

from chalice import Chalice


class ClasspayApp(Chalice):
    _per_thread = threading.local()

    @property
    def current_request(self):
        return getattr(self._per_thread, "current_request", None)

    @current_request.setter
    def current_request(self, request) -> None:
        self._per_thread.current_request = request

    @property
    def lambda_context(self):
        return getattr(self._per_thread, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, context) -> None:
        self._per_thread.lambda_context = context
