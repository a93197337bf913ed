"""End to end: traffic through the capturing proxy to the upstream fake,
then generation (with the fake Groq), then the documentation, against
the real server and PostgreSQL. Includes a worker killed in the middle
of a job and duplicate generate requests."""

import concurrent.futures
import os
import signal
import time

import pytest
import requests

from conftest import error_of
from test_docs_support import (groq_mode, groq_reset, on, paused, pid_of,
                               wait_db, wait_job)


@pytest.fixture(autouse=True)
def groq_ok(fakes):
    groq_reset(fakes)
    yield
    groq_reset(fakes)


def create_endpoint(user, fakes, name="Upstream shop"):
    r = user.post("/api/endpoints", json={
        "name": name, "destinationUrl": fakes["upstream"].url})
    assert r.status_code == 201, r.text
    return r.json()


def send(server, ep, path, method="GET", **kw):
    kw.setdefault("verify", False)
    kw.setdefault("timeout", 30)
    return requests.request(method, "%s/proxy/%s%s" % (server.url, ep["id"],
                                                       path), **kw)


def traffic(server, ep):
    """A realistic mix of calls; returns how many were sent."""
    sent = 0
    with requests.Session() as s:
        def go(path, method="GET", **kw):
            nonlocal sent
            r = s.request(method, "%s/proxy/%s%s" % (server.url, ep["id"],
                                                     path), timeout=30,
                          verify=False, **kw)
            assert r.status_code < 500, (path, r.status_code, r.text)
            sent += 1
            return r

        for page in (1, 2, 3):
            go("/users?page=%d&per_page=5" % page)
        users = go("/users?per_page=20").json()["data"]
        for u in users[:8]:
            go("/users/%d" % u["id"])
            go("/users/%d/orders" % u["id"])
        go("/users/999999")
        for i in range(3):
            go("/users", "POST", json={"name": "New %d" % i,
                                       "email": "new%d@example.com" % i})
        go("/users", "POST", json={"name": "No email"})
        for p in go("/products?limit=5").json()["items"]:
            go("/products/%s" % p["id"])
        for q in ("lamp", "desk", "chair"):
            go("/search?q=%s&limit=5" % q)
    return sent


def wait_captured(db, ep, n, timeout=15):
    return wait_db(db, "SELECT count(*) >= %s FROM api_calls "
                   "WHERE endpoint_id = %s", n, ep["id"], timeout=timeout)


def test_capture_generate_and_read_the_docs(server, user, db, fakes):
    ep = create_endpoint(user, fakes)
    n = traffic(server, ep)
    wait_captured(db, ep, n)

    r = user.post("/api/endpoints/%s/generate" % ep["id"])
    assert r.status_code == 202, r.text
    job = wait_job(user, ep["id"])
    assert job["state"] == "completed", job
    assert job["result"]["callsAnalysed"] == n
    assert job["result"]["aiStatus"] == "used"

    ep_now = user.get("/api/endpoints/%s" % ep["id"]).json()
    assert ep_now["status"] == "COMPLETE"

    spec = user.get("/api/endpoints/%s/docs?format=openapi" %
                    ep["id"]).json()
    paths = spec["paths"]
    for want in ("/users", "/users/{userId}", "/users/{userId}/orders",
                 "/search"):
        assert want in paths, sorted(paths)
    assert paths["/users/{userId}"]["get"]["summary"] == "Get a user"
    assert paths["/users/{userId}/orders"]["get"]["summary"] == \
        "List orders of a user"
    assert "post" in paths["/users"]
    statuses = set(paths["/users"]["post"]["responses"])
    assert {"201", "422"} <= statuses
    assert spec["servers"][0]["url"] == fakes["upstream"].url
    assert spec["info"]["title"] == "Upstream shop"

    md = user.get("/api/endpoints/%s/docs?format=markdown" % ep["id"])
    assert "/users/{userId}/orders" in md.text

    # A COMPLETE endpoint does not forward.
    r = send(server, ep, "/users")
    assert r.status_code == 409
    assert error_of(r)["code"] == "ENDPOINT_NOT_ACTIVE"

    # Reactivated, it captures again; the next generation is version 2.
    r = user.post("/api/endpoints/%s/reactivate" % ep["id"])
    assert r.status_code == 200 and r.json()["status"] == "ACTIVE"
    deadline = time.time() + 5
    while send(server, ep, "/health").status_code != 200:
        assert time.time() < deadline
        time.sleep(0.05)
    for day in ("2024-01-01", "2024-01-02", "2024-02-03"):
        assert send(server, ep, "/reports/%s" % day).status_code == 200
    wait_db(db, "SELECT count(*) FROM api_calls WHERE endpoint_id = %s "
            "AND path LIKE '/reports/%%'", ep["id"])
    r = user.post("/api/endpoints/%s/generate" % ep["id"])
    assert r.status_code == 202
    job = wait_job(user, ep["id"], job_id=r.json()["jobId"])
    assert job["result"]["version"] == 2
    diff = user.get("/api/endpoints/%s/docs/diff" % ep["id"]).json()
    added = {(o["method"], o["path"]) for o in diff["operations"]["added"]}
    assert any(p.startswith("/reports/") for _, p in added), added
    assert ("GET", "/health") in added


def test_proxy_refuses_while_processing(server, user, db, fakes):
    ep = create_endpoint(user, fakes)
    n = traffic(server, ep)
    wait_captured(db, ep, n)
    groq_mode(fakes, mode="slow", delay=3, count=1)
    r = user.post("/api/endpoints/%s/generate" % ep["id"])
    assert r.status_code == 202
    deadline = time.time() + 5
    while True:
        r = send(server, ep, "/users")
        if r.status_code == 409 or time.time() > deadline:
            break
        time.sleep(0.05)
    assert r.status_code == 409
    err = error_of(r)
    assert err["code"] == "ENDPOINT_NOT_ACTIVE"
    assert "PROCESSING" in err["message"]
    wait_job(user, ep["id"])
    # Refused calls are not documentation.
    assert db.val("SELECT calls_analysed FROM documentation "
                  "WHERE endpoint_id = %s", ep["id"]) == n


def test_duplicate_generate_requests_through_the_api(server, user, db,
                                                     fakes):
    ep = create_endpoint(user, fakes)
    n = traffic(server, ep)
    wait_captured(db, ep, n)
    groq_mode(fakes, mode="slow", delay=2, count=1)

    def post(_):
        return user.post("/api/endpoints/%s/generate" % ep["id"])

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(post, range(10)))
    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["jobId"] for r in answers}) == 1
    wait_job(user, ep["id"])
    assert db.val("SELECT count(*) FROM jobs WHERE dedupe_key = %s",
                  "endpoint-" + ep["id"]) == 1
    assert db.val("SELECT count(*) FROM documentation WHERE endpoint_id "
                  "= %s", ep["id"]) == 1


def test_worker_killed_mid_job_another_finishes(server, spawn, user, db,
                                                fakes):
    ep = create_endpoint(user, fakes)
    n = traffic(server, ep)
    wait_captured(db, ep, n)

    with paused(server):
        other = spawn(WORKERS=2, JOB_LEASE_SECONDS=3)
        on(user, other)
        groq_mode(fakes, mode="slow", delay=20, count=1)
        r = user.post("/api/endpoints/%s/generate" % ep["id"])
        assert r.status_code == 202
        job_id = r.json()["jobId"]
        by = wait_db(db, "SELECT locked_by FROM jobs WHERE id = %s AND "
                     "stage = 'describing operations'", job_id)
        pid = pid_of(by)
        assert pid in other.worker_pids()
        os.kill(pid, signal.SIGKILL)
        groq_reset(fakes)

        user.http.close()
        job = wait_job(user, ep["id"], timeout=30)
        assert job["state"] == "completed"
        assert job["attempts"] == 2
        assert job["result"]["callsAnalysed"] == n
        assert db.val("SELECT locked_by FROM jobs WHERE id = %s",
                      job_id) != by
        assert user.get("/api/endpoints/%s" %
                        ep["id"]).json()["status"] == "COMPLETE"
        assert db.val("SELECT count(*) FROM documentation WHERE "
                      "endpoint_id = %s", ep["id"]) == 1
