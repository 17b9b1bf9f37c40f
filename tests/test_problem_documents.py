"""Every domain error, wherever it is defined, has its HTTP status and renders as a problem document."""

import importlib
import inspect
import json
import pkgutil

import pytest

import chalicelib
from chalicelib import errors
from chalicelib.api.problems import PROBLEM_CONTENT_TYPE, STATUS_BY_CODE, problem_response


def domain_errors() -> list[type[errors.DomainError]]:
    """DomainError and its subclasses at any depth, from every module of chalicelib (all imported first)."""
    for module in pkgutil.walk_packages(chalicelib.__path__, "chalicelib."):
        importlib.import_module(module.name)
    found, unseen = [], [errors.DomainError]
    while unseen:
        error_class = unseen.pop()
        found.append(error_class)
        unseen += error_class.__subclasses__()
    return sorted(found, key=lambda error_class: f"{error_class.__module__}.{error_class.__qualname__}")


def an_instance(error_class: type[errors.DomainError]) -> errors.DomainError:
    """The error with a detail, and 1 for each keyword it requires (e.g. TooManyRequests' retry_after)."""
    required = {name: 1 for name, parameter in inspect.signature(error_class).parameters.items()
                if parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty}
    return error_class("what happened", **required)


DOMAIN_ERRORS = domain_errors()


def test_the_walk_finds_the_errors_of_other_modules_too():
    names = {f"{error_class.__module__}.{error_class.__name__}" for error_class in DOMAIN_ERRORS}
    assert {"chalicelib.errors.DomainError", "chalicelib.errors.TooManyRequests",
            "chalicelib.store.topups.NotPending"} <= names


@pytest.mark.parametrize("error_class", DOMAIN_ERRORS, ids=lambda error_class: error_class.__qualname__)
def test_each_domain_error_has_a_status_and_renders_as_a_problem(error_class):
    assert error_class.code in STATUS_BY_CODE, f"{error_class.__module__}.{error_class.__qualname__}: " \
        f"add {error_class.code!r} to STATUS_BY_CODE in chalicelib/api/problems.py"
    status = STATUS_BY_CODE[error_class.code]
    assert 400 <= status < 600
    response = problem_response(an_instance(error_class))
    problem = json.loads(response.body)
    assert response.status_code == problem["status"] == status
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert problem["code"] == error_class.code and problem["title"] == error_class.title
    assert problem["type"] == "urn:classpay:problem:" + error_class.code.lower().replace("_", "-")
    assert problem["detail"] == "what happened"


def test_every_status_is_of_a_code_some_domain_error_has():
    assert set(STATUS_BY_CODE) == {error_class.code for error_class in DOMAIN_ERRORS}
