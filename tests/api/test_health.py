"""Health, unknown routes, and the app shell."""

from conftest import error_of, pg


def test_health_reports_the_database_and_its_latency(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    db = body["checks"]["database"]
    assert db["status"] == "ok"
    assert isinstance(db["latencyMs"], int) and db["latencyMs"] >= 0
    assert body["checks"]["queue"]["depth"] >= 0


def test_unknown_api_route_gets_the_error_envelope(client):
    r = client.get("/api/does-not-exist")
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"
    r = client.post("/api/does-not-exist", json={})
    assert r.status_code == 404


def test_the_app_shell_is_served_with_a_strict_policy(client):
    for path in ("/", "/endpoints/123", "/some/client/route"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith("text/html")
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"


def test_assets_that_do_not_exist_are_404(client):
    assert client.get("/assets/nope.js").status_code == 404
    assert client.get("/assets/builtin_kore.conf").status_code == 404
    assert client.get("/assets/..%2Fkore.conf").status_code == 404


def warm_pools(server, n=40):
    """Concurrent requests, so each worker holds several connections."""
    import concurrent.futures
    import requests

    def one(_):
        return requests.post(server.url + "/api/auth/logout", verify=False,
                             headers={"Connection": "close"}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert set(pool.map(one, range(n))) == {204}


def test_health_is_503_while_the_database_is_down(server, client):
    warm_pools(server)
    pg("stop")
    try:
        r = client.get("/api/health")
        assert r.status_code == 503
        assert r.json()["checks"]["database"]["status"] == "down"
        assert r.headers["Retry-After"]
        # An API call that needs the database says so clearly.
        r = client.post("/api/auth/login", json={
            "email": "x@example.com", "password": "whatever-pass-1"})
        assert r.status_code == 503
        assert error_of(r)["code"] == "DATABASE_UNAVAILABLE"
    finally:
        pg("start")
    # Every pooled connection died with the old server; none of that
    # shows: the next requests find fresh connections by themselves.
    for _ in range(4):
        assert client.get("/api/health").status_code == 200
        assert client.post("/api/auth/logout").status_code == 204
