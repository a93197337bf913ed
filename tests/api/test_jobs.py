"""The job queue: retries with backoff, burying after the last attempt
(endpoint ERROR, one ERROR log line, a notification), leases taken back
from a killed or hung worker, jobs handed back at shutdown, and the
queue and Groq members of /api/health.

Failures of the work itself are injected with a trigger that refuses the
documentation row of one endpoint a given number of times."""

import os
import signal
import time
import uuid

import pytest

from test_docs_support import (add_calls, generate, groq_mode, groq_reset,
                               job_of, log_lines, make_endpoint, on,
                               paused, pid_of, unique_name, wait_db,
                               wait_job)


@pytest.fixture(autouse=True)
def groq_ok(fakes):
    groq_reset(fakes)
    yield
    groq_reset(fakes)


@pytest.fixture
def refuse_docs(db):
    """refuse_docs(endpoint_id, times): the next `times` attempts to
    store that endpoint's documentation fail."""
    made = []

    def install(endpoint_id, times):
        name = "test_refuse_" + uuid.uuid4().hex[:12]
        made.append(name)
        db.rows("CREATE SEQUENCE %s" % name)
        db.rows("""CREATE FUNCTION %s() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.endpoint_id = '%s'
                    AND nextval('%s') <= %d THEN
                    RAISE EXCEPTION 'injected storage failure';
                END IF;
                RETURN NEW;
            END $$""" % (name, endpoint_id, name, times))
        db.rows("CREATE TRIGGER %s BEFORE INSERT ON documentation "
                "FOR EACH ROW EXECUTE FUNCTION %s()" % (name, name))

    yield install
    for name in made:
        db.rows("DROP TRIGGER IF EXISTS %s ON documentation" % name)
        db.rows("DROP FUNCTION IF EXISTS %s()" % name)
        db.rows("DROP SEQUENCE IF EXISTS %s" % name)


def test_failed_attempt_is_retried_after_backoff(user, db, server,
                                                 refuse_docs):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    refuse_docs(eid, 1)

    job_id = generate(user, eid)
    job = wait_job(user, eid, timeout=30)
    assert job["state"] == "completed", job
    assert job["attempts"] == 2
    assert "injected storage failure" in job["error"]
    assert job["result"]["version"] == 1
    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) == "COMPLETE"

    retries = [r for r in log_lines(server, "job.retry")
               if r["jobId"] == job_id]
    assert len(retries) == 1
    assert retries[0]["retryInMs"] == 2000
    assert retries[0]["endpointId"] == eid
    t = db.one("SELECT extract(epoch FROM finished_at - created_at) AS s "
               "FROM jobs WHERE id = %s", job_id)
    assert t["s"] >= 2.0


def test_last_failure_buries_the_job(user, db, server, refuse_docs):
    name = unique_name("Doomed")
    eid = make_endpoint(db, user, name=name)
    add_calls(db, eid)
    refuse_docs(eid, 100)

    job_id = generate(user, eid)
    job = wait_job(user, eid, timeout=40)
    assert job["state"] == "failed", job
    assert job["attempts"] == 3
    assert job["maxAttempts"] == 3
    assert "injected storage failure" in job["error"]
    assert job["endpointStatus"] == "ERROR"
    assert db.val("SELECT count(*) FROM documentation WHERE endpoint_id "
                  "= %s", eid) == 0

    # Waits of 2 s and then 4 s between the three attempts.
    retries = sorted((r for r in log_lines(server, "job.retry")
                      if r["jobId"] == job_id), key=lambda r: r["attempt"])
    assert [r["retryInMs"] for r in retries] == [2000, 4000]
    t = db.val("SELECT extract(epoch FROM finished_at - created_at) "
               "FROM jobs WHERE id = %s", job_id)
    assert t >= 6.0

    # Exactly one ERROR line, naming the job, the endpoint and the cause.
    errors = [r for r in log_lines(server, "job.failed")
              if r.get("jobId") == job_id]
    assert len(errors) == 1
    assert errors[0]["level"] == "ERROR"
    assert errors[0]["endpointId"] == eid
    assert "injected storage failure" in errors[0]["cause"]

    notes = user.get("/api/notifications").json()["items"]
    failed = [n for n in notes if n["type"] == "docs.failed"]
    assert len(failed) == 1
    assert failed[0]["payload"]["endpointId"] == eid
    assert failed[0]["payload"]["jobId"] == job_id
    assert name in failed[0]["payload"]["message"]

    health = user.get("/api/health").json()
    assert health["checks"]["queue"]["failedLastHour"] >= 1

    # The user may try again: a new job, the old one stays failed.
    r = user.post("/api/endpoints/%s/generate" % eid)
    assert r.status_code == 202
    assert r.json()["jobId"] != job_id


def test_work_that_cannot_be_done_is_not_retried(user, db, server):
    eid = make_endpoint(db, user)
    # Responses with an impossible status: nothing the engine can use.
    db.rows("INSERT INTO api_calls (endpoint_id, method, path, "
            "status_code) SELECT %s, 'GET', '/x', 42 "
            "FROM generate_series(1, 3)", eid)
    job_id = generate(user, eid)
    job = wait_job(user, eid)
    assert job["state"] == "failed"
    assert job["attempts"] == 1
    assert "none of the 3 captured calls" in job["error"]
    assert job["endpointStatus"] == "ERROR"
    assert len([r for r in log_lines(server, "job.failed")
                if r.get("jobId") == job_id]) == 1


def test_endpoint_deleted_during_its_job(user, db, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    groq_mode(fakes, mode="slow", delay=2, count=1)
    job_id = generate(user, eid)
    wait_db(db, "SELECT state = 'active' FROM jobs WHERE id = %s", job_id)
    db.rows("DELETE FROM endpoints WHERE id = %s", eid)
    wait_db(db, "SELECT state = 'completed' FROM jobs WHERE id = %s",
            job_id, timeout=15)
    assert db.val("SELECT result->>'skipped' FROM jobs WHERE id = %s",
                  job_id) == "endpoint deleted"


def holder_pid(db, job_id):
    """The pid of the worker holding the job, from its lease."""
    by = wait_db(db, "SELECT locked_by FROM jobs WHERE id = %s "
                 "AND state = 'active'", job_id)
    return pid_of(by)


def test_killed_worker_job_is_finished_by_another(user, db, server, spawn,
                                                  fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    with paused(server):
        other = spawn(WORKERS=2, JOB_LEASE_SECONDS=3)
        on(user, other)
        # The model answers slowly, holding the job in its thread.
        groq_mode(fakes, mode="slow", delay=20, count=1)
        job_id = generate(user, eid)
        wait_db(db, "SELECT stage = 'describing operations' FROM jobs "
                "WHERE id = %s", job_id)
        pid = holder_pid(db, job_id)
        assert pid in other.worker_pids()

        os.kill(pid, signal.SIGKILL)
        groq_reset(fakes)

        # The client's kept-alive connection may have been the dead
        # worker's.
        user.http.close()
        job = wait_job(user, eid, timeout=30)
        assert job["state"] == "completed", job
        assert job["attempts"] == 2
        assert "stopped renewing its lease" in job["error"]
        finisher = db.val("SELECT locked_by FROM jobs WHERE id = %s",
                          job_id)
        assert pid_of(finisher) != pid
        assert db.val("SELECT count(*) FROM documentation WHERE "
                      "endpoint_id = %s", eid) == 1
        assert db.val("SELECT status FROM endpoints WHERE id = %s",
                      eid) == "COMPLETE"
        assert [r for r in log_lines(other, "job.lease_expired")
                if r["jobId"] == job_id]


def test_hung_worker_loses_its_job_and_cannot_publish(user, db, server,
                                                      spawn, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    with paused(server):
        other = spawn(WORKERS=2, JOB_LEASE_SECONDS=3)
        on(user, other)
        groq_mode(fakes, mode="slow", delay=6, count=1)
        job_id = generate(user, eid)
        wait_db(db, "SELECT stage = 'describing operations' FROM jobs "
                "WHERE id = %s", job_id)
        pid = holder_pid(db, job_id)

        # The worker hangs: its lease runs out and the other takes over.
        # (Asked through the database: the client's connection may be
        # the hung worker's.)
        os.kill(pid, signal.SIGSTOP)
        try:
            groq_reset(fakes)
            assert wait_db(db, "SELECT attempts FROM jobs WHERE id = %s "
                           "AND state = 'completed'", job_id) == 2
        finally:
            os.kill(pid, signal.SIGCONT)

        # Woken up, the first worker finds its lease gone and drops its
        # work instead of publishing a second version.
        deadline = time.time() + 15
        while time.time() < deadline:
            lost = [r for r in log_lines(other, "job.abandoned")
                    if r["jobId"] == job_id]
            if lost:
                break
            time.sleep(0.2)
        assert lost and lost[0]["outcome"] == "lost"
        assert db.val("SELECT count(*) FROM documentation WHERE "
                      "endpoint_id = %s", eid) == 1
        assert db.val("SELECT state FROM jobs WHERE id = %s",
                      job_id) == "completed"


def test_shutdown_hands_running_jobs_back(user, db, server, spawn, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    with paused(server):
        first = spawn(WORKERS=1, JOB_LEASE_SECONDS=120)
        second = spawn(WORKERS=1, JOB_LEASE_SECONDS=120)
        groq_mode(fakes, mode="slow", delay=20, count=1)
        on(user, first)
        job_id = generate(user, eid)
        wait_db(db, "SELECT stage = 'describing operations' FROM jobs "
                "WHERE id = %s", job_id)
        pid = holder_pid(db, job_id)
        holder, rest = (first, second) if pid in first.worker_pids() \
            else (second, first)
        groq_reset(fakes)

        # A clean stop puts the job back at once, without counting the
        # interrupted attempt and long before the lease would run out.
        started = time.time()
        holder.stop()
        on(user, rest)
        job = wait_job(user, eid, timeout=20)
        assert time.time() - started < 20
        assert job["state"] == "completed", job
        assert job["attempts"] == 1
        assert pid_of(db.val("SELECT locked_by FROM jobs WHERE id = %s",
                             job_id)) != pid
        assert log_lines(holder, "job.released")


def test_queue_and_groq_in_health(user, db):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    generate(user, eid)
    wait_job(user, eid)
    r = user.get("/api/health")
    assert r.status_code == 200
    checks = r.json()["checks"]
    q = checks["queue"]
    for k in ("depth", "active", "failedLastHour", "oldestWaitingSeconds"):
        assert isinstance(q[k], int)
    g = checks["groq"]
    assert g["configured"] is True
    assert g["model"] == "llama-3.3-70b-versatile"
    assert g["status"] == "ok"
    assert g["calls"] >= 1
    assert g["lastCall"]["ok"] is True
    assert g["lastCall"]["httpStatus"] == 200
    assert g["lastCall"]["latencyMs"] >= 0
    assert g["lastCall"]["error"] is None


def test_job_progress_while_running(user, db, fakes):
    eid = make_endpoint(db, user)
    add_calls(db, eid)
    groq_mode(fakes, mode="slow", delay=2, count=1)
    job_id = generate(user, eid)
    wait_db(db, "SELECT stage = 'describing operations' FROM jobs "
            "WHERE id = %s", job_id)
    job = job_of(user, eid)
    assert job["state"] == "active"
    assert job["progress"]["stage"] == "describing operations"
    assert 60 <= job["progress"]["percent"] < 100
    assert job["endpointStatus"] == "PROCESSING"
    assert job["finishedAt"] is None
    assert job["timings"]["runningMs"] >= 0
    wait_job(user, eid)


def test_jobs_at_once_are_capped_per_instance(user, db, server, spawn,
                                              fakes):
    eids = []
    for i in range(5):
        eid = make_endpoint(db, user)
        add_calls(db, eid)
        eids.append(eid)
    with paused(server):
        other = spawn(WORKERS=2, JOB_CONCURRENCY=3)
        on(user, other)
        groq_mode(fakes, mode="slow", delay=1.5)
        jobs = [generate(user, eid) for eid in eids]
        most = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            row = db.one("SELECT count(*) FILTER (WHERE state = 'active') "
                         "AS active, count(*) FILTER (WHERE state = "
                         "'completed') AS done FROM jobs "
                         "WHERE id = ANY(%s)", jobs)
            most = max(most, row["active"])
            if row["done"] == len(jobs):
                break
            time.sleep(0.05)
        assert row["done"] == len(jobs)
        assert most == 3
        workers = db.val("SELECT count(DISTINCT locked_by) FROM jobs "
                         "WHERE id = ANY(%s)", jobs)
        assert workers == 2
