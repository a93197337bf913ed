#!/usr/bin/python3
"""A small JSON API for the proxy and discovery tests to send traffic to.

It has realistic resources (users with orders, products keyed by UUID,
search with query parameters, a form-encoded login, a nested report, a
map-like inventory, page-numbered lists) and helpers for the proxy's edge
cases (/echo, /status/{code}, /delay/{ms}, /bytes/{n}, /large/{n},
/redirect, /set-cookie, /headers/many, /chunked, /close).  JSON responses
are gzip-compressed when the client asks for it.  HTTP/1.1 keep-alive is
on; /__control/stats counts requests and TCP connections so tests can
see whether the proxy reuses connections.

All data is generated from fixed seeds, so every run serves the same
documents; POST/PUT/PATCH/DELETE change the in-memory copy until
/__control/reset.
"""

import base64
import copy
import datetime
import gzip
import json
import random
import re
import threading
import uuid

import fakelib

MAX_DELAY_MS = 120000
MAX_BYTES = fakelib.MAX_BODY
STATUS_REASONS = {
    418: "I'm a teapot", 422: "Unprocessable Entity",
    429: "Too Many Requests", 451: "Unavailable For Legal Reasons",
    599: "Network Connect Timeout Error",
}
PRODUCT_NS = uuid.UUID("6f1c2a52-8e0b-4c1e-9a55-3d7c0b9b8f11")
LOGIN_USER, LOGIN_PASSWORD = "alice", "wonderland"


# ---- seeded data ---------------------------------------------------------

FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Uma", "Victor", "Walter", "Xena", "Yusuf",
         "Zoe", "Quentin", "Kim"]
LAST = ["Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Lopez",
        "Wilson", "Moore", "Clark"]
CITIES = [("Amsterdam", "NL"), ("Berlin", "DE"), ("Lisbon", "PT"),
          ("Toronto", "CA"), ("Austin", "US"), ("Osaka", "JP")]
CATEGORIES = ["books", "garden", "kitchen", "toys"]
ORDER_STATES = ["pending", "paid", "shipped", "delivered", "cancelled"]
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_data():
    rnd = random.Random(20240101)
    users, orders, products = {}, {}, {}
    for i in range(1, 26):
        first = FIRST[i - 1]
        last = LAST[rnd.randrange(len(LAST))]
        city, country = CITIES[rnd.randrange(len(CITIES))]
        created = EPOCH + datetime.timedelta(days=rnd.randrange(300),
                                             seconds=rnd.randrange(86400))
        users[i] = {
            "id": i,
            "name": "%s %s" % (first, last),
            "username": first.lower(),
            "email": "%s.%s@example.com" % (first.lower(), last.lower()),
            "role": ["admin", "member", "member", "viewer"][i % 4],
            "active": i % 7 != 0,
            "score": None if i % 5 == 0 else round(rnd.uniform(0, 100), 2),
            "createdAt": iso(created),
            "address": {"street": "%d Main Street" % rnd.randrange(1, 200),
                        "city": city, "postalCode": "%05d" %
                        rnd.randrange(100000), "country": country},
            "tags": sorted(rnd.sample(["beta", "vip", "newsletter",
                                       "staff", "trial"], rnd.randrange(3))),
        }
    for n in range(12):
        pid = str(uuid.uuid5(PRODUCT_NS, "product-%d" % n))
        products[pid] = {
            "id": pid,
            "sku": "SKU-%04d" % (1000 + n),
            "name": "Product %s" % chr(ord("A") + n),
            "category": CATEGORIES[n % len(CATEGORIES)],
            "price": round(rnd.uniform(2, 200), 2),
            "currency": "EUR",
            "inStock": n % 3 != 0,
            "dimensions": {"width": rnd.randrange(1, 50),
                           "height": rnd.randrange(1, 50),
                           "depth": rnd.randrange(1, 50), "unit": "cm"},
            "attributes": {"color": rnd.choice(["red", "green", "blue"]),
                           "material": rnd.choice(["wood", "steel",
                                                   "cotton"])},
        }
    pids = sorted(products)
    oid = 1000
    for uid in users:
        for _ in range(rnd.randrange(0, 4)):
            oid += 1
            items = []
            for _ in range(rnd.randrange(1, 4)):
                p = products[rnd.choice(pids)]
                items.append({"productId": p["id"], "sku": p["sku"],
                              "quantity": rnd.randrange(1, 5),
                              "unitPrice": p["price"]})
            created = EPOCH + datetime.timedelta(days=rnd.randrange(330))
            state = ORDER_STATES[rnd.randrange(len(ORDER_STATES))]
            orders[oid] = {
                "id": oid, "userId": uid, "status": state,
                "items": items,
                "total": round(sum(i["quantity"] * i["unitPrice"]
                                   for i in items), 2),
                "currency": "EUR", "createdAt": iso(created),
                "shippedAt": iso(created + datetime.timedelta(days=2))
                if state in ("shipped", "delivered") else None,
            }
    return users, orders, products


class Data:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.users, self.orders, self.products = seed_data()
            self.next_user = max(self.users) + 1
            self.next_order = max(self.orders) + 1
            self.tokens = {"test-token": 1}
            self.requests = 0
            self.connections = 0
            self.by_method = {}
            self.by_path = {}


D = Data()


# ---- HTTP ----------------------------------------------------------------

class UpstreamHandler(fakelib.Handler):
    server_version = "upstream/1.0"
    ROUTES = [
        ("GET", r"/health", "health"),
        ("GET", r"/users", "list_users"),
        ("POST", r"/users", "create_user"),
        ("GET", r"/users/me", "me"),
        ("GET", r"/users/(?P<uid>[^/]+)", "get_user"),
        ("PUT", r"/users/(?P<uid>[^/]+)", "put_user"),
        ("PATCH", r"/users/(?P<uid>[^/]+)", "patch_user"),
        ("DELETE", r"/users/(?P<uid>[^/]+)", "delete_user"),
        ("GET", r"/users/(?P<uid>[^/]+)/orders", "list_orders"),
        ("POST", r"/users/(?P<uid>[^/]+)/orders", "create_order"),
        ("GET", r"/users/(?P<uid>[^/]+)/orders/(?P<oid>[^/]+)", "get_order"),
        ("POST", r"/orders/(?P<oid>[^/]+)/cancel", "cancel_order"),
        ("GET", r"/products", "list_products"),
        ("GET", r"/products/(?P<pid>[^/]+)", "get_product"),
        ("GET", r"/search", "search"),
        ("POST", r"/login", "login"),
        ("GET", r"/reports/(?P<day>[^/]+)", "report"),
        ("GET", r"/inventory", "inventory"),
        ("GET", r"/settings", "settings"),
        ("GET", r"/admin/stats", "admin_stats"),
        ("*", r"/echo(?:/.*)?", "echo"),
        ("*", r"/status/(?P<code>[^/]+)", "status"),
        ("*", r"/delay/(?P<ms>[^/]+)", "delay"),
        ("GET", r"/bytes/(?P<n>[^/]+)", "random_bytes"),
        ("GET", r"/large/(?P<n>[^/]+)", "large"),
        ("GET", r"/redirect", "redirect_elsewhere"),
        ("GET", r"/set-cookie", "set_cookie"),
        ("GET", r"/headers/many", "many_headers"),
        ("GET", r"/chunked", "chunked"),
        ("*", r"/close", "close"),
        ("GET", r"/__control/stats", "ctl_stats"),
        ("POST", r"/__control/reset", "ctl_reset"),
    ]

    # ---- plumbing ----------------------------------------------------

    def _dispatch(self):
        path = self.path.split("?", 1)[0]
        if not path.startswith("/__control/"):
            with D.lock:
                D.requests += 1
                D.by_method[self.command] = \
                    D.by_method.get(self.command, 0) + 1
                if path in D.by_path or len(D.by_path) < 1000:
                    D.by_path[path] = D.by_path.get(path, 0) + 1
        super()._dispatch()

    def do_OPTIONS(self):
        path = self.path.split("?", 1)[0]
        if path == "/close" or path.startswith("/echo"):
            self._dispatch()
            return
        with D.lock:
            D.requests += 1
            D.by_method["OPTIONS"] = D.by_method.get("OPTIONS", 0) + 1
        self.body()
        allow = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
        self.send(204, b"", None, [
            ("Allow", allow),
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Allow-Methods", allow),
            ("Access-Control-Allow-Headers",
             self.headers.get("Access-Control-Request-Headers",
                              "Content-Type, Authorization")),
            ("Access-Control-Max-Age", "600")])

    def wants_gzip(self):
        ae = self.headers.get("Accept-Encoding", "")
        return any(p.strip().split(";")[0] == "gzip" and
                   not p.strip().endswith("q=0") for p in ae.split(","))

    def maybe_gzip(self, body, hdrs):
        """(body, headers) compressed when the client accepts gzip."""
        if not self.wants_gzip():
            return body, hdrs
        return gzip.compress(body, mtime=0), hdrs + [
            ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]

    def send_json(self, status, obj, headers=None):
        body, hdrs = self.maybe_gzip(
            json.dumps(obj, separators=(",", ":")).encode("utf-8"),
            self._hdrs(headers))
        self.send(status, body, "application/json; charset=utf-8", hdrs)

    def error(self, status, code, message, headers=None):
        self.send_json(status, {"error": {"code": code, "message": message}},
                       headers)

    def not_found(self):
        self.body()
        self.error(404, "not_found", "No route for %s %s" %
                   (self.command, self.path_only))

    def method_not_allowed(self, allowed):
        self.body()
        self.error(405, "method_not_allowed", "Use one of: %s" %
                   ", ".join(sorted(set(allowed))),
                   [("Allow", ", ".join(sorted(set(allowed))))])

    def body_error(self, e):
        self.close_connection = True
        self.error(e.status, "bad_body", e.message)

    def int_param(self, name, default, lo, hi):
        raw = self.qparam(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"\d+", raw):
            raise ValueError("%s must be an integer" % name)
        v = int(raw)
        if v < lo or v > hi:
            raise ValueError("%s must be between %d and %d" % (name, lo, hi))
        return v

    def int_params(self, *specs):
        """The query integers (name, default, lo, hi) asks for, in a list;
        None once a 400 has been sent for a bad one."""
        try:
            return [self.int_param(*spec) for spec in specs]
        except ValueError as e:
            self.error(400, "invalid_parameter", str(e))
            return None

    def invalid(self, message, details):
        self.send_json(422, {"error": {"code": "validation_failed",
                                       "message": message,
                                       "details": details}})

    def user_input(self, partial):
        """The body as a valid user (all fields, or some if partial);
        None once an error has been sent."""
        obj = self.json_object()
        if obj is None:
            return None
        errors = self.validate_user(obj, partial)
        if errors:
            self.invalid("Invalid user", errors)
            return None
        return obj

    def int_id(self, raw, kind):
        """raw as an integer id; None once a 400 has been sent."""
        if not re.fullmatch(r"\d+", raw):
            self.error(400, "invalid_id", "%s ids are integers" % kind)
            return None
        return int(raw)

    def json_object(self):
        ctype = self.headers.get("Content-Type", "")
        if "json" not in ctype:
            self.error(415, "unsupported_media_type",
                       "Send application/json")
            return None
        try:
            obj = self.json_body()
        except fakelib.BodyError as e:
            self.error(400, "invalid_json", e.message)
            return None
        if not isinstance(obj, dict):
            self.error(400, "invalid_json", "Expected a JSON object")
            return None
        return obj

    def user_or_404(self, uid):
        if self.int_id(uid, "User") is None:
            return None
        with D.lock:
            u = copy.deepcopy(D.users.get(int(uid)))
        if u is None:
            self.error(404, "not_found", "No user %s" % uid)
        return u

    # ---- resources -----------------------------------------------------

    def health(self):
        self.send_json(200, {"status": "ok", "time": fakelib.now_iso()})

    def list_users(self):
        nums = self.int_params(("page", 1, 1, 100000),
                               ("per_page", 10, 1, 100))
        if nums is None:
            return
        page, per = nums
        role = self.qparam("role")
        with D.lock:
            users = [D.users[k] for k in sorted(D.users)]
            if role:
                users = [u for u in users if u["role"] == role]
            total = len(users)
            data = copy.deepcopy(users[(page - 1) * per:page * per])
        pages = max(1, (total + per - 1) // per)
        links = []
        if page < pages:
            links.append('</users?page=%d&per_page=%d>; rel="next"' %
                         (page + 1, per))
        if page > 1:
            links.append('</users?page=%d&per_page=%d>; rel="prev"' %
                         (page - 1, per))
        hdrs = [("X-Total-Count", str(total))]
        if links:
            hdrs.append(("Link", ", ".join(links)))
        self.send_json(200, {"data": data, "page": page, "per_page": per,
                             "total": total, "total_pages": pages}, hdrs)

    def validate_user(self, obj, partial):
        errors = []
        for f in ("name", "email"):
            if f not in obj:
                if not partial:
                    errors.append({"field": f, "message": "is required"})
            elif not isinstance(obj[f], str) or not obj[f].strip():
                errors.append({"field": f, "message": "must be a string"})
        if isinstance(obj.get("email"), str) and "@" not in obj["email"]:
            errors.append({"field": "email", "message": "is not an email"})
        if "role" in obj and obj["role"] not in ("admin", "member",
                                                 "viewer"):
            errors.append({"field": "role",
                           "message": "must be admin, member or viewer"})
        return errors

    def create_user(self):
        obj = self.user_input(False)
        if obj is None:
            return
        with D.lock:
            uid = D.next_user
            D.next_user += 1
            user = {"id": uid, "name": obj["name"],
                    "username": obj.get("username",
                                        obj["name"].split()[0].lower()),
                    "email": obj["email"], "role": obj.get("role", "member"),
                    "active": True, "score": None,
                    "createdAt": fakelib.now_iso(),
                    "address": obj.get("address"),
                    "tags": obj.get("tags", [])}
            D.users[uid] = user
            out = copy.deepcopy(user)
        self.send_json(201, out, [("Location", "/users/%d" % uid)])

    def me(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:].strip() if auth.startswith("Bearer ") else None
        with D.lock:
            uid = D.tokens.get(tok) if tok else None
            user = copy.deepcopy(D.users.get(uid)) if uid else None
        if user is None:
            self.error(401, "unauthorized", "A valid bearer token is needed",
                       [("WWW-Authenticate", 'Bearer realm="upstream"')])
            return
        self.send_json(200, user)

    def get_user(self, uid):
        u = self.user_or_404(uid)
        if u is not None:
            self.send_json(200, u)

    def _update_user(self, uid, partial):
        if self.user_or_404(uid) is None:
            return
        obj = self.user_input(partial)
        if obj is None:
            return
        with D.lock:
            user = D.users.get(int(uid))
            if user is None:
                self.error(404, "not_found", "No user %s" % uid)
                return
            for k in ("name", "email", "role", "username", "address",
                      "tags", "active"):
                if k in obj:
                    user[k] = obj[k]
                elif not partial and k in ("address", "tags"):
                    user[k] = None if k == "address" else []
            out = copy.deepcopy(user)
        self.send_json(200, out)

    def put_user(self, uid):
        self._update_user(uid, False)

    def patch_user(self, uid):
        self._update_user(uid, True)

    def delete_user(self, uid):
        if self.user_or_404(uid) is None:
            return
        with D.lock:
            D.users.pop(int(uid), None)
        self.send(204, b"", None)

    def list_orders(self, uid):
        if self.user_or_404(uid) is None:
            return
        status = self.qparam("status")
        if status is not None and status not in ORDER_STATES:
            self.error(400, "invalid_parameter", "status must be one of %s"
                       % ", ".join(ORDER_STATES))
            return
        with D.lock:
            orders = [copy.deepcopy(o) for k, o in sorted(D.orders.items())
                      if o["userId"] == int(uid) and
                      (status is None or o["status"] == status)]
        self.send_json(200, {"data": orders, "count": len(orders)})

    def get_order(self, uid, oid):
        if self.user_or_404(uid) is None or self.int_id(oid, "Order") is None:
            return
        with D.lock:
            o = copy.deepcopy(D.orders.get(int(oid)))
        if o is None or o["userId"] != int(uid):
            self.error(404, "not_found", "No order %s for user %s" %
                       (oid, uid))
            return
        self.send_json(200, o)

    def create_order(self, uid):
        if self.user_or_404(uid) is None:
            return
        obj = self.json_object()
        if obj is None:
            return
        items = obj.get("items")
        if not isinstance(items, list) or not items:
            self.invalid("Invalid order", [{
                "field": "items", "message": "must be a non-empty array"}])
            return
        out_items = []
        with D.lock:
            for i, it in enumerate(items):
                p = D.products.get(str(it.get("productId"))) \
                    if isinstance(it, dict) else None
                q = it.get("quantity", 1) if isinstance(it, dict) else None
                if p is None or not isinstance(q, int) or q < 1:
                    self.invalid("Invalid order", [{
                        "field": "items[%d]" % i,
                        "message": "needs a known productId and a "
                        "positive quantity"}])
                    return
                out_items.append({"productId": p["id"], "sku": p["sku"],
                                  "quantity": q, "unitPrice": p["price"]})
            oid = D.next_order
            D.next_order += 1
            order = {"id": oid, "userId": int(uid), "status": "pending",
                     "items": out_items,
                     "total": round(sum(i["quantity"] * i["unitPrice"]
                                        for i in out_items), 2),
                     "currency": "EUR", "createdAt": fakelib.now_iso(),
                     "shippedAt": None, "note": obj.get("note")}
            D.orders[oid] = order
            out = copy.deepcopy(order)
        self.send_json(201, out, [("Location", "/users/%s/orders/%d" %
                                   (uid, oid))])

    def cancel_order(self, oid):
        self.body()
        if self.int_id(oid, "Order") is None:
            return
        with D.lock:
            o = D.orders.get(int(oid))
            if o is None:
                self.error(404, "not_found", "No order %s" % oid)
                return
            if o["status"] in ("shipped", "delivered", "cancelled"):
                self.error(409, "conflict", "Order %s is %s" %
                           (oid, o["status"]))
                return
            o["status"] = "cancelled"
            out = copy.deepcopy(o)
        self.send_json(200, out)

    def list_products(self):
        nums = self.int_params(("limit", 20, 1, 100), ("offset", 0, 0, 100000))
        if nums is None:
            return
        limit, offset = nums
        cat = self.qparam("category")
        if cat is not None and cat not in CATEGORIES:
            self.error(400, "invalid_parameter", "category must be one of "
                       "%s" % ", ".join(CATEGORIES))
            return
        with D.lock:
            items = [D.products[k] for k in sorted(
                D.products, key=lambda k: D.products[k]["sku"])]
            if cat:
                items = [p for p in items if p["category"] == cat]
            if self.qparam("in_stock") == "true":
                items = [p for p in items if p["inStock"]]
            data = copy.deepcopy(items[offset:offset + limit])
        self.send_json(200, {"items": data, "limit": limit,
                             "offset": offset, "total": len(items)})

    def get_product(self, pid):
        try:
            uuid.UUID(pid)
        except ValueError:
            self.error(400, "invalid_id", "Product ids are UUIDs")
            return
        with D.lock:
            p = copy.deepcopy(D.products.get(pid.lower()))
        if p is None:
            self.error(404, "not_found", "No product %s" % pid)
            return
        self.send_json(200, p)

    def search(self):
        q = self.qparam("q")
        if not q:
            self.error(400, "invalid_parameter", "q is required")
            return
        kind = self.qparam("type", "all")
        if kind not in ("all", "users", "products"):
            self.error(400, "invalid_parameter",
                       "type must be all, users or products")
            return
        nums = self.int_params(("limit", 10, 1, 50))
        if nums is None:
            return
        limit, = nums
        ql = q.lower()
        results = []
        with D.lock:
            if kind in ("all", "users"):
                for u in D.users.values():
                    if ql in u["name"].lower() or ql in u["email"]:
                        results.append({"type": "user", "id": u["id"],
                                        "title": u["name"],
                                        "url": "/users/%d" % u["id"]})
            if kind in ("all", "products"):
                for p in D.products.values():
                    if ql in p["name"].lower() or ql in p["sku"].lower():
                        results.append({"type": "product", "id": p["id"],
                                        "title": p["name"],
                                        "url": "/products/%s" % p["id"]})
        results.sort(key=lambda r: (r["type"], str(r["id"])))
        self.send_json(200, {"query": q, "type": kind,
                             "count": len(results),
                             "results": results[:limit]})

    def login(self):
        ctype = self.headers.get("Content-Type", "")
        if "application/x-www-form-urlencoded" not in ctype:
            self.body()
            self.error(415, "unsupported_media_type",
                       "Send application/x-www-form-urlencoded")
            return
        form = dict(self.form_body())
        if not form.get("username") or not form.get("password"):
            self.error(400, "invalid_request",
                       "username and password are required")
            return
        if form["username"] != LOGIN_USER or \
                form["password"] != LOGIN_PASSWORD:
            self.error(401, "invalid_credentials",
                       "Wrong username or password")
            return
        tok = fakelib.rand_id(32)
        with D.lock:
            D.tokens[tok] = 1
        self.send_json(200, {"access_token": tok, "token_type": "Bearer",
                             "expires_in": 3600, "scope": "read write"},
                       [("Cache-Control", "no-store")])

    def report(self, day):
        try:
            d = datetime.date.fromisoformat(day)
        except ValueError:
            self.error(400, "invalid_date", "Use YYYY-MM-DD")
            return
        rnd = random.Random(d.toordinal())
        hours = [{"hour": h, "orders": rnd.randrange(0, 20),
                  "revenue": round(rnd.uniform(0, 900), 2)}
                 for h in range(24)]
        self.send_json(200, {
            "date": d.isoformat(),
            "generatedAt": iso(datetime.datetime.combine(
                d, datetime.time(23, 59, 59), datetime.timezone.utc)),
            "summary": {
                "orders": {"count": sum(h["orders"] for h in hours),
                           "revenue": round(sum(h["revenue"]
                                                for h in hours), 2),
                           "currency": "EUR"},
                "users": {"new": rnd.randrange(0, 30),
                          "active": rnd.randrange(30, 300)},
                "topCategory": {"name": rnd.choice(CATEGORIES),
                                "share": round(rnd.random(), 3)}},
            "byHour": hours})

    def inventory(self):
        rnd = random.Random(7)
        with D.lock:
            skus = sorted(p["sku"] for p in D.products.values())
        warehouses = {}
        for w in ("ams-1", "ber-2", "lis-1"):
            warehouses[w] = {s: rnd.randrange(0, 120) for s in skus
                             if rnd.random() < 0.7}
        self.send_json(200, {"updatedAt": "2024-06-01T08:00:00Z",
                             "warehouses": warehouses})

    def settings(self):
        self.send_json(200, {"flags": {"beta_ui": True, "dark_mode": False,
                                       "new_checkout": True,
                                       "legacy_export": False},
                             "limits": {"requestsPerMinute": 600,
                                        "maxUploadMb": 25}})

    def admin_stats(self):
        key = self.headers.get("X-Api-Key") or self.qparam("api_key")
        if key != "upstream-admin-key":
            self.error(403, "forbidden", "A valid API key is needed")
            return
        with D.lock:
            out = {"users": len(D.users), "orders": len(D.orders),
                   "products": len(D.products)}
        self.send_json(200, out)

    # ---- helpers for proxy tests ------------------------------------------

    def echo(self):
        raw = self.body()
        self.send_json(200, {
            "method": self.command, "path": self.path_only,
            "query": self.query_string, "args": self.query,
            "headers": self.header_dict(),
            "body": base64.b64encode(raw).decode("ascii"),
            "bodyLength": len(raw),
            "remote": self.client_address[0]})

    def status(self, code):
        self.body()
        if not re.fullmatch(r"\d{3}", code) or not 100 <= int(code) <= 599:
            self.error(400, "invalid_status", "Use a code from 100 to 599")
            return
        c = int(code)
        if c < 200:
            # Interim responses would confuse a plain client: refuse.
            self.error(400, "invalid_status", "Codes below 200 are not "
                       "supported")
            return
        reason = STATUS_REASONS.get(c)
        if c in (204, 304):
            self.send(c, b"", None, reason=reason)
            return
        hdrs = []
        if c in (301, 302, 303, 307, 308):
            hdrs.append(("Location", "/echo"))
        if c == 429 or c == 503:
            hdrs.append(("Retry-After", "1"))
        if c == 401:
            hdrs.append(("WWW-Authenticate", 'Bearer realm="upstream"'))
        body = json.dumps({"status": c}).encode("utf-8")
        self.send(c, body, "application/json", hdrs, reason=reason)

    def delay(self, ms):
        self.body()
        if not re.fullmatch(r"\d+", ms):
            self.error(400, "invalid_delay", "Delay is in milliseconds")
            return
        wait = min(int(ms), MAX_DELAY_MS)
        fakelib.STOPPING.wait(wait / 1000.0)
        self.send_json(200, {"delayedMs": wait})

    def random_bytes(self, n):
        if not re.fullmatch(r"\d+", n) or int(n) > MAX_BYTES:
            self.error(400, "invalid_size", "0 to %d bytes" % MAX_BYTES)
            return
        seed = self.qparam("seed", "42")
        data = random.Random(seed).randbytes(int(n))
        self.send(200, data, "application/octet-stream")

    def large(self, n):
        if not re.fullmatch(r"\d+", n) or not 1 <= int(n) <= MAX_BYTES:
            self.error(400, "invalid_size", "1 to %d bytes" % MAX_BYTES)
            return
        size = int(n)
        shell = b'{"data":""}'
        if size < len(shell):
            # Too short for an object: a number of exactly n digits.
            body = b"1" * size
        else:
            body = b'{"data":"' + b"x" * (size - len(shell)) + b'"}'
        body, hdrs = self.maybe_gzip(body, [])
        self.send(200, body, "application/json", hdrs)

    def redirect_elsewhere(self):
        to = self.qparam("to", "/echo?redirected=1")
        self.send(302, b'{"redirect":true}', "application/json",
                  [("Location", to)])

    def set_cookie(self):
        self.send(200, b'{"cookies":2}', "application/json", [
            ("Set-Cookie", "session=s3cr3t-session; Path=/; HttpOnly; "
             "SameSite=Lax"),
            ("Set-Cookie", "theme=dark; Path=/; Max-Age=3600")])

    def many_headers(self):
        nums = self.int_params(("n", 100, 1, 1000))
        if nums is None:
            return
        n, = nums
        hdrs = [("X-Custom-%03d" % i, "value-%d" % i) for i in range(n)]
        self.send(200, json.dumps({"headers": n}).encode("utf-8"),
                  "application/json", hdrs)

    def chunked(self):
        nums = self.int_params(("n", 5, 1, 1000))
        if nums is None:
            return
        n, = nums
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command != "HEAD":
            for i in range(n):
                line = json.dumps({"chunk": i}).encode("utf-8") + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def close(self):
        self.drop()

    # ---- control --------------------------------------------------------

    def ctl_stats(self):
        with D.lock:
            out = {"requests": D.requests, "connections": D.connections,
                   "byMethod": dict(D.by_method),
                   "byPath": dict(D.by_path)}
        self.send_json(200, out)

    def ctl_reset(self):
        D.reset()
        self.send_json(200, {"ok": True})


def count_connection(handler):
    with D.lock:
        D.connections += 1


def main():
    p = fakelib.base_parser("Test upstream JSON API")
    args = p.parse_args()

    def setup(server):
        server.on_connection = count_connection

    return fakelib.serve(UpstreamHandler, args, setup=setup)


if __name__ == "__main__":
    raise SystemExit(main())
