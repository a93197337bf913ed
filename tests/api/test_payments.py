"""Buying credits: the packages, checkout and its validation, a buyer's
payments, the sweep of abandoned payments and the admin's fulfilment.

The provider-specific flows are in test_payments_stripe.py and
test_payments_paypal.py; the helpers below are shared with them. After
every test conftest checks the ledger invariant (each balance equals the
sum of its ledger and none is negative).
"""

import time
import uuid

import pytest

from conftest import Client, error_of


def checkout(client, package="starter", provider="stripe"):
    return client.post("/api/payments/checkout",
                       json={"packageId": package, "provider": provider})


def bought(client, package="starter", provider="stripe"):
    """A started checkout: (payment id, the provider's session/order id)."""
    r = checkout(client, package, provider)
    assert r.status_code == 201, r.text
    body = r.json()
    url = body["redirectUrl"]
    if provider == "stripe":
        ref = url.rsplit("/", 1)[1]
    else:
        ref = url.split("token=", 1)[1]
    return body["paymentId"], ref


def balance(client):
    return client.get("/api/credits").json()["balance"]


def payment(client, pid):
    r = client.get("/api/payments/" + pid)
    assert r.status_code == 200, r.text
    return r.json()


def purchases(db, pid):
    """The ledger rows a payment produced, oldest first."""
    return db.rows("SELECT amount, kind FROM credit_transactions "
                   "WHERE reference = %s ORDER BY id", "payment:" + pid)


def wait_for(check, timeout=10.0, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return check()


# ---- packages ------------------------------------------------------------

def test_packages_are_public_and_priced_on_the_server(client):
    r = client.get("/api/credits/packages")
    assert r.status_code == 200
    body = r.json()
    assert body["providers"] == {"stripe": True, "paypal": True}
    ids = [p["id"] for p in body["packages"]]
    assert ids == ["starter", "pro", "team"]
    for p in body["packages"]:
        assert set(p) == {"id", "credits", "amountCents", "currency",
                          "label"}
        assert p["credits"] > 0 and p["amountCents"] >= 50
        assert p["currency"] == "USD"
    starter = body["packages"][0]
    assert (starter["credits"], starter["amountCents"]) == (100, 500)


def test_packages_show_providers_without_keys_as_unavailable(spawn):
    s = spawn(STRIPE_SECRET_KEY="", PAYPAL_CLIENT_ID="")
    c = Client(s.url)
    r = c.get("/api/credits/packages")
    assert r.status_code == 200
    assert r.json()["providers"] == {"stripe": False, "paypal": False}


def test_checkout_with_an_unconfigured_provider_is_503(spawn, db):
    s = spawn(STRIPE_WEBHOOK_SECRET="", PAYPAL_CLIENT_SECRET="")
    c = Client(s.url).register()
    for provider in ("stripe", "paypal"):
        r = checkout(c, provider=provider)
        assert r.status_code == 503, r.text
        assert error_of(r)["code"] == "PROVIDER_UNAVAILABLE"
    assert db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                  c.user["id"]) == 0
    # Nor are the providers' webhooks believed without their secrets.
    r = c.post("/webhooks/stripe", data=b"{}",
               headers={"Content-Type": "application/json",
                        "Stripe-Signature": "t=1,v1=00"})
    assert r.status_code == 503
    assert error_of(r)["code"] == "PROVIDER_UNAVAILABLE"


# ---- checkout validation -------------------------------------------------

def test_checkout_needs_a_session(client):
    r = checkout(client)
    assert r.status_code == 401
    error_of(r)


def test_checkout_needs_the_csrf_token(user, db):
    r = user.post("/api/payments/checkout", csrf=False,
                  json={"packageId": "starter", "provider": "stripe"})
    assert r.status_code == 403
    assert error_of(r)["code"] == "CSRF_FAILED"
    assert db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                  user.user["id"]) == 0


@pytest.mark.parametrize("body,status", [
    ({"provider": "stripe"}, 422),
    ({"packageId": "starter"}, 422),
    ({"packageId": "gold", "provider": "stripe"}, 422),
    ({"packageId": "starter", "provider": "bitcoin"}, 422),
    ({"packageId": 7, "provider": "stripe"}, 422),
    ({"packageId": "starter", "provider": "stripe", "amountCents": 1}, 422),
    ({"packageId": "starter", "provider": "stripe", "credits": 100000},
     422),
    ({"packageId": "x" * 40, "provider": "stripe"}, 422),
])
def test_checkout_refuses_bad_input_and_changes_nothing(user, db, body,
                                                        status):
    r = user.post("/api/payments/checkout", json=body)
    assert r.status_code == status, r.text
    assert error_of(r)["code"] == "VALIDATION_FAILED"
    assert db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                  user.user["id"]) == 0
    assert balance(user) == 100


def test_checkout_names_the_packages_when_one_is_unknown(user):
    r = checkout(user, package="gold")
    msg = error_of(r)["message"]
    assert "gold" in msg and "starter" in msg and "team" in msg


def test_checkout_refuses_malformed_bodies(user):
    r = user.post("/api/payments/checkout", data="{not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    error_of(r)
    r = user.post("/api/payments/checkout", data="packageId=starter",
                  headers={"Content-Type":
                           "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    error_of(r)


def test_demo_accounts_cannot_buy(server, db):
    demo = Client(server.url)
    demo.signed_in(demo.post("/api/auth/demo"))
    before = db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                    demo.user["id"])
    for provider in ("stripe", "paypal"):
        r = checkout(demo, provider=provider)
        assert r.status_code == 403, r.text
        assert error_of(r)["code"] == "DEMO_ACCOUNT"
    assert db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                  demo.user["id"]) == before


def test_the_price_comes_from_the_package_not_the_client(user, fakes):
    pid, sid = bought(user, package="team")
    p = payment(user, pid)
    assert (p["credits"], p["amountCents"], p["currency"]) == \
        (1000, 3500, "USD")
    s = fakes["stripe"].control("GET", "sessions/" + sid)["session"]
    assert s["amount_total"] == 3500 and s["currency"] == "usd"


def test_too_many_unfinished_checkouts_are_refused(user, db):
    for _ in range(20):
        assert checkout(user).status_code == 201
    r = checkout(user)
    assert r.status_code == 429
    assert error_of(r)["code"] == "RATE_LIMITED"
    assert int(r.headers["Retry-After"]) > 0
    assert db.val("SELECT count(*) FROM payments WHERE user_id = %s",
                  user.user["id"]) == 20


# ---- a buyer's payments --------------------------------------------------

def test_a_new_payment_is_pending_and_shown_to_its_buyer(user):
    pid, _ = bought(user)
    p = payment(user, pid)
    assert p["status"] == "PENDING"
    assert p["provider"] == "stripe" and p["packageId"] == "starter"
    assert p["completedAt"] is None and p["failureReason"] is None
    assert balance(user) == 100


def test_payments_page_with_a_cursor(user):
    made = [bought(user, provider=("stripe", "paypal")[i % 2])[0]
            for i in range(5)]
    seen, cursor = [], None
    while True:
        path = "/api/payments?limit=2"
        if cursor:
            path += "&cursor=" + cursor
        r = user.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= 2
        seen += [p["id"] for p in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))


def test_payments_refuse_bad_paging(user):
    for q in ("limit=0", "limit=101", "limit=x", "cursor=abc",
              "cursor=123_notauuid", "cursor=_" + str(uuid.uuid4()),
              "cursor=12a_" + str(uuid.uuid4()), "cursor="):
        r = user.get("/api/payments?" + q)
        assert r.status_code in (400, 422), q
        error_of(r)


def test_another_users_payment_is_not_found(server, user):
    pid, _ = bought(user)
    other = Client(server.url).register()
    r = other.get("/api/payments/" + pid)
    assert r.status_code == 404
    assert error_of(r)["code"] == "NOT_FOUND"
    assert other.get("/api/payments").json()["items"] == []


def test_payment_ids_are_checked_before_any_query(user):
    for bad in ("123", "not-a-uuid", "' OR 1=1 --"):
        r = user.get("/api/payments/" + bad)
        assert r.status_code in (400, 404), bad
        error_of(r)
    r = user.get("/api/payments/" + str(uuid.uuid4()))
    assert r.status_code == 404


def test_payments_need_a_session(client):
    assert client.get("/api/payments").status_code == 401
    assert client.get("/api/payments/" + str(uuid.uuid4())).status_code \
        == 401


def test_checkout_is_audited(user, db):
    pid, sid = bought(user)
    actions = [r["action"] for r in db.rows(
        "SELECT action FROM audit_logs WHERE target_id = %s ORDER BY id",
        pid)]
    assert actions == ["payment.checkout", "payment.redirect"]
    row = db.one("SELECT provider_ref FROM payments WHERE id = %s", pid)
    assert row["provider_ref"] == sid


# ---- the sweep and the admin's fulfilment --------------------------------

def test_the_sweep_fails_payments_pending_for_a_day(spawn, user, db):
    old, _ = bought(user)
    fresh, _ = bought(user)
    db.val("UPDATE payments SET created_at = now() - interval '25 hours' "
           "WHERE id = %s RETURNING id", old)
    spawn(PAYMENT_SWEEP_SECONDS="1")
    assert wait_for(lambda: payment(user, old)["status"] == "FAILED")
    p = payment(user, old)
    assert "not paid within 24 hours" in p["failureReason"]
    assert payment(user, fresh)["status"] == "PENDING"
    assert balance(user) == 100


def test_fulfilment_grants_a_payment_exactly_once(user, admin, db):
    pid, _ = bought(user, package="pro")
    first = db.val("SELECT payments_fulfil(%s, 'admin', %s, 'rid-1', "
                   "'127.0.0.1')", pid, admin.user["id"])
    again = db.val("SELECT payments_fulfil(%s, 'admin', %s, 'rid-2', "
                   "'127.0.0.1')", pid, admin.user["id"])
    assert first["applied"] is True and again["applied"] is False
    assert first["payment"]["status"] == "COMPLETED"
    assert balance(user) == 600
    assert purchases(db, pid) == [{"amount": 500, "kind": "PURCHASE"}]
    audit = db.one("SELECT actor_id, details FROM audit_logs "
                   "WHERE action = 'payment.completed' AND target_id = %s",
                   pid)
    assert str(audit["actor_id"]) == admin.user["id"]
    assert audit["details"]["source"] == "admin"
    n = db.one("SELECT type, payload FROM notifications WHERE user_id = %s "
               "AND type = 'payment.completed'", user.user["id"])
    assert n["payload"]["credits"] == 500
    assert n["payload"]["amountCents"] == 2000


def test_the_database_refuses_a_second_purchase_grant(user, db):
    pid, _ = bought(user)
    db.val("SELECT payments_fulfil(%s, 'admin', NULL, NULL, NULL)", pid)
    with pytest.raises(Exception) as e:
        db.val("SELECT credits_apply(%s, 100, 'PURCHASE', %s, NULL)",
               user.user["id"], "payment:" + pid)
    assert "credit_transactions_purchase_once" in str(e.value)
    db.reconnect()
    assert balance(user) == 200
