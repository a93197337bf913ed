"""Rate limits: per user (per address when signed out) on the API, a
stricter one on sign-in routes, and per endpoint on the proxy; counted
across workers and across instances sharing one database."""

import concurrent.futures
import time

import requests

from conftest import Client, error_of


def fresh_window(margin=25):
    """Waits until enough of the current minute is left for a burst."""
    while time.time() % 60 > 60 - margin:
        time.sleep(0.5)


def burst(url, n, threads=8, **kw):
    """n requests from `threads` threads, each on new connections so that
    they spread over the workers; returns the status codes."""
    kw.setdefault("verify", False)
    kw.setdefault("timeout", 30)
    headers = dict(kw.pop("headers", {}))
    headers["Connection"] = "close"

    def one(_):
        return requests.get(url, headers=headers, **kw)

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def test_api_limit_per_user_holds_across_workers(spawn):
    s = spawn(RATE_LIMIT_API=60)
    c = Client(s.url).register()
    fresh_window()
    rs = burst(s.url + "/api/credits", 90, cookies=c.http.cookies,
               headers={"X-Forwarded-For": c.ip})
    codes = [r.status_code for r in rs]
    assert codes.count(200) + codes.count(429) == 90
    # The registration came from the same address, not the same user.
    assert codes.count(200) == 60
    limited = [r for r in rs if r.status_code == 429][0]
    assert error_of(limited)["code"] == "RATE_LIMITED"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    ok = [r for r in rs if r.status_code == 200][0]
    assert ok.headers["X-RateLimit-Limit"] == "60"


def test_api_limit_is_shared_by_two_instances(spawn):
    a = spawn(RATE_LIMIT_API=50)
    b = spawn(RATE_LIMIT_API=50)
    c = Client(a.url).register()
    fresh_window()
    rs = burst(a.url + "/api/credits", 40, cookies=c.http.cookies) + \
        burst(b.url + "/api/credits", 40, cookies=c.http.cookies)
    assert [r.status_code for r in rs].count(200) == 50


def test_signed_out_requests_are_limited_per_address(spawn):
    s = spawn(RATE_LIMIT_API=30)
    fresh_window()
    rs = [requests.post(s.url + "/api/auth/logout", verify=False,
                        headers={"X-Forwarded-For": "10.9.9.9"})
          for _ in range(35)]
    assert [r.status_code for r in rs].count(204) == 30
    other = requests.post(s.url + "/api/auth/logout", verify=False,
                          headers={"X-Forwarded-For": "10.9.9.10"})
    assert other.status_code == 204


def test_sign_in_routes_have_a_stricter_limit(spawn):
    s = spawn(RATE_LIMIT_AUTH=5)
    fresh_window()
    codes = [requests.post(s.url + "/api/auth/login", verify=False,
                           headers={"X-Forwarded-For": "10.7.7.7"},
                           json={"email": "nobody@example.com",
                                 "password": "x" * 12}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429, 429]


def test_health_is_never_limited(spawn):
    s = spawn(RATE_LIMIT_API=3)
    codes = [requests.get(s.url + "/api/health", verify=False).status_code
             for _ in range(10)]
    assert codes == [200] * 10


def test_proxy_limit_per_endpoint_across_workers(spawn, fakes):
    s = spawn(PROXY_RATE_LIMIT=40)
    c = Client(s.url).register()
    ep = c.post("/api/endpoints", json={
        "name": "limited", "destinationUrl": fakes["upstream"].url}).json()
    other = c.post("/api/endpoints", json={
        "name": "other", "destinationUrl": fakes["upstream"].url}).json()
    fresh_window()
    rs = burst(s.url + "/proxy/%s/health" % ep["id"], 60)
    codes = [r.status_code for r in rs]
    assert codes.count(200) == 40 and codes.count(429) == 20
    limited = [r for r in rs if r.status_code == 429][0]
    assert error_of(limited)["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) >= 1
    # Each endpoint has its own allowance.
    assert requests.get(s.url + "/proxy/%s/health" % other["id"],
                        verify=False).status_code == 200
