"""Helpers shared by the documentation, job queue and notification tests
(no tests here): endpoints and captured calls written straight into
PostgreSQL, waiting for a job, and pausing the session's server so that
a test's own server is the only one claiming jobs."""

import contextlib
import json
import os
import signal
import time
import uuid

# A small API's worth of captured calls: (method, path, query, status,
# request JSON or None, response JSON or None).
BASIC_CALLS = [
    ("GET", "/users", "page=1", 200, None,
     [{"id": 1, "name": "Ada", "email": "ada@example.com"}]),
    ("GET", "/users", "page=2", 200, None,
     [{"id": 2, "name": "Bob", "email": "bob@example.com"}]),
    ("GET", "/users/1", None, 200, None,
     {"id": 1, "name": "Ada", "email": "ada@example.com"}),
    ("GET", "/users/2", None, 200, None,
     {"id": 2, "name": "Bob", "email": "bob@example.com"}),
    ("GET", "/users/3", None, 404, None, {"error": "not found"}),
    ("POST", "/users", None, 201, {"name": "Cy", "email": "cy@example.com"},
     {"id": 3, "name": "Cy", "email": "cy@example.com"}),
    ("POST", "/users", None, 201, {"name": "Di", "email": "di@example.com"},
     {"id": 4, "name": "Di", "email": "di@example.com"}),
    ("GET", "/users/1/orders", None, 200, None,
     [{"id": 10, "total": 12.5, "state": "paid"}]),
    ("GET", "/users/2/orders", None, 200, None,
     [{"id": 11, "total": 3.0, "state": "pending"}]),
    ("DELETE", "/users/4", None, 204, None, None),
    ("DELETE", "/users/3", None, 204, None, None),
]

# Calls that a second generation adds: a new operation and a new field.
MORE_CALLS = [
    ("GET", "/products/7", None, 200, None,
     {"id": 7, "title": "Lamp", "price": 20}),
    ("GET", "/products/8", None, 200, None,
     {"id": 8, "title": "Desk", "price": 120}),
    ("GET", "/users/1", None, 200, None,
     {"id": 1, "name": "Ada", "email": "ada@example.com",
      "nickname": "ada"}),
]


def make_endpoint(db, user, name="Shop API",
                  destination="http://127.0.0.1:9/api", status="ACTIVE"):
    return str(db.val(
        "INSERT INTO endpoints (user_id, name, destination_url, status) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        user.user["id"], name, destination, status))


def add_calls(db, endpoint_id, calls=BASIC_CALLS, repeat=1):
    """Writes captured calls as the capture writer would."""
    rows = []
    for _ in range(repeat):
        for method, path, query, status, req, resp in calls:
            rows.append((
                endpoint_id, method, path, query,
                json.dumps({"content-type": "application/json",
                            "authorization": "Bearer [REDACTED]"}),
                None if req is None else json.dumps(req).encode(),
                None if req is None else "application/json",
                status,
                json.dumps({"content-type": "application/json"}),
                None if resp is None else json.dumps(resp).encode(),
                None if resp is None else "application/json"))
    with db.conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO api_calls (endpoint_id, method, path, query, "
            "request_headers, request_body, request_content_type, "
            "status_code, response_headers, response_body, "
            "response_content_type, duration_ms) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 5)",
            rows)
    db.rows("UPDATE endpoints SET call_count = call_count + %s "
            "WHERE id = %s", len(rows), endpoint_id)
    return len(rows)


def job_of(client, endpoint_id):
    r = client.get("/api/endpoints/%s/job" % endpoint_id)
    assert r.status_code == 200, r.text
    return r.json()


def wait_job(client, endpoint_id, states=("completed", "failed"),
             timeout=60, job_id=None):
    """Polls the endpoint's latest job until it is in one of `states`."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = job_of(client, endpoint_id)
        if last["state"] in states and \
                (job_id is None or last["id"] == job_id):
            return last
        time.sleep(0.1)
    raise AssertionError("job did not reach %s: %r" % (states, last))


def wait_db(db, sql, *args, timeout=30):
    """Polls until the query returns a true first value; returns it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = db.val(sql, *args)
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for: %s %r" % (sql, args))


def generate(client, endpoint_id):
    r = client.post("/api/endpoints/%s/generate" % endpoint_id)
    assert r.status_code == 202, r.text
    return r.json()["jobId"]


@contextlib.contextmanager
def paused(server):
    """Stops the session server's workers so they claim no jobs while a
    test's own servers run them; they continue afterwards."""
    pids = server.worker_pids()
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            try:
                os.kill(p, signal.SIGCONT)
            except ProcessLookupError:
                pass


def pid_of(locked_by):
    """The worker's pid in a lease holder's name ("instance:pid:tag")."""
    return int(locked_by.split(":")[1])


def on(client, server):
    """The same signed-in client, talking to another server."""
    client.base = server.url
    return client


def groq_requests(fakes):
    return [r for r in fakes["groq"].control("GET", "requests")["requests"]
            if r["path"].endswith("/chat/completions")]


def groq_mode(fakes, **mode):
    return fakes["groq"].control("POST", "mode", mode)


def groq_reset(fakes):
    fakes["groq"].control("POST", "reset", {})


def unique_name(prefix="API"):
    return "%s %s" % (prefix, uuid.uuid4().hex[:8])


def log_lines(server, event):
    out = []
    for line in server.log().splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("event") == event:
            out.append(rec)
    return out
