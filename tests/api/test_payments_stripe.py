"""Buying credits through Stripe: Checkout Sessions created at the fake,
and the webhook that completes, fails and refunds them, exactly once.

The fake Stripe delivers webhooks only when a test asks (manual delivery),
signed the way Stripe signs them, with the faults a test chooses.
"""

import copy
import json
import time
import uuid

import pytest
import requests

from conftest import STRIPE_KEY, STRIPE_WHSEC, Client, error_of, free_port
from test_payments import balance, bought, checkout, payment, purchases


@pytest.fixture
def stripe(fakes):
    fake = fakes["stripe"]
    yield fake
    fake.control("POST", "mode", {"mode": "ok"})


def pay(stripe, sid, flavor="paid"):
    """The buyer pays at Stripe; returns the checkout.session.completed
    event (not yet delivered)."""
    return stripe.control("POST", "sessions/%s/complete" % sid,
                          {"flavor": flavor})["event"]


def deliver(stripe, eid, **opts):
    return stripe.control("POST", "events/%s/deliver" % eid, opts)[
        "deliveries"]


def applied(stripe, eid, **opts):
    """Delivers an event once; returns what the server did with it."""
    d = deliver(stripe, eid, **opts)[0]
    assert d["status"] == 200, d
    return json.loads(d["responseBody"])["result"]


def stored(db, eid):
    return db.val("SELECT count(*) FROM webhook_events "
                  "WHERE provider = 'stripe' AND event_id = %s", eid)


def custom_event(stripe, etype, obj, **opts):
    body = {"type": etype, "object": obj}
    body.update(opts)
    out = stripe.control("POST", "events", body)
    return out["event"], (out.get("deliveries") or [None])[0]


def post_webhook(server, body, signature):
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return requests.post(server.url + "/webhooks/stripe", data=body,
                         headers=headers, verify=False, timeout=30)


# ---- the whole purchase --------------------------------------------------

def test_purchase_end_to_end(user, stripe, db, server):
    pid, sid = bought(user)
    assert payment(user, pid)["status"] == "PENDING"

    ev = pay(stripe, sid)
    assert applied(stripe, ev["id"]) == "completed"

    p = payment(user, pid)
    assert p["status"] == "COMPLETED" and p["completedAt"] is not None
    assert balance(user) == 200
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"}]
    row = db.one("SELECT provider_payment_ref, completed_by FROM payments "
                 "WHERE id = %s", pid)
    assert row["provider_payment_ref"].startswith("pi_")
    assert row["completed_by"] == "webhook"

    n = db.one("SELECT payload FROM notifications WHERE user_id = %s "
               "AND type = 'payment.completed'", user.user["id"])
    assert n["payload"]["credits"] == 100
    assert n["payload"]["amountCents"] == 500
    assert n["payload"]["paymentId"] == pid

    actions = {r["action"] for r in db.rows(
        "SELECT action FROM audit_logs WHERE target_id = %s", pid)}
    assert {"payment.checkout", "payment.redirect", "payment.completed",
            "payment.webhook"} <= actions

    ev_row = db.one("SELECT result, processed_at, payment_id "
                    "FROM webhook_events WHERE provider = 'stripe' "
                    "AND event_id = %s", ev["id"])
    assert ev_row["result"] == "completed"
    assert ev_row["processed_at"] is not None
    assert str(ev_row["payment_id"]) == pid

    log = server.log()
    assert '"event":"payment.completed"' in log
    assert STRIPE_KEY not in log and STRIPE_WHSEC not in log


def test_the_session_is_made_as_stripe_expects(user, stripe, server):
    pid, sid = bought(user, package="pro")
    reqs = [r for r in stripe.control("GET", "requests")["requests"]
            if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"]
    sent = reqs[-1]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["idempotency-key"] == "apiscribe-checkout-" + pid
    assert headers["authorization"] == "Bearer " + STRIPE_KEY
    assert headers["content-type"].startswith(
        "application/x-www-form-urlencoded")

    s = stripe.control("GET", "sessions/" + sid)
    sess = s["session"]
    assert sess["metadata"] == {"payment_id": pid,
                                "user_id": user.user["id"]}
    assert sess["client_reference_id"] == pid
    assert sess["amount_total"] == 2000 and sess["currency"] == "usd"
    assert sess["success_url"] == "%s/credits?payment=%s&result=success" % (
        server.url, pid)
    assert sess["cancel_url"] == "%s/credits?payment=%s&result=cancel" % (
        server.url, pid)
    assert s["lineItems"][0]["quantity"] == 1


def test_the_hosted_page_returns_the_buyer_to_the_app(user, stripe, server):
    pid, sid = bought(user)
    r = requests.post(stripe.url + "/pay/%s/confirm" % sid,
                      allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert r.headers["Location"] == \
        "%s/credits?payment=%s&result=success" % (server.url, pid)
    pending = stripe.control("GET", "events?type=checkout.session.completed")
    ev = [e for e in pending["events"]
          if e["data"]["object"]["id"] == sid][0]
    assert applied(stripe, ev["id"]) == "completed"
    assert balance(user) == 200


def test_cancelling_at_stripe_leaves_the_payment_pending(user, stripe,
                                                         server):
    pid, sid = bought(user)
    r = requests.post(stripe.url + "/pay/%s/cancel" % sid,
                      allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert r.headers["Location"].endswith("payment=%s&result=cancel" % pid)
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100


# ---- exactly once ----------------------------------------------------------

def test_a_redelivered_event_grants_nothing_more(user, stripe, db):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    results = [applied(stripe, ev["id"]) for _ in range(3)]
    assert results == ["completed", "duplicate", "duplicate"]
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1


def test_concurrent_deliveries_grant_once(user, stripe, db):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    ds = deliver(stripe, ev["id"], concurrent=8)
    assert [d["status"] for d in ds] == [200] * 8, ds
    results = sorted(json.loads(d["responseBody"])["result"] for d in ds)
    assert results == ["completed"] + ["duplicate"] * 7
    assert balance(user) == 200
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"}]
    assert stored(db, ev["id"]) == 1


def test_concurrent_events_for_one_payment_grant_once(user, stripe, db):
    # Two different events both saying "paid": only one grant.
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    twin, _ = custom_event(stripe, "checkout.session.completed",
                           ev["data"]["object"], deliver=False)
    ds = deliver(stripe, ev["id"], concurrent=4) + \
        deliver(stripe, twin["id"], concurrent=4)
    assert all(d["status"] == 200 for d in ds), ds
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1


# ---- signatures ------------------------------------------------------------

@pytest.mark.parametrize("fault", ["no_header", "wrong_secret", "stale",
                                   "future", "tampered", "no_v1",
                                   "malformed"])
def test_bad_signatures_are_refused_and_change_nothing(user, stripe, db,
                                                       fault):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    d = deliver(stripe, ev["id"], fault=fault)[0]
    assert d["status"] == 400, d
    assert json.loads(d["responseBody"])["error"]["code"] == "BAD_SIGNATURE"
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100
    assert stored(db, ev["id"]) == 0
    # The genuine delivery still works afterwards.
    assert applied(stripe, ev["id"]) == "completed"


def test_any_of_several_v1_signatures_may_match(user, stripe):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    assert applied(stripe, ev["id"], fault="multi_v1") == "completed"
    assert balance(user) == 200


def test_a_replayed_delivery_changes_nothing(user, stripe, server, db):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    first = deliver(stripe, ev["id"])[0]
    assert first["status"] == 200
    again = post_webhook(server, first["body"].encode("utf-8"),
                         first["signatureHeader"])
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate"
    assert balance(user) == 200


def test_an_old_signed_delivery_is_refused(user, stripe, db):
    # What an attacker who recorded a delivery long ago could send.
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    d = deliver(stripe, ev["id"], fault="stale", staleSeconds=301)[0]
    assert d["status"] == 400
    assert stored(db, ev["id"]) == 0
    assert balance(user) == 100


def test_a_signature_for_another_body_is_refused(user, stripe, server, db):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    other_pid, other_sid = bought(user)
    other = pay(stripe, other_sid)
    good = deliver(stripe, other["id"])[0]
    assert good["status"] == 200
    body = stripe.control("GET", "events")["events"]
    body = json.dumps([e for e in body if e["id"] == ev["id"]][0])
    r = post_webhook(server, body.encode("utf-8"), good["signatureHeader"])
    assert r.status_code == 400
    assert error_of(r)["code"] == "BAD_SIGNATURE"
    assert payment(user, pid)["status"] == "PENDING"
    assert stored(db, ev["id"]) == 0


def test_signed_bodies_that_are_not_events_are_refused(server, stripe, db):
    for payload in ("not json", "[1, 2]", '{"hello": "world"}',
                    '{"id": "evt_x", "type": "checkout.session.completed"}'):
        sig = stripe.control("POST", "sign", {"payload": payload})["header"]
        r = post_webhook(server, payload.encode("utf-8"), sig)
        assert r.status_code == 400, payload
        error_of(r)
    assert stored(db, "evt_x") == 0


def test_oversized_webhooks_are_refused(server, stripe):
    payload = '{"pad": "%s"}' % ("x" * (300 * 1024))
    sig = stripe.control("POST", "sign", {"payload": payload})["header"]
    r = post_webhook(server, payload.encode("utf-8"), sig)
    assert r.status_code == 413
    error_of(r)


def test_webhooks_need_no_session_but_a_signature(user, stripe):
    # A browser session does not make an unsigned event believable.
    r = user.post("/webhooks/stripe", data=b'{"id": "evt_y"}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert error_of(r)["code"] == "BAD_SIGNATURE"
    r = user.get("/webhooks/stripe")
    assert r.status_code == 405


# ---- out of order, failures, refunds ---------------------------------------

def test_expiry_fails_the_payment(user, stripe):
    pid, sid = bought(user)
    ev = stripe.control("POST", "sessions/%s/expire" % sid, {})["event"]
    assert applied(stripe, ev["id"]) == "failed"
    p = payment(user, pid)
    assert p["status"] == "FAILED" and "expired" in p["failureReason"]
    assert balance(user) == 100


def test_an_expiry_after_completion_changes_nothing(user, stripe):
    pid, sid = bought(user)
    ev = pay(stripe, sid)
    assert applied(stripe, ev["id"]) == "completed"
    late, d = custom_event(stripe, "checkout.session.expired",
                           ev["data"]["object"])
    assert json.loads(d["responseBody"])["result"] == "already_completed"
    assert payment(user, pid)["status"] == "COMPLETED"
    assert balance(user) == 200


def test_a_delayed_payment_completes_when_it_clears(user, stripe, db):
    pid, sid = bought(user)
    ev = pay(stripe, sid, flavor="async")
    assert applied(stripe, ev["id"]) == "awaiting_payment"
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100
    ok = stripe.control("POST", "sessions/%s/async" % sid,
                        {"result": "succeeded"})["event"]
    assert applied(stripe, ok["id"]) == "completed"
    assert balance(user) == 200
    assert len(purchases(db, pid)) == 1


def test_a_delayed_payment_that_fails_grants_nothing(user, stripe):
    pid, sid = bought(user)
    ev = pay(stripe, sid, flavor="async")
    bad = stripe.control("POST", "sessions/%s/async" % sid,
                         {"result": "failed"})["event"]
    # Out of order: the failure arrives before the completion.
    assert applied(stripe, bad["id"]) == "failed"
    assert applied(stripe, ev["id"]) == "already_failed"
    p = payment(user, pid)
    assert p["status"] == "FAILED" and "delayed" in p["failureReason"]
    assert balance(user) == 100


def test_a_refund_claws_the_credits_back(user, stripe, db):
    pid, sid = bought(user)
    assert applied(stripe, pay(stripe, sid)["id"]) == "completed"
    out = stripe.control("POST", "sessions/%s/refund" % sid, {})
    assert applied(stripe, out["event"]["id"]) == "refunded"
    p = payment(user, pid)
    assert p["status"] == "REFUNDED"
    assert p["refundedCents"] == 500 and p["creditsRevoked"] == 100
    assert balance(user) == 100
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"},
                                  {"amount": -100, "kind": "REFUND"}]
    assert applied(stripe, out["event"]["id"]) == "duplicate"
    assert db.val("SELECT count(*) FROM notifications WHERE user_id = %s "
                  "AND type = 'payment.refunded'", user.user["id"]) == 1


def test_partial_refunds_take_back_their_share(user, stripe, db):
    pid, sid = bought(user)
    assert applied(stripe, pay(stripe, sid)["id"]) == "completed"
    half = stripe.control("POST", "sessions/%s/refund" % sid,
                          {"amount": 250})["event"]
    rest = stripe.control("POST", "sessions/%s/refund" % sid, {})["event"]
    # Delivered in the wrong order: the running total decides.
    assert applied(stripe, rest["id"]) == "refunded"
    assert applied(stripe, half["id"]) == "duplicate"
    p = payment(user, pid)
    assert p["status"] == "REFUNDED" and p["creditsRevoked"] == 100
    assert balance(user) == 100


def test_a_partial_refund_leaves_the_payment_completed(user, stripe):
    pid, sid = bought(user)
    assert applied(stripe, pay(stripe, sid)["id"]) == "completed"
    half = stripe.control("POST", "sessions/%s/refund" % sid,
                          {"amount": 250})["event"]
    assert applied(stripe, half["id"]) == "refunded"
    p = payment(user, pid)
    assert p["status"] == "COMPLETED"
    assert (p["refundedCents"], p["creditsRevoked"]) == (250, 50)
    assert balance(user) == 150


def test_a_refund_never_drives_the_balance_negative(user, stripe, db):
    pid, sid = bought(user)
    assert applied(stripe, pay(stripe, sid)["id"]) == "completed"
    db.val("SELECT credits_apply(%s, -150, 'ENDPOINT_CREATE', 'spent', "
           "NULL)", user.user["id"])
    out = stripe.control("POST", "sessions/%s/refund" % sid, {})
    assert applied(stripe, out["event"]["id"]) == "refunded"
    assert balance(user) == 0
    row = db.one("SELECT status, credits_revoked, credits_unrecovered "
                 "FROM payments WHERE id = %s", pid)
    assert (row["status"], row["credits_revoked"],
            row["credits_unrecovered"]) == ("REFUNDED", 50, 50)


def test_a_refund_before_the_completion_is_applied_after_it(user, stripe,
                                                            db):
    pid, sid = bought(user)
    done = pay(stripe, sid)
    refund = stripe.control("POST", "sessions/%s/refund" % sid, {})["event"]
    assert applied(stripe, refund["id"]) == "deferred"
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100
    assert applied(stripe, done["id"]) == "completed"
    p = payment(user, pid)
    assert p["status"] == "REFUNDED" and p["creditsRevoked"] == 100
    assert balance(user) == 100
    assert purchases(db, pid) == [{"amount": 100, "kind": "PURCHASE"},
                                  {"amount": -100, "kind": "REFUND"}]
    assert applied(stripe, refund["id"]) == "duplicate"
    assert db.val("SELECT result FROM webhook_events WHERE provider = "
                  "'stripe' AND event_id = %s", refund["id"]) == "refunded"


# ---- events that do not fit ------------------------------------------------

def test_a_webhook_for_another_users_payment_grants_nothing(server, stripe,
                                                            db):
    a = Client(server.url).register()
    b = Client(server.url).register()
    pid_a, sid_a = bought(a)
    pid_b, sid_b = bought(b)
    sess_a = pay(stripe, sid_a)["data"]["object"]

    # A's paid session, relabelled with B's payment (and either user).
    for owner in (a.user["id"], b.user["id"]):
        forged = copy.deepcopy(sess_a)
        forged["metadata"] = {"payment_id": pid_b, "user_id": owner}
        forged["client_reference_id"] = pid_b
        _, d = custom_event(stripe, "checkout.session.completed", forged)
        assert d["status"] == 200, d
        assert json.loads(d["responseBody"])["result"] == "mismatch"

    # B's own session id, claimed for user A.
    sess_b = copy.deepcopy(sess_a)
    sess_b["id"] = sid_b
    sess_b["metadata"] = {"payment_id": pid_b, "user_id": a.user["id"]}
    _, d = custom_event(stripe, "checkout.session.completed", sess_b)
    assert json.loads(d["responseBody"])["result"] == "mismatch"

    assert balance(a) == 100 and balance(b) == 100
    assert payment(a, pid_a)["status"] == "PENDING"
    assert payment(b, pid_b)["status"] == "PENDING"
    assert db.val("SELECT count(*) FROM audit_logs WHERE action = "
                  "'payment.webhook' AND target_id = %s AND details->>"
                  "'result' = 'mismatch'", pid_b) == 3


def test_an_amount_that_is_not_the_price_grants_nothing(user, stripe):
    pid, sid = bought(user)
    sess = copy.deepcopy(pay(stripe, sid)["data"]["object"])
    sess["amount_total"] = 50
    _, d = custom_event(stripe, "checkout.session.completed", sess)
    assert json.loads(d["responseBody"])["result"] == "mismatch"
    assert balance(user) == 100


def test_an_event_for_an_unknown_payment_is_acknowledged(user, stripe, db):
    pid, sid = bought(user)
    sess = copy.deepcopy(pay(stripe, sid)["data"]["object"])
    sess["metadata"] = {"payment_id": str(uuid.uuid4())}
    sess["client_reference_id"] = None
    ev, d = custom_event(stripe, "checkout.session.completed", sess)
    assert d["status"] == 200
    assert json.loads(d["responseBody"])["result"] == "unmatched"
    assert db.val("SELECT result FROM webhook_events WHERE provider = "
                  "'stripe' AND event_id = %s", ev["id"]) == "unmatched"
    assert payment(user, pid)["status"] == "PENDING"
    assert balance(user) == 100


def test_events_we_do_not_act_on_are_acknowledged(stripe):
    _, d = custom_event(stripe, "customer.created",
                        {"id": "cus_123", "object": "customer"})
    assert d["status"] == 200
    assert json.loads(d["responseBody"])["result"] == "ignored"


# ---- the provider failing during checkout ----------------------------------

def test_stripe_answering_500_fails_the_payment(user, stripe, db):
    stripe.control("POST", "mode", {"mode": "500", "count": 1,
                                    "path": "/v1/checkout/sessions"})
    r = checkout(user)
    assert r.status_code == 502
    err = error_of(r)
    assert err["code"] == "PROVIDER_ERROR" and "Stripe" in err["message"]
    p = user.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED"
    assert "HTTP 500" in p["failureReason"]
    assert balance(user) == 100
    # The next try goes through.
    assert checkout(user).status_code == 201


def test_stripe_not_answering_fails_the_payment_in_time(spawn, stripe):
    s = spawn(PAYMENT_TIMEOUT_SECONDS="2")
    c = Client(s.url).register()
    stripe.control("POST", "mode", {"mode": "timeout", "count": 1,
                                    "cap": 15,
                                    "path": "/v1/checkout/sessions"})
    started = time.time()
    r = checkout(c)
    took = time.time() - started
    assert r.status_code == 504, r.text
    assert error_of(r)["code"] == "PROVIDER_TIMEOUT"
    assert 1.5 < took < 10
    p = c.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED"
    assert "within 2 seconds" in p["failureReason"]


def test_stripe_unreachable_fails_the_payment(spawn):
    s = spawn(STRIPE_API_BASE="http://127.0.0.1:%d" % free_port())
    c = Client(s.url).register()
    r = checkout(c)
    assert r.status_code == 502
    assert error_of(r)["code"] == "PROVIDER_UNREACHABLE"
    p = c.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED" and "reached" in p["failureReason"]


def test_a_wrong_secret_key_fails_without_revealing_it(spawn):
    s = spawn(STRIPE_SECRET_KEY="sk_test_not_the_right_key_123456")
    c = Client(s.url).register()
    r = checkout(c)
    assert r.status_code == 502
    assert "sk_test" not in r.text
    p = c.get("/api/payments").json()["items"][0]
    assert p["status"] == "FAILED" and "HTTP 401" in p["failureReason"]
    assert "sk_test" not in p["failureReason"]
    assert "sk_test_not_the_right_key" not in s.log()


def test_a_buyer_who_leaves_mid_checkout_breaks_nothing(spawn, stripe):
    s = spawn(PAYMENT_TIMEOUT_SECONDS="2")
    c = Client(s.url).register()
    stripe.control("POST", "mode", {"mode": "timeout", "count": 1,
                                    "cap": 15,
                                    "path": "/v1/checkout/sessions"})
    with pytest.raises(requests.exceptions.Timeout):
        c.post("/api/payments/checkout", timeout=0.5,
               json={"packageId": "starter", "provider": "stripe"})
    time.sleep(3)
    # The server carries on; the abandoned payment is not left open.
    assert Client(s.url).get("/api/health").status_code == 200
    c2 = Client(s.url)
    c2.http.cookies = c.http.cookies
    c2.csrf = c.csrf
    items = c2.get("/api/payments").json()["items"]
    assert len(items) == 1
    assert items[0]["status"] == "FAILED"
    assert "left" in items[0]["failureReason"]
    assert checkout(c2).status_code == 201
