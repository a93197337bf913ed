#!/usr/bin/python3
"""A local fake of the PayPal REST APIs that apiscribe uses.

  POST /v1/oauth2/token                         client-credentials token
  POST /v2/checkout/orders                      create an order
  GET  /v2/checkout/orders/{id}                 show it
  POST /v2/checkout/orders/{id}/capture         capture it
  GET  /v2/payments/captures/{id}, POST .../refund
  GET  /v2/payments/refunds/{id}
  POST /v1/notifications/verify-webhook-signature
  GET  /checkoutnow?token={id}                  the buyer's approval page
  GET  /v1/notifications/certs/{name}           the signing certificate

Webhooks are POSTed to --webhook-url with PayPal's transmission headers,
signed with RSA-SHA256 over "<transmission id>|<transmission time>|
<webhook id>|<CRC32 of the body, decimal>" using a key generated at start;
the matching self-signed certificate is served at PAYPAL-CERT-URL.
The control API under /__control/ is described in README.md.
"""

import base64
import copy
import datetime
import decimal
import fnmatch
import html
import json
import re
import time
import urllib.parse
import uuid
import zlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import fakelib

API_MODES = ("ok", "500", "503", "429", "timeout", "drop")
ID_CHARS = "ABCDEFGHJKLMNPRSTUVWXY0123456789"
AMOUNT_RX = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
CURRENCIES = {"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "SEK",
              "NOK", "DKK", "PLN", "CZK", "NZD", "SGD", "HKD", "MXN",
              "BRL", "HUF", "ILS", "PHP", "THB", "TWD"}
NO_DECIMALS = {"JPY", "HUF", "TWD"}
SCOPE = ("https://uri.paypal.com/services/invoicing "
         "https://uri.paypal.com/services/vault/payment-tokens/read "
         "https://uri.paypal.com/services/disputes/read-buyer "
         "https://uri.paypal.com/services/payments/realtimepayment "
         "https://uri.paypal.com/services/payments/payment/authcapture "
         "https://uri.paypal.com/services/payments/refund "
         "https://uri.paypal.com/services/applications/webhooks "
         "openid")
DEFAULT_EVENTS = ["PAYMENT.CAPTURE.*"]


def pp_id(n=17):
    return fakelib.rand_id(n, ID_CHARS)


def debug_id():
    return fakelib.rand_id(13, "0123456789abcdef")


class PPError(Exception):
    """An error in PayPal's REST shape."""

    NAMES = {400: ("INVALID_REQUEST", "Request is not well-formed, "
                   "syntactically incorrect, or violates schema."),
             401: ("AUTHENTICATION_FAILURE", "Authentication failed due "
                   "to invalid authentication credentials or a missing "
                   "Authorization header."),
             403: ("NOT_AUTHORIZED", "Authorization failed due to "
                   "insufficient permissions."),
             404: ("RESOURCE_NOT_FOUND", "The specified resource does "
                   "not exist."),
             422: ("UNPROCESSABLE_ENTITY", "The requested action could "
                   "not be performed, semantically incorrect, or failed "
                   "business validation."),
             429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due "
                   "to rate limiting."),
             500: ("INTERNAL_SERVER_ERROR", "An internal server error has "
                   "occurred."),
             503: ("SERVICE_UNAVAILABLE", "Service Unavailable.")}

    def __init__(self, status, issue=None, description=None, field=None,
                 value=None, location="body"):
        self.status = status
        self.name, self.message = self.NAMES[status]
        self.details = []
        if issue:
            d = {}
            if field is not None:
                d["field"] = field
            if value is not None:
                d["value"] = value
            if field is not None:
                d["location"] = location
            d["issue"] = issue
            d["description"] = description or issue
            self.details.append(d)
        super().__init__(issue or self.name)

    def body(self, dbg):
        b = {"name": self.name, "message": self.message, "debug_id": dbg}
        if self.details:
            b["details"] = self.details
        anchor = self.details[0]["issue"] if self.details else self.name
        b["links"] = [{"href": "https://developer.paypal.com/docs/api/"
                       "orders/v2/#error-" + anchor,
                       "rel": "information_link", "method": "GET"}]
        return b


def missing_param(field):
    return PPError(400, "MISSING_REQUIRED_PARAMETER",
                   "A required field / parameter is missing.", field=field)


def malformed_json():
    return PPError(400, "MALFORMED_REQUEST_JSON",
                   "The request JSON is not well formed.")


def unknown_id(description):
    return PPError(404, "INVALID_RESOURCE_ID", description)


def find(table, key, description="Specified resource ID does not exist. "
         "Please check the resource ID and try again."):
    """table[key] (an order, a capture...); the 404 when there is none."""
    obj = table.get(key)
    if obj is None:
        raise unknown_id(description)
    return obj


def stored(table, key):
    """A copy of table[key], for GETs that answer it as it is."""
    return copy.deepcopy(find(table, key, "Specified resource ID does "
                              "not exist."))


def invalid_param(field, value, issue="INVALID_PARAMETER_VALUE",
                  description="The value of a field is invalid.",
                  status=400):
    return PPError(status, issue, description, field=field,
                   value=str(value))


# ---- keys ------------------------------------------------------------------

def make_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fake PayPal"),
        x509.NameAttribute(NameOID.COMMON_NAME,
                           "messageverificationcerts.fake.paypal.test"),
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return key, pem


def rsa_sign(key, message):
    return base64.b64encode(key.sign(message.encode("utf-8"),
                                     padding.PKCS1v15(),
                                     hashes.SHA256())).decode("ascii")


def signed_message(tid, ttime, webhook_id, body):
    return "%s|%s|%s|%d" % (tid, ttime, webhook_id, zlib.crc32(body))


# ---- money -----------------------------------------------------------------

def money(value, currency):
    q = decimal.Decimal(1) if currency in NO_DECIMALS else \
        decimal.Decimal("0.01")
    return {"currency_code": currency,
            "value": str(decimal.Decimal(value).quantize(
                q, rounding=decimal.ROUND_HALF_UP))}


def fee_for(value, currency):
    v = decimal.Decimal(value)
    return (v * decimal.Decimal("0.0349") + decimal.Decimal("0.49")).min(v)


def short_amount(amount):
    """"5.00" -> "5.0": the style of PayPal's event summaries."""
    v = decimal.Decimal(amount["value"]).normalize()
    s = format(v, "f")
    if "." not in s:
        s += ".0"
    sym = "$ " if amount["currency_code"] == "USD" else \
        amount["currency_code"] + " "
    return "%s%s %s" % (sym, s, amount["currency_code"])


# ---- state -----------------------------------------------------------------

class Store(fakelib.WebhookStore):
    EVENT_TYPE = "event_type"
    EVENT_CONTENT = "resource"
    TYPE_KEY = "eventType"
    FAULTS = (None, "none", "bad_signature", "wrong_webhook_id", "tampered",
              "foreign_cert", "no_headers")
    SETTINGS = ("url", "delivery", "events", "webhookId", "retries",
                "retryDelay")

    def __init__(self, args):
        self.client_id = args.client_id
        self.client_secret = args.client_secret
        self.webhook_id = args.webhook_id
        self.token_ttl = args.token_ttl
        self.events_filter = list(DEFAULT_EVENTS)
        self.key, self.cert_pem = make_signer()
        self.cert_name = "CERT-360caa42-fca2a594-" + \
            fakelib.rand_id(8, "0123456789abcdef")
        super().__init__(args, API_MODES)

    def clear_objects(self):
        self.tokens = {}
        self.current_token = None
        self.orders = {}
        self.order_meta = {}
        self.captures = {}
        self.refunds = {}
        self.transmissions = {}
        self.request_ids = {}
        self.default_outcome = "completed"

    def configure(self, key, value):
        if key == "events":
            if not isinstance(value, list):
                return "events must be a list of patterns"
            self.events_filter = [str(e) for e in value]
            return None
        if key == "webhookId":
            self.webhook_id = str(value)
            return None
        return super().configure(key, value)

    def webhook_config(self):
        return {"url": self.webhook_url, "delivery": self.delivery,
                "webhookId": self.webhook_id, "events": self.events_filter,
                "retries": self.retries, "retryDelay": self.retry_delay,
                "certUrl": self.cert_url}

    def new_event(self, body):
        etype = body["event_type"]
        ev, _ = create_event(etype, body.get("resource_type", "capture"),
                             body["resource"], body.get("summary", etype),
                             auto=False)
        return ev

    def sign_delivery(self, event_id, fault):
        return build_delivery(event_id, fault)

    def delivery_id(self):
        return "del-" + pp_id(10)

    @property
    def cert_url(self):
        return "%s/v1/notifications/certs/%s" % (self.public, self.cert_name)


S = None


# ---- webhooks --------------------------------------------------------------

def subscribed(etype):
    return any(fnmatch.fnmatchcase(etype, p) for p in S.events_filter)


def create_event(etype, resource_type, resource, summary, auto=None):
    """Store an event (a snapshot of resource) and hand it to delivery.
    Returns (event, delivery job or None); unsubscribed types are stored
    but never sent."""
    with S.lock:
        eid = "WH-%s-%s" % (pp_id(17), pp_id(17))
        ev = {
            "id": eid, "event_version": "1.0",
            "create_time": fakelib.now_iso(millis=True),
            "resource_type": resource_type, "resource_version": "2.0",
            "event_type": etype, "summary": summary,
            "resource": copy.deepcopy(resource),
            "links": [
                {"href": "%s/v1/notifications/webhooks-events/%s" %
                 (S.public, eid), "rel": "self", "method": "GET"},
                {"href": "%s/v1/notifications/webhooks-events/%s/resend" %
                 (S.public, eid), "rel": "resend", "method": "POST"}],
        }
        body = json.dumps(ev, separators=(",", ":")).encode("utf-8")
        return ev, S.add_event(eid, ev, body, auto, subscribed(etype))


def tamper(body):
    try:
        ev = json.loads(body)
        amt = ev.get("resource", {}).get("amount")
        if isinstance(amt, dict) and "value" in amt:
            amt["value"] = str(decimal.Decimal(amt["value"]) * 100)
        else:
            ev["resource"]["custom_id"] = "tampered"
        return json.dumps(ev, separators=(",", ":")).encode("utf-8")
    except (ValueError, AttributeError, TypeError, decimal.DecimalException):
        return body + b" "


def build_delivery(event_id, fault=None):
    canonical = S.event_bodies[event_id]
    tid = str(uuid.uuid1())
    ttime = fakelib.now_iso()
    webhook_id = S.webhook_id
    if fault == "wrong_webhook_id":
        webhook_id = pp_id(17)
    message = signed_message(tid, ttime, webhook_id, canonical)
    if fault == "bad_signature":
        other, _ = foreign_key()
        sig = rsa_sign(other, message)
    else:
        sig = rsa_sign(S.key, message)
    body = tamper(canonical) if fault == "tampered" else canonical
    cert_url = S.cert_url
    if fault == "foreign_cert":
        cert_url = "%s/v1/notifications/certs/CERT-unknown-%s" % (
            S.public, pp_id(8))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PayPal/AUHD-214.0-58843211",
        "Correlation-Id": debug_id(),
    }
    if fault != "no_headers":
        headers.update({
            "PAYPAL-TRANSMISSION-ID": tid,
            "PAYPAL-TRANSMISSION-TIME": ttime,
            "PAYPAL-TRANSMISSION-SIG": sig,
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-AUTH-VERSION": "v2",
        })
    with S.lock:
        S.transmissions[tid] = {"eventId": event_id, "canonical": canonical,
                                "sent": body, "webhookId": webhook_id,
                                "time": ttime, "fault": fault}
    return body, headers, {"transmissionId": tid}


_foreign = []


def foreign_key():
    """A second key pair, made on first use, for bad signatures."""
    with S.lock:
        if not _foreign:
            _foreign.append(make_signer())
        return _foreign[0]


def verify_signature(req):
    """The verdict of /v1/notifications/verify-webhook-signature."""
    tid = req["transmission_id"]
    with S.lock:
        tx = S.transmissions.get(tid)
    event = req["webhook_event"]
    if tx is not None:
        # Verify against the bytes the fake signed; an event that differs
        # from them (tampered, or altered by the caller) fails.
        if json.loads(tx["canonical"]) != event:
            return "FAILURE"
        body = tx["canonical"]
    else:
        body = json.dumps(event, separators=(",", ":")).encode("utf-8")
    if str(req["auth_algo"]).upper() != "SHA256WITHRSA":
        return "FAILURE"
    if req["cert_url"] != S.cert_url:
        return "FAILURE"
    try:
        sig = base64.b64decode(req["transmission_sig"], validate=True)
    except (ValueError, TypeError):
        return "FAILURE"
    message = signed_message(tid, req["transmission_time"],
                             req["webhook_id"], body)
    try:
        S.key.public_key().verify(sig, message.encode("utf-8"),
                                  padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "FAILURE"
    return "SUCCESS"


# ---- orders ----------------------------------------------------------------

def validate_amount(amount, field):
    if amount is None:
        raise missing_param(field)
    if not isinstance(amount, dict):
        raise invalid_param(field, amount, "INVALID_PARAMETER_SYNTAX",
                            "The value of a field does not conform to the "
                            "expected format.")
    cur = amount.get("currency_code")
    if cur is None:
        raise missing_param(field + "/currency_code")
    if not isinstance(cur, str) or not re.fullmatch(r"[A-Z]{3}", cur):
        raise invalid_param(field + "/currency_code", cur,
                            "INVALID_PARAMETER_SYNTAX",
                            "The value of a field does not conform to the "
                            "expected format.")
    if cur not in CURRENCIES:
        raise invalid_param(field + "/currency_code", cur,
                            "CURRENCY_NOT_SUPPORTED",
                            "Currency code is not currently supported.",
                            status=422)
    val = amount.get("value")
    if val is None:
        raise missing_param(field + "/value")
    if not isinstance(val, str) or not AMOUNT_RX.match(val) or \
            len(val) > 32:
        raise invalid_param(field + "/value", val,
                            "INVALID_PARAMETER_SYNTAX",
                            "The value of a field does not conform to the "
                            "expected format.")
    d = decimal.Decimal(val)
    places = -d.as_tuple().exponent if d.as_tuple().exponent < 0 else 0
    if places > (0 if cur in NO_DECIMALS else 2):
        raise invalid_param(field + "/value", val, "DECIMAL_PRECISION",
                            "If the currency supports decimals, only two "
                            "decimal place precision is supported.",
                            status=422)
    if d <= 0:
        raise invalid_param(field + "/value", val,
                            "CANNOT_BE_ZERO_OR_NEGATIVE",
                            "Must be greater than zero. If the currency "
                            "supports decimals, only two decimal place "
                            "precision is supported.", status=422)
    return money(val, cur)


def check_len(unit, name, field, limit):
    v = unit.get(name)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) < 1 or len(v) > limit:
        raise invalid_param(field, v, "INVALID_STRING_LENGTH",
                            "The value of a field is either too short or "
                            "too long.")
    return v


def check_url(v, field):
    if v is None:
        return None
    u = urllib.parse.urlsplit(v) if isinstance(v, str) else None
    if u is None or u.scheme not in ("http", "https") or not u.netloc:
        raise invalid_param(field, v, "INVALID_PARAMETER_SYNTAX",
                            "The value of a field does not conform to the "
                            "expected format.")
    return v


def build_order(body):
    if not isinstance(body, dict):
        raise malformed_json()
    intent = body.get("intent")
    if intent is None:
        raise missing_param("/intent")
    if intent not in ("CAPTURE", "AUTHORIZE"):
        raise invalid_param("/intent", intent)
    if intent != "CAPTURE":
        raise invalid_param("/intent", intent, "INTENT_NOT_SUPPORTED",
                            "This fake supports only intent CAPTURE.",
                            status=422)
    units = body.get("purchase_units")
    if units is None:
        raise missing_param("/purchase_units")
    if not isinstance(units, list) or not units:
        raise invalid_param("/purchase_units", units,
                            "INVALID_ARRAY_MIN_ITEMS",
                            "The number of items in an array parameter is "
                            "too small.")
    out_units, refs = [], set()
    for i, u in enumerate(units):
        f = "/purchase_units/%d" % i
        if not isinstance(u, dict):
            raise invalid_param(f, u, "INVALID_PARAMETER_SYNTAX",
                                "The value of a field does not conform to "
                                "the expected format.")
        amount = validate_amount(u.get("amount"), f + "/amount")
        ref = check_len(u, "reference_id", f + "/reference_id", 256) or \
            "default"
        if ref in refs:
            raise invalid_param(f + "/reference_id", ref,
                                "DUPLICATE_REFERENCE_ID",
                                "`reference_id` must be unique if multiple "
                                "`purchase_unit` are provided.", status=422)
        refs.add(ref)
        pu = {"reference_id": ref, "amount": amount,
              "payee": {"email_address": "merchant@example.com",
                        "merchant_id": "FAKEMERCHANT01"}}
        for name, limit in (("description", 127), ("custom_id", 127),
                            ("invoice_id", 127), ("soft_descriptor", 22)):
            v = check_len(u, name, "%s/%s" % (f, name), limit)
            if v is not None:
                pu[name] = v
        out_units.append(pu)

    ctx = body.get("application_context") or {}
    ps = body.get("payment_source")
    exp = None
    if ps is not None:
        if not isinstance(ps, dict) or not isinstance(ps.get("paypal"),
                                                      dict):
            raise invalid_param("/payment_source", ps,
                                "UNSUPPORTED_PAYMENT_SOURCE",
                                "This fake supports only payment_source."
                                "paypal.", status=422)
        exp = ps["paypal"].get("experience_context") or {}
    src = exp if exp is not None else ctx
    base = "/payment_source/paypal/experience_context" if exp is not None \
        else "/application_context"
    return_url = check_url(src.get("return_url"), base + "/return_url")
    cancel_url = check_url(src.get("cancel_url"), base + "/cancel_url")

    oid = pp_id(17)
    order = {"id": oid, "intent": intent,
             "status": "PAYER_ACTION_REQUIRED" if ps is not None else
             "CREATED",
             "purchase_units": out_units,
             "create_time": fakelib.now_iso()}
    if ps is not None:
        order["payment_source"] = {"paypal": {}}
    meta = {"return_url": return_url, "cancel_url": cancel_url,
            "payer_action": ps is not None, "outcome": None}
    with S.lock:
        S.orders[oid] = order
        S.order_meta[oid] = meta
    return order


def order_links(order):
    oid = order["id"]
    api = "%s/v2/checkout/orders/%s" % (S.public, oid)
    links = [{"href": api, "rel": "self", "method": "GET"}]
    meta = S.order_meta[oid]
    if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
        links.append({"href": "%s/checkoutnow?token=%s" % (S.public, oid),
                      "rel": "payer-action" if meta["payer_action"]
                      else "approve", "method": "GET"})
    if order["status"] in ("CREATED", "APPROVED", "PAYER_ACTION_REQUIRED"):
        links.append({"href": api, "rel": "update", "method": "PATCH"})
        links.append({"href": api + "/capture", "rel": "capture",
                      "method": "POST"})
    return links


def order_view(oid, minimal=False):
    with S.lock:
        order = find(S.orders, oid)
        if minimal:
            out = {"id": oid, "status": order["status"]}
            if "payment_source" in order:
                out["payment_source"] = copy.deepcopy(
                    order["payment_source"])
        else:
            out = copy.deepcopy(order)
            out["update_time"] = order.get("update_time",
                                           order["create_time"])
        out["links"] = order_links(order)
        return out


def approve_order(oid):
    with S.lock:
        order = find(S.orders, oid)
        if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            raise PPError(422, "ORDER_NOT_APPROVABLE" if order["status"]
                          != "APPROVED" else "ORDER_ALREADY_APPROVED",
                          "The order is %s and cannot be approved." %
                          order["status"])
        payer_id = pp_id(13)
        order["status"] = "APPROVED"
        order["update_time"] = fakelib.now_iso()
        order["payer"] = {
            "name": {"given_name": "Test", "surname": "Buyer"},
            "email_address": "buyer@example.com", "payer_id": payer_id,
            "address": {"country_code": "US"}}
        order["payment_source"] = {"paypal": {
            "email_address": "buyer@example.com", "account_id": payer_id,
            "account_status": "VERIFIED",
            "name": {"given_name": "Test", "surname": "Buyer"},
            "address": {"country_code": "US"}}}
        snap = order_view(oid)
    create_event("CHECKOUT.ORDER.APPROVED", "checkout-order", snap,
                 "An order has been approved by buyer")
    return payer_id


def capture_links(cap_id, oid):
    api = "%s/v2/payments/captures/%s" % (S.public, cap_id)
    return [{"href": api, "rel": "self", "method": "GET"},
            {"href": api + "/refund", "rel": "refund", "method": "POST"},
            {"href": "%s/v2/checkout/orders/%s" % (S.public, oid),
             "rel": "up", "method": "GET"}]


def capture_order(oid):
    """Returns (order view, events/threads).  Raises PPError."""
    with S.lock:
        order = find(S.orders, oid)
        meta = S.order_meta[oid]
        if order["status"] == "COMPLETED":
            raise PPError(422, "ORDER_ALREADY_CAPTURED",
                          "Order already captured.If 'intent=CAPTURE' only "
                          "one capture per order is allowed.")
        if order["status"] != "APPROVED":
            raise PPError(422, "ORDER_NOT_APPROVED",
                          "Payer has not yet approved the Order for "
                          "payment. Please redirect the payer to the "
                          "'rel':'approve' url returned as part of the "
                          "HATEOAS links within the Create Order call or "
                          "provide a valid payment_source in the request.")
        outcome = meta["outcome"] or S.default_outcome
        if outcome == "declined":
            raise PPError(422, "INSTRUMENT_DECLINED",
                          "The instrument presented was either declined "
                          "by the processor or bank, or it can't be used "
                          "for this payment.")
        now = fakelib.now_iso()
        pu = order["purchase_units"][0]
        amount = pu["amount"]
        fee = fee_for(amount["value"], amount["currency_code"])
        cap_id = pp_id(17)
        cap = {
            "id": cap_id,
            "status": "PENDING" if outcome == "pending" else "COMPLETED",
            "amount": copy.deepcopy(amount), "final_capture": True,
            "disbursement_mode": "INSTANT",
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED",
                                       "UNAUTHORIZED_TRANSACTION"]},
            "seller_receivable_breakdown": {
                "gross_amount": copy.deepcopy(amount),
                "paypal_fee": money(fee, amount["currency_code"]),
                "net_amount": money(decimal.Decimal(amount["value"]) - fee,
                                    amount["currency_code"])},
            "links": capture_links(cap_id, oid),
            "create_time": now, "update_time": now,
        }
        if outcome == "pending":
            cap["status_details"] = {"reason": "PENDING_REVIEW"}
        for name in ("custom_id", "invoice_id"):
            if name in pu:
                cap[name] = pu[name]
        S.captures[cap_id] = {"capture": cap, "order_id": oid,
                              "refunded": decimal.Decimal(0)}
        pu["payments"] = {"captures": [cap]}
        pu["shipping"] = {"name": {"full_name": "Test Buyer"}}
        order["status"] = "COMPLETED"
        order["update_time"] = now
        view = order_view(oid)
        resource = capture_resource(cap_id)
    if outcome == "pending":
        ev = create_event("PAYMENT.CAPTURE.PENDING", "capture", resource,
                          "Payment pending for %s" %
                          short_amount(cap["amount"]))
    else:
        ev = create_event("PAYMENT.CAPTURE.COMPLETED", "capture", resource,
                          "Payment completed for %s" %
                          short_amount(cap["amount"]))
    return view, ev


def capture_resource(cap_id):
    """A capture as the webhook and GET /v2/payments/captures show it."""
    ent = find(S.captures, cap_id)
    res = copy.deepcopy(ent["capture"])
    res["supplementary_data"] = {"related_ids": {"order_id":
                                                 ent["order_id"]}}
    return res


def settle_capture(cap_id, result):
    """A PENDING capture clears (COMPLETED) or is denied (DECLINED)."""
    with S.lock:
        ent = find(S.captures, cap_id)
        cap = ent["capture"]
        if cap["status"] != "PENDING":
            raise PPError(422, "CAPTURE_NOT_PENDING",
                          "Capture %s is %s, not PENDING." %
                          (cap_id, cap["status"]))
        cap["status"] = "COMPLETED" if result == "complete" else "DECLINED"
        cap.pop("status_details", None)
        cap["update_time"] = fakelib.now_iso()
        res = capture_resource(cap_id)
    if result == "complete":
        return create_event("PAYMENT.CAPTURE.COMPLETED", "capture", res,
                            "Payment completed for %s" %
                            short_amount(cap["amount"]))
    return create_event("PAYMENT.CAPTURE.DENIED", "capture", res,
                        "Payment denied for %s" %
                        short_amount(cap["amount"]))


def refund_capture(cap_id, amount=None, extra=None):
    """Returns (refund, (event, thread)).  Raises PPError."""
    with S.lock:
        ent = find(S.captures, cap_id)
        cap = ent["capture"]
        cur = cap["amount"]["currency_code"]
        if cap["status"] == "REFUNDED":
            raise PPError(422, "CAPTURE_FULLY_REFUNDED",
                          "The capture has already been fully refunded.")
        if cap["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise PPError(422, "CANNOT_BE_REFUNDED",
                          "Capture %s is %s and cannot be refunded." %
                          (cap_id, cap["status"]))
        left = decimal.Decimal(cap["amount"]["value"]) - ent["refunded"]
        if amount is None:
            value = left
        else:
            value = decimal.Decimal(validate_amount(
                amount, "/amount")["value"])
            if amount.get("currency_code") != cur:
                raise PPError(422, "REFUND_CURRENCY_MISMATCH",
                              "Refund must be in the same currency as the "
                              "capture.", field="/amount/currency_code")
        if value > left:
            raise PPError(422, "REFUND_AMOUNT_EXCEEDED",
                          "The refund amount must be less than or equal to "
                          "the capture amount that has not yet been "
                          "refunded.")
        ent["refunded"] += value
        cap["status"] = "REFUNDED" if ent["refunded"] == decimal.Decimal(
            cap["amount"]["value"]) else "PARTIALLY_REFUNDED"
        cap["update_time"] = fakelib.now_iso()
        rid = pp_id(17)
        now = fakelib.now_iso()
        fee = fee_for(value, cur) if cap["status"] == "REFUNDED" else \
            decimal.Decimal(0)
        refund = {
            "id": rid, "amount": money(value, cur),
            "seller_payable_breakdown": {
                "gross_amount": money(value, cur),
                "paypal_fee": money(fee, cur),
                "net_amount": money(value - fee, cur),
                "total_refunded_amount": money(ent["refunded"], cur)},
            "status": "COMPLETED", "create_time": now, "update_time": now,
            "links": [
                {"href": "%s/v2/payments/refunds/%s" % (S.public, rid),
                 "rel": "self", "method": "GET"},
                {"href": "%s/v2/payments/captures/%s" % (S.public, cap_id),
                 "rel": "up", "method": "GET"}],
        }
        for name in ("custom_id", "invoice_id"):
            if name in cap:
                refund[name] = cap[name]
        if extra and extra.get("note_to_payer"):
            refund["note_to_payer"] = str(extra["note_to_payer"])[:255]
        S.refunds[rid] = refund
        snap = copy.deepcopy(refund)
    ev = create_event("PAYMENT.CAPTURE.REFUNDED", "refund", snap,
                      "A %s capture payment was refunded" %
                      short_amount(snap["amount"]))
    return snap, ev


# ---- HTTP ------------------------------------------------------------------

class PayPalHandler(fakelib.WebhookControlMixin, fakelib.Handler):
    server_version = "nginx"
    ROUTES = [
        ("POST", r"/v1/oauth2/token", "api_token"),
        ("POST", r"/v2/checkout/orders", "api_create_order"),
        ("GET", r"/v2/checkout/orders/(?P<oid>[^/]+)", "api_get_order"),
        ("POST", r"/v2/checkout/orders/(?P<oid>[^/]+)/capture",
         "api_capture"),
        ("GET", r"/v2/payments/captures/(?P<cid>[^/]+)", "api_get_capture"),
        ("POST", r"/v2/payments/captures/(?P<cid>[^/]+)/refund",
         "api_refund"),
        ("GET", r"/v2/payments/refunds/(?P<rid>[^/]+)", "api_get_refund"),
        ("POST", r"/v1/notifications/verify-webhook-signature",
         "api_verify"),
        ("GET", r"/v1/notifications/webhooks-events/(?P<eid>[^/]+)",
         "api_get_event"),
        ("GET", r"/v1/notifications/certs/(?P<name>[^/]+)", "cert"),
        ("*", r"/v[12]/.*", "api_unknown"),
        ("GET", r"/checkoutnow", "page"),
        ("POST", r"/checkoutnow/approve", "page_approve"),
        ("POST", r"/checkoutnow/cancel", "page_cancel"),
    ] + fakelib.WebhookControlMixin.WEBHOOK_ROUTES + [
        ("GET", r"/__control/orders/(?P<oid>[^/]+)", "ctl_order"),
        ("POST", r"/__control/orders/(?P<oid>[^/]+)/approve",
         "ctl_approve"),
        ("POST", r"/__control/orders/(?P<oid>[^/]+)/capture-outcome",
         "ctl_outcome"),
        ("POST", r"/__control/orders/(?P<oid>[^/]+)/refund",
         "ctl_order_refund"),
        ("POST", r"/__control/capture-outcome", "ctl_default_outcome"),
        ("POST", r"/__control/captures/(?P<cid>[^/]+)/complete",
         "ctl_capture_complete"),
        ("POST", r"/__control/captures/(?P<cid>[^/]+)/deny",
         "ctl_capture_deny"),
        ("POST", r"/__control/captures/(?P<cid>[^/]+)/refund",
         "ctl_capture_refund"),
        ("POST", r"/__control/tokens/expire", "ctl_expire_tokens"),
    ]

    # ---- API plumbing ------------------------------------------------

    def body_error(self, e):
        self.close_connection = True
        self.dbg = getattr(self, "dbg", None) or debug_id()
        if e.status == 413:
            self.send_json(413, {"name": "REQUEST_ENTITY_TOO_LARGE",
                                 "message": e.message,
                                 "debug_id": self.dbg})
            return
        self.pp_error(malformed_json())

    def pp_headers(self, extra=None):
        return [("Paypal-Debug-Id", self.dbg)] + list(extra or [])

    def pp_error(self, err):
        if getattr(self, "api_record", None) is not None:
            self.api_record["status"] = err.status
        self.send_json(err.status, err.body(self.dbg), self.pp_headers())

    def respond(self, status, obj, extra=None):
        self.api_record["status"] = status
        self.send_json(status, obj, self.pp_headers(extra))

    def api_begin(self, bearer=True):
        """Record, authenticate, apply fault modes.  True: go on."""
        self.dbg = debug_id()
        self.api_record = self.request_record(status=None,
                                              debugId=self.dbg)
        S.requests.add(self.api_record)
        step = S.modes.take(self.path_only)
        mode = step["mode"]
        self.api_record["mode"] = mode
        if mode == "drop":
            self.drop()
            return False
        if mode == "timeout":
            self.hang(step.get("cap", fakelib.DEFAULT_HANG_CAP))
            return False
        if mode in ("500", "503", "429"):
            self.pp_error(PPError(int(mode)))
            return False
        if bearer and not self.check_bearer():
            return False
        return True

    def check_bearer(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self.pp_error(PPError(401))
            return False
        token = auth[7:].strip()
        with S.lock:
            exp = S.tokens.get(token)
        if exp is None:
            self.oauth_error(401, "invalid_token",
                             "Token signature verification failed")
            return False
        if exp <= time.time():
            self.oauth_error(401, "invalid_token",
                             "Access Token not found in cache")
            return False
        return True

    def oauth_error(self, status, error, description):
        self.api_record["status"] = status
        self.send_json(status, {"error": error,
                                "error_description": description},
                       self.pp_headers())

    def json_or_error(self, allow_empty=False):
        """The body as a JSON object (an empty body is {} if allowed);
        anything else is MALFORMED_REQUEST_JSON."""
        raw = self.body()
        if not raw.strip():
            if allow_empty:
                return {}
            raise malformed_json()
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise malformed_json()
        if not isinstance(obj, dict):
            raise malformed_json()
        return obj

    # ---- idempotency (PayPal-Request-Id) -------------------------------

    def replay(self, kind):
        """If PayPal-Request-Id was seen, answer with the latest state of
        what that request made and return True."""
        rid = self.headers.get("PayPal-Request-Id")
        self.paypal_request_id = rid
        if not rid:
            return False
        with S.lock:
            ent = S.request_ids.get(rid)
        if ent is None:
            return False
        if ent["path"] != self.path_only:
            self.pp_error(PPError(
                422, "PAYPAL_REQUEST_ID_PREVIOUSLY_USED",
                "The PayPal-Request-Id has already been used for another "
                "request."))
            return True
        self.api_record["replayed"] = True
        if kind == "create":
            self.respond(ent["status"], order_view(
                ent["ref"], minimal=not self.wants_full()))
        elif kind == "capture":
            self.respond(ent["status"], order_view(ent["ref"]))
        else:
            with S.lock:
                ref = copy.deepcopy(S.refunds[ent["ref"]])
            self.respond(ent["status"], self.refund_view(ref))
        return True

    def remember(self, status, ref):
        rid = getattr(self, "paypal_request_id", None)
        if rid:
            with S.lock:
                S.request_ids[rid] = {"path": self.path_only,
                                      "status": status, "ref": ref}

    def wants_full(self):
        return "return=representation" in \
            self.headers.get("Prefer", "").replace(" ", "")

    # ---- API ---------------------------------------------------------

    def api_token(self):
        if not self.api_begin(bearer=False):
            return
        auth = self.headers.get("Authorization", "")
        cid = secret = None
        if auth.startswith("Basic "):
            try:
                cid, secret = base64.b64decode(auth[6:]).decode(
                    "utf-8").split(":", 1)
            except (ValueError, UnicodeDecodeError):
                pass
        if cid != S.client_id or secret != S.client_secret:
            self.oauth_error(401, "invalid_client",
                             "Client Authentication failed")
            return
        form = dict(self.form_body())
        grant = form.get("grant_type")
        if not grant:
            self.oauth_error(400, "unsupported_grant_type",
                             "Grant Type is NULL")
            return
        if grant != "client_credentials":
            self.oauth_error(400, "unsupported_grant_type",
                             "unsupported grant_type")
            return
        now = time.time()
        with S.lock:
            tok = S.current_token
            # PayPal hands out the same token until it expires.
            if tok is None or S.tokens.get(tok, 0) <= now:
                tok = "A21AA" + fakelib.rand_id(92, fakelib._ALNUM + "-_")
                S.tokens[tok] = now + S.token_ttl
                S.current_token = tok
            left = int(S.tokens[tok] - now)
        self.respond(200, {
            "scope": SCOPE, "access_token": tok, "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T", "expires_in": left,
            "nonce": fakelib.now_iso() + fakelib.rand_id(43)})

    def api_post(self, kind, allow_empty, act):
        """A POST that PayPal-Request-Id makes idempotent: act(body) makes
        the object and returns (its id, the answer); 201."""
        if not self.api_begin():
            return
        try:
            if self.replay(kind):
                return
            ref, answer = act(self.json_or_error(allow_empty))
        except PPError as e:
            self.pp_error(e)
            return
        self.remember(201, ref)
        self.respond(201, answer)

    def api_show(self, lookup):
        """A GET of one object: lookup() (under the lock) returns it or
        raises the PPError to answer."""
        if not self.api_begin():
            return
        try:
            with S.lock:
                out = lookup()
        except PPError as e:
            self.pp_error(e)
            return
        self.respond(200, out)

    def api_create_order(self):
        def act(body):
            oid = build_order(body)["id"]
            return oid, order_view(oid, minimal=not self.wants_full())
        self.api_post("create", False, act)

    def api_get_order(self, oid):
        self.api_show(lambda: order_view(oid))

    def api_capture(self, oid):
        self.api_post("capture", True,
                      lambda body: (oid, capture_order(oid)[0]))

    def api_get_capture(self, cid):
        self.api_show(lambda: capture_resource(cid))

    def refund_view(self, refund):
        if self.wants_full():
            return refund
        return {"id": refund["id"], "status": refund["status"],
                "links": refund["links"]}

    def api_refund(self, cid):
        def act(body):
            refund, _ = refund_capture(cid, body.get("amount"), body)
            return refund["id"], self.refund_view(refund)
        self.api_post("refund", True, act)

    def api_get_refund(self, rid):
        self.api_show(lambda: stored(S.refunds, rid))

    def api_verify(self):
        if not self.api_begin():
            return
        try:
            req = self.json_or_error()
            for f in ("auth_algo", "cert_url", "transmission_id",
                      "transmission_sig", "transmission_time",
                      "webhook_id", "webhook_event"):
                if req.get(f) in (None, ""):
                    raise missing_param("/" + f)
            for f in ("auth_algo", "cert_url", "transmission_id",
                      "transmission_sig", "transmission_time",
                      "webhook_id"):
                if not isinstance(req[f], str):
                    raise invalid_param("/" + f, req[f])
            if not isinstance(req["webhook_event"], dict):
                raise invalid_param("/webhook_event", "(not an object)",
                                    "INVALID_PARAMETER_SYNTAX",
                                    "webhook_event must be a JSON object.")
        except PPError as e:
            e.name = "VALIDATION_ERROR" if e.status == 400 else e.name
            e.message = "Invalid request - see details" \
                if e.status == 400 else e.message
            self.pp_error(e)
            return
        verdict = verify_signature(req)
        self.api_record["verdict"] = verdict
        self.respond(200, {"verification_status": verdict})

    def api_get_event(self, eid):
        self.api_show(lambda: stored(S.events, eid))

    def cert(self, name):
        if name != S.cert_name:
            self.send(404, "not found\n", "text/plain")
            return
        self.send(200, S.cert_pem, "application/x-x509-ca-cert")

    def api_unknown(self):
        self.dbg = debug_id()
        self.api_record = None
        self.pp_error(unknown_id("No resource at %s %s." %
                                 (self.command, self.path_only)))

    # ---- buyer approval page ------------------------------------------

    def page(self):
        oid = self.qparam("token", "")
        with S.lock:
            order = copy.deepcopy(S.orders.get(oid))
        if order is None:
            self.send(404, "<!doctype html><title>PayPal</title>"
                      "<p>This checkout link is not valid.</p>",
                      "text/html; charset=utf-8")
            return
        pu = order["purchase_units"][0]
        amount = "%s %s" % (pu["amount"]["value"],
                            pu["amount"]["currency_code"])
        esc = html.escape(oid, quote=True)
        if order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"):
            forms = (
                "<form method=\"post\" action=\"/checkoutnow/approve\">"
                "<input type=\"hidden\" name=\"token\" value=\"%s\">"
                "<button id=\"approve\" type=\"submit\">Approve</button>"
                "</form>"
                "<form method=\"post\" action=\"/checkoutnow/cancel\">"
                "<input type=\"hidden\" name=\"token\" value=\"%s\">"
                "<button id=\"cancel\" type=\"submit\">Cancel</button>"
                "</form>" % (esc, esc))
        else:
            forms = "<p id=\"status\">This order is %s.</p>" % \
                html.escape(order["status"])
        page = ("<!doctype html><html><head><meta charset=\"utf-8\">"
                "<title>PayPal Checkout (sandbox)</title></head><body>"
                "<h1>Pay with PayPal (sandbox)</h1>"
                "<p>%s</p><p>Total: <strong id=\"amount\">%s</strong></p>"
                "%s</body></html>" % (
                    html.escape(pu.get("description", "")), amount, forms))
        self.send(200, page, "text/html; charset=utf-8")

    def page_approve(self):
        oid = dict(self.form_body()).get("token", "")
        try:
            payer_id = approve_order(oid)
        except PPError as e:
            self.send(e.status, "<!doctype html><p>%s</p>" %
                      html.escape(e.details[0]["description"]),
                      "text/html; charset=utf-8")
            return
        url = S.order_meta[oid]["return_url"]
        if not url:
            self.send(200, "<!doctype html><p>Order approved.</p>",
                      "text/html; charset=utf-8")
            return
        self.redirect(303, add_query(url, token=oid, PayerID=payer_id))

    def page_cancel(self):
        oid = dict(self.form_body()).get("token", "")
        meta = S.order_meta.get(oid)
        if meta is None:
            self.send(404, "<!doctype html><p>Unknown order.</p>",
                      "text/html; charset=utf-8")
            return
        if not meta["cancel_url"]:
            self.send(200, "<!doctype html><p>Payment cancelled.</p>",
                      "text/html; charset=utf-8")
            return
        self.redirect(303, add_query(meta["cancel_url"], token=oid))

    # ---- control -------------------------------------------------------

    def ctl_pp_error(self, e):
        self.send_json(e.status, {"error": e.details[0]["issue"]
                                  if e.details else e.name,
                                  "paypal": e.body("control")})

    def ctl_order(self, oid):
        with S.lock:
            if oid not in S.orders:
                self.ctl_fail(404, "no such order %s" % oid)
                return
            out = {"order": order_view(oid),
                   "meta": copy.deepcopy(S.order_meta[oid])}
        self.send_json(200, out)

    def ctl_approve(self, oid):
        try:
            payer_id = approve_order(oid)
        except PPError as e:
            self.ctl_pp_error(e)
            return
        self.send_json(200, {"orderId": oid, "payerId": payer_id,
                             "status": "APPROVED"})

    def outcome_or_fail(self):
        outcome = self.control_json().get("outcome")
        if outcome not in ("completed", "pending", "declined"):
            self.ctl_fail(400, "outcome must be completed, pending or "
                          "declined")
            return None
        return outcome

    def ctl_outcome(self, oid):
        outcome = self.outcome_or_fail()
        if outcome is None:
            return
        with S.lock:
            if oid not in S.order_meta:
                self.ctl_fail(404, "no such order %s" % oid)
                return
            S.order_meta[oid]["outcome"] = outcome
        self.send_json(200, {"orderId": oid, "outcome": outcome})

    def ctl_default_outcome(self):
        outcome = self.outcome_or_fail()
        if outcome is None:
            return
        with S.lock:
            S.default_outcome = outcome
        self.send_json(200, {"outcome": outcome})

    def ctl_capture_complete(self, cid):
        self._settle(cid, "complete")

    def ctl_capture_deny(self, cid):
        self._settle(cid, "deny")

    def _settle(self, cid, result):
        body = self.control_json()
        try:
            evt = settle_capture(cid, result)
        except PPError as e:
            self.ctl_pp_error(e)
            return
        self.wait_for(evt[1], body)
        self.send_json(200, {"event": evt[0]})

    def ctl_capture_refund(self, cid):
        body = self.control_json()
        amount = body.get("amount")
        if amount is not None and not isinstance(amount, dict):
            with S.lock:
                cur = S.captures[cid]["capture"]["amount"]["currency_code"] \
                    if cid in S.captures else "USD"
            amount = {"value": str(amount), "currency_code": cur}
        try:
            refund, evt = refund_capture(cid, amount)
        except PPError as e:
            self.ctl_pp_error(e)
            return
        self.wait_for(evt[1], body)
        self.send_json(200, {"refund": refund, "event": evt[0]})

    def ctl_order_refund(self, oid):
        with S.lock:
            caps = [c for c, e in S.captures.items()
                    if e["order_id"] == oid]
        if not caps:
            self.ctl_fail(409, "order %s has no capture" % oid)
            return
        self.ctl_capture_refund(caps[0])

    def ctl_expire_tokens(self):
        with S.lock:
            for t in S.tokens:
                S.tokens[t] = 0
            S.current_token = None
        self.send_json(200, {"ok": True})


def add_query(url, **params):
    u = urllib.parse.urlsplit(url)
    q = u.query + ("&" if u.query else "") + urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, q,
                                    u.fragment))


def main():
    global S
    p = fakelib.base_parser("Fake PayPal REST API and webhooks")
    p.add_argument("--client-id", default="fake-paypal-client-id")
    p.add_argument("--client-secret", default="fake-paypal-client-secret")
    p.add_argument("--webhook-id", default="8PT597110X687430LKGECATA")
    fakelib.add_webhook_options(p)
    p.add_argument("--token-ttl", type=int, default=32400,
                   help="access-token lifetime in seconds")
    args = p.parse_args()
    S = Store(args)
    return fakelib.serve(PayPalHandler, args, S)


if __name__ == "__main__":
    raise SystemExit(main())
