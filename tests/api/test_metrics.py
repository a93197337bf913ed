"""Operators' figures: GET /metrics in Prometheus' text format (loopback
or an admin session), GET /api/admin/metrics for the dashboard, the
alerts the server evaluates with their history, and the Prometheus
alert-rules file."""

import concurrent.futures
import os
import re
import time
import uuid

import pytest
import requests
import yaml

from conftest import TOP, Client, error_of, pg

LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_]+="[^"]*"'
                  r'(,[a-zA-Z_]+="[^"]*")*\})? -?([0-9.]+(e[+-]?[0-9]+)?|'
                  r'\+Inf|NaN)$')


def scrape(server, **kw):
    """/metrics from loopback: no X-Forwarded-For, no session."""
    return requests.get(server.url + "/metrics", verify=False, timeout=30,
                        **kw)


def samples(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def wait_for(fn, timeout=20, step=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("condition not met in %ss" % timeout)


# /metrics

def test_metrics_from_loopback_are_prometheus_text(server):
    r = scrape(server)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    types = {}
    for line in r.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, "TYPE twice for " + name
            types[name] = kind
        elif line.startswith("# HELP "):
            continue
        else:
            assert LINE.match(line), line
    s = samples(r.text)
    assert s["apiscribe_database_up"] == 1
    assert s['apiscribe_users{kind="demo"}'] >= 3
    assert types["apiscribe_proxy_latency_milliseconds"] == "histogram"
    assert 'apiscribe_proxy_latency_milliseconds_bucket{le="+Inf"}' in s
    assert 'apiscribe_jobs{state="failed"}' in s
    assert 'apiscribe_alert_firing{rule="queue_depth",severity="warning"}' \
        in s


def test_metrics_refuse_remote_anonymous_and_non_admins(server, user, db):
    r = Client(server.url).get("/metrics")
    assert r.status_code == 401
    error_of(r)
    r = user.get("/metrics")
    assert r.status_code == 403
    error_of(r)
    row = db.one("SELECT * FROM audit_logs WHERE action = 'admin.denied' "
                 "AND actor_id = %s AND target_id = '/metrics'",
                 user.user["id"])
    assert row["ip"] == user.ip
    assert row["request_id"] == r.headers["X-Request-Id"]


def test_metrics_for_an_admin_session_from_anywhere(admin):
    r = admin.get("/metrics")
    assert r.status_code == 200
    assert "apiscribe_database_up 1" in r.text


def test_a_forwarded_loopback_address_is_not_trusted_blindly(server):
    # TRUST_PROXY takes the last X-Forwarded-For entry: a client cannot
    # slip 127.0.0.1 in front of its real address.
    r = requests.get(server.url + "/metrics", verify=False, timeout=30,
                     headers={"X-Forwarded-For": "127.0.0.1, 10.9.8.7"})
    assert r.status_code == 401


def test_proxy_and_login_counters_move(server, user, fakes):
    before = samples(scrape(server).text)
    r = user.post("/api/endpoints", json={
        "name": "m", "destinationUrl": fakes["upstream"].url})
    ep = r.json()
    for _ in range(3):
        assert requests.get(server.url + "/proxy/%s/echo" % ep["id"],
                            verify=False, timeout=30).status_code == 200
    Client(server.url).post("/api/auth/login", json={
        "email": user.user["email"], "password": "wrong password here"})
    after = samples(scrape(server).text)
    key = 'apiscribe_proxy_responses_total{class="2xx"}'
    assert after[key] - before.get(key, 0) >= 3
    assert after["apiscribe_proxy_latency_milliseconds_count"] - \
        before["apiscribe_proxy_latency_milliseconds_count"] >= 3
    key = 'apiscribe_logins_total{result="failed"}'
    assert after[key] - before[key] >= 1


# The dashboard

def test_admin_dashboard_metrics(admin, db):
    r = admin.get("/api/admin/metrics")
    assert r.status_code == 200, r.text
    m = r.json()
    d = m["database"]
    assert d["users"]["total"] == db.val("SELECT count(*) FROM users")
    assert d["users"]["demo"] == db.val(
        "SELECT count(*) FROM users WHERE is_demo")
    assert len(d["users"]["newPerDay"]) == 30
    assert len(d["calls"]["perMinute"]) == 60
    assert set(d["queue"]) >= {"waiting", "active", "delayed",
                               "completed", "failed", "depth"}
    assert set(d["failureRates"]) == {"ai", "documentation", "payments",
                                      "logins"}
    assert set(d["purchases"]) >= {"perDay", "creditsPerPurchase",
                                   "completed", "failed"}
    assert "byCurrency" in d["revenue"]
    assert set(m["proxy"]["latencyMs"]) == {"p50", "p95", "p99", "avg"}
    assert "failureRate" in m["capture"] and "failureRate" in m["logins"]
    assert [a["rule"] for a in m["alerts"]["rules"]] == [
        "database_unreachable", "payment_failures", "ai_error_rate",
        "proxy_failure_rate", "queue_depth", "proxy_latency",
        "docs_failure_rate", "purchase_failure_rate"]


def test_dashboard_revenue_counts_completed_payments(admin, user, db):
    before = admin.get("/api/admin/metrics").json()["database"]
    db.rows("INSERT INTO payments (user_id, provider, package_id, "
            "amount_cents, currency, credits, status, completed_at, "
            "completed_by) VALUES (%s, 'stripe', 'starter', 500, 'USD', "
            "100, 'COMPLETED', now(), 'webhook')", user.user["id"])
    after = admin.get("/api/admin/metrics").json()["database"]
    assert after["purchases"]["completed"] == \
        before["purchases"]["completed"] + 1
    usd = [c for c in after["revenue"]["byCurrency"]
           if c["currency"] == "USD"][0]
    old = [c for c in before["revenue"]["byCurrency"]
           if c["currency"] == "USD"]
    assert usd["cents"] == (old[0]["cents"] if old else 0) + 500


def test_dashboard_is_admin_only(user):
    r = user.get("/api/admin/metrics")
    assert r.status_code == 403
    error_of(r)


# Alerts evaluated by the server

@pytest.fixture
def fast(spawn, db):
    """A server that evaluates every second, with short windows and
    durations, and a queue threshold just above the queue's depth now."""
    depth = db.val("SELECT count(*) FROM jobs "
                   "WHERE state IN ('waiting', 'delayed')")
    s = spawn(ALERT_INTERVAL_SECONDS=1, ALERT_FOR_SECONDS=2,
              ALERT_WINDOW_SECONDS=4, ALERT_MIN_SAMPLES=2,
              ALERT_QUEUE_DEPTH=depth + 2)
    s.admin = Client(s.url).login("admin@apiscribe.dev",
                                  os.environ.get("ADMIN_PASSWORD",
                                                 "admin-test-password-1"))
    return s


def rule_state(s, rule):
    r = s.admin.get("/api/admin/alerts")
    assert r.status_code == 200, r.text
    return {a["rule"]: a for a in r.json()["rules"]}[rule]


def history(db, rule, instance_like="%"):
    return db.rows("SELECT * FROM alert_events WHERE rule = %s "
                   "AND created_at > now() - interval '2 minutes' "
                   "ORDER BY id", rule)


def test_queue_depth_alert_waits_its_duration_then_fires_and_resolves(
        fast, db):
    ids = [db.val("INSERT INTO jobs (queue, payload) VALUES "
                  "('ops-alert-test', '{}') RETURNING id")
           for _ in range(3)]
    try:
        pending = wait_for(lambda: rule_state(fast, "queue_depth")
                           ["state"] == "pending")
        assert pending
        firing = wait_for(lambda: (lambda a: a if a["state"] == "firing"
                                   else None)(rule_state(fast,
                                                         "queue_depth")))
        assert firing["value"] >= 3 and firing["forSeconds"] == 2
    finally:
        db.rows("DELETE FROM jobs WHERE id = ANY(%s)", ids)
    wait_for(lambda: rule_state(fast, "queue_depth")["state"] ==
             "inactive")
    rows = wait_for(lambda: [r for r in history(db, "queue_depth")
                             if r["state"] == "resolved"] and
                    history(db, "queue_depth"))
    assert [r["state"] for r in rows][-2:] == ["firing", "resolved"]
    assert rows[-2]["severity"] == "warning"
    r = fast.admin.get("/api/admin/alerts/history",
                       params={"rule": "queue_depth", "limit": 1})
    assert r.status_code == 200
    assert r.json()["items"][0]["state"] == "resolved"
    assert r.json()["nextCursor"]


def test_payment_failures_fire_at_once(fast, db):
    db.rows("INSERT INTO audit_logs (action, target_type, target_id, "
            "details) VALUES ('payment.failed', 'payment', %s, "
            "'{\"source\": \"checkout\"}')", str(uuid.uuid4()))
    a = wait_for(lambda: (lambda a: a if a["state"] == "firing" else None)
                 (rule_state(fast, "payment_failures")), timeout=10)
    assert a["forSeconds"] == 0
    # The failure leaves the 4-second window and the alert resolves.
    wait_for(lambda: rule_state(fast, "payment_failures")["state"] ==
             "inactive")


def test_abandoned_checkouts_are_not_payment_failures(fast, db):
    db.rows("INSERT INTO audit_logs (action, target_type, target_id, "
            "details) VALUES ('payment.failed', 'payment', %s, "
            "'{\"source\": \"sweep\"}')", str(uuid.uuid4()))
    time.sleep(3)
    assert rule_state(fast, "payment_failures")["state"] == "inactive"


def test_proxy_failure_rate_fires_on_upstream_failures(fast):
    owner = Client(fast.url).register()
    port = __import__("conftest").free_port()
    ep = owner.post("/api/endpoints", json={
        "name": "dead", "destinationUrl": "http://127.0.0.1:%d" % port})
    assert ep.status_code == 201, ep.text
    # Failures keep coming while the rule waits out its duration.
    deadline = time.time() + 20
    a = None
    while time.time() < deadline:
        r = requests.get(fast.url + "/proxy/%s/x" % ep.json()["id"],
                         verify=False, timeout=30)
        assert r.status_code == 502
        a = rule_state(fast, "proxy_failure_rate")
        if a["state"] == "firing":
            break
        time.sleep(0.2)
    assert a["state"] == "firing"
    assert a["value"] == 1.0


def settle(server):
    """After a database restart every pooled connection of a server
    fails once before it is replaced: use them all up (concurrently, so
    that each worker's whole pool is taken) before other tests run."""
    def health(_):
        return requests.get(server.url + "/api/health", verify=False,
                            timeout=30).status_code

    good = 0
    deadline = time.time() + 30
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        while good < 2 and time.time() < deadline:
            codes = list(pool.map(health, range(64)))
            good = good + 1 if all(c == 200 for c in codes) else 0
    assert good == 2


def test_database_outage_is_an_alert_kept_until_the_database_returns(
        fast, server, db):
    try:
        pg("stop")
        # /metrics still answers from loopback without the database.
        text = wait_for(lambda: (lambda r: r.text if r.status_code == 200
                                 and 'apiscribe_alert_firing{rule='
                                 '"database_unreachable",severity='
                                 '"critical"} 1' in r.text else None)
                        (scrape(fast)), timeout=30)
        assert "apiscribe_database_up 0" in text
        assert '"event":"alert.firing"' in fast.log()
    finally:
        pg("start")
        settle(server)
    db.reconnect()
    rows = wait_for(lambda: [r["state"] for r in history(
        db, "database_unreachable")][-2:] == ["firing", "resolved"] and
        history(db, "database_unreachable"), timeout=30)
    assert rows[-1]["instance"].startswith("apiscribe:")


def test_bad_alert_history_arguments(admin):
    r = admin.get("/api/admin/alerts/history", params={"rule": "nope"})
    assert r.status_code == 422
    error_of(r)
    r = admin.get("/api/admin/alerts/history", params={"cursor": "a"})
    assert r.status_code == 400
    r = admin.get("/api/admin/alerts/history", params={"limit": 5000})
    assert r.status_code == 422


def test_alerts_are_admin_only(user):
    assert user.get("/api/admin/alerts").status_code == 403


# The rules file for operators

def test_prometheus_rules_file_matches_the_metrics(server):
    with open(os.path.join(TOP, "conf", "prometheus-alerts.yml")) as f:
        doc = yaml.safe_load(f)
    rules = doc["groups"][0]["rules"]
    exposed = set(re.findall(r"^(apiscribe_[a-z0-9_]+)",
                             scrape(server).text, re.M))
    names = set()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels",
                             "annotations"}
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert re.match(r"^[0-9]+[smh]$", rule.get("for", "0s"))
        for metric in re.findall(r"apiscribe_[a-z0-9_]+", rule["expr"]):
            assert metric in exposed, (rule["alert"], metric)
        names.add(rule["alert"])
    assert {"ApiscribeDatabaseUnreachable", "ApiscribePaymentFailures",
            "ApiscribeAIErrorRate", "ApiscribeProxyFailureRate",
            "ApiscribeQueueDepth", "ApiscribeProxyLatency",
            "ApiscribeDocsFailureRate",
            "ApiscribePurchaseFailureRate"} <= names
