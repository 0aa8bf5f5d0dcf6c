"""The sign-in throttle and the cookie's https test (pure: no database, no network)."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from glassgate.api.auth import check_csrf, is_https
from glassgate.api.problems import Problem
from glassgate.api.session import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_free_attempts_then_a_lockout_that_doubles() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=3, base_lockout_s=30, max_lockout_s=100, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("bob@example.com") == 0
        throttle.failed("bob@example.com")
    assert throttle.retry_after("bob@example.com") == 0, "three free failures"
    throttle.failed("BOB@example.com ")
    assert throttle.retry_after("bob@example.com") == 30
    clock.now += 30
    assert throttle.retry_after("bob@example.com") == 0
    throttle.failed("bob@example.com")
    assert throttle.retry_after("bob@example.com") == 60
    clock.now += 60
    throttle.failed("bob@example.com")
    assert throttle.retry_after("bob@example.com") == 100, "capped"


def test_success_and_time_forget_the_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=1, forget_after_s=600, clock=clock)
    throttle.failed("a@example.com")
    throttle.succeeded("a@example.com")
    throttle.failed("a@example.com")
    assert throttle.retry_after("a@example.com") == 0, "counting started again after the success"
    clock.now += 601
    throttle.failed("a@example.com")
    assert throttle.retry_after("a@example.com") == 0, "an old failure no longer counts"


def test_memory_is_bounded_and_the_stalest_email_goes_first() -> None:
    clock = Clock()
    throttle = LoginThrottle(free_attempts=0, max_tracked=2, clock=clock)
    throttle.failed("old@example.com")
    throttle.failed("target@example.com")
    throttle.failed("old@example.com")  # now the most recent
    throttle.failed("new@example.com")
    assert throttle.retry_after("target@example.com") == 0
    assert throttle.retry_after("old@example.com") > 0 and throttle.retry_after("new@example.com") > 0


def request(scheme: str = "http", method: str = "GET", headers: dict[str, str] | None = None) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    scope = {"type": "http", "scheme": scheme, "method": method, "path": "/", "headers": raw, "server": ("h", 80)}
    return Request(scope)


def test_https_directly_or_behind_a_tls_proxy() -> None:
    assert is_https(request("https"))
    assert is_https(request(headers={"X-Forwarded-Proto": "https"}))
    assert is_https(request(headers={"X-Forwarded-Proto": "HTTPS, http"}))
    assert not is_https(request())
    assert not is_https(request(headers={"X-Forwarded-Proto": "http"}))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_need_the_csrf_header(method: str) -> None:
    with pytest.raises(Problem) as refused:
        check_csrf(request(method=method))
    assert refused.value.status == 403
    with pytest.raises(Problem):
        check_csrf(request(method=method, headers={"X-Glassgate-CSRF": "0"}))
    check_csrf(request(method=method, headers={"X-Glassgate-CSRF": "1"}))
    check_csrf(request(method="GET"))
