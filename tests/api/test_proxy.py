"""The capturing proxy: forwarding, limits and failures, and what each
call leaves in the capture."""

import base64
import concurrent.futures
import json
import os
import random
import signal
import socket
import time
import uuid

import pytest
import requests

from conftest import Client, error_of, pg


def make_endpoint(client, dest, **extra):
    body = {"name": "Proxied", "destinationUrl": dest}
    body.update(extra)
    r = client.post("/api/endpoints", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def ep(user, fakes):
    return make_endpoint(user, fakes["upstream"].url)


def proxy(server, ep, path="", method="GET", **kw):
    kw.setdefault("verify", False)
    kw.setdefault("timeout", 90)
    return requests.request(method, server.url + "/proxy/" + ep["id"] +
                            path, **kw)


def calls(client, ep, want, query="", timeout=10):
    """Waits until `want` calls are captured; returns them newest first."""
    deadline = time.time() + timeout
    while True:
        items = client.get("/api/endpoints/%s/calls?limit=200%s" %
                           (ep["id"], query)).json()["items"]
        if len(items) >= want or time.time() > deadline:
            return items
        time.sleep(0.05)


def call_detail(client, ep, call):
    r = client.get("/api/endpoints/%s/calls/%d" % (ep["id"], call["id"]))
    assert r.status_code == 200, r.text
    return r.json()


def count_captured(db, ep):
    return db.val("SELECT count(*) FROM api_calls WHERE endpoint_id = %s",
                  ep["id"])


# Forwarding

def test_get_with_query_reaches_the_upstream(server, ep):
    r = proxy(server, ep, "/echo/a/b?x=1&y=two%20words&x=3")
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "GET"
    assert body["path"] == "/echo/a/b"
    assert body["query"] == "x=1&y=two%20words&x=3"
    assert r.headers["Content-Security-Policy"] == "sandbox"
    assert r.headers["X-Request-Id"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE",
                                    "OPTIONS"])
def test_methods_and_bodies_pass_through(server, ep, method):
    data = b'{"hello": "world"}' if method in ("POST", "PUT",
                                              "PATCH") else None
    r = proxy(server, ep, "/echo", method=method, data=data,
              headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == method
    if data:
        assert base64.b64decode(body["body"]) == data


def test_head_passes_through(server, ep):
    r = proxy(server, ep, "/users", method="HEAD")
    assert r.status_code == 200
    assert r.content == b""


def test_binary_bodies_round_trip(server, ep, user):
    blob = bytes(random.Random(7).randbytes(70000))
    r = proxy(server, ep, "/echo", method="POST", data=blob,
              headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200
    assert base64.b64decode(r.json()["body"]) == blob
    r = proxy(server, ep, "/bytes/50000?seed=9")
    assert r.status_code == 200
    assert r.content == random.Random("9").randbytes(50000)
    got = calls(user, ep, 2)
    detail = call_detail(user, ep, got[0])
    assert detail["responseBodyEncoding"] == "base64"
    assert base64.b64decode(detail["responseBody"]) == r.content
    detail = call_detail(user, ep, got[1])
    assert detail["requestBodyEncoding"] == "base64"
    assert base64.b64decode(detail["requestBody"]) == blob


def test_upstream_status_and_headers_pass_through(server, ep):
    for code in (201, 204, 400, 404, 418, 429, 500, 503):
        r = proxy(server, ep, "/status/%d" % code)
        assert r.status_code == code
    r = proxy(server, ep, "/status/401")
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="upstream"'
    r = proxy(server, ep, "/set-cookie")
    assert "theme=dark" in r.headers["Set-Cookie"]


def test_redirects_are_returned_not_followed(server, ep):
    r = proxy(server, ep, "/redirect?to=http://169.254.169.254/",
              allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "http://169.254.169.254/"


def test_forwarded_headers_and_what_is_never_forwarded(server, ep, user):
    r = proxy(server, ep, "/echo", headers={
        "Authorization": "Bearer upstream-token",
        "Cookie": "sid=%s; theme=dark" % user.http.cookies.get("sid"),
        "X-CSRF-Token": user.csrf,
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "should-not-pass",
        "X-Custom": "kept",
        "X-Forwarded-For": "203.0.113.9"})
    h = {k.lower(): v for k, v in r.json()["headers"].items()}
    assert h["authorization"] == "Bearer upstream-token"
    assert h["cookie"] == "theme=dark"
    assert "x-csrf-token" not in h
    assert "x-hop" not in h
    assert h["x-custom"] == "kept"
    assert h["x-forwarded-for"].startswith("203.0.113.9, ")
    assert h["x-forwarded-proto"] == "https"
    assert h["x-forwarded-host"].startswith("127.0.0.1")


def test_upstream_connections_are_reused(server, ep, fakes):
    fakes["upstream"].control("POST", "reset")
    s = requests.Session()
    for _ in range(20):
        assert s.get(server.url + "/proxy/%s/health" % ep["id"],
                     verify=False).status_code == 200
    stats = fakes["upstream"].control("GET", "stats")
    assert stats["requests"] >= 20
    assert stats["connections"] <= 4


# Refusals and failures

def test_unknown_and_malformed_endpoints_are_404(server):
    r = requests.get(server.url + "/proxy/" + str(uuid.uuid4()) + "/x",
                     verify=False)
    assert r.status_code == 404
    assert error_of(r)["code"] == "ENDPOINT_NOT_FOUND"
    for bad in ("/proxy/abc/x", "/proxy/", "/proxy/%s" % ("z" * 36)):
        assert requests.get(server.url + bad,
                            verify=False).status_code == 404


def test_inactive_endpoint_is_409_at_once(server, ep, user, db):
    assert proxy(server, ep, "/health").status_code == 200
    db.val("UPDATE endpoints SET status = 'PROCESSING' WHERE id = %s "
           "RETURNING 1", ep["id"])
    time.sleep(0.2)
    r = proxy(server, ep, "/health")
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "ENDPOINT_NOT_ACTIVE"
    assert "PROCESSING" in err["message"]
    db.val("UPDATE endpoints SET status = 'ACTIVE' WHERE id = %s "
           "RETURNING 1", ep["id"])
    time.sleep(0.2)
    assert proxy(server, ep, "/health").status_code == 200


def test_another_users_endpoint_still_proxies_but_its_calls_stay_private(
        server, ep, user):
    stranger = Client(server.url).register()
    r = requests.get(server.url + "/proxy/%s/health" % ep["id"],
                     cookies=stranger.http.cookies, verify=False)
    assert r.status_code == 200
    r = stranger.get("/api/endpoints/%s/calls" % ep["id"])
    assert r.status_code == 404


def test_body_over_the_limit_is_413_and_captured(spawn, fakes, db):
    s = spawn(PROXY_BODY_MAX=100000)
    c = Client(s.url).register()
    e = make_endpoint(c, fakes["upstream"].url)
    r = requests.post(s.url + "/proxy/%s/echo" % e["id"],
                      data=b"x" * 100001, verify=False)
    assert r.status_code == 413
    assert error_of(r)["code"] == "TOO_LARGE"
    got = calls(c, e, 1)
    assert got[0]["error"] and "larger" in got[0]["error"]
    assert got[0]["requestSize"] == 100001
    r = requests.post(s.url + "/proxy/%s/echo" % e["id"],
                      data=b"x" * 100000, verify=False)
    assert r.status_code == 200


def test_large_bodies_within_the_limit_pass(server, ep, user):
    blob = os.urandom(5 * 1024 * 1024)
    r = proxy(server, ep, "/echo", method="PUT", data=blob)
    assert r.status_code == 200
    assert r.json()["bodyLength"] == len(blob)
    assert base64.b64decode(r.json()["body"]) == blob
    # Kore spooled this body to disk; its size is still the real one.
    c = calls(user, ep, 1)[0]
    assert c["requestSize"] == len(blob) and c["requestTruncated"]
    r = proxy(server, ep, "/large/%d" % (3 * 1024 * 1024))
    assert r.status_code == 200 and len(r.content) == 3 * 1024 * 1024


def test_upstream_timeout_is_504_and_captured(spawn, fakes):
    s = spawn(PROXY_TIMEOUT_SECONDS=1)
    c = Client(s.url).register()
    e = make_endpoint(c, fakes["upstream"].url)
    r = requests.get(s.url + "/proxy/%s/delay/4000" % e["id"],
                     verify=False, timeout=30)
    assert r.status_code == 504
    assert error_of(r)["code"] == "UPSTREAM_TIMEOUT"
    got = calls(c, e, 1)
    assert got[0]["statusCode"] is None
    assert "1 seconds" in got[0]["error"]


def test_unreachable_upstream_is_502_and_captured(user, server):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    e = make_endpoint(user, "http://127.0.0.1:%d" % port)
    r = requests.get(server.url + "/proxy/%s/anything" % e["id"],
                     verify=False)
    assert r.status_code == 502
    assert error_of(r)["code"] == "UPSTREAM_UNREACHABLE"
    got = calls(user, e, 1)
    assert got[0]["error"].startswith("the upstream could not be reached")


def test_dropped_connection_is_502(server, ep):
    r = proxy(server, ep, "/close")
    assert r.status_code == 502


def test_private_destination_is_refused_at_connect_time(spawn, fakes, db):
    s = spawn(ALLOW_PRIVATE_DESTINATIONS="0")
    c = Client(s.url).register()
    # Written behind the API's back, as if DNS had changed since creation.
    eid = db.val("INSERT INTO endpoints (user_id, name, destination_url) "
                 "VALUES (%s, 'sneaky', %s) RETURNING id::text",
                 c.user["id"], fakes["upstream"].url)
    fakes["upstream"].control("POST", "reset")
    r = requests.get(s.url + "/proxy/%s/echo" % eid, verify=False)
    assert r.status_code == 502
    assert error_of(r)["code"] == "DESTINATION_REFUSED"
    assert fakes["upstream"].control("GET", "stats")["requests"] == 0


# Capture contents

def test_calls_are_captured_with_headers_bodies_and_timing(server, ep,
                                                           user):
    proxy(server, ep, "/users/3/orders?status=paid&limit=2",
          headers={"Accept": "application/json", "X-Trace": "t-1"})
    got = calls(user, ep, 1)
    c = got[0]
    assert c["method"] == "GET"
    assert c["path"] == "/users/3/orders"
    assert c["query"] == "status=paid&limit=2"
    assert c["statusCode"] == 200
    assert c["durationMs"] >= 0
    assert c["responseContentType"].startswith("application/json")
    d = call_detail(user, ep, c)
    assert d["requestHeaders"]["x-trace"] == "t-1"
    assert d["responseHeaders"]["content-type"].startswith(
        "application/json")
    assert d["responseBodyEncoding"] == "utf8"
    assert isinstance(json.loads(d["responseBody"]), (list, dict))
    assert user.get("/api/endpoints/" + ep["id"]).json()["callCount"] == 1


def test_secrets_are_redacted_before_storage(server, ep, user, db):
    proxy(server, ep, "/login?api_key=abc123&page=2", method="POST",
          data="username=alice&password=wonderland",
          headers={"Content-Type": "application/x-www-form-urlencoded",
                   "Authorization": "Bearer live-token-123",
                   "X-Api-Key": "k-999", "Cookie": "sess=cookie-value"})
    proxy(server, ep, "/echo", method="POST",
          json={"user": "bob", "password": "p@ss", "card": {"cvv": "123"},
                "profile": {"access_token": "tok"}})
    got = calls(user, ep, 2)
    form, js = call_detail(user, ep, got[1]), call_detail(user, ep, got[0])
    assert form["redacted"] is True
    assert form["requestHeaders"]["authorization"] == "Bearer [REDACTED]"
    assert form["requestHeaders"]["x-api-key"] == "[REDACTED]"
    assert "cookie-value" not in json.dumps(form["requestHeaders"])
    assert "wonderland" not in form["requestBody"]
    assert "username=alice" in form["requestBody"]
    assert "abc123" not in form["query"] and "page=2" in form["query"]
    body = json.loads(js["requestBody"])
    assert body["user"] == "bob"
    assert body["password"] == "[REDACTED]"
    assert body["profile"]["access_token"] == "[REDACTED]"
    raw = db.val("SELECT string_agg(convert_from(request_body, 'UTF8') || "
                 "request_headers::text || coalesce(query, ''), '') "
                 "FROM api_calls WHERE endpoint_id = %s", ep["id"])
    for secret in ("wonderland", "live-token-123", "k-999", "abc123",
                   "p@ss", "tok\""):
        assert secret not in raw


def test_owner_can_opt_in_to_keep_secrets(server, user, fakes):
    e = make_endpoint(user, fakes["upstream"].url, captureSecrets=True)
    proxy(server, e, "/echo?token=visible", method="POST",
          json={"password": "kept"},
          headers={"Authorization": "Bearer kept-token"})
    d = call_detail(user, e, calls(user, e, 1)[0])
    assert d["redacted"] is False
    assert d["requestHeaders"]["authorization"] == "Bearer kept-token"
    assert json.loads(d["requestBody"])["password"] == "kept"
    assert d["query"] == "token=visible"


def test_our_session_cookie_is_never_stored(server, ep, user, db):
    sid = user.http.cookies.get("sid")
    requests.get(server.url + "/proxy/%s/echo" % ep["id"],
                 cookies={"sid": sid}, verify=False)
    calls(user, ep, 1)
    raw = db.val("SELECT request_headers::text FROM api_calls "
                 "WHERE endpoint_id = %s", ep["id"])
    assert sid not in raw


def test_bodies_over_the_capture_limit_are_cut_and_flagged(server, ep,
                                                           user):
    r = proxy(server, ep, "/large/%d" % (600 * 1024))
    assert len(r.content) == 600 * 1024
    c = calls(user, ep, 1)[0]
    assert c["responseTruncated"] is True
    assert c["responseSize"] == 600 * 1024
    d = call_detail(user, ep, c)
    assert len(d["responseBody"]) == 256 * 1024


def test_calls_page_and_filter(server, ep, user):
    for path in ("/users", "/users/1", "/status/404", "/status/500",
                 "/products"):
        proxy(server, ep, path)
    proxy(server, ep, "/echo", method="POST", data=b"{}")
    assert len(calls(user, ep, 6)) == 6
    q = lambda s: [c["path"] for c in user.get(
        "/api/endpoints/%s/calls?%s" % (ep["id"], s)).json()["items"]]
    assert q("method=POST") == ["/echo"]
    assert q("status=404") == ["/status/404"]
    assert sorted(q("status=5xx")) == ["/status/500"]
    assert sorted(q("path=/users")) == ["/users", "/users/1"]
    seen, cursor = [], None
    while True:
        body = user.get("/api/endpoints/%s/calls?limit=4%s" % (
            ep["id"], "&cursor=" + cursor if cursor else "")).json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert len(seen) == 6 and seen == sorted(seen, reverse=True)
    for bad in ("status=abc", "status=6xx", "method=G3T", "limit=500",
                "cursor=x1"):
        r = user.get("/api/endpoints/%s/calls?%s" % (ep["id"], bad))
        assert r.status_code in (400, 422), bad


def test_call_detail_of_a_missing_call_is_404(user, ep):
    assert user.get("/api/endpoints/%s/calls/999999999" %
                    ep["id"]).status_code == 404
    assert user.get("/api/endpoints/%s/calls/abc" %
                    ep["id"]).status_code == 400


def test_stats_sum_up_the_traffic(server, ep, user):
    for path in ("/users/1", "/users/2", "/users/3", "/status/500",
                 "/products"):
        proxy(server, ep, path)
    calls(user, ep, 5)
    s = user.get("/api/endpoints/%s/stats" % ep["id"]).json()
    assert s["totalCalls"] == 5 and s["windowCalls"] == 5
    assert s["errorCalls"] == 1
    assert s["bucket"] == "minute"
    assert sum(b["count"] for b in s["callsOverTime"]) == 5
    mix = {m["status"]: m["count"] for m in s["statusMix"]}
    assert mix == {200: 4, 500: 1}
    assert s["latency"]["p99"] >= s["latency"]["p50"] >= 0
    ops = {(o["method"], o["path"]): o["count"] for o in s["operations"]}
    assert ops[("GET", "/users/{id}")] == 3
    r = user.get("/api/endpoints/%s/stats?window=1y" % ep["id"])
    assert r.status_code == 422


# Resilience

def test_calls_made_while_the_database_is_down_are_all_captured(
        server, ep, user, db):
    assert proxy(server, ep, "/health").status_code == 200
    pg("stop")
    try:
        codes = [proxy(server, ep, "/users/%d" % (i % 20 + 1)).status_code
                 for i in range(40)]
    finally:
        pg("start")
    assert codes == [200] * 40
    db.reconnect()
    deadline = time.time() + 30
    while count_captured(db, ep) < 41 and time.time() < deadline:
        time.sleep(0.2)
    assert count_captured(db, ep) == 41


def test_sigterm_under_load_keeps_every_completed_call(spawn, fakes, db):
    s = spawn()
    c = Client(s.url).register()
    e = make_endpoint(c, fakes["upstream"].url)
    done = []

    def worker(n):
        sess = requests.Session()
        for i in range(n):
            try:
                r = sess.get(s.url + "/proxy/%s/users/%d" % (e["id"],
                                                             i % 20 + 1),
                             verify=False, timeout=10)
                if r.status_code == 200:
                    done.append(1)
            except requests.RequestException:
                return

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(worker, 400) for _ in range(8)]
        time.sleep(1.5)
        s.stop(signal.SIGTERM)
        for f in futures:
            f.result()
    assert len(done) > 50
    captured = count_captured(db, e)
    assert captured >= len(done)
    assert captured <= 8 * 400
    assert "capture.shutdown" in s.log()
