"""The admin API: users, credits through the ledger, disabling, balance
recalculation, endpoints, payments and the lost-webhook credit addition,
the audit log, the job queue, and the audited refusal of non-admins."""

import uuid

import pytest

from conftest import Client, error_of


def audit_rows(db, action, target=None, actor=None):
    sql = "SELECT * FROM audit_logs WHERE action = %s"
    args = [action]
    if target is not None:
        sql += " AND target_id = %s"
        args.append(target)
    if actor is not None:
        sql += " AND actor_id = %s"
        args.append(actor)
    return db.rows(sql + " ORDER BY id", *args)


def new_payment(db, user_id, status="PENDING"):
    return db.val(
        "INSERT INTO payments (user_id, provider, provider_ref, "
        "package_id, amount_cents, currency, credits, status, "
        "failure_reason) VALUES (%s, 'stripe', %s, 'starter', 500, 'USD', "
        "100, %s, CASE WHEN %s = 'FAILED' THEN 'declined' END) "
        "RETURNING id::text",
        user_id, "cs_test_" + uuid.uuid4().hex, status, status)


def new_job(db, queue, state="failed", payload="{}"):
    return db.val(
        "INSERT INTO jobs (queue, dedupe_key, payload, state, attempts, "
        "last_error, finished_at) VALUES (%s, %s, %s::jsonb, %s, 3, "
        "'the model kept timing out', now()) RETURNING id",
        queue, "ops-test-" + uuid.uuid4().hex, payload, state)


# Refusals

ADMIN_PATHS = [
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/metrics"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/queue"),
    ("POST", "/api/admin/users/%s/credits" % uuid.uuid4()),
    ("GET", "/api/admin/no-such-thing"),
]


@pytest.mark.parametrize("method,path", ADMIN_PATHS)
def test_non_admin_gets_403_and_the_attempt_is_audited(user, db, method,
                                                       path):
    r = user.request(method, path, json={"amount": 5, "reason": "x"})
    assert r.status_code == 403
    assert error_of(r)["code"] == "FORBIDDEN"
    rows = audit_rows(db, "admin.denied", target=path,
                      actor=user.user["id"])
    assert len(rows) == 1
    assert rows[0]["ip"] == user.ip
    assert rows[0]["request_id"] == r.headers["X-Request-Id"]
    assert rows[0]["details"]["method"] == method


def test_non_admin_refusal_changes_nothing(user, db):
    before = db.val("SELECT credits FROM users WHERE id = %s",
                    user.user["id"])
    r = user.post("/api/admin/users/%s/credits" % user.user["id"],
                  json={"amount": 1000, "reason": "free money"})
    assert r.status_code == 403
    assert db.val("SELECT credits FROM users WHERE id = %s",
                  user.user["id"]) == before


def test_anonymous_gets_401(client):
    r = client.get("/api/admin/users")
    assert r.status_code == 401
    error_of(r)


def test_unknown_admin_route_is_404_and_wrong_method_405(admin):
    r = admin.get("/api/admin/nothing-here")
    assert r.status_code == 404
    error_of(r)
    r = admin.delete("/api/admin/users")
    assert r.status_code == 405
    error_of(r)


def test_admin_actions_need_the_csrf_token(admin, user, db):
    r = admin.post("/api/admin/users/%s/credits" % user.user["id"],
                   csrf=False, json={"amount": 5, "reason": "no token"})
    assert r.status_code == 403
    assert error_of(r)["code"] == "CSRF_FAILED"
    assert audit_rows(db, "admin.credits_adjust",
                      target=user.user["id"]) == []


# Users

def test_user_search_finds_by_email_fragment(admin, user):
    frag = user.user["email"].split("@")[0][5:]
    r = admin.get("/api/admin/users", params={"q": frag})
    assert r.status_code == 200, r.text
    ids = [u["id"] for u in r.json()["items"]]
    assert ids == [user.user["id"]]
    item = r.json()["items"][0]
    assert item["credits"] == 100 and item["disabledAt"] is None
    assert item["endpointCount"] == 0


def test_user_search_treats_like_wildcards_literally(admin, user):
    r = admin.get("/api/admin/users", params={"q": "%"})
    assert r.status_code == 200
    assert all("%" in u["email"] or "%" in u["name"]
               for u in r.json()["items"])


def test_user_list_pages_with_a_cursor(admin, server):
    for _ in range(3):
        Client(server.url).register()
    seen = []
    cursor = None
    for _ in range(3):
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = admin.get("/api/admin/users", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) == 2
        seen += [u["id"] for u in body["items"]]
        cursor = body["nextCursor"]
        assert cursor
    assert len(set(seen)) == 6
    created = [u["createdAt"] for u in
               admin.get("/api/admin/users", params={"limit": 6})
               .json()["items"]]
    assert created == sorted(created, reverse=True)


def test_user_filters(admin):
    r = admin.get("/api/admin/users", params={"demo": "true"})
    assert r.status_code == 200
    assert r.json()["items"] and all(u["isDemo"] for u in r.json()["items"])
    r = admin.get("/api/admin/users", params={"role": "admin"})
    assert [u["role"] for u in r.json()["items"]] and \
        all(u["role"] == "admin" for u in r.json()["items"])


@pytest.mark.parametrize("params,status", [
    ({"limit": 100000}, 422),
    ({"limit": 0}, 422),
    ({"limit": "ten"}, 422),
    ({"role": "root"}, 422),
    ({"disabled": "maybe"}, 422),
    ({"cursor": "12345_not-a-uuid"}, 400),
    ({"cursor": "abc def"}, 400),
    ({"q": "x" * 101}, 422),
])
def test_bad_user_list_arguments(admin, params, status):
    r = admin.get("/api/admin/users", params=params)
    assert r.status_code == status, r.text
    error_of(r)


def test_view_one_user_is_audited(admin, user, db):
    r = admin.get("/api/admin/users/%s" % user.user["id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == user.user["email"]
    assert body["ledgerSum"] == 100 and body["balanceMatchesLedger"]
    assert body["transactions"][0]["kind"] == "SIGNUP_BONUS"
    assert body["activeSessions"] == 1
    rows = audit_rows(db, "admin.user_view", target=user.user["id"])
    assert rows[0]["actor_id"] == admin.user["id"]
    assert rows[0]["request_id"] == r.headers["X-Request-Id"]


def test_view_unknown_user_is_404(admin):
    r = admin.get("/api/admin/users/%s" % uuid.uuid4())
    assert r.status_code == 404
    error_of(r)
    assert admin.get("/api/admin/users/not-a-uuid").status_code == 404


def test_adjust_credits_goes_through_the_ledger(admin, user, db):
    uid = user.user["id"]
    r = admin.post("/api/admin/users/%s/credits" % uid,
                   json={"amount": 50, "reason": "goodwill for outage"})
    assert r.status_code == 200, r.text
    assert r.json()["balance"] == 150
    row = db.one("SELECT * FROM credit_transactions WHERE user_id = %s "
                 "ORDER BY id DESC LIMIT 1", uid)
    assert row["kind"] == "ADMIN_ADJUST" and row["amount"] == 50
    assert "goodwill for outage" in row["reference"]
    audit = audit_rows(db, "admin.credits_adjust", target=uid)
    assert len(audit) == 1
    assert audit[0]["actor_id"] == admin.user["id"]
    assert audit[0]["ip"] == admin.ip
    assert audit[0]["request_id"] == r.headers["X-Request-Id"]
    assert audit[0]["details"]["reason"] == "goodwill for outage"

    r = admin.post("/api/admin/users/%s/credits" % uid,
                   json={"amount": -30, "reason": "correction"})
    assert r.status_code == 200
    assert r.json()["balance"] == 120


def test_adjust_below_zero_is_refused_and_changes_nothing(admin, user, db):
    uid = user.user["id"]
    r = admin.post("/api/admin/users/%s/credits" % uid,
                   json={"amount": -101, "reason": "too much"})
    assert r.status_code == 422
    error_of(r)
    assert db.val("SELECT credits FROM users WHERE id = %s", uid) == 100
    assert db.val("SELECT count(*) FROM credit_transactions "
                  "WHERE user_id = %s", uid) == 1


@pytest.mark.parametrize("body", [
    {"amount": 0, "reason": "nothing"},
    {"amount": "5", "reason": "a string"},
    {"amount": 5.5, "reason": "a fraction"},
    {"amount": 10000001, "reason": "too large"},
    {"amount": 5},
    {"amount": 5, "reason": "ab"},
    {"amount": 5, "reason": "ok reason", "extra": 1},
])
def test_bad_adjustments_are_422(admin, user, db, body):
    r = admin.post("/api/admin/users/%s/credits" % user.user["id"],
                   json=body)
    assert r.status_code == 422, r.text
    error_of(r)
    assert db.val("SELECT credits FROM users WHERE id = %s",
                  user.user["id"]) == 100


def test_adjust_unknown_user_is_404(admin):
    r = admin.post("/api/admin/users/%s/credits" % uuid.uuid4(),
                   json={"amount": 5, "reason": "nobody"})
    assert r.status_code == 404
    error_of(r)


def test_disable_ends_sessions_and_blocks_login_then_enable(admin, user,
                                                            server, db):
    uid = user.user["id"]
    r = admin.post("/api/admin/users/%s/disable" % uid,
                   json={"reason": "abuse report"})
    assert r.status_code == 200, r.text
    assert r.json()["disabledAt"] and r.json()["sessionsEnded"] == 1
    assert user.get("/api/auth/me").status_code == 401
    again = Client(server.url)
    r = again.post("/api/auth/login", json={"email": user.user["email"],
                                            "password": user.password})
    assert r.status_code == 403
    assert audit_rows(db, "admin.user_disable", target=uid)[0][
        "details"]["reason"] == "abuse report"

    r = admin.post("/api/admin/users/%s/enable" % uid)
    assert r.status_code == 200, r.text
    assert r.json()["disabledAt"] is None
    Client(server.url).login(user.user["email"], user.password)
    assert len(audit_rows(db, "admin.user_enable", target=uid)) == 1


def test_admin_cannot_disable_themselves(admin, db):
    r = admin.post("/api/admin/users/%s/disable" % admin.user["id"])
    assert r.status_code == 409
    error_of(r)
    assert db.val("SELECT disabled_at FROM users WHERE id = %s",
                  admin.user["id"]) is None


def test_recalculate_fixes_a_drifted_balance_from_the_ledger(admin, user,
                                                             db):
    uid = user.user["id"]
    ledger_before = db.rows("SELECT * FROM credit_transactions "
                            "WHERE user_id = %s ORDER BY id", uid)
    db.rows("UPDATE users SET credits = credits + 7 WHERE id = %s", uid)
    r = admin.get("/api/admin/users/%s" % uid)
    assert r.json()["balanceMatchesLedger"] is False

    r = admin.post("/api/admin/users/%s/recalculate" % uid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["balanceBefore"] == 107 and body["ledgerSum"] == 100
    assert body["balance"] == 100 and body["changed"] is True
    assert db.val("SELECT credits FROM users WHERE id = %s", uid) == 100
    assert db.rows("SELECT * FROM credit_transactions WHERE user_id = %s "
                   "ORDER BY id", uid) == ledger_before
    audit = audit_rows(db, "admin.balance_recalculate", target=uid)
    assert audit[0]["details"]["balanceBefore"] == 107

    r = admin.post("/api/admin/users/%s/recalculate" % uid)
    assert r.json()["changed"] is False


# Endpoints

def test_endpoint_list_filters_by_owner(admin, user, fakes, db):
    r = user.post("/api/endpoints", json={
        "name": "Orders <API>", "destinationUrl": fakes["upstream"].url})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    r = admin.get("/api/admin/endpoints", params={"userId":
                                                  user.user["id"]})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [e["id"] for e in items] == [eid]
    assert items[0]["owner"]["email"] == user.user["email"]
    assert items[0]["name"] == "Orders <API>"
    r = admin.get("/api/admin/endpoints", params={"q": "Orders <API",
                                                  "status": "ACTIVE"})
    assert eid in [e["id"] for e in r.json()["items"]]


def test_empty_filters_count_as_absent(admin):
    r = admin.get("/api/admin/endpoints?status=&userId=&q=")
    assert r.status_code == 200, r.text
    r = admin.get("/api/admin/payments?status=&provider=")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("params", [
    {"status": "DONE"}, {"userId": "42"}, {"limit": 201}])
def test_bad_endpoint_filters(admin, params):
    r = admin.get("/api/admin/endpoints", params=params)
    assert r.status_code == 422
    error_of(r)


# Payments

def test_fulfil_a_lost_webhook_payment_once(admin, user, db):
    uid = user.user["id"]
    pid = new_payment(db, uid)
    r = admin.post("/api/admin/payments/%s/fulfil" % pid)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] is True
    assert r.json()["payment"]["status"] == "COMPLETED"
    assert db.val("SELECT credits FROM users WHERE id = %s", uid) == 200
    assert db.val("SELECT completed_by FROM payments WHERE id = %s",
                  pid) == "admin"

    r = admin.post("/api/admin/payments/%s/fulfil" % pid)
    assert r.status_code == 409
    assert error_of(r)["code"] == "ALREADY_COMPLETED"
    assert db.val("SELECT credits FROM users WHERE id = %s", uid) == 200
    assert db.val("SELECT count(*) FROM credit_transactions WHERE "
                  "user_id = %s AND kind = 'PURCHASE'", uid) == 1
    audit = audit_rows(db, "admin.payment_fulfil", target=pid)
    assert [a["details"]["applied"] for a in audit] == [True, False]
    assert all(a["actor_id"] == admin.user["id"] for a in audit)


def test_fulfil_unknown_payment_is_404(admin):
    r = admin.post("/api/admin/payments/%s/fulfil" % uuid.uuid4())
    assert r.status_code == 404
    error_of(r)


def test_payment_list_and_reconcile(admin, user, db):
    pid = new_payment(db, user.user["id"], "FAILED")
    r = admin.get("/api/admin/payments", params={
        "status": "FAILED", "userId": user.user["id"]})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [p["id"] for p in items] == [pid]
    assert items[0]["user"]["email"] == user.user["email"]
    assert items[0]["failureReason"] == "declined"

    r = admin.post("/api/admin/payments/%s/reconcile" % pid)
    assert r.status_code == 200, r.text
    assert r.json()["reconciledAt"] and r.json()["changed"] is True
    r = admin.post("/api/admin/payments/%s/reconcile" % pid)
    assert r.json()["changed"] is False
    assert len(audit_rows(db, "admin.payment_reconcile", target=pid)) == 2


@pytest.mark.parametrize("params", [
    {"status": "PAID"}, {"provider": "bitcoin"}, {"userId": "me"}])
def test_bad_payment_filters(admin, params):
    r = admin.get("/api/admin/payments", params=params)
    assert r.status_code == 422
    error_of(r)


# Audit log

def test_audit_log_filters_by_actor_and_action(admin, user):
    admin.post("/api/admin/users/%s/credits" % user.user["id"],
               json={"amount": 3, "reason": "audit filter test"})
    r = admin.get("/api/admin/audit", params={
        "actor": admin.user["id"], "action": "admin.credits_adjust",
        "targetId": user.user["id"]})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1
    assert items[0]["actorEmail"] == admin.user["email"]
    assert items[0]["details"]["amount"] == 3

    r = admin.get("/api/admin/audit", params={
        "action": "admin.*", "targetId": user.user["id"]})
    assert {i["action"] for i in r.json()["items"]} == \
        {"admin.credits_adjust"}


def test_audit_log_pages_newest_first(admin, user):
    for n in range(1, 4):
        admin.post("/api/admin/users/%s/credits" % user.user["id"],
                   json={"amount": n, "reason": "paging test"})
    r = admin.get("/api/admin/audit", params={
        "targetId": user.user["id"], "action": "admin.credits_adjust",
        "limit": 2})
    first = r.json()
    assert [i["details"]["amount"] for i in first["items"]] == [3, 2]
    r = admin.get("/api/admin/audit", params={
        "targetId": user.user["id"], "action": "admin.credits_adjust",
        "limit": 2, "cursor": first["nextCursor"]})
    assert [i["details"]["amount"] for i in r.json()["items"]] == [1]
    assert r.json()["nextCursor"] is None


def test_audit_log_time_window(admin, user):
    r = admin.get("/api/admin/audit", params={
        "targetId": user.user["id"], "from": "2000-01-01T00:00:00Z",
        "to": "2000-01-02T00:00:00Z"})
    assert r.status_code == 200
    assert r.json()["items"] == []


@pytest.mark.parametrize("params,status", [
    ({"actor": "someone"}, 422),
    ({"action": "DROP TABLE"}, 422),
    ({"action": "a*b"}, 422),
    ({"targetType": "user;"}, 422),
    ({"from": "soon"}, 422),
    ({"to": "2024-13-45"}, 422),
    ({"cursor": "x1"}, 400),
    ({"limit": 10 ** 9}, 422),
])
def test_bad_audit_filters(admin, params, status):
    r = admin.get("/api/admin/audit", params=params)
    assert r.status_code == status, r.text
    error_of(r)


# Job queue

def test_queue_shows_counts_and_failed_jobs(admin, db):
    jid = new_job(db, "ops-test")
    r = admin.get("/api/admin/queue")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["counts"]) == {"waiting", "active", "delayed",
                                   "completed", "failed"}
    assert body["counts"]["failed"] >= 1
    failed = {j["id"]: j for j in body["failed"]}
    assert failed[jid]["lastError"] == "the model kept timing out"
    assert body["byQueue"]["ops-test"]["failed"] >= 1


def test_retry_a_failed_job_once(admin, db):
    jid = new_job(db, "ops-test")
    r = admin.post("/api/admin/queue/%d/retry" % jid)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "waiting" and r.json()["attempts"] == 0
    row = db.one("SELECT state, attempts, finished_at FROM jobs "
                 "WHERE id = %s", jid)
    assert row["state"] == "waiting" and row["attempts"] == 0
    assert row["finished_at"] is None
    assert audit_rows(db, "admin.job_retry", target=str(jid))[0][
        "actor_id"] == admin.user["id"]

    r = admin.post("/api/admin/queue/%d/retry" % jid)
    assert r.status_code == 409
    error_of(r)
    db.rows("DELETE FROM jobs WHERE id = %s", jid)


def test_retry_a_documentation_job_reopens_its_endpoint(admin, user,
                                                        fakes, db):
    r = user.post("/api/endpoints", json={
        "name": "Retry", "destinationUrl": fakes["upstream"].url})
    eid = r.json()["id"]
    db.rows("UPDATE endpoints SET status = 'ERROR' WHERE id = %s", eid)
    jid = new_job(db, "docs", payload='{"endpointId": "%s"}' % eid)
    r = admin.post("/api/admin/queue/%d/retry" % jid)
    assert r.status_code == 200, r.text
    assert db.val("SELECT status FROM endpoints WHERE id = %s",
                  eid) != "ERROR"


def test_retry_unknown_or_bad_job(admin):
    r = admin.post("/api/admin/queue/999999999/retry")
    assert r.status_code == 404
    error_of(r)
    r = admin.post("/api/admin/queue/abc/retry")
    assert r.status_code == 404
