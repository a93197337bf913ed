"""Endpoints: creation paid in credits, destination validation, listing,
renaming, deletion, and what other users can see."""

import concurrent.futures
import uuid

import pytest

from conftest import Client, error_of


def create(client, dest, name="Test API", **extra):
    body = {"name": name, "destinationUrl": dest}
    body.update(extra)
    return client.post("/api/endpoints", json=body)


@pytest.fixture
def upstream_url(fakes):
    return fakes["upstream"].url


def test_create_spends_25_credits_and_returns_the_proxy_url(user, server,
                                                            upstream_url,
                                                            db):
    r = create(user, upstream_url + "/v1")
    assert r.status_code == 201, r.text
    ep = r.json()
    assert ep["status"] == "ACTIVE"
    assert ep["balance"] == 75
    assert ep["destinationUrl"] == upstream_url + "/v1"
    assert ep["proxyUrl"] == server.url + "/proxy/" + ep["id"]
    assert ep["callCount"] == 0 and ep["captureSecrets"] is False
    assert user.get("/api/credits").json()["balance"] == 75
    row = db.one("SELECT amount, kind, reference FROM credit_transactions "
                 "WHERE user_id = %s AND kind = 'ENDPOINT_CREATE'",
                 user.user["id"])
    assert row == {"amount": -25, "kind": "ENDPOINT_CREATE",
                   "reference": ep["id"]}
    assert db.val("SELECT count(*) FROM audit_logs WHERE target_id = %s "
                  "AND action = 'endpoint.create'", ep["id"]) == 1


def test_create_with_too_few_credits_is_402_and_changes_nothing(
        user, upstream_url, db):
    db.val("SELECT credits_apply(%s, -90, 'ADMIN_ADJUST', 'test', NULL)",
           user.user["id"])
    r = create(user, upstream_url)
    assert r.status_code == 402
    assert error_of(r)["code"] == "INSUFFICIENT_CREDITS"
    assert "25" in error_of(r)["message"]
    assert db.val("SELECT count(*) FROM endpoints WHERE user_id = %s",
                  user.user["id"]) == 0
    assert user.get("/api/credits").json()["balance"] == 10


def test_concurrent_creation_never_overspends(server, upstream_url, db):
    c = Client(server.url).register()

    def one(i):
        return create(c, upstream_url, name="ep-%d" % i).status_code

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(one, range(12)))
    assert codes.count(201) == 4
    assert codes.count(402) == 8
    assert c.get("/api/credits").json()["balance"] == 0
    assert db.val("SELECT count(*) FROM endpoints WHERE user_id = %s",
                  c.user["id"]) == 4
    assert db.val("SELECT sum(amount) FROM credit_transactions "
                  "WHERE user_id = %s", c.user["id"]) == 0


@pytest.mark.parametrize("body,code", [
    ({"destinationUrl": "http://127.0.0.1:1"}, 422),
    ({"name": "x"}, 422),
    ({"name": 5, "destinationUrl": "http://127.0.0.1:1"}, 422),
    ({"name": "x", "destinationUrl": "http://127.0.0.1:1",
      "captureSecrets": "yes"}, 422),
    ({"name": "x" * 101, "destinationUrl": "http://127.0.0.1:1"}, 422),
    ({"name": "  ", "destinationUrl": "http://127.0.0.1:1"}, 422),
    ({"name": "x", "destinationUrl": "http://127.0.0.1:1", "owner": "me"},
     422),
    ({"name": "x", "destinationUrl": "ftp://127.0.0.1/"}, 422),
    ({"name": "x", "destinationUrl": "http://user:pw@127.0.0.1/"}, 422),
    ({"name": "x", "destinationUrl": "not a url"}, 422),
    ({"name": "x", "destinationUrl": "http://127.0.0.1/?q=1"}, 422),
])
def test_create_refuses_bad_input(user, db, body, code):
    r = user.post("/api/endpoints", json=body)
    assert r.status_code == code, r.text
    error_of(r)
    assert db.val("SELECT count(*) FROM endpoints WHERE user_id = %s",
                  user.user["id"]) == 0
    assert user.get("/api/credits").json()["balance"] == 100


SSRF_PAYLOADS = [
    "http://127.0.0.1/", "http://localhost/", "http://2130706433/",
    "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://127.1/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.5/",
    "http://172.16.3.4/", "http://192.168.1.1/", "http://169.254.169.254/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://224.0.0.1/",
    "http://255.255.255.255/", "http://[fd00::1]/", "http://[fe80::1]/",
    "http://[64:ff9b::7f00:1]/", "http://192.0.2.1/", "http://198.51.100.7/",
    "http://metadata.google.internal/", "https://10.1.1.1:8443/admin",
]


def test_private_destinations_are_refused_without_the_test_flag(spawn, db):
    s = spawn(ALLOW_PRIVATE_DESTINATIONS="0")
    c = Client(s.url).register()
    for url in SSRF_PAYLOADS:
        r = create(c, url)
        assert r.status_code == 422, url
        err = error_of(r)
        assert err["code"] == "INVALID_DESTINATION"
        assert "not allowed" in err["message"], err
    assert c.get("/api/credits").json()["balance"] == 100
    assert db.val("SELECT count(*) FROM endpoints WHERE user_id = %s",
                  c.user["id"]) == 0


def test_unresolvable_names_are_refused(user):
    r = create(user, "http://no-such-host.invalid/")
    assert r.status_code == 422
    assert error_of(r)["code"] == "INVALID_DESTINATION"


def test_list_pages_newest_first(user, upstream_url, db):
    db.val("SELECT credits_apply(%s, 200, 'ADMIN_ADJUST', 'test', NULL)",
           user.user["id"])
    made = [create(user, upstream_url, name="ep-%d" % i).json()["id"]
            for i in range(5)]
    seen, cursor = [], None
    while True:
        path = "/api/endpoints?limit=2" + ("&cursor=" + cursor
                                            if cursor else "")
        body = user.get(path).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))


def test_list_refuses_a_forged_cursor(user):
    for cur in ("abc", "2026-01-01T00:00:00.000000Z_nope",
                "x" * 64, "1;drop"):
        r = user.get("/api/endpoints?cursor=" + cur)
        assert r.status_code == 400, cur


def test_get_rename_and_capture_setting(user, upstream_url):
    ep = create(user, upstream_url).json()
    r = user.get("/api/endpoints/" + ep["id"])
    assert r.status_code == 200 and r.json()["name"] == "Test API"
    r = user.patch("/api/endpoints/" + ep["id"],
                   json={"name": "Renamed", "captureSecrets": True})
    assert r.status_code == 200
    assert r.json()["name"] == "Renamed"
    assert r.json()["captureSecrets"] is True
    assert user.get("/api/endpoints/" + ep["id"]).json()["name"] == \
        "Renamed"


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": 3}, {"captureSecrets": 1},
    {"destinationUrl": "http://127.0.0.1:9/"}, {"status": "ACTIVE"},
])
def test_patch_refuses_bad_input(user, upstream_url, body):
    ep = create(user, upstream_url).json()
    r = user.patch("/api/endpoints/" + ep["id"], json=body)
    assert r.status_code == 422, body
    assert user.get("/api/endpoints/" + ep["id"]).json()["name"] == \
        "Test API"


def test_delete_removes_the_endpoint_and_its_calls(user, upstream_url, db):
    ep = create(user, upstream_url).json()
    db.val("INSERT INTO api_calls (endpoint_id, method, path) "
           "VALUES (%s, 'GET', '/x') RETURNING 1", ep["id"])
    r = user.delete("/api/endpoints/" + ep["id"])
    assert r.status_code == 204
    assert user.get("/api/endpoints/" + ep["id"]).status_code == 404
    assert db.val("SELECT count(*) FROM api_calls WHERE endpoint_id = %s",
                  ep["id"]) == 0
    assert user.delete("/api/endpoints/" + ep["id"]).status_code == 404


def test_other_users_endpoints_are_404(server, upstream_url):
    owner = Client(server.url).register()
    other = Client(server.url).register()
    ep = create(owner, upstream_url).json()
    base = "/api/endpoints/" + ep["id"]
    for method, path in (("GET", base), ("GET", base + "/calls"),
                         ("GET", base + "/calls/1"),
                         ("GET", base + "/stats")):
        r = other.request(method, path)
        assert r.status_code == 404, path
        assert ep["destinationUrl"] not in r.text
    assert other.patch(base, json={"name": "mine"}).status_code == 404
    assert other.delete(base).status_code == 404
    assert owner.get(base).json()["name"] == "Test API"
    ids = [e["id"] for e in other.get("/api/endpoints").json()["items"]]
    assert ep["id"] not in ids


def test_malformed_ids_are_refused_before_any_query(user):
    for bad in ("123", "not-a-uuid", "' OR 1=1 --",
                "123e4567-e89b-12d3-a456-42661417400Z"):
        r = user.get("/api/endpoints/" + bad)
        assert r.status_code in (400, 404), bad
        error_of(r)


def test_unknown_endpoint_is_404(user):
    r = user.get("/api/endpoints/" + str(uuid.uuid4()))
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"


def test_endpoints_need_a_session_and_csrf(client, user, upstream_url):
    assert client.get("/api/endpoints").status_code == 401
    r = user.post("/api/endpoints", csrf=False,
                  json={"name": "x", "destinationUrl": upstream_url})
    assert r.status_code == 403
