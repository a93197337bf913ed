"""The language model's part of documentation, against the fake Groq in
each of its failure modes: retries with backoff, Retry-After, timeouts,
malformed replies, refused keys, no key, prompts in slices and the
per-endpoint request budget.

Each test runs its own server with quick retry settings while the
session's server is paused, so the settings that apply are the test's."""

import json
import time

import pytest

from test_docs_support import (add_calls, generate, groq_mode,
                               groq_requests, groq_reset, make_endpoint, on,
                               paused, unique_name, wait_job)

QUICK = {"GROQ_BACKOFF_MS": 200, "GROQ_TIMEOUT_SECONDS": 2,
         "GROQ_MAX_ATTEMPTS": 3, "WORKERS": 1}


@pytest.fixture(autouse=True)
def groq_ok(fakes):
    groq_reset(fakes)
    yield
    groq_reset(fakes)


@pytest.fixture
def solo(server, spawn):
    """solo(**settings): a server of the test's own, the only one that
    runs jobs until the test ends."""
    with paused(server):
        yield lambda **extra: spawn(**dict(QUICK, **extra))


def run(user, db, srv, name=None):
    """Captured calls, a generation on srv, its finished job and the
    documentation row."""
    on(user, srv)
    eid = make_endpoint(db, user, name=name or unique_name("AI"))
    add_calls(db, eid)
    generate(user, eid)
    job = wait_job(user, eid, timeout=60)
    doc = db.one("SELECT ai_status, model FROM documentation "
                 "WHERE endpoint_id = %s", eid)
    return eid, job, doc


def times(fakes):
    return [r["time"] for r in groq_requests(fakes)]


def test_server_errors_are_retried_with_growing_waits(user, db, fakes,
                                                      solo):
    srv = solo()
    groq_mode(fakes, mode="500", count=2)
    eid, job, doc = run(user, db, srv)
    assert job["state"] == "completed"
    assert doc["ai_status"] == "used"
    t = times(fakes)
    assert len(t) == 3
    # 200 ms, then 400 ms.
    assert t[1] - t[0] >= 0.19
    assert t[2] - t[1] >= 0.39
    spec = user.get("/api/endpoints/%s/docs?format=openapi" % eid).json()
    assert spec["paths"]["/users"]["post"]["summary"] == "Create a user"


def test_model_that_keeps_failing_gives_documentation_from_inference(
        user, db, fakes, solo):
    srv = solo()
    groq_mode(fakes, mode="500")
    name = unique_name("Unlucky")
    eid, job, doc = run(user, db, srv, name=name)

    # The job did its work: only the descriptions are missing.
    assert job["state"] == "completed" and job["attempts"] == 1
    assert job["endpointStatus"] == "COMPLETE"
    assert doc == {"ai_status": "unavailable",
                   "model": "llama-3.3-70b-versatile"}
    assert len(groq_requests(fakes)) == 3

    r = user.get("/api/endpoints/%s/docs" % eid)
    body = r.json()
    assert body["aiStatus"] == "unavailable"
    assert r.headers["X-AI-Status"] == "unavailable"
    assert "language model could not be used" in \
        body["openapi"]["info"]["description"]
    assert "/users/{userId}" in body["openapi"]["paths"]

    note = user.get("/api/notifications").json()["items"][0]
    assert note["type"] == "docs.ready"
    assert note["payload"]["aiStatus"] == "unavailable"
    assert "HTTP 500" in note["payload"]["aiError"]
    assert "captured calls alone" in note["payload"]["message"]
    assert name in note["payload"]["message"]

    g = user.get("/api/health").json()["checks"]["groq"]
    assert g["status"] == "failing"
    assert g["lastCall"]["ok"] is False
    assert g["lastCall"]["httpStatus"] == 500
    assert "HTTP 500" in g["lastCall"]["error"]


def test_rate_limited_request_waits_for_retry_after(user, db, fakes, solo):
    srv = solo()
    groq_mode(fakes, mode="429", count=1, retryAfter=1)
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "used"
    t = times(fakes)
    assert len(t) == 2
    # Retry-After (1 s), not the 200 ms backoff.
    assert t[1] - t[0] >= 0.95


def test_retry_after_beyond_the_limit_is_not_waited_for(user, db, fakes,
                                                        solo):
    srv = solo(GROQ_RETRY_AFTER_MAX_SECONDS=1)
    groq_mode(fakes, mode="429", retryAfter=600)
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "unavailable"
    assert len(groq_requests(fakes)) == 1
    note = user.get("/api/notifications").json()["items"][0]
    assert "rate limited for 600 s" in note["payload"]["aiError"]


@pytest.mark.parametrize("mode", ["invalid_json", "wrong_shape", "503",
                                  "drop"])
def test_bad_answer_is_retried(user, db, fakes, solo, mode):
    srv = solo()
    groq_mode(fakes, mode=mode, count=1, retryAfter=0)
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "used"
    assert len(groq_requests(fakes)) == 2


def test_malformed_answers_every_time(user, db, fakes, solo):
    srv = solo()
    groq_mode(fakes, mode="wrong_shape")
    eid, job, doc = run(user, db, srv)
    assert job["state"] == "completed"
    assert doc["ai_status"] == "unavailable"
    assert len(groq_requests(fakes)) == 3
    note = user.get("/api/notifications").json()["items"][0]
    assert "no operations array" in note["payload"]["aiError"]


def test_model_that_never_answers_times_out(user, db, fakes, solo):
    srv = solo()
    groq_mode(fakes, mode="hang", count=1)
    started = time.time()
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "used"
    assert len(groq_requests(fakes)) == 2
    assert time.time() - started >= 2.0


def test_refused_key_is_not_retried(user, db, fakes, solo):
    srv = solo(GROQ_API_KEY="gsk_wrong")
    eid, job, doc = run(user, db, srv)
    assert job["state"] == "completed"
    assert doc["ai_status"] == "unavailable"
    assert len(groq_requests(fakes)) == 1
    note = user.get("/api/notifications").json()["items"][0]
    assert "Invalid API Key" in note["payload"]["aiError"]
    # The key itself never reaches the logs.
    assert "gsk_wrong" not in srv.log()


def test_without_a_key_the_model_is_skipped(user, db, fakes, solo):
    srv = solo(GROQ_API_KEY="")
    eid, job, doc = run(user, db, srv)
    assert job["state"] == "completed"
    assert doc == {"ai_status": "disabled", "model": None}
    assert groq_requests(fakes) == []
    spec = user.get("/api/endpoints/%s/docs?format=openapi" % eid).json()
    assert "No language model is configured" in \
        spec["info"]["description"]
    note = user.get("/api/notifications").json()["items"][0]
    assert note["payload"]["aiStatus"] == "disabled"
    g = user.get("/api/health").json()["checks"]["groq"]
    assert g["configured"] is False and g["status"] == "disabled"


def test_large_api_goes_in_slices(user, db, fakes, solo):
    srv = solo(GROQ_OPERATIONS_PER_PROMPT=2)
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "used"
    reqs = groq_requests(fakes)
    assert len(reqs) == 3
    seen = []
    for r in reqs:
        text = r["body"]["messages"][-1]["content"]
        ops = json.loads(text[text.index("{"):text.rindex("}") + 1])[
            "operations"]
        assert 1 <= len(ops) <= 2
        seen += [o["id"] for o in ops]
    assert len(seen) == len(set(seen)) == 5
    spec = user.get("/api/endpoints/%s/docs?format=openapi" % eid).json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "responses" in op:
                assert op.get("summary"), (method, path)


def test_requests_per_endpoint_are_budgeted(user, db, fakes, solo):
    # Two requests per 3-second window; five slices of one operation.
    srv = solo(GROQ_OPERATIONS_PER_PROMPT=1, GROQ_MAX_REQUESTS_PER_MINUTE=2,
               GROQ_RATE_WINDOW_SECONDS=3)
    eid, job, doc = run(user, db, srv)
    assert doc["ai_status"] == "used"
    t = times(fakes)
    assert len(t) == 5
    windows = {}
    for x in t:
        windows.setdefault(int(x // 3), []).append(x)
    assert max(len(v) for v in windows.values()) <= 2
    assert len(windows) >= 3


def test_budget_is_shared_through_the_database(db):
    bucket = "test:" + unique_name()
    got = [db.val("SELECT rate_take(%s, 3, 60)", bucket) for _ in range(5)]
    assert got[:3] == [0, 0, 0]
    assert all(0 < w <= 60000 for w in got[3:])
    assert db.val("SELECT count FROM rate_counters WHERE bucket = %s",
                  bucket) == 3


def test_progress_moves_while_the_model_describes(user, db, fakes, solo):
    srv = solo(GROQ_OPERATIONS_PER_PROMPT=1)
    groq_mode(fakes, mode="slow", delay=0.8)
    on(user, srv)
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    job_id = generate(user, eid)
    seen = []
    deadline = time.time() + 30
    while time.time() < deadline:
        row = db.one("SELECT state, stage, progress FROM jobs "
                     "WHERE id = %s", job_id)
        if row["stage"] == "describing operations":
            seen.append(row["progress"])
        if row["state"] == "completed":
            break
        time.sleep(0.05)
    assert row["state"] == "completed"
    steps = sorted(set(seen))
    assert steps == sorted(steps) and len(steps) >= 3, seen
    assert seen == sorted(seen)
    assert 65 <= steps[0] and steps[-1] <= 95
