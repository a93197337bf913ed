"""Email: with SMTP_URL set, documentation and payment notifications are
also mailed through the outbox, from a task thread, to a local SMTP
server (aiosmtpd) on loopback."""

import email
import email.header
import email.policy
import json
import os
import time
import uuid

import pytest
from aiosmtpd.controller import Controller

from conftest import Client, free_port


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"

    def to(self, addr):
        return [m for m in self.messages if addr in m.rcpt_tos]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    inbox.port = port
    try:
        yield inbox
    finally:
        ctl.stop()


@pytest.fixture
def mailer(spawn, smtp):
    s = spawn(SMTP_URL="smtp://127.0.0.1:%d" % smtp.port,
              SMTP_FROM="apiscribe <noreply@apiscribe.test>",
              MAIL_POLL_SECONDS=1, SMTP_TIMEOUT_SECONDS=5)
    s.admin = Client(s.url).login("admin@apiscribe.dev",
                                  os.environ.get("ADMIN_PASSWORD",
                                                 "admin-test-password-1"))
    return s


def wait_mail(smtp, addr, n=1, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = smtp.to(addr)
        if len(got) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError("no email for %s" % addr)


def parse(envelope):
    return email.message_from_bytes(envelope.content,
                                    policy=email.policy.default)


def notify(db, user_id, kind, payload):
    return db.val("SELECT notification_add(%s, %s, %s::jsonb)", user_id,
                  kind, json.dumps(payload))


def test_completed_payment_is_mailed(mailer, smtp, user, db):
    pid = db.val(
        "INSERT INTO payments (user_id, provider, package_id, amount_cents, "
        "currency, credits) VALUES (%s, 'stripe', 'starter', 500, 'USD', "
        "100) RETURNING id::text", user.user["id"])
    r = mailer.admin.post("/api/admin/payments/%s/fulfil" % pid)
    assert r.status_code == 200, r.text
    env = wait_mail(smtp, user.user["email"])[0]
    assert env.mail_from == "noreply@apiscribe.test"
    msg = parse(env)
    assert msg["Subject"] == "Payment completed: 100 credits added"
    assert msg["To"] == user.user["email"]
    assert msg["From"] == "apiscribe <noreply@apiscribe.test>"
    assert msg["Date"] and msg["Message-ID"]
    assert msg.get_content_type() == "text/plain"
    assert "100 credits" in msg.get_content()
    row = db.one("SELECT * FROM mail_outbox WHERE user_id = %s",
                 user.user["id"])
    deadline = time.time() + 10
    while row["state"] != "sent" and time.time() < deadline:
        time.sleep(0.1)
        row = db.one("SELECT * FROM mail_outbox WHERE user_id = %s",
                     user.user["id"])
    assert row["state"] == "sent" and row["attempts"] == 1


def test_documentation_mail_resists_header_injection(mailer, smtp, user,
                                                     db):
    notify(db, user.user["id"], "docs.failed", {
        "endpointName": "Shop\r\nBcc: victim@example.com",
        "message": "Documentation for \"Shop\" could not be generated."})
    env = wait_mail(smtp, user.user["email"])[0]
    assert env.rcpt_tos == [user.user["email"]]
    msg = parse(env)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Documentation failed: Shop  Bcc: " \
        "victim@example.com"
    assert "could not be generated" in msg.get_content()


def test_non_ascii_subjects_are_encoded(mailer, smtp, user, db):
    notify(db, user.user["id"], "docs.ready", {
        "endpointName": "Café API — Zürich ✓" * 3,
        "message": "Documentation version 1 of \"Café API\" is ready."})
    env = wait_mail(smtp, user.user["email"])[0]
    head = env.content.split(b"\r\n\r\n")[0].decode("ascii")
    assert "=?UTF-8?B?" in head
    for line in head.split("\r\n"):
        assert len(line) <= 78, line
    msg = parse(env)
    assert msg["Subject"] == "Documentation ready: " + \
        "Café API — Zürich ✓" * 3
    assert "Café API" in msg.get_content()


def test_demo_accounts_and_other_notifications_are_not_mailed(db):
    demo = db.val("SELECT id FROM users WHERE is_demo LIMIT 1")
    n = notify(db, demo, "docs.ready", {"endpointName": "x",
                                         "message": "ready"})
    assert db.val("SELECT count(*) FROM mail_outbox "
                  "WHERE notification_id = %s", n) == 0
    u = db.val("SELECT id FROM users WHERE NOT is_demo LIMIT 1")
    n = notify(db, u, "something.else", {"message": "hi"})
    assert db.val("SELECT count(*) FROM mail_outbox "
                  "WHERE notification_id = %s", n) == 0


def test_an_unreachable_smtp_server_means_a_retry_later(spawn, user, db):
    s = spawn(SMTP_URL="smtp://127.0.0.1:%d" % free_port(),
              MAIL_POLL_SECONDS=1, SMTP_TIMEOUT_SECONDS=2)
    n = notify(db, user.user["id"], "docs.ready", {
        "endpointName": "Retry", "message": "ready"})
    deadline = time.time() + 15
    row = None
    while time.time() < deadline:
        row = db.one("SELECT * FROM mail_outbox WHERE notification_id = %s",
                     n)
        if row["attempts"] >= 1 and row["state"] == "pending":
            break
        time.sleep(0.2)
    assert row["state"] == "pending" and row["attempts"] == 1
    assert row["last_error"]
    assert row["next_attempt_at"] > row["created_at"]
    assert '"event":"mail.failed"' in s.log()


def test_without_smtp_url_nothing_is_sent(server, user, db):
    # The session's server has no SMTP_URL: the outbox keeps the email.
    n = notify(db, user.user["id"], "docs.ready", {
        "endpointName": "Kept", "message": "ready"})
    time.sleep(1.5)
    row = db.one("SELECT * FROM mail_outbox WHERE notification_id = %s", n)
    assert row["state"] == "pending" and row["attempts"] == 0
