"""Tests of the fakes themselves: they must behave like the services they
stand in for, so the checks here use the services' documented rules
(Stripe's signature scheme, PayPal's signed string, the error shapes),
implemented independently of the fakes' own code.

Run: /usr/bin/python3 -m pytest tests/fakes
"""

import base64
import gzip
import hashlib
import hmac
import http.client
import json
import random
import socket
import time
import urllib.parse
import zlib

import pytest
import requests

from fakekeys import (GROQ_KEY, PAYPAL_ID, PAYPAL_SECRET, PAYPAL_WEBHOOK_ID,
                      STRIPE_KEY, STRIPE_WHSEC)
from runner import start_fake


# ---------------------------------------------------------------------------
# common behaviour

@pytest.mark.parametrize("name,probe", [
    ("groq", "/__control/requests"), ("stripe", "/__control/events"),
    ("paypal", "/__control/events"), ("upstream", "/health")])
def test_fake_reports_ready_logs_and_stops_on_sigterm(name, probe):
    fake = start_fake(name)
    try:
        assert fake.port > 0
        r = requests.get(fake.url + probe, timeout=5)
        assert r.status_code == 200
    finally:
        started = time.monotonic()
        rc = fake.stop()
    assert rc == 0
    assert time.monotonic() - started < 4
    assert "GET %s" % probe in fake.log()


def test_fake_refuses_unknown_mode(groq):
    r = requests.post(groq.url + "/__control/mode",
                      json={"mode": "explode"}, timeout=5)
    assert r.status_code == 400
    assert "unknown mode" in r.json()["error"]


# ---------------------------------------------------------------------------
# Groq

def chat(fake, body, key=GROQ_KEY, timeout=10):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = "Bearer " + key
    return requests.post(fake.url + "/openai/v1/chat/completions",
                         data=json.dumps(body), headers=headers,
                         timeout=timeout)


def prompt_body(ops, api=None):
    doc = {"api": api or {"baseUrl": "https://shop.example.com/v1"},
           "operations": ops}
    return {
        "model": "llama-3.3-70b-versatile", "temperature": 0.2,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": "You document APIs. Answer in "
             "JSON only."},
            {"role": "user", "content": "Describe these operations:\n" +
             json.dumps(doc) + "\nReply with the JSON described."}]}


OPS = [{"id": "op1", "method": "GET", "path": "/users/{userId}"},
       {"id": "op2", "method": "POST", "path": "/users"},
       {"id": "op3", "method": "GET", "path": "/users/{userId}/orders"},
       {"id": "op4", "method": "DELETE",
        "path": "/users/{userId}/orders/{orderId}"},
       {"id": "op5", "method": "GET", "path": "/products"}]


def assert_groq_error(r, status, etype=None):
    assert r.status_code == status
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert "type" in err
    if etype:
        assert err["type"] == etype


def test_groq_rejects_missing_and_wrong_key(groq):
    r = chat(groq, prompt_body(OPS), key=None)
    assert_groq_error(r, 401)
    assert r.json()["error"]["code"] == "invalid_api_key"
    r = chat(groq, prompt_body(OPS), key="gsk_wrong")
    assert_groq_error(r, 401)


def test_groq_validates_like_the_real_api(groq):
    body = prompt_body(OPS)
    del body["model"]
    assert_groq_error(chat(groq, body), 400, "invalid_request_error")
    body = prompt_body(OPS)
    del body["messages"]
    assert_groq_error(chat(groq, body), 400, "invalid_request_error")
    body = prompt_body(OPS)
    body["temperature"] = 3
    assert_groq_error(chat(groq, body), 400)
    body = prompt_body(OPS)
    body["messages"] = [{"role": "user", "content": "hello {}"}]
    r = chat(groq, body)   # json_object without the word "json"
    assert_groq_error(r, 400)
    assert "json" in r.json()["error"]["message"]
    r = requests.post(groq.url + "/openai/v1/chat/completions",
                      data=b"{not json", timeout=5,
                      headers={"Authorization": "Bearer " + GROQ_KEY})
    assert_groq_error(r, 400)


def test_groq_answers_a_full_chat_completion_with_rate_headers(groq):
    r = chat(groq, prompt_body(OPS))
    assert r.status_code == 200
    obj = r.json()
    assert obj["object"] == "chat.completion"
    assert obj["id"].startswith("chatcmpl-")
    assert isinstance(obj["created"], int)
    assert obj["model"] == "llama-3.3-70b-versatile"
    choice = obj["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    u = obj["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    for h in ("x-ratelimit-limit-requests", "x-ratelimit-limit-tokens",
              "x-ratelimit-remaining-requests",
              "x-ratelimit-remaining-tokens", "x-ratelimit-reset-requests",
              "x-ratelimit-reset-tokens"):
        assert h in r.headers


def test_groq_model_summarises_operations_from_method_and_path(groq):
    r = chat(groq, prompt_body(OPS))
    doc = json.loads(r.json()["choices"][0]["message"]["content"])
    assert doc["title"] == "Shop API"
    assert doc["description"]
    by_id = {o["id"]: o for o in doc["operations"]}
    assert set(by_id) == {"op1", "op2", "op3", "op4", "op5"}
    assert by_id["op1"]["summary"] == "Get a user"
    assert by_id["op2"]["summary"] == "Create a user"
    assert by_id["op3"]["summary"] == "List orders of a user"
    assert by_id["op4"]["summary"] == "Delete an order of a user"
    assert by_id["op5"]["summary"] == "List products"
    assert by_id["op1"]["tags"] == ["users"]
    assert by_id["op5"]["tags"] == ["products"]
    assert "`userId`" in by_id["op1"]["description"]


def test_groq_model_is_deterministic(groq):
    a = chat(groq, prompt_body(OPS)).json()["choices"][0]["message"]
    b = chat(groq, prompt_body(OPS)).json()["choices"][0]["message"]
    assert a["content"] == b["content"]


def test_groq_429_for_count_requests_then_ok(groq):
    groq.control("POST", "mode", {"mode": "429", "count": 2,
                                  "retryAfter": 7})
    for _ in range(2):
        r = chat(groq, prompt_body(OPS))
        assert_groq_error(r, 429)
        assert r.headers["retry-after"] == "7"
        assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert chat(groq, prompt_body(OPS)).status_code == 200


@pytest.mark.parametrize("mode,status", [("500", 500), ("503", 503)])
def test_groq_server_errors(groq, mode, status):
    groq.control("POST", "mode", {"mode": mode, "count": 1})
    assert_groq_error(chat(groq, prompt_body(OPS)), status)
    assert chat(groq, prompt_body(OPS)).status_code == 200


def test_groq_sequence_of_modes(groq):
    groq.control("POST", "mode", {"sequence": [
        {"mode": "500", "count": 1}, {"mode": "503", "count": 1}]})
    assert chat(groq, prompt_body(OPS)).status_code == 500
    assert chat(groq, prompt_body(OPS)).status_code == 503
    assert chat(groq, prompt_body(OPS)).status_code == 200


def test_groq_invalid_json_content(groq):
    groq.control("POST", "mode", {"mode": "invalid_json"})
    r = chat(groq, prompt_body(OPS))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.json()["choices"][0]["message"]["content"])


def test_groq_wrong_shape_content(groq):
    groq.control("POST", "mode", {"mode": "wrong_shape", "count": 1})
    r = chat(groq, prompt_body(OPS))
    doc = json.loads(r.json()["choices"][0]["message"]["content"])
    assert "operations" not in doc


def test_groq_slow_mode_delays_the_answer(groq):
    groq.control("POST", "mode", {"mode": "slow", "delay": 1.0, "count": 1})
    t0 = time.monotonic()
    r = chat(groq, prompt_body(OPS))
    assert r.status_code == 200
    assert time.monotonic() - t0 >= 1.0


def test_groq_hang_never_answers_and_frees_its_thread(groq):
    groq.control("POST", "mode", {"mode": "hang", "count": 1})
    with pytest.raises(requests.exceptions.Timeout):
        chat(groq, prompt_body(OPS), timeout=1)
    # The server still answers others, and lets go of the hung request
    # once the client has gone.
    assert chat(groq, prompt_body(OPS)).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if "hung request released (gone)" in groq.log():
            break
        time.sleep(0.1)
    assert "hung request released (gone)" in groq.log()


def test_groq_drop_closes_without_answer(groq):
    groq.control("POST", "mode", {"mode": "drop", "count": 1})
    with pytest.raises(requests.exceptions.ConnectionError):
        chat(groq, prompt_body(OPS))
    assert chat(groq, prompt_body(OPS)).status_code == 200


def test_groq_records_requests_and_resets(groq):
    chat(groq, prompt_body(OPS))
    reqs = groq.control("GET", "requests")["requests"]
    assert len(reqs) == 1
    assert reqs[0]["body"]["model"] == "llama-3.3-70b-versatile"
    assert reqs[0]["headers"]["Authorization"] == "Bearer " + GROQ_KEY
    assert reqs[0]["time"] > 0
    groq.control("POST", "reset", {})
    assert groq.control("GET", "requests")["requests"] == []


# ---------------------------------------------------------------------------
# Stripe

def stripe_verify(payload, header, secret, tolerance=300, now=None):
    """Stripe's documented check, written from its description: split
    the header on ',', take t and every v1, HMAC-SHA256 "t.payload" with
    the secret, compare in constant time, and bound the timestamp's age."""
    if header is None:
        return False, "no header"
    t, sigs = None, []
    for part in header.split(","):
        k, _, v = part.partition("=")
        if k == "t":
            t = v
        elif k == "v1":
            sigs.append(v)
    if t is None or not t.isdigit() or not sigs:
        return False, "unparseable"
    expected = hmac.new(secret.encode(), t.encode() + b"." + payload,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        return False, "no matching signature"
    if abs((now or time.time()) - int(t)) > tolerance:
        return False, "timestamp outside tolerance"
    return True, "ok"


def session_form(**over):
    form = {
        "mode": "payment",
        "success_url": "https://app.test/billing/success?session_id="
                       "{CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.test/billing/cancel",
        "client_reference_id": "user-42",
        "metadata[paymentId]": "pay-1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "500",
        "line_items[0][price_data][product_data][name]": "100 credits",
        "line_items[0][quantity]": "1",
    }
    form.update(over)
    return {k: v for k, v in form.items() if v is not None}


def create_session(fake, form=None, key=STRIPE_KEY, idem=None):
    headers = {"Authorization": "Bearer " + key}
    if idem:
        headers["Idempotency-Key"] = idem
    return requests.post(fake.url + "/v1/checkout/sessions",
                         data=form if form is not None else session_form(),
                         headers=headers, timeout=10)


def assert_stripe_error(r, status, etype="invalid_request_error",
                        param=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["type"] == etype
    assert err["message"]
    if param is not None:
        assert err["param"] == param
    return err


def test_stripe_rejects_missing_and_wrong_secret_key(stripe):
    r = requests.post(stripe.url + "/v1/checkout/sessions",
                      data=session_form(), timeout=5)
    assert "You did not provide an API key" in \
        assert_stripe_error(r, 401)["message"]
    r = create_session(stripe, key="sk_test_wrong_key_abcd")
    err = assert_stripe_error(r, 401)
    assert err["message"].startswith("Invalid API Key provided")
    assert "sk_test_wrong_key_abcd" not in err["message"]


def test_stripe_creates_checkout_session(stripe):
    form = session_form(**{
        "line_items[1][price_data][currency]": "usd",
        "line_items[1][price_data][unit_amount]": "250",
        "line_items[1][price_data][product_data][name]": "bonus",
        "line_items[1][quantity]": "2"})
    r = create_session(stripe, form)
    assert r.status_code == 200
    assert r.headers["Request-Id"].startswith("req_")
    s = r.json()
    assert s["id"].startswith("cs_test_")
    assert s["object"] == "checkout.session"
    assert s["amount_total"] == 1000
    assert s["currency"] == "usd"
    assert s["status"] == "open"
    assert s["payment_status"] == "unpaid"
    assert s["payment_intent"] is None
    assert s["metadata"] == {"paymentId": "pay-1"}
    assert s["client_reference_id"] == "user-42"
    assert s["mode"] == "payment"
    assert s["url"] == stripe.url + "/pay/" + s["id"]
    got = requests.get(stripe.url + "/v1/checkout/sessions/" + s["id"],
                       headers={"Authorization": "Bearer " + STRIPE_KEY},
                       timeout=5).json()
    assert got == s


@pytest.mark.parametrize("over,param", [
    ({"line_items[0][quantity]": None}, "line_items[0][quantity]"),
    ({"line_items[0][price_data][currency]": None},
     "line_items[0][price_data][currency]"),
    ({"line_items[0][price_data][unit_amount]": "abc"},
     "line_items[0][price_data][unit_amount]"),
    ({"success_url": None}, "success_url"),
    ({"success_url": "not a url"}, "success_url"),
    ({"mode": None}, "mode"),
    ({"bogus": "1"}, "bogus"),
    ({"line_items[0][price_data][unit_amount]": "10"}, "line_items"),
])
def test_stripe_validation_errors_name_the_parameter(stripe, over, param):
    assert_stripe_error(create_session(stripe, session_form(**over)), 400,
                        param=param)


def test_stripe_rejects_json_bodies(stripe):
    r = requests.post(stripe.url + "/v1/checkout/sessions",
                      json={"mode": "payment"}, timeout=5,
                      headers={"Authorization": "Bearer " + STRIPE_KEY})
    assert_stripe_error(r, 400)


def test_stripe_unknown_session_is_resource_missing(stripe):
    r = requests.get(stripe.url + "/v1/checkout/sessions/cs_test_nope",
                     headers={"Authorization": "Bearer " + STRIPE_KEY},
                     timeout=5)
    assert assert_stripe_error(r, 404)["code"] == "resource_missing"


def test_stripe_idempotency_key_replays_the_first_response(stripe):
    a = create_session(stripe, idem="key-1")
    b = create_session(stripe, idem="key-1")
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] == b.json()["id"]
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in a.headers
    lst = requests.get(stripe.url + "/v1/checkout/sessions",
                       headers={"Authorization": "Bearer " + STRIPE_KEY},
                       timeout=5).json()
    assert len(lst["data"]) == 1


def test_stripe_idempotency_key_with_other_params_is_an_error(stripe):
    assert create_session(stripe, idem="key-2").status_code == 200
    other = session_form(**{"metadata[paymentId]": "pay-2"})
    assert_stripe_error(create_session(stripe, other, idem="key-2"), 400,
                        etype="idempotency_error")


def test_stripe_failed_validation_is_not_saved_for_the_key(stripe):
    bad = session_form(**{"line_items[0][quantity]": None})
    assert create_session(stripe, bad, idem="key-3").status_code == 400
    assert create_session(stripe, idem="key-3").status_code == 200


def test_stripe_hosted_page_pays_and_redirects(stripe, receiver):
    s = create_session(stripe).json()
    page = requests.get(s["url"], timeout=5)
    assert page.status_code == 200
    assert "$5.00" in page.text
    assert 'action="/pay/%s/confirm"' % s["id"] in page.text
    assert 'action="/pay/%s/cancel"' % s["id"] in page.text
    r = requests.post(s["url"] + "/confirm", allow_redirects=False,
                      timeout=5)
    assert r.status_code == 303
    assert r.headers["Location"] == \
        "https://app.test/billing/success?session_id=" + s["id"]

    got = requests.get(stripe.url + "/v1/checkout/sessions/" + s["id"],
                       headers={"Authorization": "Bearer " + STRIPE_KEY},
                       timeout=5).json()
    assert got["status"] == "complete"
    assert got["payment_status"] == "paid"
    assert got["payment_intent"].startswith("pi_")

    rec = receiver.wait(1)[0]
    ok, why = stripe_verify(rec["body"], rec["headers"]["stripe-signature"],
                            STRIPE_WHSEC)
    assert ok, why
    ev = json.loads(rec["body"])
    assert ev["id"].startswith("evt_")
    assert ev["object"] == "event"
    assert ev["type"] == "checkout.session.completed"
    assert ev["livemode"] is False
    assert ev["api_version"]
    assert isinstance(ev["created"], int)
    assert ev["pending_webhooks"] >= 1
    assert "request" in ev
    obj = ev["data"]["object"]
    assert obj["id"] == s["id"]
    assert obj["metadata"] == {"paymentId": "pay-1"}
    assert obj["payment_status"] == "paid"
    assert rec["headers"]["content-type"].startswith("application/json")
    assert rec["headers"]["user-agent"].startswith("Stripe/")

    api_ev = requests.get(stripe.url + "/v1/events/" + ev["id"],
                          headers={"Authorization": "Bearer " + STRIPE_KEY},
                          timeout=5).json()
    assert api_ev["type"] == "checkout.session.completed"
    ch = requests.get(stripe.url + "/v1/charges/" +
                      requests.get(stripe.url + "/v1/payment_intents/" +
                                   got["payment_intent"], timeout=5,
                                   headers={"Authorization": "Bearer " +
                                            STRIPE_KEY}).json()
                      ["latest_charge"], timeout=5,
                      headers={"Authorization": "Bearer " + STRIPE_KEY})
    assert ch.json()["payment_intent"] == got["payment_intent"]


def test_stripe_hosted_page_cancel_redirects_and_keeps_session_open(stripe):
    s = create_session(stripe).json()
    r = requests.post(s["url"] + "/cancel", allow_redirects=False,
                      timeout=5)
    assert r.status_code == 303
    assert r.headers["Location"] == "https://app.test/billing/cancel"
    st = stripe.control("GET", "sessions/" + s["id"])["session"]
    assert st["status"] == "open"


def test_stripe_refund_sends_charge_refunded_linked_to_the_intent(
        stripe, receiver):
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/complete" % s["id"], {"wait": True})
    out = stripe.control("POST", "sessions/%s/refund" % s["id"],
                         {"wait": True})
    assert out["refund"]["amount"] == 500
    recs = receiver.wait(2)
    assert [json.loads(r["body"])["type"] for r in recs] == \
        ["checkout.session.completed", "charge.refunded"]
    done = json.loads(recs[0]["body"])["data"]["object"]
    ref = json.loads(recs[1]["body"])
    charge = ref["data"]["object"]
    assert charge["object"] == "charge"
    assert charge["payment_intent"] == done["payment_intent"]
    assert charge["refunded"] is True
    assert charge["amount_refunded"] == 500
    assert ref["data"]["previous_attributes"]["amount_refunded"] == 0
    for rec in recs:
        assert stripe_verify(rec["body"], rec["headers"]["stripe-signature"],
                             STRIPE_WHSEC)[0]


def test_stripe_expire_sends_session_expired(stripe, receiver):
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/expire" % s["id"], {"wait": True})
    ev = json.loads(receiver.wait(1)[0]["body"])
    assert ev["type"] == "checkout.session.expired"
    assert ev["data"]["object"]["status"] == "expired"
    assert ev["data"]["object"]["url"] is None


@pytest.mark.parametrize("result,etype,pstatus", [
    ("succeeded", "checkout.session.async_payment_succeeded", "paid"),
    ("failed", "checkout.session.async_payment_failed", "unpaid")])
def test_stripe_async_payment_flavours(stripe, receiver, result, etype,
                                       pstatus):
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/complete" % s["id"],
                   {"flavor": "async", "wait": True})
    stripe.control("POST", "sessions/%s/async" % s["id"],
                   {"result": result, "wait": True})
    evs = [json.loads(r["body"]) for r in receiver.wait(2)]
    assert evs[0]["type"] == "checkout.session.completed"
    assert evs[0]["data"]["object"]["payment_status"] == "unpaid"
    assert evs[1]["type"] == etype
    assert evs[1]["data"]["object"]["payment_status"] == pstatus


def completed_event_id(stripe):
    """A paid session whose event stays pending (manual delivery)."""
    stripe.control("POST", "webhooks", {"delivery": "manual"})
    s = create_session(stripe).json()
    return stripe.control("POST", "sessions/%s/complete" % s["id"],
                          {})["event"]["id"]


@pytest.mark.parametrize("fault,verifies,reason", [
    ("none", True, "ok"),
    ("wrong_secret", False, "no matching signature"),
    ("stale", False, "timestamp outside tolerance"),
    ("tampered", False, "no matching signature"),
    ("multi_v1", True, "ok"),
    ("no_v1", False, "unparseable"),
])
def test_stripe_signature_faults(stripe, receiver, fault, verifies, reason):
    eid = completed_event_id(stripe)
    out = stripe.control("POST", "events/%s/deliver" % eid,
                         {"fault": fault, "staleSeconds": 600})
    assert out["deliveries"][0]["status"] == 200
    rec = receiver.wait(1)[0]
    ok, why = stripe_verify(rec["body"], rec["headers"]["stripe-signature"],
                            STRIPE_WHSEC)
    assert (ok, why) == (verifies, reason)
    if fault == "multi_v1":
        assert rec["headers"]["stripe-signature"].count("v1=") == 3


def test_stripe_no_header_fault_omits_the_signature(stripe, receiver):
    eid = completed_event_id(stripe)
    stripe.control("POST", "events/%s/deliver" % eid, {"fault": "no_header"})
    assert "stripe-signature" not in receiver.wait(1)[0]["headers"]


def test_stripe_manual_mode_holds_events_until_asked(stripe, receiver):
    eid = completed_event_id(stripe)
    time.sleep(0.3)
    assert receiver.records == []
    assert stripe.control("GET", "pending")["pending"] == [eid]
    out = stripe.control("POST", "deliver-pending", {})
    assert [d["eventId"] for d in out["deliveries"]] == [eid]
    assert len(receiver.wait(1)) == 1
    assert stripe.control("GET", "pending")["pending"] == []


def test_stripe_concurrent_deliveries_use_separate_connections(
        stripe, receiver):
    eid = completed_event_id(stripe)
    receiver.delay = 0.3
    out = stripe.control("POST", "events/%s/deliver" % eid,
                         {"concurrent": 5})
    assert [d["status"] for d in out["deliveries"]] == [200] * 5
    recs = receiver.wait(5)
    assert len({r["port"] for r in recs}) == 5
    assert {json.loads(r["body"])["id"] for r in recs} == {eid}
    # They overlapped in time rather than running one after another.
    times = sorted(r["time"] for r in recs)
    assert times[-1] - times[0] < 0.3 * 4


def test_stripe_redeliver_sends_the_same_event_body(stripe, receiver):
    s = create_session(stripe).json()
    ev = stripe.control("POST", "sessions/%s/complete" % s["id"],
                        {"wait": True})["event"]
    stripe.control("POST", "events/%s/redeliver" % ev["id"], {})
    a, b = receiver.wait(2)
    assert a["body"] == b["body"]
    assert stripe_verify(b["body"], b["headers"]["stripe-signature"],
                         STRIPE_WHSEC)[0]


def test_stripe_arbitrary_event_with_fault(stripe, receiver):
    out = stripe.control("POST", "events", {
        "type": "checkout.session.completed",
        "object": {"id": "cs_test_forged", "object": "checkout.session"},
        "fault": "wrong_secret"})
    assert out["event"]["data"]["object"]["id"] == "cs_test_forged"
    rec = receiver.wait(1)[0]
    assert not stripe_verify(rec["body"],
                             rec["headers"]["stripe-signature"],
                             STRIPE_WHSEC)[0]


def test_stripe_records_delivery_responses(stripe, receiver):
    receiver.status = 500
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/complete" % s["id"], {"wait": True})
    d = stripe.control("GET", "deliveries")["deliveries"]
    assert len(d) == 1
    assert d[0]["status"] == 500
    assert d[0]["type"] == "checkout.session.completed"
    # Not delivered successfully: still pending on the event.
    ev = requests.get(stripe.url + "/v1/events/" + d[0]["eventId"],
                      headers={"Authorization": "Bearer " + STRIPE_KEY},
                      timeout=5).json()
    assert ev["pending_webhooks"] == 1


def test_stripe_automatic_retries_after_failure(stripe, receiver):
    stripe.control("POST", "webhooks", {"retries": 1, "retryDelay": 0.1})
    receiver.status = 503
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/complete" % s["id"], {"wait": True})
    assert len(receiver.wait(2)) == 2


def test_stripe_delivers_to_https_with_self_signed_cert(stripe,
                                                        tls_receiver):
    stripe.control("POST", "webhooks", {"url": tls_receiver.url})
    s = create_session(stripe).json()
    stripe.control("POST", "sessions/%s/complete" % s["id"], {"wait": True})
    rec = tls_receiver.wait(1)[0]
    assert stripe_verify(rec["body"], rec["headers"]["stripe-signature"],
                         STRIPE_WHSEC)[0]


def test_stripe_api_500_mode_then_ok(stripe):
    stripe.control("POST", "mode", {"mode": "500", "count": 1})
    assert_stripe_error(create_session(stripe, idem="k500"), 500,
                        etype="api_error")
    # Not saved against the key: the retry goes through.
    assert create_session(stripe, idem="k500").status_code == 200


def test_stripe_recorded_500_is_replayed_for_the_key(stripe):
    stripe.control("POST", "mode", {"mode": "500", "count": 1,
                                    "record": True})
    assert create_session(stripe, idem="k500r").status_code == 500
    r = create_session(stripe, idem="k500r")
    assert r.status_code == 500
    assert r.headers.get("Idempotent-Replayed") == "true"


def test_stripe_timeout_mode_never_answers(stripe):
    stripe.control("POST", "mode", {"mode": "timeout", "count": 1})
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(stripe.url + "/v1/checkout/sessions",
                      data=session_form(), timeout=1,
                      headers={"Authorization": "Bearer " + STRIPE_KEY})
    assert create_session(stripe).status_code == 200


def test_stripe_lists_received_api_requests(stripe):
    create_session(stripe, idem="listed")
    reqs = stripe.control("GET", "requests")["requests"]
    assert len(reqs) == 1
    assert reqs[0]["path"] == "/v1/checkout/sessions"
    assert reqs[0]["headers"]["Idempotency-Key"] == "listed"
    assert "metadata%5BpaymentId%5D=pay-1" in reqs[0]["body"]
    assert reqs[0]["status"] == 200


def test_stripe_sign_helper_matches_the_scheme(stripe):
    out = stripe.control("POST", "sign", {"payload": '{"a":1}'})
    assert stripe_verify(b'{"a":1}', out["header"], STRIPE_WHSEC)[0]


# ---------------------------------------------------------------------------
# PayPal

def pp_token(fake, cid=PAYPAL_ID, secret=PAYPAL_SECRET):
    return requests.post(fake.url + "/v1/oauth2/token",
                         auth=(cid, secret),
                         data={"grant_type": "client_credentials"},
                         timeout=5)


def pp_headers(token, **extra):
    h = {"Authorization": "Bearer " + token,
         "Content-Type": "application/json"}
    h.update(extra)
    return h


def order_body(value="5.00", **over):
    b = {"intent": "CAPTURE",
         "purchase_units": [{"reference_id": "pkg-100", "custom_id": "pay-7",
                             "description": "100 credits",
                             "amount": {"currency_code": "USD",
                                        "value": value}}],
         "application_context": {"return_url": "https://app.test/pp/return",
                                 "cancel_url": "https://app.test/pp/cancel"}}
    b.update(over)
    return b


def create_order(fake, token, body=None, **headers):
    return requests.post(fake.url + "/v2/checkout/orders",
                         data=json.dumps(body or order_body()),
                         headers=pp_headers(token, **headers), timeout=5)


def assert_pp_error(r, status, name, issue=None):
    assert r.status_code == status, r.text
    b = r.json()
    assert b["name"] == name
    assert b["message"] and b["debug_id"]
    if issue:
        assert b["details"][0]["issue"] == issue
    return b


def approved_order(fake, token):
    oid = create_order(fake, token).json()["id"]
    fake.control("POST", "orders/%s/approve" % oid, {})
    return oid


def capture(fake, token, oid, **headers):
    return requests.post(fake.url + "/v2/checkout/orders/%s/capture" % oid,
                         headers=pp_headers(token, **headers), timeout=5)


def paypal_verify_offline(rec, webhook_id):
    """PayPal's documented offline check: fetch the certificate from
    PAYPAL-CERT-URL and verify the base64 RSA-SHA256 signature over
    transmission id | transmission time | webhook id | CRC32(body)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    h = rec["headers"]
    r = requests.get(h["paypal-cert-url"], timeout=5)
    if r.status_code != 200:
        return False
    cert = x509.load_pem_x509_certificate(r.content)
    msg = "%s|%s|%s|%d" % (h["paypal-transmission-id"],
                           h["paypal-transmission-time"], webhook_id,
                           zlib.crc32(rec["body"]))
    try:
        cert.public_key().verify(
            base64.b64decode(h["paypal-transmission-sig"]), msg.encode(),
            padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def verify_via_api(fake, token, rec, event=None, webhook_id=None):
    h = rec["headers"]
    body = {"auth_algo": h["paypal-auth-algo"],
            "cert_url": h["paypal-cert-url"],
            "transmission_id": h["paypal-transmission-id"],
            "transmission_sig": h["paypal-transmission-sig"],
            "transmission_time": h["paypal-transmission-time"],
            "webhook_id": webhook_id or PAYPAL_WEBHOOK_ID,
            "webhook_event": event if event is not None else
            json.loads(rec["body"])}
    r = requests.post(fake.url + "/v1/notifications/verify-webhook-signature",
                      data=json.dumps(body), headers=pp_headers(token),
                      timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["verification_status"]


def test_paypal_token_shape_and_reuse(paypal):
    r = pp_token(paypal)
    assert r.status_code == 200
    t = r.json()
    assert t["token_type"] == "Bearer"
    assert t["expires_in"] <= 32400 and t["expires_in"] > 32000
    for k in ("scope", "access_token", "app_id", "nonce"):
        assert t[k]
    assert pp_token(paypal).json()["access_token"] == t["access_token"]


def test_paypal_token_rejects_bad_credentials_and_grant(paypal):
    r = pp_token(paypal, secret="nope")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    r = requests.post(paypal.url + "/v1/oauth2/token",
                      auth=(PAYPAL_ID, PAYPAL_SECRET),
                      data={"grant_type": "password"}, timeout=5)
    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_paypal_rejects_missing_unknown_and_expired_tokens(paypal):
    r = requests.post(paypal.url + "/v2/checkout/orders",
                      data=json.dumps(order_body()), timeout=5,
                      headers={"Content-Type": "application/json"})
    assert_pp_error(r, 401, "AUTHENTICATION_FAILURE")
    r = create_order(paypal, "A21AAbogus")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    tok = pp_token(paypal).json()["access_token"]
    paypal.control("POST", "tokens/expire", {})
    r = create_order(paypal, tok)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"
    fresh = pp_token(paypal).json()["access_token"]
    assert fresh != tok
    assert create_order(paypal, fresh).status_code == 201


def test_paypal_token_ttl_expires():
    with start_fake("paypal", "--token-ttl", "1") as fake:
        r = requests.post(fake.url + "/v1/oauth2/token",
                          auth=("fake-paypal-client-id",
                                "fake-paypal-client-secret"),
                          data={"grant_type": "client_credentials"},
                          timeout=5)
        tok = r.json()["access_token"]
        assert r.json()["expires_in"] <= 1
        assert create_order(fake, tok).status_code == 201
        time.sleep(1.2)
        r = create_order(fake, tok)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_token"


def test_paypal_creates_order_with_hateoas_links(paypal):
    tok = pp_token(paypal).json()["access_token"]
    r = create_order(paypal, tok)
    assert r.status_code == 201
    o = r.json()
    assert o["status"] == "CREATED"
    rels = {link["rel"]: link for link in o["links"]}
    assert set(rels) == {"self", "approve", "update", "capture"}
    assert rels["approve"]["href"] == \
        "%s/checkoutnow?token=%s" % (paypal.url, o["id"])
    assert rels["capture"]["method"] == "POST"
    full = create_order(paypal, tok, Prefer="return=representation").json()
    assert full["purchase_units"][0]["amount"] == \
        {"currency_code": "USD", "value": "5.00"}
    assert full["purchase_units"][0]["custom_id"] == "pay-7"


def test_paypal_payment_source_flow_asks_for_payer_action(paypal):
    tok = pp_token(paypal).json()["access_token"]
    body = order_body()
    ctx = body.pop("application_context")
    body["payment_source"] = {"paypal": {"experience_context": ctx}}
    o = create_order(paypal, tok, body).json()
    assert o["status"] == "PAYER_ACTION_REQUIRED"
    assert "payer-action" in {link["rel"] for link in o["links"]}


@pytest.mark.parametrize("body,status,name,issue,field", [
    ({"intent": "CAPTURE", "purchase_units": [{}]}, 400, "INVALID_REQUEST",
     "MISSING_REQUIRED_PARAMETER", "/purchase_units/0/amount"),
    ({"purchase_units": [{"amount": {"currency_code": "USD",
                                     "value": "5.00"}}]},
     400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "/intent"),
    (order_body("5.001"), 422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION",
     "/purchase_units/0/amount/value"),
    (order_body("0.00"), 422, "UNPROCESSABLE_ENTITY",
     "CANNOT_BE_ZERO_OR_NEGATIVE", "/purchase_units/0/amount/value"),
    (order_body("five"), 400, "INVALID_REQUEST", "INVALID_PARAMETER_SYNTAX",
     "/purchase_units/0/amount/value"),
])
def test_paypal_order_validation(paypal, body, status, name, issue, field):
    tok = pp_token(paypal).json()["access_token"]
    b = assert_pp_error(create_order(paypal, tok, body), status, name, issue)
    assert b["details"][0]["field"] == field


def test_paypal_malformed_json(paypal):
    tok = pp_token(paypal).json()["access_token"]
    r = requests.post(paypal.url + "/v2/checkout/orders", data="{oops",
                      headers=pp_headers(tok), timeout=5)
    assert_pp_error(r, 400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON")


def test_paypal_request_id_returns_the_same_order(paypal):
    tok = pp_token(paypal).json()["access_token"]
    a = create_order(paypal, tok, **{"PayPal-Request-Id": "rid-1"}).json()
    b = create_order(paypal, tok, **{"PayPal-Request-Id": "rid-1"}).json()
    c = create_order(paypal, tok, **{"PayPal-Request-Id": "rid-2"}).json()
    assert a["id"] == b["id"] != c["id"]


def test_paypal_approval_page_redirects_with_token_and_payer(paypal):
    tok = pp_token(paypal).json()["access_token"]
    o = create_order(paypal, tok).json()
    approve = [x["href"] for x in o["links"] if x["rel"] == "approve"][0]
    page = requests.get(approve, timeout=5)
    assert page.status_code == 200
    assert "5.00 USD" in page.text and "Approve" in page.text
    r = requests.post(paypal.url + "/checkoutnow/approve",
                      data={"token": o["id"]}, allow_redirects=False,
                      timeout=5)
    assert r.status_code == 303
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert loc.path == "/pp/return"
    q = urllib.parse.parse_qs(loc.query)
    assert q["token"] == [o["id"]]
    assert q["PayerID"][0]
    got = requests.get(paypal.url + "/v2/checkout/orders/" + o["id"],
                       headers=pp_headers(tok), timeout=5).json()
    assert got["status"] == "APPROVED"
    assert got["payer"]["payer_id"] == q["PayerID"][0]


def test_paypal_approval_page_cancel(paypal):
    tok = pp_token(paypal).json()["access_token"]
    o = create_order(paypal, tok).json()
    r = requests.post(paypal.url + "/checkoutnow/cancel",
                      data={"token": o["id"]}, allow_redirects=False,
                      timeout=5)
    assert r.status_code == 303
    assert r.headers["Location"] == \
        "https://app.test/pp/cancel?token=" + o["id"]


def test_paypal_capture_rules(paypal):
    tok = pp_token(paypal).json()["access_token"]
    oid = create_order(paypal, tok).json()["id"]
    assert_pp_error(capture(paypal, tok, oid), 422, "UNPROCESSABLE_ENTITY",
                    "ORDER_NOT_APPROVED")
    paypal.control("POST", "orders/%s/approve" % oid, {})
    r = capture(paypal, tok, oid)
    assert r.status_code == 201
    o = r.json()
    assert o["status"] == "COMPLETED"
    cap = o["purchase_units"][0]["payments"]["captures"][0]
    assert cap["status"] == "COMPLETED"
    assert cap["amount"] == {"currency_code": "USD", "value": "5.00"}
    assert cap["custom_id"] == "pay-7"
    assert cap["id"]
    assert_pp_error(capture(paypal, tok, oid), 422, "UNPROCESSABLE_ENTITY",
                    "ORDER_ALREADY_CAPTURED")
    assert_pp_error(capture(paypal, tok, "NOSUCHORDER123456"), 404,
                    "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")


def test_paypal_capture_webhook_is_signed_the_paypal_way(paypal, receiver):
    tok = pp_token(paypal).json()["access_token"]
    oid = approved_order(paypal, tok)
    cap_id = capture(paypal, tok, oid).json()["purchase_units"][0][
        "payments"]["captures"][0]["id"]
    rec = receiver.wait(1)[0]
    h = rec["headers"]
    assert h["paypal-auth-algo"] == "SHA256withRSA"
    for k in ("paypal-transmission-id", "paypal-transmission-time",
              "paypal-transmission-sig", "paypal-cert-url"):
        assert h[k]
    ev = json.loads(rec["body"])
    assert ev["id"].startswith("WH-")
    assert ev["event_type"] == "PAYMENT.CAPTURE.COMPLETED"
    assert ev["resource_type"] == "capture"
    assert ev["resource"]["id"] == cap_id
    assert ev["resource"]["custom_id"] == "pay-7"
    assert ev["resource"]["supplementary_data"]["related_ids"][
        "order_id"] == oid
    assert paypal_verify_offline(rec, PAYPAL_WEBHOOK_ID)
    assert not paypal_verify_offline(rec, "OTHERWEBHOOKID")
    assert verify_via_api(paypal, tok, rec) == "SUCCESS"


def test_paypal_verify_fails_for_changed_event_or_webhook_id(paypal,
                                                             receiver):
    tok = pp_token(paypal).json()["access_token"]
    capture(paypal, tok, approved_order(paypal, tok))
    rec = receiver.wait(1)[0]
    ev = json.loads(rec["body"])
    ev["resource"]["amount"]["value"] = "500.00"
    assert verify_via_api(paypal, tok, rec, event=ev) == "FAILURE"
    assert verify_via_api(paypal, tok, rec,
                          webhook_id="OTHERWEBHOOKID") == "FAILURE"


def test_paypal_verify_requires_every_field(paypal):
    tok = pp_token(paypal).json()["access_token"]
    r = requests.post(paypal.url + "/v1/notifications/verify-webhook-"
                      "signature", data=json.dumps({"auth_algo": "x"}),
                      headers=pp_headers(tok), timeout=5)
    assert r.status_code == 400
    assert r.json()["details"][0]["issue"] == "MISSING_REQUIRED_PARAMETER"


@pytest.mark.parametrize("fault", ["bad_signature", "wrong_webhook_id",
                                   "tampered", "foreign_cert"])
def test_paypal_signature_faults_fail_both_checks(paypal, receiver, fault):
    tok = pp_token(paypal).json()["access_token"]
    paypal.control("POST", "webhooks", {"delivery": "manual"})
    capture(paypal, tok, approved_order(paypal, tok))
    eid = paypal.control("GET", "pending")["pending"][0]
    out = paypal.control("POST", "events/%s/deliver" % eid, {"fault": fault})
    assert out["deliveries"][0]["status"] == 200
    rec = receiver.wait(1)[0]
    assert not paypal_verify_offline(rec, PAYPAL_WEBHOOK_ID)
    assert verify_via_api(paypal, tok, rec) == "FAILURE"


def test_paypal_refund_sends_capture_refunded(paypal, receiver):
    tok = pp_token(paypal).json()["access_token"]
    oid = approved_order(paypal, tok)
    cap_id = capture(paypal, tok, oid).json()["purchase_units"][0][
        "payments"]["captures"][0]["id"]
    out = paypal.control("POST", "orders/%s/refund" % oid, {"wait": True})
    assert out["refund"]["amount"]["value"] == "5.00"
    recs = receiver.wait(2)
    ev = json.loads(recs[1]["body"])
    assert ev["event_type"] == "PAYMENT.CAPTURE.REFUNDED"
    assert ev["resource"]["custom_id"] == "pay-7"
    up = [link for link in ev["resource"]["links"] if link["rel"] == "up"]
    assert up[0]["href"].endswith("/v2/payments/captures/" + cap_id)
    assert paypal_verify_offline(recs[1], PAYPAL_WEBHOOK_ID)
    got = requests.get(paypal.url + "/v2/payments/captures/" + cap_id,
                       headers=pp_headers(tok), timeout=5).json()
    assert got["status"] == "REFUNDED"


def test_paypal_refund_through_the_api(paypal):
    tok = pp_token(paypal).json()["access_token"]
    oid = approved_order(paypal, tok)
    cap_id = capture(paypal, tok, oid).json()["purchase_units"][0][
        "payments"]["captures"][0]["id"]
    url = paypal.url + "/v2/payments/captures/%s/refund" % cap_id
    r = requests.post(url, data=json.dumps({"amount": {
        "value": "2.00", "currency_code": "USD"}}), headers=pp_headers(tok),
        timeout=5)
    assert r.status_code == 201
    assert r.json()["status"] == "COMPLETED"
    r = requests.post(url, data=json.dumps({"amount": {
        "value": "4.00", "currency_code": "USD"}}), headers=pp_headers(tok),
        timeout=5)
    assert_pp_error(r, 422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")


def test_paypal_pending_capture_then_denied(paypal, receiver):
    tok = pp_token(paypal).json()["access_token"]
    oid = create_order(paypal, tok).json()["id"]
    paypal.control("POST", "orders/%s/capture-outcome" % oid,
                   {"outcome": "pending"})
    paypal.control("POST", "orders/%s/approve" % oid, {})
    cap = capture(paypal, tok, oid).json()["purchase_units"][0][
        "payments"]["captures"][0]
    assert cap["status"] == "PENDING"
    paypal.control("POST", "captures/%s/deny" % cap["id"], {"wait": True})
    evs = [json.loads(r["body"]) for r in receiver.wait(2)]
    assert [e["event_type"] for e in evs] == \
        ["PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED"]
    assert evs[1]["resource"]["status"] == "DECLINED"


def test_paypal_declined_instrument(paypal):
    tok = pp_token(paypal).json()["access_token"]
    paypal.control("POST", "capture-outcome", {"outcome": "declined"})
    assert_pp_error(capture(paypal, tok, approved_order(paypal, tok)), 422,
                    "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")


def test_paypal_api_fault_modes_by_path(paypal):
    tok = pp_token(paypal).json()["access_token"]
    paypal.control("POST", "mode", {"mode": "500", "count": 1,
                                    "path": "/v2/checkout/orders"})
    assert pp_token(paypal).status_code == 200   # other paths unaffected
    assert_pp_error(create_order(paypal, tok), 500, "INTERNAL_SERVER_ERROR")
    assert create_order(paypal, tok).status_code == 201
    paypal.control("POST", "mode", {"mode": "timeout", "count": 1})
    with pytest.raises(requests.exceptions.Timeout):
        requests.post(paypal.url + "/v2/checkout/orders",
                      data=json.dumps(order_body()), timeout=1,
                      headers=pp_headers(tok))


def test_paypal_concurrent_deliveries(paypal, receiver):
    tok = pp_token(paypal).json()["access_token"]
    paypal.control("POST", "webhooks", {"delivery": "manual"})
    capture(paypal, tok, approved_order(paypal, tok))
    eid = paypal.control("GET", "pending")["pending"][0]
    receiver.delay = 0.2
    out = paypal.control("POST", "events/%s/deliver" % eid,
                         {"concurrent": 4})
    assert [d["status"] for d in out["deliveries"]] == [200] * 4
    recs = receiver.wait(4)
    assert len({r["port"] for r in recs}) == 4
    for rec in recs:
        assert verify_via_api(paypal, tok, rec) == "SUCCESS"


def test_paypal_records_requests_and_deliveries(paypal, receiver):
    tok = pp_token(paypal).json()["access_token"]
    capture(paypal, tok, approved_order(paypal, tok))
    receiver.wait(1)
    paths = [r["path"] for r in paypal.control("GET", "requests")[
        "requests"]]
    assert paths[0] == "/v1/oauth2/token"
    assert "/v2/checkout/orders" in paths
    d = paypal.control("GET", "deliveries")["deliveries"]
    assert d[0]["eventType"] == "PAYMENT.CAPTURE.COMPLETED"
    assert d[0]["status"] == 200


# ---------------------------------------------------------------------------
# upstream

def test_upstream_users_are_paginated(upstream):
    r = requests.get(upstream.url + "/users?page=2&per_page=10", timeout=5)
    b = r.json()
    assert [u["id"] for u in b["data"]] == list(range(11, 21))
    assert (b["page"], b["per_page"], b["total"], b["total_pages"]) == \
        (2, 10, 25, 3)
    assert 'rel="next"' in r.headers["Link"]
    assert r.headers["X-Total-Count"] == "25"
    assert requests.get(upstream.url + "/users?page=x",
                        timeout=5).status_code == 400


def test_upstream_data_is_the_same_every_run(upstream):
    a = requests.get(upstream.url + "/users/7", timeout=5).json()
    upstream.control("POST", "reset", {})
    b = requests.get(upstream.url + "/users/7", timeout=5).json()
    assert a == b
    assert a["email"].endswith("@example.com")


def test_upstream_user_crud(upstream):
    r = requests.post(upstream.url + "/users", timeout=5,
                      json={"name": "New Person", "email": "np@example.com"})
    assert r.status_code == 201
    loc = r.headers["Location"]
    assert requests.get(upstream.url + loc, timeout=5).json()["name"] == \
        "New Person"
    r = requests.patch(upstream.url + loc, json={"role": "admin"}, timeout=5)
    assert r.json()["role"] == "admin"
    r = requests.post(upstream.url + "/users", json={"name": "x"}, timeout=5)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "email"
    assert requests.delete(upstream.url + loc, timeout=5).status_code == 204
    assert requests.get(upstream.url + loc, timeout=5).status_code == 404


def test_upstream_nested_orders_and_products(upstream):
    users = [u["id"] for u in requests.get(
        upstream.url + "/users?per_page=25", timeout=5).json()["data"]]
    orders = []
    for uid in users:
        orders = requests.get(upstream.url + "/users/%d/orders" % uid,
                              timeout=5).json()["data"]
        if orders:
            break
    o = orders[0]
    one = requests.get(upstream.url + "/users/%d/orders/%d" %
                       (o["userId"], o["id"]), timeout=5).json()
    assert one == o
    p = requests.get(upstream.url + "/products/" + o["items"][0][
        "productId"], timeout=5).json()
    assert p["sku"] == o["items"][0]["sku"]
    assert requests.get(upstream.url + "/products/not-a-uuid",
                        timeout=5).status_code == 400
    lst = requests.get(upstream.url + "/products?category=books&limit=2",
                       timeout=5).json()
    assert all(x["category"] == "books" for x in lst["items"])


def test_upstream_search_requires_q(upstream):
    assert requests.get(upstream.url + "/search", timeout=5).status_code == \
        400
    r = requests.get(upstream.url + "/search?q=alice&type=users",
                     timeout=5).json()
    assert r["results"][0]["title"].startswith("Alice")


def test_upstream_form_login_and_bearer(upstream):
    r = requests.post(upstream.url + "/login", timeout=5,
                      data={"username": "alice", "password": "wonderland"})
    assert r.status_code == 200
    tok = r.json()["access_token"]
    me = requests.get(upstream.url + "/users/me", timeout=5,
                      headers={"Authorization": "Bearer " + tok})
    assert me.json()["id"] == 1
    assert requests.get(upstream.url + "/users/me",
                        timeout=5).status_code == 401
    assert requests.post(upstream.url + "/login", timeout=5, data={
        "username": "alice", "password": "x"}).status_code == 401
    assert requests.post(upstream.url + "/login", timeout=5, json={
        "username": "alice"}).status_code == 415


def test_upstream_map_like_and_nested_documents(upstream):
    inv = requests.get(upstream.url + "/inventory", timeout=5).json()
    assert set(inv["warehouses"]) == {"ams-1", "ber-2", "lis-1"}
    rep = requests.get(upstream.url + "/reports/2024-02-29",
                       timeout=5).json()
    assert len(rep["byHour"]) == 24
    assert rep["summary"]["orders"]["count"] == \
        sum(h["orders"] for h in rep["byHour"])


def test_upstream_echo_returns_the_request(upstream):
    payload = bytes(range(256)) * 4
    r = requests.put(upstream.url + "/echo/some/path?x=1&y=two",
                     data=payload, timeout=5,
                     headers={"X-Test": "yes",
                              "Content-Type": "application/octet-stream"})
    e = r.json()
    assert e["method"] == "PUT"
    assert e["path"] == "/echo/some/path"
    assert e["query"] == "x=1&y=two"
    assert e["headers"]["X-Test"] == "yes"
    assert base64.b64decode(e["body"]) == payload
    assert e["bodyLength"] == len(payload)


def test_upstream_echo_reads_chunked_uploads(upstream):
    def gen():
        for _ in range(10):
            yield b"a" * 1000
    r = requests.post(upstream.url + "/echo", data=gen(), timeout=5)
    assert r.json()["bodyLength"] == 10000


@pytest.mark.parametrize("code", [200, 201, 400, 404, 418, 500, 503])
def test_upstream_status(upstream, code):
    r = requests.get(upstream.url + "/status/%d" % code, timeout=5,
                     allow_redirects=False)
    assert r.status_code == code
    assert r.json() == {"status": code}


def test_upstream_status_204_has_no_body(upstream):
    r = requests.delete(upstream.url + "/status/204", timeout=5)
    assert r.status_code == 204
    assert r.content == b""
    assert "Content-Length" not in r.headers


def test_upstream_delay(upstream):
    t0 = time.monotonic()
    r = requests.get(upstream.url + "/delay/300", timeout=5)
    assert r.json() == {"delayedMs": 300}
    assert time.monotonic() - t0 >= 0.3


def test_upstream_bytes_are_seeded(upstream):
    a = requests.get(upstream.url + "/bytes/4096?seed=7", timeout=5).content
    b = requests.get(upstream.url + "/bytes/4096?seed=7", timeout=5).content
    c = requests.get(upstream.url + "/bytes/4096?seed=8", timeout=5).content
    assert len(a) == 4096
    assert a == b != c
    assert a == random.Random("7").randbytes(4096)


@pytest.mark.parametrize("n", [1, 10, 11, 12, 100000, 3 * 1024 * 1024])
def test_upstream_large_is_exactly_n_bytes_of_json(upstream, n):
    r = requests.get(upstream.url + "/large/%d" % n, timeout=10)
    assert len(r.content) == n
    json.loads(r.content)


def test_upstream_redirect_is_not_followed_by_itself(upstream):
    r = requests.get(upstream.url + "/redirect?to=/users/1", timeout=5,
                     allow_redirects=False)
    assert r.status_code == 302
    assert r.headers["Location"] == "/users/1"


def test_upstream_sets_two_cookies(upstream):
    c = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    c.request("GET", "/set-cookie")
    resp = c.getresponse()
    resp.read()
    cookies = [v for k, v in resp.getheaders() if k == "Set-Cookie"]
    c.close()
    assert len(cookies) == 2
    assert cookies[0].startswith("session=")


def test_upstream_many_headers(upstream):
    r = requests.get(upstream.url + "/headers/many?n=90", timeout=5)
    assert len([k for k in r.headers if k.startswith("X-Custom-")]) == 90


def test_upstream_gzip_only_when_asked(upstream):
    c = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    c.request("GET", "/users/1", headers={"Accept-Encoding": "gzip"})
    resp = c.getresponse()
    raw = resp.read()
    assert resp.getheader("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(raw))["id"] == 1
    c.request("GET", "/users/1")
    resp = c.getresponse()
    raw = resp.read()
    c.close()
    assert resp.getheader("Content-Encoding") is None
    assert json.loads(raw)["id"] == 1


def test_upstream_head_and_options(upstream):
    plain = {"Accept-Encoding": "identity"}
    get = requests.get(upstream.url + "/users/2", headers=plain, timeout=5)
    head = requests.head(upstream.url + "/users/2", headers=plain,
                         timeout=5)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    opt = requests.options(upstream.url + "/users", timeout=5)
    assert opt.status_code == 204
    assert "PATCH" in opt.headers["Allow"]


def test_upstream_close_drops_the_connection(upstream):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(upstream.url + "/close", timeout=5)


def test_upstream_chunked_response(upstream):
    c = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    c.request("GET", "/chunked?n=4")
    resp = c.getresponse()
    assert resp.getheader("Transfer-Encoding") == "chunked"
    lines = resp.read().decode().splitlines()
    c.close()
    assert [json.loads(x)["chunk"] for x in lines] == [0, 1, 2, 3]


def test_upstream_keeps_connections_alive_and_counts(upstream):
    before = upstream.control("GET", "stats")["connections"]
    c = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
    for path in ("/users/1", "/products", "/health"):
        c.request("GET", path)
        c.getresponse().read()
    c.close()
    s = upstream.control("GET", "stats")
    # One TCP connection for three requests (the control call adds its own).
    assert s["connections"] - before == 2
    assert s["requests"] == 3
    assert s["byPath"]["/users/1"] == 1
    upstream.control("POST", "reset", {})
    assert upstream.control("GET", "stats")["requests"] == 0


def test_upstream_accepts_a_large_upload(upstream):
    body = b"z" * (5 * 1024 * 1024)
    r = requests.post(upstream.url + "/echo", data=body, timeout=20)
    assert r.json()["bodyLength"] == len(body)


def test_upstream_survives_a_client_that_disconnects(upstream):
    s = socket.create_connection(("127.0.0.1", upstream.port), timeout=5)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
              b"\r\nshort")
    s.close()
    assert requests.get(upstream.url + "/health", timeout=5).ok
