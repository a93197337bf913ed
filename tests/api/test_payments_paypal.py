"""Buying credits through PayPal: Orders v2 at the fake (create, approve,
capture), and the webhook that is believed only after PayPal's
verify-webhook-signature call says SUCCESS.

The capture answer and the PAYMENT.CAPTURE.COMPLETED webhook both
complete a payment; whichever comes second must change nothing.
"""

import copy
import json
import threading
import time
import uuid

import pytest
import requests

from conftest import PAYPAL_ID, PAYPAL_SECRET, Client, error_of
from test_payments import balance, bought, checkout, payment, purchases


@pytest.fixture
def paypal(fakes):
    fake = fakes["paypal"]
    yield fake
    fake.control("POST", "mode", {"mode": "ok"})
    fake.control("POST", "capture-outcome", {"outcome": "completed"})


def approve(paypal, oid):
    paypal.control("POST", "orders/%s/approve" % oid, {})


def capture(client, oid):
    return client.post("/api/payments/paypal/capture",
                       json={"orderId": oid})


def capture_at_paypal(paypal, oid):
    """Captures the order at the fake directly, without our server (so
    only the webhook can tell the server about it)."""
    tok = requests.post(paypal.url + "/v1/oauth2/token",
                        auth=(PAYPAL_ID, PAYPAL_SECRET),
                        data={"grant_type": "client_credentials"},
                        timeout=30).json()["access_token"]
    r = requests.post(paypal.url + "/v2/checkout/orders/%s/capture" % oid,
                      headers={"Authorization": "Bearer " + tok,
                               "Content-Type": "application/json"},
                      data="{}", timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["purchase_units"][0]["payments"]["captures"][0]


def events(paypal, etype, oid=None, pid=None):
    evs = paypal.control("GET", "events?eventType=" + etype)["events"]
    out = []
    for e in evs:
        res = e["resource"]
        order = res.get("supplementary_data", {}).get(
            "related_ids", {}).get("order_id")
        if (oid is None or order == oid) and \
                (pid is None or res.get("custom_id") == pid):
            out.append(e)
    return out


def deliver(paypal, eid, **opts):
    return paypal.control("POST", "events/%s/deliver" % eid, opts)[
        "deliveries"]


def applied(paypal, eid, **opts):
    d = deliver(paypal, eid, **opts)[0]
    assert d["status"] == 200, d
    return json.loads(d["responseBody"])["result"]


def stored(db, eid):
    return db.val("SELECT count(*) FROM webhook_events "
                  "WHERE provider = 'paypal' AND event_id = %s", eid)


def custom_event(paypal, etype, resource, **opts):
    body = {"event_type": etype, "resource": resource}
    body.update(opts)
    out = paypal.control("POST", "events", body)
    return out["event"], (out.get("deliveries") or [None])[0]


def paid_at_paypal(user, paypal, package="starter"):
    """A checkout the buyer approved and PayPal captured; the server has
    heard of neither. Returns (payment id, order id, completed event)."""
    pid, oid = bought(user, package, "paypal")
    approve(paypal, oid)
    capture_at_paypal(paypal, oid)
    return pid, oid, events(paypal, "PAYMENT.CAPTURE.COMPLETED", oid)[0]


# ---- the whole purchase --------------------------------------------------

def test_purchase_end_to_end(user, paypal, server, db):
    pid, oid = bought(user, provider="paypal")
    assert payment(user, pid)["status"] == "PENDING"

    # The buyer approves on PayPal's page and comes back to the app.
    r = requests.post(paypal.url + "/checkoutnow/approve",
                      data={"token": oid}, allow_redirects=False,
                      timeout=30)
    assert r.status_code == 303
    assert r.headers["Location"].startswith(
        "%s/credits/paypal-return?payment=%s&token=%s&PayerID=" % (
            server.url, pid, oid))

    r = capture(user, oid)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["id"] == pid and p["status"] == "COMPLETED"
    assert balance(user) == 200
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"}]
    row = db.one("SELECT completed_by, provider_payment_ref FROM payments "
                 "WHERE id = %s", pid)
    assert row["completed_by"] == "capture"

    # PayPal's webhook for the same capture arrives afterwards.
    ev = events(paypal, "PAYMENT.CAPTURE.COMPLETED", oid)[0]
    assert ev["resource"]["id"] == row["provider_payment_ref"]
    assert applied(paypal, ev["id"]) == "already_completed"
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1

    n = db.one("SELECT payload FROM notifications WHERE user_id = %s "
               "AND type = 'payment.completed'", user.user["id"])
    assert n["payload"]["paymentId"] == pid
    actions = {r["action"] for r in db.rows(
        "SELECT action FROM audit_logs WHERE target_id = %s", pid)}
    assert {"payment.checkout", "payment.redirect", "payment.capture",
            "payment.completed", "payment.webhook"} <= actions
    assert PAYPAL_SECRET not in server.log()


def test_the_order_is_made_as_paypal_expects(user, paypal, server):
    pid, oid = bought(user, package="team", provider="paypal")
    reqs = [r for r in paypal.control("GET", "requests")["requests"]
            if r["method"] == "POST" and r["path"] == "/v2/checkout/orders"]
    sent = reqs[-1]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["paypal-request-id"] == "apiscribe-order-" + pid
    assert headers["authorization"].startswith("Bearer ")
    body = json.loads(sent["body"])
    unit = body["purchase_units"][0]
    assert body["intent"] == "CAPTURE"
    assert unit["custom_id"] == pid
    assert unit["amount"] == {"currency_code": "USD", "value": "35.00"}
    ctx = body["application_context"]
    assert ctx["return_url"] == "%s/credits/paypal-return?payment=%s" % (
        server.url, pid)
    assert ctx["cancel_url"] == "%s/credits?payment=%s&result=cancel" % (
        server.url, pid)


def test_the_webhook_first_then_the_capture_call(user, paypal, db):
    pid, oid, ev = paid_at_paypal(user, paypal)
    assert applied(paypal, ev["id"]) == "completed"
    assert balance(user) == 200
    before = len(paypal.control("GET", "requests")["requests"])
    r = capture(user, oid)
    assert r.status_code == 200
    assert r.json()["status"] == "COMPLETED"
    # Nothing was asked of PayPal: the payment had already completed.
    assert len(paypal.control("GET", "requests")["requests"]) == before
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1


@pytest.mark.parametrize("attempt", range(3))
def test_a_capture_racing_its_webhook_grants_once(user, paypal, db,
                                                  attempt):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    answer = {}

    def buyer():
        answer["r"] = capture(user, oid)

    t = threading.Thread(target=buyer)
    t.start()
    deadline = time.time() + 20
    ev = []
    while not ev and time.time() < deadline:
        ev = events(paypal, "PAYMENT.CAPTURE.COMPLETED", oid)
    assert ev, "PayPal made no capture event"
    ds = deliver(paypal, ev[0]["id"], concurrent=4)
    t.join(30)
    assert answer["r"].status_code == 200, answer["r"].text
    assert all(d["status"] == 200 for d in ds), ds
    assert payment(user, pid)["status"] == "COMPLETED"
    assert balance(user) == 200
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"}]


def test_concurrent_webhook_deliveries_grant_once(user, paypal, db):
    pid, oid, ev = paid_at_paypal(user, paypal)
    ds = deliver(paypal, ev["id"], concurrent=6)
    assert [d["status"] for d in ds] == [200] * 6, ds
    results = sorted(json.loads(d["responseBody"])["result"] for d in ds)
    assert results == ["completed"] + ["duplicate"] * 5
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1
    assert stored(db, ev["id"]) == 1


# ---- verification ----------------------------------------------------------

@pytest.mark.parametrize("fault", ["bad_signature", "wrong_webhook_id",
                                   "tampered", "foreign_cert",
                                   "no_headers"])
def test_unverified_webhooks_are_refused_and_change_nothing(user, paypal,
                                                            db, fault):
    pid, oid, ev = paid_at_paypal(user, paypal)
    d = deliver(paypal, ev["id"], fault=fault)[0]
    assert d["status"] == 400, d
    assert json.loads(d["responseBody"])["error"]["code"] == "BAD_SIGNATURE"
    assert stored(db, ev["id"]) == 0
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100
    assert applied(paypal, ev["id"]) == "completed"


def test_a_webhook_waits_when_paypal_cannot_verify_it(user, paypal, db):
    pid, oid, ev = paid_at_paypal(user, paypal)
    paypal.control("POST", "mode", {
        "mode": "500", "count": 1,
        "path": "/v1/notifications/verify-webhook-signature"})
    d = deliver(paypal, ev["id"])[0]
    assert d["status"] == 503, d
    assert stored(db, ev["id"]) == 0
    assert balance(user) == 100
    # PayPal delivers it again later.
    assert applied(paypal, ev["id"]) == "completed"
    assert balance(user) == 200


def test_webhooks_without_json_are_refused(server):
    r = requests.post(server.url + "/webhooks/paypal", data=b"nope",
                      headers={"Content-Type": "application/json",
                               "PAYPAL-TRANSMISSION-ID": "x",
                               "PAYPAL-TRANSMISSION-TIME": "x",
                               "PAYPAL-TRANSMISSION-SIG": "x",
                               "PAYPAL-CERT-URL": "https://x",
                               "PAYPAL-AUTH-ALGO": "SHA256withRSA"},
                      verify=False, timeout=30)
    assert r.status_code == 400
    assert error_of(r)["code"] == "BAD_SIGNATURE"


# ---- refunds, pending captures, declines -------------------------------------

def test_a_refund_claws_the_credits_back(user, paypal, db):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    assert capture(user, oid).json()["status"] == "COMPLETED"
    out = paypal.control("POST", "orders/%s/refund" % oid, {})
    assert applied(paypal, out["event"]["id"]) == "refunded"
    p = payment(user, pid)
    assert p["status"] == "REFUNDED" and p["creditsRevoked"] == 100
    assert balance(user) == 100
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"},
                                  {"amount": -100, "kind": "REFUND"}]
    assert applied(paypal, out["event"]["id"]) == "duplicate"


def test_partial_refunds_take_back_their_share(user, paypal):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    assert capture(user, oid).status_code == 200
    cid = events(paypal, "PAYMENT.CAPTURE.COMPLETED", oid)[0][
        "resource"]["id"]
    first = paypal.control("POST", "captures/%s/refund" % cid,
                           {"amount": "1.25"})["event"]
    second = paypal.control("POST", "captures/%s/refund" % cid,
                            {"amount": "1.25"})["event"]
    assert applied(paypal, first["id"]) == "refunded"
    assert applied(paypal, second["id"]) == "refunded"
    p = payment(user, pid)
    assert p["status"] == "COMPLETED"
    assert (p["refundedCents"], p["creditsRevoked"]) == (250, 50)
    assert balance(user) == 150


def test_a_refund_before_the_completion_is_applied_after_it(user, paypal,
                                                            db):
    pid, oid, done = paid_at_paypal(user, paypal)
    refund = paypal.control("POST", "orders/%s/refund" % oid, {})["event"]
    assert applied(paypal, refund["id"]) == "deferred"
    assert balance(user) == 100
    assert applied(paypal, done["id"]) == "completed"
    p = payment(user, pid)
    assert p["status"] == "REFUNDED"
    assert balance(user) == 100
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"},
                                  {"amount": -100, "kind": "REFUND"}]


def test_a_pending_capture_completes_when_it_clears(user, paypal, db):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    paypal.control("POST", "orders/%s/capture-outcome" % oid,
                   {"outcome": "pending"})
    r = capture(user, oid)
    assert r.status_code == 200
    assert r.json()["status"] == "PENDING"
    assert balance(user) == 100
    pend = events(paypal, "PAYMENT.CAPTURE.PENDING", oid)[0]
    assert applied(paypal, pend["id"]) == "awaiting_payment"
    cid = pend["resource"]["id"]
    done = paypal.control("POST", "captures/%s/complete" % cid, {})["event"]
    assert applied(paypal, done["id"]) == "completed"
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1


def test_a_denied_capture_fails_the_payment(user, paypal):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    paypal.control("POST", "orders/%s/capture-outcome" % oid,
                   {"outcome": "pending"})
    assert capture(user, oid).status_code == 200
    cid = events(paypal, "PAYMENT.CAPTURE.PENDING", oid)[0]["resource"]["id"]
    denied = paypal.control("POST", "captures/%s/deny" % cid, {})["event"]
    assert applied(paypal, denied["id"]) == "failed"
    p = payment(user, pid)
    assert p["status"] == "FAILED" and "denied" in p["failureReason"]
    assert balance(user) == 100


def test_a_declined_payment_method_fails_the_payment(user, paypal):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    paypal.control("POST", "orders/%s/capture-outcome" % oid,
                   {"outcome": "declined"})
    r = capture(user, oid)
    assert r.status_code == 422
    assert error_of(r)["code"] == "PAYMENT_DECLINED"
    p = payment(user, pid)
    assert p["status"] == "FAILED" and "declined" in p["failureReason"]
    r = capture(user, oid)
    assert r.status_code == 409
    assert error_of(r)["code"] == "PAYMENT_FAILED"
    assert balance(user) == 100


def test_an_unapproved_order_cannot_be_captured(user, paypal):
    pid, oid = bought(user, provider="paypal")
    r = capture(user, oid)
    assert r.status_code == 409
    assert error_of(r)["code"] == "ORDER_NOT_APPROVED"
    assert payment(user, pid)["status"] == "PENDING"
    approve(paypal, oid)
    assert capture(user, oid).json()["status"] == "COMPLETED"
    assert balance(user) == 200


def test_capture_refuses_orders_that_are_not_yours(server, user, paypal):
    pid, oid = bought(user, provider="paypal")
    approve(paypal, oid)
    other = Client(server.url).register()
    r = capture(other, oid)
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"
    for body in ({}, {"orderId": ""}, {"orderId": "x y"},
                 {"orderId": "A" * 65}, {"orderId": 5},
                 {"orderId": oid, "amount": "1.00"}):
        r = other.post("/api/payments/paypal/capture", json=body)
        assert r.status_code == 422, body
        error_of(r)
    assert Client(server.url).post("/api/payments/paypal/capture",
                                   json={"orderId": oid}).status_code == 401
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(other) == 100


# ---- events that do not fit --------------------------------------------------

def test_a_webhook_for_another_users_payment_grants_nothing(server, paypal,
                                                            db):
    a = Client(server.url).register()
    b = Client(server.url).register()
    pid_a, oid_a, ev_a = paid_at_paypal(a, paypal)
    pid_b, oid_b = bought(b, provider="paypal")

    forged = copy.deepcopy(ev_a["resource"])
    forged["custom_id"] = pid_b
    forged["id"] = "FORGED" + uuid.uuid4().hex[:10].upper()
    _, d = custom_event(paypal, "PAYMENT.CAPTURE.COMPLETED", forged)
    assert d["status"] == 200, d
    assert json.loads(d["responseBody"])["result"] == "mismatch"

    cheap = copy.deepcopy(ev_a["resource"])
    cheap["amount"] = {"currency_code": "USD", "value": "0.50"}
    _, d = custom_event(paypal, "PAYMENT.CAPTURE.COMPLETED", cheap)
    assert json.loads(d["responseBody"])["result"] == "mismatch"

    assert balance(a) == 100 and balance(b) == 100
    assert payment(a, pid_a)["status"] == "PENDING"
    assert payment(b, pid_b)["status"] == "PENDING"


def test_an_event_for_an_unknown_payment_is_acknowledged(user, paypal):
    pid, oid, ev = paid_at_paypal(user, paypal)
    res = copy.deepcopy(ev["resource"])
    res["custom_id"] = str(uuid.uuid4())
    _, d = custom_event(paypal, "PAYMENT.CAPTURE.COMPLETED", res)
    assert d["status"] == 200
    assert json.loads(d["responseBody"])["result"] == "unmatched"
    assert balance(user) == 100


# ---- PayPal failing -------------------------------------------------------

def test_paypal_answering_500_fails_the_payment(user, paypal):
    paypal.control("POST", "mode", {"mode": "500", "count": 1,
                                    "path": "/v2/checkout/orders"})
    r = checkout(user, provider="paypal")
    assert r.status_code == 502
    assert error_of(r)["code"] == "PROVIDER_ERROR"
    p = user.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED" and "HTTP 500" in p["failureReason"]
    assert checkout(user, provider="paypal").status_code == 201


def test_an_expired_token_is_renewed(user, paypal):
    # One client keeps one connection, so one worker and its token.
    assert checkout(user, provider="paypal").status_code == 201
    seen = len(paypal.control("GET", "requests")["requests"])
    paypal.control("POST", "tokens/expire", {})
    for _ in range(3):
        assert checkout(user, provider="paypal").status_code == 201
    after = paypal.control("GET", "requests")["requests"][seen:]
    calls = [(r["path"], r["status"]) for r in after]
    assert ("/v2/checkout/orders", 401) in calls
    assert ("/v1/oauth2/token", 200) in calls
    assert calls.count(("/v2/checkout/orders", 201)) == 3


def test_no_token_fails_the_payment(user, paypal):
    paypal.control("POST", "tokens/expire", {})
    paypal.control("POST", "mode", {"mode": "503", "count": 2,
                                    "path": "/v1/oauth2/token"})
    r = checkout(user, provider="paypal")
    assert r.status_code == 502
    p = user.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED" and "access token" in p["failureReason"]


def test_paypal_not_answering_fails_the_payment_in_time(spawn, paypal):
    s = spawn(PAYMENT_TIMEOUT_SECONDS="2")
    c = Client(s.url).register()
    paypal.control("POST", "mode", {"mode": "timeout", "count": 1,
                                    "cap": 15,
                                    "path": "/v2/checkout/orders"})
    started = time.time()
    r = checkout(c, provider="paypal")
    assert r.status_code == 504, r.text
    assert error_of(r)["code"] == "PROVIDER_TIMEOUT"
    assert time.time() - started < 10
    p = c.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED" and "within 2 seconds" in \
        p["failureReason"]


def test_a_capture_that_times_out_can_be_tried_again(spawn, paypal):
    s = spawn(PAYMENT_TIMEOUT_SECONDS="2")
    c = Client(s.url).register()
    pid, oid = bought(c, provider="paypal")
    approve(paypal, oid)
    paypal.control("POST", "mode", {"mode": "timeout", "count": 1,
                                    "cap": 15,
                                    "path": "/v2/checkout/orders/%s/capture"
                                    % oid})
    r = capture(c, oid)
    assert r.status_code == 504
    # The money may have moved: the payment stays open for a retry.
    assert payment(c, pid)["status"] == "PENDING"
    r = capture(c, oid)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "COMPLETED"
    assert balance(c) == 200
