"""Accounts: registration, login, logout, sessions, CSRF, throttling,
the demo, and what never reaches a log."""

import re
import uuid

import pytest
import requests

from conftest import (ADMIN_EMAIL, DEMO_PASSWORD, PASSWORD, Client,
                      error_of)


def new_email():
    return "u-%s@example.com" % uuid.uuid4().hex[:12]


def register(client, **body):
    payload = {"email": new_email(), "password": PASSWORD, "name": "N"}
    payload.update(body)
    payload = {k: v for k, v in payload.items() if v is not None}
    return client.post("/api/auth/register", json=payload)


# Registration

def test_register_creates_account_with_signup_bonus(client, db):
    email = new_email()
    r = register(client, email=email, name="Ada Lovelace")
    assert r.status_code == 201
    body = r.json()
    assert body["user"]["email"] == email
    assert body["user"]["name"] == "Ada Lovelace"
    assert body["user"]["credits"] == 100
    assert body["user"]["role"] == "user"
    assert body["user"]["isDemo"] is False
    assert len(body["csrfToken"]) == 43
    ledger = db.rows("SELECT amount, kind, balance_after FROM "
                     "credit_transactions WHERE user_id = %s",
                     body["user"]["id"])
    assert ledger == [{"amount": 100, "kind": "SIGNUP_BONUS",
                       "balance_after": 100}]


def test_register_sets_a_safe_session_cookie(client):
    r = register(client)
    cookie = r.headers["Set-Cookie"]
    assert re.match(r"sid=[A-Za-z0-9_-]{43};", cookie)
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie


def test_register_signs_the_user_in(client):
    r = register(client)
    client.csrf = r.json()["csrfToken"]
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == r.json()["user"]["id"]


def test_register_stores_only_a_hash_of_password_and_token(client, db):
    r = register(client)
    uid = r.json()["user"]["id"]
    stored = db.val("SELECT password_hash FROM users WHERE id = %s", uid)
    assert stored.startswith("pbkdf2-sha256$600000$")
    assert PASSWORD not in stored
    token = client.http.cookies.get("sid")
    hashes = [row["token_hash"] for row in db.rows(
        "SELECT token_hash FROM sessions WHERE user_id = %s", uid)]
    assert len(hashes) == 1 and token not in hashes[0]


def test_register_writes_audit_rows(client, db):
    uid = register(client).json()["user"]["id"]
    actions = [r["action"] for r in db.rows(
        "SELECT action FROM audit_logs WHERE actor_id = %s ORDER BY id",
        uid)]
    assert actions == ["user.register", "credits.signup_bonus"]


@pytest.mark.parametrize("case,body,fragment", [
    ("missing email", {"email": None}, "email is required"),
    ("missing password", {"password": None}, "password is required"),
    ("missing name", {"name": None}, "name is required"),
    ("email not a string", {"email": 42}, "email must be a string"),
    ("name not a string", {"name": ["x"]}, "name must be a string"),
    ("invalid email", {"email": "not-an-email"}, "@"),
    ("email without dot", {"email": "a@localhost"}, "dot"),
    ("short password", {"password": "short1"}, "at least 10"),
    ("common password", {"password": "password123"}, "too common"),
    ("overlong name", {"name": "x" * 101}, "at most 100"),
    ("overlong email", {"email": "a" * 250 + "@x.com"}, "254"),
    ("control characters", {"name": "bad\u0007name"}, "control"),
    ("blank name", {"name": "   "}, "empty"),
    ("unknown field", {"role": "admin"}, "unknown field"),
])
def test_register_refuses_bad_input(client, db, case, body, fragment):
    before = db.val("SELECT count(*) FROM users")
    r = register(client, **body)
    assert r.status_code == 422, case
    assert fragment in error_of(r)["message"]
    assert error_of(r)["code"] == "VALIDATION_FAILED"
    assert db.val("SELECT count(*) FROM users") == before


def test_register_refuses_duplicate_email_in_any_case(client, db):
    email = new_email()
    assert register(client, email=email).status_code == 201
    r = register(Client(client.base), email=email.upper())
    assert r.status_code == 409
    assert error_of(r)["code"] == "EMAIL_TAKEN"
    assert db.val("SELECT count(*) FROM users WHERE lower(email) = %s",
                  email) == 1


def test_register_refuses_malformed_json(client):
    r = client.post("/api/auth/register", data='{"email": "a@b.co",',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert error_of(r)["code"] == "MALFORMED_JSON"


def test_register_refuses_a_non_object_body(client):
    r = client.post("/api/auth/register", json=["a", "b"])
    assert r.status_code == 400
    assert "object" in error_of(r)["message"]


def test_register_refuses_wrong_content_type(client):
    r = client.post("/api/auth/register",
                    data="email=a%40b.co&password=x",
                    headers={"Content-Type":
                             "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert error_of(r)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_register_refuses_a_huge_body(client, db):
    before = db.val("SELECT count(*) FROM users")
    r = register(client, name="x" * (200 * 1024))
    assert r.status_code == 413
    assert error_of(r)["code"] == "TOO_LARGE"
    assert db.val("SELECT count(*) FROM users") == before


def test_register_refuses_an_empty_body(client):
    r = client.post("/api/auth/register", data=b"",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_register_accepts_unicode_escapes(client):
    r = client.post("/api/auth/register",
                    data='{"email": "%s", "password": "%s", '
                         '"name": "Jos\\u00e9 \\ud83d\\ude00"}'
                    % (new_email(), PASSWORD),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    assert r.json()["user"]["name"] == "Jos\u00e9 \U0001F600"


def test_register_with_a_get_is_method_not_allowed(client):
    r = client.get("/api/auth/register")
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert error_of(r)["code"] == "METHOD_NOT_ALLOWED"


# Login and sessions

def test_login_with_the_right_password(server):
    a = Client(server.url).register()
    b = Client(server.url).login(a.user["email"], PASSWORD)
    assert b.user["id"] == a.user["id"]
    assert b.get("/api/auth/me").status_code == 200


def test_login_email_is_case_insensitive(server):
    a = Client(server.url).register()
    b = Client(server.url).login(a.user["email"].upper(), PASSWORD)
    assert b.user["id"] == a.user["id"]


def test_login_with_a_wrong_password_is_refused(server, db):
    a = Client(server.url).register()
    r = Client(server.url).post("/api/auth/login", json={
        "email": a.user["email"], "password": "wrong-password-123"})
    assert r.status_code == 401
    assert error_of(r)["code"] == "INVALID_CREDENTIALS"
    assert "Set-Cookie" not in r.headers
    assert db.val("SELECT count(*) FROM audit_logs WHERE actor_id = %s "
                  "AND action = 'auth.login_failed'", a.user["id"]) == 1


def test_login_with_an_unknown_email_gives_the_same_answer(client):
    r = client.post("/api/auth/login", json={
        "email": new_email(), "password": "whatever-password-1"})
    assert r.status_code == 401
    assert error_of(r)["message"] == "the email or the password is wrong"


@pytest.mark.parametrize("body", [
    {"email": "a@b.co"}, {"password": "x"}, {"email": 1, "password": "x"},
    {"email": "a@b.co", "password": "x", "remember": True},
])
def test_login_refuses_bad_input(client, body):
    r = client.post("/api/auth/login", json=body)
    assert r.status_code == 422


def test_login_rotates_the_session(server, db):
    c = Client(server.url).register()
    old = c.http.cookies.get("sid")
    c.login(c.user["email"], PASSWORD)
    new = c.http.cookies.get("sid")
    assert new != old
    stale = Client(server.url)
    stale.http.cookies.set("sid", old)
    assert stale.get("/api/auth/me").status_code == 401
    assert c.get("/api/auth/me").status_code == 200


def test_disabled_account_cannot_log_in_or_use_its_session(server, db):
    c = Client(server.url).register()
    db.val("UPDATE users SET disabled_at = now() WHERE id = %s "
           "RETURNING 1", c.user["id"])
    r = c.get("/api/auth/me")
    assert r.status_code == 403
    assert error_of(r)["code"] == "ACCOUNT_DISABLED"
    r = Client(server.url).post("/api/auth/login", json={
        "email": c.user["email"], "password": PASSWORD})
    assert r.status_code == 403


def test_expired_session_is_refused(server, db):
    c = Client(server.url).register()
    db.val("UPDATE sessions SET expires_at = now() - interval '1 second' "
           "WHERE user_id = %s RETURNING 1", c.user["id"])
    r = c.get("/api/auth/me")
    assert r.status_code == 401
    assert error_of(r)["code"] == "UNAUTHORIZED"


def test_garbage_cookie_is_treated_as_signed_out(client):
    client.http.cookies.set("sid", "x" * 43)
    assert client.get("/api/auth/me").status_code == 401
    client.http.cookies.set("sid", "'; DROP TABLE users; --")
    assert client.get("/api/auth/me").status_code == 401


def test_me_without_a_session_is_401(client):
    r = client.get("/api/auth/me")
    assert r.status_code == 401
    assert error_of(r)["code"] == "UNAUTHORIZED"


def test_logout_revokes_the_session(user, db):
    token = user.http.cookies.get("sid")
    r = user.post("/api/auth/logout")
    assert r.status_code == 204
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    stale = Client(user.base)
    stale.http.cookies.set("sid", token)
    assert stale.get("/api/auth/me").status_code == 401
    assert db.val("SELECT count(*) FROM sessions WHERE user_id = %s",
                  user.user["id"]) == 0


def test_logout_without_a_session_is_harmless(client):
    assert client.post("/api/auth/logout").status_code == 204


# CSRF

def test_mutating_request_without_csrf_token_is_refused(user, db):
    r = user.post("/api/auth/logout", csrf=False)
    assert r.status_code == 403
    assert error_of(r)["code"] == "CSRF_FAILED"
    assert db.val("SELECT count(*) FROM sessions WHERE user_id = %s",
                  user.user["id"]) == 1


def test_mutating_request_with_a_wrong_csrf_token_is_refused(user):
    r = user.post("/api/auth/logout", csrf=False,
                  headers={"X-CSRF-Token": "A" * 43})
    assert r.status_code == 403


def test_csrf_token_of_another_session_is_refused(server):
    a = Client(server.url).register()
    b = Client(server.url).register()
    r = a.post("/api/auth/logout", csrf=False,
               headers={"X-CSRF-Token": b.csrf})
    assert r.status_code == 403


# Throttling

def test_login_is_throttled_per_account(server, db):
    victim = Client(server.url).register()
    for i in range(5):
        r = Client(server.url).post("/api/auth/login", json={
            "email": victim.user["email"], "password": "nope-nope-%d" % i})
        assert r.status_code == 401
    # Even the right password is refused now, from any address.
    r = Client(server.url).post("/api/auth/login", json={
        "email": victim.user["email"], "password": PASSWORD})
    assert r.status_code == 429
    assert error_of(r)["code"] == "TOO_MANY_ATTEMPTS"
    assert int(r.headers["Retry-After"]) > 0


def test_login_is_throttled_per_address(server):
    attacker = Client(server.url)
    for i in range(20):
        r = attacker.post("/api/auth/login", json={
            "email": new_email(), "password": "guess-guess-%d" % i})
        assert r.status_code == 401
    real = Client(server.url).register()
    r = attacker.post("/api/auth/login", json={
        "email": real.user["email"], "password": PASSWORD})
    assert r.status_code == 429
    # Another address is not affected.
    assert Client(server.url).login(real.user["email"], PASSWORD)


def test_successful_login_clears_the_account_counter(server):
    c = Client(server.url).register()
    for i in range(4):
        Client(server.url).post("/api/auth/login", json={
            "email": c.user["email"], "password": "wrong-wrong-%d" % i})
    Client(server.url).login(c.user["email"], PASSWORD)
    for i in range(4):
        r = Client(server.url).post("/api/auth/login", json={
            "email": c.user["email"], "password": "again-wrong-%d" % i})
        assert r.status_code == 401


# Demo accounts

def test_demo_login_gives_a_seeded_demo_account(client):
    r = client.post("/api/auth/demo")
    assert r.status_code == 200
    u = r.json()["user"]
    assert u["isDemo"] is True
    assert u["email"].endswith("@apiscribe.dev")
    client.signed_in(r)
    assert client.get("/api/auth/me").json()["user"]["isDemo"] is True


def test_demo_logins_spread_over_the_demo_accounts(server):
    seen = {Client(server.url).signed_in(
        Client(server.url).post("/api/auth/demo")).user["id"]
        for _ in range(3)}
    assert len(seen) == 3


def test_demo_accounts_can_log_in_with_the_documented_password(server):
    c = Client(server.url).login("demo1@apiscribe.dev", DEMO_PASSWORD)
    assert c.user["isDemo"] is True


def test_admin_account_is_seeded(admin):
    assert admin.user["email"] == ADMIN_EMAIL
    assert admin.user["role"] == "admin"


# Logs

def test_no_password_token_or_secret_in_the_logs(server):
    secret_pw = "Sup3r-Secret-Pa55word-%s" % uuid.uuid4().hex[:8]
    c = Client(server.url).register(password=secret_pw)
    c.login(c.user["email"], secret_pw)
    Client(server.url).post("/api/auth/login", json={
        "email": c.user["email"], "password": secret_pw + "-wrong"})
    token = c.http.cookies.get("sid")
    log = server.log()
    assert c.user["id"] in log
    for secret in (secret_pw, token, c.csrf, "sk_test_apiscribe_tests",
                   "whsec_apiscribe_tests_secret", "gsk_apiscribe_tests",
                   "apiscribe-tests-secret"):
        assert secret not in log


def test_every_response_carries_a_request_id(client):
    for r in (client.get("/api/health"), client.get("/api/auth/me"),
              client.get("/api/nothing-here")):
        assert len(r.headers["X-Request-Id"]) >= 8


def test_a_sane_caller_request_id_is_kept(client):
    r = client.get("/api/auth/me", headers={"X-Request-Id": "trace-1234abcd"})
    assert r.headers["X-Request-Id"] == "trace-1234abcd"
    assert error_of(r)["requestId"] == "trace-1234abcd"
    r = client.get("/api/auth/me", headers={"X-Request-Id": "bad id<>"})
    assert r.headers["X-Request-Id"] != "bad id<>"
