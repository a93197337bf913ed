#!/usr/bin/python3
"""A local fake of the parts of Stripe that apiscribe uses.

API (secret-key bearer or basic auth, form-encoded bodies, Stripe's error
envelope, Idempotency-Key replay):
  POST /v1/checkout/sessions            create a Checkout Session
  GET  /v1/checkout/sessions[/{id}]     list / retrieve
  POST /v1/checkout/sessions/{id}/expire
  GET  /v1/events[/{id}], /v1/payment_intents/{id}, /v1/charges/{id}

Hosted checkout: GET /pay/{id} shows the amount with "Pay" and "Cancel"
buttons (plain forms).  Paying completes the session, creates a
PaymentIntent and a Charge, emits checkout.session.completed and
redirects (303) to success_url with {CHECKOUT_SESSION_ID} filled in.

Webhooks are POSTed to --webhook-url with a Stripe-Signature header
(t=<unix time>,v1=<hex HMAC-SHA256 of "t.body" keyed with the whsec
secret>), automatically or, in manual mode, when a test asks.  The
control API under /__control/ drives everything a browser or Stripe's
back office would; see README.md.
"""

import copy
import hashlib
import hmac
import html
import json
import re
import time
import urllib.parse

import fakelib

API_MODES = ("ok", "500", "timeout", "429", "drop")

CURRENCIES = {
    "usd", "eur", "gbp", "cad", "aud", "chf", "sek", "nok", "dkk", "pln",
    "czk", "nzd", "sgd", "hkd", "mxn", "brl", "inr", "jpy", "krw", "huf",
}
ZERO_DECIMAL = {"jpy", "krw", "huf"}
# Stripe's minimum charge per currency, in the smallest unit.
MINIMUM = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50,
           "chf": 50, "jpy": 50}
SYMBOLS = {"usd": "$", "eur": "\u20ac", "gbp": "\u00a3", "jpy": "\u00a5",
           "cad": "CA$", "aud": "A$"}

SESSION_PARAMS = {
    "after_expiration", "allow_promotion_codes", "automatic_tax",
    "billing_address_collection", "cancel_url", "client_reference_id",
    "consent_collection", "currency", "custom_fields", "custom_text",
    "customer", "customer_creation", "customer_email", "customer_update",
    "discounts", "expand", "expires_at", "invoice_creation", "line_items",
    "locale", "metadata", "mode", "payment_intent_data",
    "payment_method_collection", "payment_method_configuration",
    "payment_method_options", "payment_method_types",
    "phone_number_collection", "redirect_on_completion", "return_url",
    "saved_payment_method_options", "setup_intent_data",
    "shipping_address_collection", "shipping_options", "submit_type",
    "subscription_data", "success_url", "tax_id_collection", "ui_mode",
}


class StripeError(Exception):
    def __init__(self, status, message, etype="invalid_request_error",
                 param=None, code=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.etype = etype
        self.param = param
        self.code = code

    def body(self, request_id):
        e = {}
        if self.code:
            e["code"] = self.code
            e["doc_url"] = "https://stripe.com/docs/error-codes/" + \
                self.code.replace("_", "-")
        e["message"] = self.message
        if self.param:
            e["param"] = self.param
        if request_id:
            e["request_log_url"] = \
                "https://dashboard.stripe.com/test/logs/%s" % request_id
        e["type"] = self.etype
        return {"error": e}


def missing(param):
    return StripeError(400, "Missing required param: %s." % param,
                       param=param, code="parameter_missing")


# ---- form parameters -----------------------------------------------------

KEY_RX = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def nest(pairs):
    """Stripe-style nested form keys -> dicts and lists."""
    root = {}
    for key, value in pairs:
        m = KEY_RX.match(key)
        if not m:
            raise StripeError(400, "Invalid parameter name: %s" % key,
                              param=key)
        parts = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return _listify(root, "")


def _listify(node, path):
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v, "%s[%s]" % (path, k) if path else k)
           for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        idx = sorted(int(k) for k in out)
        if idx != list(range(len(idx))):
            raise StripeError(400, "Invalid array", param=path)
        return [out[str(i)] for i in idx]
    return out


def as_int(value, param):
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise StripeError(400, "Invalid integer: %s" % value, param=param,
                      code="parameter_invalid_integer")


def valid_url(value):
    u = urllib.parse.urlsplit(value)
    return u.scheme in ("http", "https") and bool(u.netloc)


def list_object(items, limit, url):
    """A Stripe list of (copies of) the first limit items, 1 to 100."""
    data = copy.deepcopy(items[:max(1, min(limit, 100))])
    return {"object": "list", "data": data,
            "has_more": len(items) > len(data), "url": url}


def format_amount(amount, currency):
    sym = SYMBOLS.get(currency, currency.upper() + " ")
    if currency in ZERO_DECIMAL:
        return "%s%d" % (sym, amount)
    return "%s%d.%02d" % (sym, amount // 100, amount % 100)


# ---- state ---------------------------------------------------------------

class Store(fakelib.WebhookStore):
    EVENT_TYPE = "type"
    EVENT_CONTENT = "object"
    TYPE_KEY = "type"
    FAULTS = (None, "none", "no_header", "wrong_secret", "stale", "future",
              "tampered", "multi_v1", "no_v1", "malformed")
    SETTINGS = ("url", "delivery", "retries", "retryDelay", "secret")

    def __init__(self, args):
        self.secret_key = args.secret_key
        self.webhook_secret = args.webhook_secret
        self.api_version = args.api_version
        super().__init__(args, API_MODES)

    def clear_objects(self):
        self.sessions = {}
        self.line_items = {}
        self.intents = {}
        self.charges = {}
        self.refunds = {}
        self.idem = {}

    def configure(self, key, value):
        if key == "secret":
            self.webhook_secret = str(value)
            return None
        return super().configure(key, value)

    def webhook_config(self):
        return dict(super().webhook_config(), secret=self.webhook_secret)

    def new_event(self, body):
        ev, _ = create_event(body["type"], body["object"],
                             body.get("previousAttributes"), auto=False)
        return ev

    def sign_delivery(self, event_id, fault, stale_seconds=600):
        return build_delivery(event_id, fault, stale_seconds)

    def delivery_options(self, body):
        return {"stale_seconds": body.get("staleSeconds", 600)}

    def delivery_id(self):
        return new_id("whdel_", 16)

    def delivered(self, event_id):
        self.events[event_id]["pending_webhooks"] = 0


S = None


def new_id(prefix, n=24):
    return prefix + fakelib.rand_id(n)


# ---- events and webhooks -------------------------------------------------

def sign(secret, timestamp, body):
    msg = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def create_event(etype, obj, previous=None, request=None, auto=None):
    """Store an event holding a snapshot of obj and hand it to delivery
    (auto=None: as configured; False: leave it pending).
    Returns (event, delivery job or None)."""
    with S.lock:
        ev = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": S.api_version,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1 if S.webhook_url else 0,
            "request": request or {"id": None, "idempotency_key": None},
            "type": etype,
        }
        if previous:
            ev["data"]["previous_attributes"] = previous
        # Stripe sends the same bytes on every retry of an event.
        body = json.dumps(ev, indent=2).encode("utf-8")
        return ev, S.add_event(ev["id"], ev, body, auto)


def tamper(body):
    """The same event with one value changed, as an attacker would."""
    try:
        ev = json.loads(body)
        obj = ev.get("data", {}).get("object", {})
        if isinstance(obj.get("amount_total"), int):
            obj["amount_total"] += 100000
        else:
            obj.setdefault("metadata", {})["tampered"] = "true"
        return json.dumps(ev, indent=2).encode("utf-8")
    except (ValueError, AttributeError):
        return body + b" "


def build_delivery(event_id, fault=None, stale_seconds=600):
    """(body, headers, record fields) for one delivery with an optional
    fault."""
    body = S.event_bodies[event_id]
    ts = int(time.time())
    secret = S.webhook_secret
    if fault == "stale":
        ts -= int(stale_seconds)
    elif fault == "future":
        ts += int(stale_seconds)
    signed_body = body
    if fault == "tampered":
        body = tamper(body)
    if fault == "wrong_secret":
        secret = "whsec_" + fakelib.rand_id(32)
    v1 = sign(secret, ts, signed_body)
    # Test-mode deliveries carry a v0 signature too; verifiers ignore it.
    v0 = sign("whsec_legacy_" + fakelib.rand_id(8), ts, signed_body)
    if fault == "multi_v1":
        wrong_a = sign("whsec_old_" + fakelib.rand_id(8), ts, signed_body)
        wrong_b = sign("whsec_new_" + fakelib.rand_id(8), ts, signed_body)
        sig = "t=%d,v1=%s,v1=%s,v1=%s,v0=%s" % (ts, wrong_a, v1, wrong_b,
                                                  v0)
    elif fault == "no_v1":
        sig = "t=%d,v0=%s" % (ts, v0)
    elif fault == "malformed":
        sig = "garbage;" + v1
    else:
        sig = "t=%d,v1=%s,v0=%s" % (ts, v1, v0)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Cache-Control": "no-cache",
        "Accept": "*/*; q=0.5, application/xml",
    }
    if fault != "no_header":
        headers["Stripe-Signature"] = sig
    return body, headers, {"timestamp": ts,
                           "signatureHeader": headers.get("Stripe-Signature")}


# ---- objects -------------------------------------------------------------

def build_session(params, idem_key, request_id):
    for k in params:
        if k not in SESSION_PARAMS:
            raise StripeError(400, "Received unknown parameter: %s" % k,
                              param=k, code="parameter_unknown")
    mode = params.get("mode")
    if mode is None:
        raise missing("mode")
    if mode not in ("payment", "setup", "subscription"):
        raise StripeError(400, "Invalid mode: must be one of payment, "
                          "setup, or subscription", param="mode",
                          code="parameter_invalid_string")
    if mode != "payment":
        raise StripeError(400, "This fake supports only mode=payment.",
                          param="mode")
    ui_mode = params.get("ui_mode", "hosted")
    if ui_mode != "hosted":
        raise StripeError(400, "This fake supports only ui_mode=hosted.",
                          param="ui_mode")
    for name in ("success_url", "cancel_url"):
        v = params.get(name)
        if v is None:
            if name == "success_url":
                raise missing(name)
            continue
        if not isinstance(v, str) or not valid_url(v):
            raise StripeError(400, "Not a valid URL", param=name,
                              code="url_invalid")

    items = params.get("line_items")
    if items is None:
        raise StripeError(400, "You must provide at least one line item "
                          "in payment mode.", param="line_items",
                          code="parameter_missing")
    if not isinstance(items, list) or not items:
        raise StripeError(400, "Invalid array", param="line_items")
    total, currency, stored = 0, None, []
    for i, li in enumerate(items):
        p = "line_items[%d]" % i
        if not isinstance(li, dict):
            raise StripeError(400, "Invalid object", param=p)
        if "price" in li:
            raise StripeError(404, "No such price: '%s'" % li["price"],
                              param=p + "[price]", code="resource_missing")
        pd = li.get("price_data")
        if pd is None:
            raise StripeError(400, "You must provide either price or "
                              "price_data for each line item when using "
                              "prices.", param=p)
        if not isinstance(pd, dict):
            raise StripeError(400, "Invalid object",
                              param=p + "[price_data]")
        if "quantity" not in li:
            raise StripeError(400, "Quantity is required. Add `quantity` "
                              "to `%s`" % p, param=p + "[quantity]",
                              code="parameter_missing")
        qty = as_int(li["quantity"], p + "[quantity]")
        if qty < 1 or qty > 999999:
            raise StripeError(400, "Quantity must be between 1 and 999999.",
                              param=p + "[quantity]")
        cur = pd.get("currency")
        if cur is None:
            raise missing(p + "[price_data][currency]")
        cur = str(cur).lower()
        if cur not in CURRENCIES:
            raise StripeError(400, "Invalid currency: %s." % cur,
                              param=p + "[price_data][currency]",
                              code="parameter_invalid_string")
        if currency is not None and cur != currency:
            raise StripeError(400, "Line items must all have the same "
                              "currency.", param=p + "[price_data][currency]")
        currency = cur
        if "unit_amount" not in pd and "unit_amount_decimal" not in pd:
            raise missing(p + "[price_data][unit_amount]")
        unit = as_int(pd.get("unit_amount", pd.get("unit_amount_decimal")),
                      p + "[price_data][unit_amount]")
        if unit < 0:
            raise StripeError(400, "This value must be greater than or "
                              "equal to 0.",
                              param=p + "[price_data][unit_amount]",
                              code="parameter_invalid_integer")
        prod = pd.get("product_data")
        if prod is None and "product" not in pd:
            raise missing(p + "[price_data][product_data]")
        if prod is not None:
            if not isinstance(prod, dict) or not prod.get("name"):
                raise missing(p + "[price_data][product_data][name]")
        name = prod["name"] if prod else pd["product"]
        total += unit * qty
        stored.append({"id": new_id("li_"), "object": "item",
                       "amount_subtotal": unit * qty,
                       "amount_total": unit * qty, "currency": cur,
                       "description": name, "quantity": qty,
                       "price": {"id": new_id("price_"), "object": "price",
                                 "currency": cur, "unit_amount": unit,
                                 "product": new_id("prod_", 14),
                                 "type": "one_time"}})
    if currency in MINIMUM and total < MINIMUM[currency]:
        raise StripeError(400, "The Checkout Session's total amount due "
                          "must add up to at least %s" %
                          format_amount(MINIMUM[currency], currency),
                          param="line_items", code="amount_too_small")

    meta = params.get("metadata", {})
    if meta == "":
        meta = {}
    if not isinstance(meta, dict):
        raise StripeError(400, "Invalid object", param="metadata")
    if len(meta) > 50:
        raise StripeError(400, "Metadata can have at most 50 keys.",
                          param="metadata")
    for k, v in meta.items():
        if len(k) > 40:
            raise StripeError(400, "Metadata keys can be at most 40 "
                              "characters long.", param="metadata[%s]" % k)
        if not isinstance(v, str) or len(v) > 500:
            raise StripeError(400, "Metadata values can be at most 500 "
                              "characters long.", param="metadata[%s]" % k)
    cref = params.get("client_reference_id")
    if cref is not None and (not isinstance(cref, str) or len(cref) > 200
                             or cref == ""):
        raise StripeError(400, "client_reference_id must be a string of "
                          "1 to 200 characters.",
                          param="client_reference_id")
    now = int(time.time())
    expires_at = now + 86400
    if "expires_at" in params:
        expires_at = as_int(params["expires_at"], "expires_at")
        if expires_at < now + 1800 or expires_at > now + 86400:
            raise StripeError(400, "The `expires_at` timestamp must be "
                              "between 30 minutes and 24 hours from "
                              "Checkout Session creation.",
                              param="expires_at")

    sid = "cs_test_a1" + fakelib.rand_id(56)
    pmt = params.get("payment_method_types") or ["card"]
    sess = {
        "id": sid, "object": "checkout.session",
        "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": total, "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None,
                          "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": cref, "client_secret": None,
        "consent": None, "consent_collection": None, "created": now,
        "currency": currency, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None,
                        "submit": None, "terms_of_service_acceptance": None},
        "customer": params.get("customer"),
        "customer_creation": "if_required", "customer_details": None,
        "customer_email": params.get("customer_email"),
        "expires_at": expires_at, "invoice": None,
        "livemode": False, "locale": params.get("locale"),
        "metadata": meta, "mode": mode, "payment_intent": None,
        "payment_link": None, "payment_method_collection": "if_required",
        "payment_method_types": pmt, "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None,
        "shipping_details": None, "shipping_options": [],
        "status": "open", "submit_type": params.get("submit_type"),
        "subscription": None, "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0,
                          "amount_tax": 0},
        "ui_mode": "hosted",
        "url": "%s/pay/%s" % (S.public, sid),
    }
    with S.lock:
        S.sessions[sid] = sess
        S.line_items[sid] = stored
    return sess


def session_or_error(sid):
    sess = S.sessions.get(sid)
    if sess is None:
        raise StripeError(404, "No such checkout.session: '%s'" % sid,
                          param="session", code="resource_missing")
    return sess


def complete_session(sid, flavor="paid"):
    """The customer paid (or, for "async", started a delayed payment)."""
    with S.lock:
        sess = session_or_error(sid)
        if sess["status"] != "open":
            raise StripeError(400, "Checkout Session %s is %s, not open." %
                              (sid, sess["status"]))
        now = int(time.time())
        pi_id = new_id("pi_")
        ch_id = new_id("ch_")
        paid = flavor == "paid"
        charge = {
            "id": ch_id, "object": "charge", "amount": sess["amount_total"],
            "amount_captured": sess["amount_total"] if paid else 0,
            "amount_refunded": 0, "captured": paid, "created": now,
            "currency": sess["currency"], "customer": sess["customer"],
            "description": None, "livemode": False, "metadata": {},
            "paid": paid, "payment_intent": pi_id,
            "payment_method": new_id("pm_"),
            "receipt_url": "%s/receipts/%s" % (S.public, ch_id),
            "refunded": False,
            "status": "succeeded" if paid else "pending",
        }
        intent = {
            "id": pi_id, "object": "payment_intent",
            "amount": sess["amount_total"],
            "amount_received": sess["amount_total"] if paid else 0,
            "created": now, "currency": sess["currency"],
            "customer": sess["customer"], "latest_charge": ch_id,
            "livemode": False, "metadata": {},
            "payment_method_types": sess["payment_method_types"],
            "status": "succeeded" if paid else "processing",
        }
        S.charges[ch_id] = charge
        S.intents[pi_id] = intent
        sess["status"] = "complete"
        sess["payment_status"] = "paid" if paid else "unpaid"
        sess["payment_intent"] = pi_id
        sess["url"] = None
        sess["customer_details"] = {
            "address": {"city": None, "country": "US", "line1": None,
                        "line2": None, "postal_code": "94107",
                        "state": None},
            "email": sess["customer_email"] or "buyer@example.com",
            "name": "Test Buyer", "phone": None, "tax_exempt": "none",
            "tax_ids": []}
        snap = copy.deepcopy(sess)
    return create_event("checkout.session.completed", snap)


def async_result(sid, result):
    with S.lock:
        sess = session_or_error(sid)
        pi = S.intents.get(sess["payment_intent"] or "")
        if sess["status"] != "complete" or pi is None or \
                pi["status"] != "processing":
            raise StripeError(400, "Checkout Session %s has no delayed "
                              "payment in progress." % sid)
        ch = S.charges[pi["latest_charge"]]
        if result == "succeeded":
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            ch.update(status="succeeded", paid=True, captured=True,
                      amount_captured=ch["amount"])
            sess["payment_status"] = "paid"
            etype = "checkout.session.async_payment_succeeded"
        elif result == "failed":
            pi["status"] = "requires_payment_method"
            ch.update(status="failed", paid=False,
                      failure_code="insufficient_funds",
                      failure_message="The account has insufficient funds.")
            etype = "checkout.session.async_payment_failed"
        else:
            raise StripeError(400, "result must be succeeded or failed")
        snap = copy.deepcopy(sess)
    return create_event(etype, snap)


def refund_session(sid, amount=None):
    with S.lock:
        sess = session_or_error(sid)
        pi = S.intents.get(sess["payment_intent"] or "")
        if pi is None or sess["payment_status"] != "paid":
            raise StripeError(400, "Checkout Session %s has no successful "
                              "payment to refund." % sid,
                              code="charge_not_refundable")
        ch = S.charges[pi["latest_charge"]]
        left = ch["amount"] - ch["amount_refunded"]
        if amount is None:
            amount = left
        if not isinstance(amount, int) or amount < 1 or amount > left:
            raise StripeError(400, "Refund amount (%s) is greater than "
                              "unrefunded amount on charge (%d)" %
                              (amount, left), param="amount",
                              code="charge_already_refunded" if left == 0
                              else "amount_too_large")
        prev = {"amount_refunded": ch["amount_refunded"],
                "refunded": ch["refunded"]}
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] == ch["amount"]
        rf = {"id": new_id("re_"), "object": "refund", "amount": amount,
              "charge": ch["id"], "created": int(time.time()),
              "currency": ch["currency"], "metadata": {},
              "payment_intent": pi["id"], "reason": None,
              "status": "succeeded"}
        S.refunds[rf["id"]] = rf
        snap = copy.deepcopy(ch)
        if not prev["refunded"] and not ch["refunded"]:
            del prev["refunded"]
    ev, t = create_event("charge.refunded", snap, previous=prev)
    return ev, t, rf


def expire_session(sid, request=None):
    with S.lock:
        sess = session_or_error(sid)
        if sess["status"] != "open":
            raise StripeError(400, "Only Checkout Sessions with a status "
                              "in [\"open\"] can be expired.")
        sess["status"] = "expired"
        sess["url"] = None
        snap = copy.deepcopy(sess)
    ev, t = create_event("checkout.session.expired", snap, request=request)
    return snap, ev, t


# ---- HTTP ----------------------------------------------------------------

class StripeHandler(fakelib.WebhookControlMixin, fakelib.Handler):
    server_version = "nginx"
    JSON_INDENT = 2
    ROUTES = [
        ("POST", r"/v1/checkout/sessions", "api_create_session"),
        ("GET", r"/v1/checkout/sessions", "api_list_sessions"),
        ("GET", r"/v1/checkout/sessions/(?P<sid>[^/]+)", "api_get_session"),
        ("POST", r"/v1/checkout/sessions/(?P<sid>[^/]+)/expire",
         "api_expire_session"),
        ("GET", r"/v1/checkout/sessions/(?P<sid>[^/]+)/line_items",
         "api_line_items"),
        ("GET", r"/v1/events", "api_list_events"),
        ("GET", r"/v1/events/(?P<eid>[^/]+)", "api_get_event"),
        ("GET", r"/v1/payment_intents/(?P<oid>[^/]+)", "api_get_intent"),
        ("GET", r"/v1/charges/(?P<oid>[^/]+)", "api_get_charge"),
        ("*", r"/v1/.*", "api_unknown"),
        ("GET", r"/pay/(?P<sid>[^/]+)", "page"),
        ("POST", r"/pay/(?P<sid>[^/]+)/confirm", "page_pay"),
        ("POST", r"/pay/(?P<sid>[^/]+)/cancel", "page_cancel"),
    ] + fakelib.WebhookControlMixin.WEBHOOK_ROUTES + [
        ("GET", r"/__control/sessions/(?P<sid>[^/]+)", "ctl_session"),
        ("POST", r"/__control/sessions/(?P<sid>[^/]+)/complete",
         "ctl_complete"),
        ("POST", r"/__control/sessions/(?P<sid>[^/]+)/async", "ctl_async"),
        ("POST", r"/__control/sessions/(?P<sid>[^/]+)/refund",
         "ctl_refund"),
        ("POST", r"/__control/sessions/(?P<sid>[^/]+)/expire",
         "ctl_expire"),
        ("POST", r"/__control/sign", "ctl_sign"),
    ]

    # ---- API plumbing ---------------------------------------------

    def body_error(self, e):
        self.close_connection = True
        self.api_error(StripeError(e.status, e.message))

    def api_error(self, err, extra=None):
        self.send_json(err.status, err.body(self.request_id),
                       self.api_headers(extra))

    def api_headers(self, extra=None):
        h = [("Request-Id", self.request_id),
             ("Stripe-Version", S.api_version),
             ("Access-Control-Allow-Origin", "*")]
        key = self.headers.get("Idempotency-Key")
        if key is not None:
            h.append(("Idempotency-Key", key))
        return h + list(extra or [])

    def api_begin(self, record=True, defer=False):
        """Common start of every /v1 request: auth, fault modes.
        Returns True when the handler should go on.  With defer, a "500"
        step that asks to be recorded against the idempotency key is kept
        in self.deferred for the handler to raise after idem_start."""
        self.deferred = None
        self.request_id = new_id("req_", 14)
        self.api_record = self.request_record(requestId=self.request_id,
                                              status=None)
        if record:
            S.requests.add(self.api_record)
        if not self.check_key():
            return False
        step = S.modes.take(self.path_only)
        mode = step["mode"]
        self.api_record["mode"] = mode
        if mode == "ok":
            return True
        if mode == "drop":
            self.drop()
        elif mode == "timeout":
            self.hang(step.get("cap", fakelib.DEFAULT_HANG_CAP))
        elif mode == "429":
            self.respond_error(StripeError(
                429, "Request rate limit exceeded. Learn more about rate "
                "limits here https://stripe.com/docs/rate-limits.",
                code="rate_limit"), [("Stripe-Should-Retry", "true")])
        elif mode == "500":
            # By default the fault happens before Stripe starts the
            # endpoint, so nothing is saved against the idempotency key;
            # {"record": true} makes it a saved in-endpoint failure.
            if step.get("record") and defer:
                self.deferred = step
                return True
            self.respond_error(self.internal_error(),
                               [("Stripe-Should-Retry", "true")])
        return False

    @staticmethod
    def internal_error():
        return StripeError(500, "An unknown error occurred",
                           etype="api_error")

    def raise_deferred(self):
        """Answers a recorded 500 if one is due; True when it did."""
        if self.deferred is None:
            return False
        err = self.internal_error()
        self.save_idempotent(err.status, err.body(self.request_id))
        self.respond_error(err, [("Stripe-Should-Retry", "false")])
        return True

    def respond_error(self, err, extra=None):
        self.api_record["status"] = err.status
        self.api_error(err, extra)

    def respond(self, status, obj, extra=None):
        self.api_record["status"] = status
        self.send_json(status, obj, self.api_headers(extra))

    def check_key(self):
        auth = self.headers.get("Authorization", "")
        key = None
        if auth.startswith("Bearer "):
            key = auth[7:].strip()
        elif auth.startswith("Basic "):
            try:
                key = fakelib.base64.b64decode(auth[6:]).decode(
                    "utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            self.respond_error(StripeError(
                401, "You did not provide an API key. You need to provide "
                "your API key in the Authorization header, using Bearer "
                "auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."))
            return False
        if key != S.secret_key:
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] \
                if len(key) > 12 else key
            self.respond_error(StripeError(
                401, "Invalid API Key provided: %s" % shown))
            return False
        return True

    def params(self):
        ctype = self.headers.get("Content-Type", "")
        raw = self.body()
        if raw and "application/json" in ctype:
            raise StripeError(400, "Invalid request: Stripe expects "
                              "application/x-www-form-urlencoded bodies, "
                              "not JSON.")
        pairs = self.form_body()
        if self.command == "GET":
            pairs = urllib.parse.parse_qsl(self.query_string,
                                           keep_blank_values=True)
        return pairs, nest(pairs)

    # ---- idempotency -----------------------------------------------

    def idem_start(self, pairs):
        """Returns True when the request must be executed; False when a
        stored answer or a conflict was sent instead."""
        key = self.headers.get("Idempotency-Key")
        self.idem_key = key
        if key is None:
            return True
        if len(key) > 255:
            self.respond_error(StripeError(
                400, "Idempotency-Key must be at most 255 characters long.",
                param="Idempotency-Key"))
            return False
        fp = json.dumps(sorted(pairs))
        with S.lock:
            ent = S.idem.get(key)
            if ent is None:
                S.idem[key] = {"path": self.path_only, "fingerprint": fp,
                               "inflight": True, "status": None,
                               "body": None, "requestId": self.request_id}
                return True
            if ent["path"] != self.path_only:
                err = StripeError(
                    400, "Keys for idempotent requests can only be used "
                    "for the same endpoint they were first used for ('%s' "
                    "vs '%s'). Try using a key other than '%s' if you meant "
                    "to execute a different request." %
                    (ent["path"], self.path_only, key),
                    etype="idempotency_error")
            elif ent["fingerprint"] != fp:
                err = StripeError(
                    400, "Keys for idempotent requests can only be used "
                    "with the same parameters they were first used with. "
                    "Try using a key other than '%s' if you meant to "
                    "execute a different request." % key,
                    etype="idempotency_error")
            elif ent["inflight"]:
                err = StripeError(
                    409, "There is currently another in-progress request "
                    "using this Idempotency-Key (that probably means you "
                    "submitted twice, and the other request is still "
                    "going through): %s. Please try again later." % key,
                    etype="idempotency_error",
                    code="idempotency_key_in_use")
            else:
                err = None
                status, body, orig = ent["status"], ent["body"], \
                    ent["requestId"]
        if err is not None:
            self.respond_error(err)
            return False
        self.api_record["replayed"] = True
        self.respond(status, body, [("Idempotent-Replayed", "true"),
                                    ("Original-Request", orig)])
        return False

    def save_idempotent(self, status, body):
        key = getattr(self, "idem_key", None) or \
            self.headers.get("Idempotency-Key")
        if key is None:
            return
        with S.lock:
            ent = S.idem.get(key)
            if ent is not None and ent["inflight"]:
                ent.update(inflight=False, status=status, body=body)

    def idem_run(self, act):
        """Runs the endpoint, act() -> the object to answer, and saves
        that answer against the idempotency key; a StripeError from act
        (failed validation) saves nothing."""
        try:
            obj = act()
        except StripeError as e:
            self.idem_forget()
            self.respond_error(e)
            return
        self.save_idempotent(200, obj)
        self.respond(200, obj)

    def idem_forget(self):
        """Validation failed before execution: nothing is saved, so a
        corrected retry with the same key is allowed."""
        key = getattr(self, "idem_key", None)
        if key is None:
            return
        with S.lock:
            ent = S.idem.get(key)
            if ent is not None and ent["inflight"]:
                del S.idem[key]

    # ---- API endpoints -----------------------------------------------

    def api_create_session(self):
        self.idem_key = None
        if not self.api_begin(defer=True):
            return
        try:
            pairs, params = self.params()
        except (StripeError, fakelib.BodyError) as e:
            if isinstance(e, fakelib.BodyError):
                e = StripeError(e.status, e.message)
            self.respond_error(e)
            return
        if not self.idem_start(pairs):
            return
        if self.raise_deferred():
            return
        self.idem_run(lambda: build_session(params, self.idem_key,
                                            self.request_id))

    def api_list_sessions(self):
        if not self.api_begin():
            return
        try:
            limit = int(self.qparam("limit", "10"))
        except ValueError:
            self.respond_error(StripeError(400, "Invalid integer",
                                           param="limit"))
            return
        with S.lock:
            items = sorted(S.sessions.values(), key=lambda s: s["created"],
                           reverse=True)
            pi = self.qparam("payment_intent")
            if pi:
                items = [s for s in items if s["payment_intent"] == pi]
            out = list_object(items, limit, "/v1/checkout/sessions")
        self.respond(200, out)

    def api_get_session(self, sid):
        if not self.api_begin():
            return
        try:
            with S.lock:
                sess = copy.deepcopy(session_or_error(sid))
        except StripeError as e:
            self.respond_error(e)
            return
        self.respond(200, sess)

    def api_line_items(self, sid):
        if not self.api_begin():
            return
        with S.lock:
            items = copy.deepcopy(S.line_items.get(sid))
        if items is None:
            self.respond_error(StripeError(
                404, "No such checkout.session: '%s'" % sid,
                param="session", code="resource_missing"))
            return
        self.respond(200, {"object": "list", "data": items,
                           "has_more": False,
                           "url": "/v1/checkout/sessions/%s/line_items" %
                           sid})

    def api_expire_session(self, sid):
        self.idem_key = None
        if not self.api_begin():
            return
        try:
            pairs, _ = self.params()
        except StripeError as e:
            self.respond_error(e)
            return
        if not self.idem_start(pairs):
            return
        self.idem_run(lambda: expire_session(sid, {
            "id": self.request_id, "idempotency_key": self.idem_key})[0])

    def api_list_events(self):
        if not self.api_begin():
            return
        etype = self.qparam("type")
        try:
            limit = int(self.qparam("limit", "10"))
        except ValueError:
            limit = 10
        with S.lock:
            evs = [S.events[i] for i in reversed(S.event_order)]
            if etype:
                evs = [e for e in evs if e["type"] == etype]
            out = list_object(evs, limit, "/v1/events")
        self.respond(200, out)

    def api_get_event(self, eid):
        self._get_obj(S.events, eid, "event")

    def _get_obj(self, table, oid, name):
        if not self.api_begin():
            return
        with S.lock:
            obj = copy.deepcopy(table.get(oid))
        if obj is None:
            self.respond_error(StripeError(404, "No such %s: '%s'" %
                                           (name, oid), param="id",
                                           code="resource_missing"))
            return
        self.respond(200, obj)

    def api_get_intent(self, oid):
        self._get_obj(S.intents, oid, "payment_intent")

    def api_get_charge(self, oid):
        self._get_obj(S.charges, oid, "charge")

    def api_unknown(self):
        self.request_id = new_id("req_", 14)
        self.api_error(StripeError(
            404, "Unrecognized request URL (%s: %s)." %
            (self.command, self.path_only)))

    # ---- hosted checkout page ---------------------------------------

    def page(self, sid):
        with S.lock:
            sess = copy.deepcopy(S.sessions.get(sid))
            items = copy.deepcopy(S.line_items.get(sid, []))
        if sess is None:
            self.send(404, "<!doctype html><title>Not found</title>"
                      "<p>Something went wrong: this checkout session "
                      "does not exist.</p>", "text/html; charset=utf-8")
            return
        rows = "".join("<li>%s &times; %d &mdash; %s</li>" % (
            html.escape(i["description"]), i["quantity"],
            format_amount(i["amount_total"], i["currency"])) for i in items)
        amount = format_amount(sess["amount_total"], sess["currency"])
        if sess["status"] != "open":
            body = ("<p id=\"status\">This checkout session is %s.</p>" %
                    html.escape(sess["status"]))
        else:
            esc = html.escape(sid, quote=True)
            body = (
                "<form method=\"post\" action=\"/pay/%s/confirm\">"
                "<button id=\"pay\" type=\"submit\">Pay %s</button></form>"
                "<form method=\"post\" action=\"/pay/%s/cancel\">"
                "<button id=\"cancel\" type=\"submit\">Cancel</button>"
                "</form>" % (esc, amount, esc))
        page = ("<!doctype html><html><head><meta charset=\"utf-8\">"
                "<title>Checkout (test mode)</title></head><body>"
                "<h1>Test mode checkout</h1>"
                "<p>Amount due: <strong id=\"amount\">%s</strong></p>"
                "<ul>%s</ul>%s</body></html>" % (amount, rows, body))
        self.send(200, page, "text/html; charset=utf-8")

    def page_pay(self, sid):
        self.body()
        try:
            ev, _ = complete_session(sid, "paid")
        except StripeError as e:
            self.send(409, "<!doctype html><p>%s</p>" %
                      html.escape(e.message), "text/html; charset=utf-8")
            return
        sess = ev["data"]["object"]
        url = sess["success_url"].replace("{CHECKOUT_SESSION_ID}", sid)
        self.redirect(303, url)

    def page_cancel(self, sid):
        self.body()
        with S.lock:
            sess = S.sessions.get(sid)
            url = sess and sess["cancel_url"]
        if sess is None:
            self.send(404, "<!doctype html><p>No such session</p>",
                      "text/html; charset=utf-8")
            return
        if not url:
            self.send(200, "<!doctype html><p>Payment cancelled.</p>",
                      "text/html; charset=utf-8")
            return
        self.redirect(303, url.replace("{CHECKOUT_SESSION_ID}", sid))

    # ---- control -----------------------------------------------------

    def ctl_stripe_error(self, e):
        self.send_json(e.status, {"error": e.message})

    def ctl_event(self, body, act):
        """Answers {"event": ...} and the fields act adds for a change
        act() -> (event, delivery job, fields) makes, or the StripeError
        it raises."""
        try:
            ev, job, fields = act()
        except StripeError as e:
            self.ctl_stripe_error(e)
            return
        self.wait_for(job, body)
        self.send_json(200, dict({"event": ev}, **fields))

    def ctl_session(self, sid):
        with S.lock:
            sess = S.sessions.get(sid)
            if sess is None:
                self.ctl_fail(404, "no such session %s" % sid)
                return
            pi = S.intents.get(sess["payment_intent"] or "")
            ch = S.charges.get(pi["latest_charge"]) if pi else None
            out = copy.deepcopy({"session": sess, "paymentIntent": pi,
                                 "charge": ch,
                                 "lineItems": S.line_items.get(sid)})
        self.send_json(200, out)

    def ctl_complete(self, sid):
        body = self.control_json()
        flavor = body.get("flavor", "paid")
        if flavor not in ("paid", "async"):
            self.ctl_fail(400, "flavor must be paid or async")
            return
        self.ctl_event(body, lambda: complete_session(sid, flavor) + ({},))

    def ctl_async(self, sid):
        body = self.control_json()
        self.ctl_event(body, lambda: async_result(
            sid, body.get("result", "succeeded")) + ({},))

    def ctl_refund(self, sid):
        body = self.control_json()

        def act():
            ev, t, rf = refund_session(sid, body.get("amount"))
            return ev, t, {"refund": rf}
        self.ctl_event(body, act)

    def ctl_expire(self, sid):
        body = self.control_json()

        def act():
            _, ev, t = expire_session(sid)
            return ev, t, {}
        self.ctl_event(body, act)

    def ctl_sign(self):
        """Signs an arbitrary payload, for tests that post their own."""
        body = self.control_json()
        payload = body.get("payload")
        if not isinstance(payload, str):
            self.ctl_fail(400, "need {payload: string}")
            return
        ts = int(body.get("timestamp", time.time()))
        secret = body.get("secret", S.webhook_secret)
        v1 = sign(secret, ts, payload.encode("utf-8"))
        self.send_json(200, {"timestamp": ts, "v1": v1,
                             "header": "t=%d,v1=%s" % (ts, v1)})


def main():
    global S
    p = fakelib.base_parser("Fake Stripe API, hosted checkout and webhooks")
    p.add_argument("--secret-key", default="sk_test_fake_secret_key")
    p.add_argument("--webhook-secret", default="whsec_test_fake_secret")
    fakelib.add_webhook_options(p)
    p.add_argument("--api-version", default="2024-06-20")
    args = p.parse_args()
    S = Store(args)
    return fakelib.serve(StripeHandler, args, S)


if __name__ == "__main__":
    raise SystemExit(main())
