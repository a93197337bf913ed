"""Documentation: generate, job status, versions, formats and diffs,
against the real server, PostgreSQL and the fake Groq. Captured calls
are written straight into api_calls here; test_docs_e2e.py drives them
through the proxy."""

import concurrent.futures

import pytest

from conftest import error_of
from test_docs_support import (BASIC_CALLS, MORE_CALLS, add_calls,
                               generate, groq_mode, groq_requests,
                               groq_reset,
                               make_endpoint, unique_name, wait_job)


@pytest.fixture(autouse=True)
def groq_ok(fakes):
    groq_reset(fakes)
    yield
    groq_reset(fakes)


def test_generate_writes_documentation_and_completes(user, db, fakes):
    eid = make_endpoint(db, user, name="Shop API")
    add_calls(db, eid)

    r = user.post("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 202, r.text
    body = r.json()
    assert isinstance(body["jobId"], int)
    assert body["created"] is True

    job = wait_job(user, eid)
    assert job["state"] == "completed", job
    assert job["id"] == body["jobId"]
    assert job["attempts"] == 1
    assert job["progress"] == {"percent": 100, "stage": "done"}
    assert job["result"]["version"] == 1
    assert job["result"]["aiStatus"] == "used"
    assert job["result"]["callsAnalysed"] == len(BASIC_CALLS)
    assert job["endpointStatus"] == "COMPLETE"
    assert job["timings"]["totalMs"] >= job["timings"]["runningMs"] >= 0

    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) == "COMPLETE"
    doc = db.one("SELECT version, ai_status, model, calls_analysed "
                 "FROM documentation WHERE endpoint_id = %s", eid)
    assert doc == {"version": 1, "ai_status": "used",
                   "model": "llama-3.3-70b-versatile",
                   "calls_analysed": len(BASIC_CALLS)}


def test_docs_formats(user, db):
    eid = make_endpoint(db, user, name="Formats API")
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)

    r = user.get("/api/endpoints/%s/docs?format=openapi" % eid)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Docs-Version"] == "1"
    assert r.headers["X-AI-Status"] == "used"
    spec = r.json()
    assert spec["openapi"].startswith("3.1")
    assert "/users/{userId}" in spec["paths"]
    get_user = spec["paths"]["/users/{userId}"]["get"]
    # The fake model's words, merged into the inferred operation.
    assert get_user["summary"] == "Get a user"
    assert get_user["tags"] == ["users"]
    assert spec["info"]["title"] == "Formats API"
    assert spec["servers"][0]["url"] == "http://127.0.0.1:9/api"

    r = user.get("/api/endpoints/%s/docs?format=markdown" % eid)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/markdown")
    assert "Formats API" in r.text
    assert "/users/{userId}" in r.text

    r = user.get("/api/endpoints/%s/docs" % eid)
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == 1 and body["latestVersion"] == 1
    assert body["aiStatus"] == "used"
    assert body["callsAnalysed"] == len(BASIC_CALLS)
    assert body["openapi"]["paths"] == spec["paths"]
    assert body["markdown"].startswith("#")


def test_docs_argument_errors(user, db):
    eid = make_endpoint(db, user)
    r = user.get("/api/endpoints/%s/docs" % eid)
    assert r.status_code == 404
    assert "no documentation yet" in error_of(r)["message"]

    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)

    for q, status in (("format=xml", 422), ("version=0", 422),
                      ("version=abc", 422), ("version=-1", 422),
                      ("version=99", 404)):
        r = user.get("/api/endpoints/%s/docs?%s" % (eid, q))
        assert r.status_code == status, (q, r.text)
        error_of(r)
    r = user.get("/api/endpoints/%s/docs?version=1&format=openapi" % eid)
    assert r.status_code == 200


def test_generate_without_calls_is_refused_and_changes_nothing(user, db):
    eid = make_endpoint(db, user)
    r = user.post("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 422
    assert "no captured calls" in error_of(r)["message"]
    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) == "ACTIVE"
    assert db.val("SELECT count(*) FROM jobs WHERE dedupe_key = %s",
                  "endpoint-" + eid) == 0
    r = user.get("/api/endpoints/%s/job" % eid)
    assert r.status_code == 404


def test_calls_without_a_response_do_not_count(user, db):
    eid = make_endpoint(db, user)
    db.rows("INSERT INTO api_calls (endpoint_id, method, path, error) "
            "VALUES (%s, 'GET', '/x', 'upstream timed out')", eid)
    r = user.post("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 422


def test_generate_checks_ownership_and_ids(user, server, db):
    from conftest import Client
    eid = make_endpoint(db, user)
    add_calls(db, eid)

    other = Client(server.url).register()
    for path in ("generate", "reactivate"):
        r = other.post("/api/endpoints/%s/%s" % (eid, path))
        assert r.status_code == 404, r.text
    for path in ("job", "docs", "docs/versions", "docs/diff"):
        r = other.get("/api/endpoints/%s/%s" % (eid, path))
        assert r.status_code == 404, (path, r.text)
        assert error_of(r)["code"] == "NOT_FOUND"
    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) == "ACTIVE"

    r = user.post("/api/endpoints/not-a-uuid/generate")
    assert r.status_code == 400
    r = user.post("/api/endpoints/%s/generate" %
                  "123e4567-e89b-12d3-a456-426614174000")
    assert r.status_code == 404


def test_generate_needs_a_session_and_csrf(client, user, db):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    r = client.post("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 401
    r = user.post("/api/endpoints/%s/generate" % eid, csrf=False)
    assert r.status_code == 403
    assert error_of(r)["code"] == "CSRF_FAILED"
    r = user.get("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 405
    assert db.val("SELECT count(*) FROM jobs WHERE dedupe_key = %s",
                  "endpoint-" + eid) == 0


def test_duplicate_generate_requests_make_one_job(user, db, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    # The model takes a while, so every request arrives while the first
    # job is still open.
    groq_mode(fakes, mode="slow", delay=2)

    def post(_):
        return user.post("/api/endpoints/%s/generate" % eid)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert all(r.status_code == 202 for r in answers), \
        [r.text for r in answers]
    ids = {r.json()["jobId"] for r in answers}
    assert len(ids) == 1
    assert sum(r.json()["created"] for r in answers) <= 1

    wait_job(user, eid)
    assert db.val("SELECT count(*) FROM jobs WHERE dedupe_key = %s",
                  "endpoint-" + eid) == 1
    assert db.val("SELECT count(*) FROM documentation WHERE endpoint_id "
                  "= %s", eid) == 1


def test_reactivate_then_generate_adds_a_version(user, db, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)

    r = user.post("/api/endpoints/%s/reactivate" % eid)
    assert r.status_code == 200, r.text
    ep = r.json()
    assert ep["id"] == eid and ep["status"] == "ACTIVE"
    assert ep["proxyUrl"].endswith("/proxy/" + eid)
    # Reactivating an active endpoint changes nothing.
    r = user.post("/api/endpoints/%s/reactivate" % eid)
    assert r.status_code == 200 and r.json()["status"] == "ACTIVE"

    add_calls(db, eid, MORE_CALLS)
    job2 = generate(user, eid)
    job = wait_job(user, eid, job_id=job2)
    assert job["state"] == "completed"
    assert job["result"]["version"] == 2

    r = user.get("/api/endpoints/%s/docs/versions" % eid)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [v["version"] for v in items] == [2, 1]
    assert items[0]["callsAnalysed"] == len(BASIC_CALLS) + len(MORE_CALLS)
    assert items[0]["operationCount"] == items[1]["operationCount"] + 1
    assert items[0]["aiStatus"] == "used"
    assert r.json()["nextCursor"] is None

    r = user.get("/api/endpoints/%s/docs/versions?limit=1" % eid)
    page = r.json()
    assert [v["version"] for v in page["items"]] == [2]
    r = user.get("/api/endpoints/%s/docs/versions?limit=1&cursor=%s" %
                 (eid, page["nextCursor"]))
    assert [v["version"] for v in r.json()["items"]] == [1]

    r = user.get("/api/endpoints/%s/docs?version=1&format=openapi" % eid)
    assert "/products/{productId}" not in r.json()["paths"]
    r = user.get("/api/endpoints/%s/docs?format=openapi" % eid)
    assert "/products/{productId}" in r.json()["paths"]
    assert r.headers["X-Docs-Version"] == "2"

    r = user.get("/api/endpoints/%s/docs/diff" % eid)
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["from"] == 1 and diff["to"] == 2 and diff["changed"]
    assert {"method": "GET", "path": "/products/{productId}"} in \
        diff["operations"]["added"]
    assert diff["operations"]["removed"] == []
    assert {"method": "GET", "path": "/users/{userId}",
            "location": "response 200", "name": "nickname"} in \
        diff["fields"]["added"]
    # Fields of a new operation are implied by the operation.
    assert not any(f["path"] == "/products/{productId}"
                   for f in diff["fields"]["added"])

    r = user.get("/api/endpoints/%s/docs/diff?from=2&to=1" % eid)
    back = r.json()
    assert back["operations"]["removed"] == diff["operations"]["added"]
    assert back["fields"]["removed"] == diff["fields"]["added"]

    r = user.get("/api/endpoints/%s/docs/diff?from=1&to=1" % eid)
    assert r.json()["changed"] is False


def test_diff_argument_errors(user, db):
    eid = make_endpoint(db, user)
    r = user.get("/api/endpoints/%s/docs/diff" % eid)
    assert r.status_code == 404
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)

    r = user.get("/api/endpoints/%s/docs/diff" % eid)
    assert r.status_code == 422
    assert "no earlier version" in error_of(r)["message"]
    r = user.get("/api/endpoints/%s/docs/diff?from=1&to=5" % eid)
    assert r.status_code == 404
    assert "5" in error_of(r)["message"]
    r = user.get("/api/endpoints/%s/docs/diff?from=x" % eid)
    assert r.status_code == 422


def test_reactivate_refused_while_processing(user, db):
    eid = make_endpoint(db, user, status="PROCESSING")
    r = user.post("/api/endpoints/%s/reactivate" % eid)
    assert r.status_code == 409
    assert error_of(r)["code"] == "CONFLICT"
    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) == "PROCESSING"


def test_reactivate_from_error(user, db):
    eid = make_endpoint(db, user, status="ERROR")
    r = user.post("/api/endpoints/%s/reactivate" % eid)
    assert r.status_code == 200
    assert r.json()["status"] == "ACTIVE"
    assert db.val("SELECT count(*) FROM audit_logs WHERE action = "
                  "'endpoint.reactivate' AND target_id = %s", eid) == 1


def test_job_for_an_endpoint_without_one(user, db):
    eid = make_endpoint(db, user)
    r = user.get("/api/endpoints/%s/job" % eid)
    assert r.status_code == 404
    assert "no documentation job" in error_of(r)["message"]


def test_ready_notification(user, db):
    name = unique_name("Notified")
    eid = make_endpoint(db, user, name=name)
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)
    r = user.get("/api/notifications")
    items = r.json()["items"]
    assert items[0]["type"] == "docs.ready"
    p = items[0]["payload"]
    assert p["endpointId"] == eid and p["version"] == 1
    assert p["aiStatus"] == "used"
    assert name in p["message"]


def test_prompt_carries_the_operations_as_json(user, db, fakes):
    import json
    eid = make_endpoint(db, user, name="Prompt API")
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)
    reqs = groq_requests(fakes)
    assert len(reqs) == 1
    body = reqs[0]["body"]
    assert body["response_format"] == {"type": "json_object"}
    assert body["model"] == "llama-3.3-70b-versatile"
    assert reqs[0]["headers"]["Authorization"].startswith("Bearer ")
    text = body["messages"][-1]["content"]
    sent = json.loads(text[text.index("{"):text.rindex("}") + 1])
    assert sent["api"] == {"name": "Prompt API",
                           "baseUrl": "http://127.0.0.1:9/api"}
    paths = {(o["method"], o["path"]) for o in sent["operations"]}
    assert ("GET", "/users/{userId}") in paths
    assert ("POST", "/users") in paths
    # Captured bodies and header values never go to the model.
    assert "ada@example.com" not in text
