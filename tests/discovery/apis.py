"""OpenAPI documents of APIs made up for testing the discovery engine.

`commerce()` is a larger API in the shape of real ones: dozens of
operations, resources nested three deep, ids of several kinds (integers,
UUIDs, hex, slugs, e-mail addresses, dates), collections with many query
parameters, JSON, form-encoded and multipart bodies, plain-text and
binary answers, maps keyed by dates, shared error bodies, and five
security schemes (bearer, basic, API key in a header, in the query, and
in a cookie).  Its words are ordinary English so that nothing in the
engine can be tuned to it.
"""


def _ref(name):
    return {"$ref": "#/components/schemas/" + name}


def _obj(props, required=()):
    return {"type": "object", "properties": props,
            "required": list(required)}


def _arr(items):
    return {"type": "array", "items": items}


S = {"type": "string"}
I = {"type": "integer"}
N = {"type": "number"}
B = {"type": "boolean"}
DT = {"type": "string", "format": "date-time"}
D = {"type": "string", "format": "date"}
UUID = {"type": "string", "format": "uuid"}
EMAIL = {"type": "string", "format": "email"}
URI = {"type": "string", "format": "uri"}


def _enum(*vals):
    return {"type": "string", "enum": list(vals)}


def _json(schema):
    return {"content": {"application/json": {"schema": schema}}}


def _resp(code, schema=None, desc="ok"):
    r = {"description": desc}
    if schema is not None:
        r.update(_json(schema))
    return code, r


def _errors(*codes):
    return [_resp(c, _ref("Problem"), "error") for c in codes]


def _p(name, where, schema, required=False):
    return {"name": name, "in": where, "schema": schema,
            "required": required or where == "path"}


def _page_params():
    return [_p("page", "query", {"type": "integer", "minimum": 1}),
            _p("per_page", "query", {"type": "integer", "minimum": 1,
                                     "maximum": 100}),
            _p("sort", "query", _enum("created", "updated", "name")),
            _p("order", "query", _enum("asc", "desc"))]


def _op(responses, params=(), body=None, security=None, tags=None):
    op = {"responses": dict(responses)}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = body
    if security is not None:
        op["security"] = security
    return op


def commerce():
    schemas = {
        "Problem": _obj({"type": URI, "title": S, "status": I,
                         "detail": S}, ["title", "status"]),
        "Address": _obj({"id": UUID, "line1": S, "line2": S, "city": S,
                         "postal_code": S, "country": _enum("US", "GB",
                                                            "DE", "FR"),
                         "default": B}, ["id", "line1", "city",
                                         "country"]),
        "Customer": _obj({"id": I, "email": EMAIL, "name": S,
                          "phone": S, "status": _enum("active", "blocked",
                                                      "pending"),
                          "created_at": DT, "tags": _arr(S),
                          "billing": _obj({"city": S, "country": S,
                                           "vat_id": S}, ["country"])},
                         ["id", "email", "status", "created_at"]),
        "LineItem": _obj({"sku": S, "quantity": I, "unit_price": N,
                          "discount": N}, ["sku", "quantity",
                                           "unit_price"]),
        "Order": _obj({"id": UUID, "customer_id": I,
                       "status": _enum("placed", "paid", "shipped",
                                       "cancelled"),
                       "currency": _enum("USD", "EUR", "GBP"),
                       "total": N, "items": _arr(_ref("LineItem")),
                       "placed_at": DT, "note": S},
                      ["id", "customer_id", "status", "currency", "total",
                       "items", "placed_at"]),
        "Shipment": _obj({"id": S, "carrier": _enum("ups", "dhl", "fedex"),
                          "tracking_url": URI, "shipped_on": D,
                          "events": _arr(_obj({"at": DT, "where": S,
                                               "what": S},
                                              ["at", "what"]))},
                         ["id", "carrier", "shipped_on"]),
        "Refund": _obj({"id": I, "amount": N, "reason": S,
                        "created_at": DT}, ["id", "amount"]),
        "Product": _obj({"sku": S, "title": S, "price": N, "stock": I,
                         "active": B, "categories": _arr(S),
                         "dimensions": _obj({"width": N, "height": N,
                                             "depth": N},
                                            ["width", "height"])},
                        ["sku", "title", "price", "stock"]),
        "Review": _obj({"id": I, "rating": I, "title": S, "body": S,
                        "author": S, "created_at": DT},
                       ["id", "rating", "author"]),
        "Image": _obj({"id": I, "url": URI, "width": I, "height": I},
                      ["id", "url"]),
        "Webhook": _obj({"id": S, "url": URI, "events": _arr(
            _enum("order.paid", "order.shipped", "refund.created")),
            "secret_hint": S, "active": B}, ["id", "url", "events"]),
        "Token": _obj({"access_token": S, "token_type": _enum("bearer"),
                       "expires_in": I, "scope": S},
                      ["access_token", "token_type", "expires_in"]),
        "Stats": _obj({"generated_at": DT, "orders_per_day": {
            "type": "object", "additionalProperties": I}},
            ["generated_at", "orders_per_day"]),
        "Preference": _obj({"newsletter": B, "language": _enum(
            "en", "de", "fr"), "timezone": S}, ["newsletter", "language"]),
        "Page": _obj({"total": I, "page": I, "per_page": I},
                     ["total", "page", "per_page"]),
    }
    def page_of(item):
        return _obj({"data": _arr(_ref(item)), "meta": _ref("Page")},
                    ["data", "meta"])

    cid = _p("customerId", "path", I)
    aid = _p("addressId", "path", UUID)
    oid = _p("orderId", "path", UUID)
    sku = _p("sku", "path", S)
    rid = _p("reviewId", "path", I)
    whid = _p("webhookId", "path", {"type": "string", "pattern":
                                    "^[0-9a-f]{24}$"})
    bearer = [{"bearerAuth": []}]
    admin = [{"basicAuth": []}]
    key = [{"apiKeyHeader": []}, {"apiKeyQuery": []}]
    session = [{"sessionCookie": []}]
    idem = _p("Idempotency-Key", "header", UUID, True)

    paths = {
        "/v1/customers": {
            "get": _op([_resp("200", page_of("Customer")),
                        *_errors("400", "401")],
                       _page_params() + [
                           _p("status", "query", _enum("active", "blocked",
                                                       "pending")),
                           _p("email", "query", EMAIL),
                           _p("created_after", "query", D),
                           _p("tag", "query", _arr(S)),
                           _p("include_deleted", "query", B)],
                       security=bearer),
            "post": _op([_resp("201", _ref("Customer")),
                         *_errors("400", "409", "422")],
                        [idem], _json(_obj({"email": EMAIL, "name": S,
                                            "phone": S, "tags": _arr(S)},
                                           ["email", "name"])),
                        security=bearer)},
        "/v1/customers/me": {
            "get": _op([_resp("200", _ref("Customer")),
                        *_errors("401")], security=bearer)},
        "/v1/customers/search": {
            "get": _op([_resp("200", page_of("Customer")),
                        *_errors("400")],
                       [_p("q", "query", S, True),
                        _p("limit", "query", {"type": "integer",
                                              "minimum": 1,
                                              "maximum": 50})],
                       security=bearer)},
        "/v1/customers/{customerId}": {
            "get": _op([_resp("200", _ref("Customer")),
                        *_errors("404")], [cid], security=bearer),
            "patch": _op([_resp("200", _ref("Customer")),
                          *_errors("404", "422")], [cid],
                         _json(_obj({"name": S, "phone": S,
                                     "status": _enum("active",
                                                     "blocked")})),
                         security=bearer),
            "delete": _op([("204", {"description": "gone"}),
                           *_errors("404")], [cid], security=bearer)},
        "/v1/customers/{customerId}/addresses": {
            "get": _op([_resp("200", _arr(_ref("Address"))),
                        *_errors("404")], [cid], security=bearer),
            "post": _op([_resp("201", _ref("Address")),
                         *_errors("422")], [cid],
                        _json(_obj({"line1": S, "line2": S, "city": S,
                                    "postal_code": S,
                                    "country": _enum("US", "GB", "DE",
                                                     "FR")},
                                   ["line1", "city", "country"])),
                        security=bearer)},
        "/v1/customers/{customerId}/addresses/{addressId}": {
            "get": _op([_resp("200", _ref("Address")), *_errors("404")],
                       [cid, aid], security=bearer),
            "put": _op([_resp("200", _ref("Address")), *_errors("422")],
                       [cid, aid],
                       _json(_obj({"line1": S, "city": S,
                                   "country": _enum("US", "GB")},
                                  ["line1", "city", "country"])),
                       security=bearer),
            "delete": _op([("204", {"description": "gone"})], [cid, aid],
                          security=bearer)},
        "/v1/customers/{customerId}/orders": {
            "get": _op([_resp("200", page_of("Order"))],
                       [cid] + _page_params(), security=bearer)},
        "/v1/orders": {
            "get": _op([_resp("200", page_of("Order")), *_errors("400")],
                       _page_params() + [
                           _p("status", "query", _enum(
                               "placed", "paid", "shipped", "cancelled")),
                           _p("placed_from", "query", DT),
                           _p("placed_to", "query", DT),
                           _p("min_total", "query", N),
                           _p("currency", "query", _enum("USD", "EUR",
                                                         "GBP")),
                           _p("customer_id", "query", I)],
                       security=key),
            "post": _op([_resp("201", _ref("Order")),
                         *_errors("400", "422")], [idem],
                        _json(_obj({"customer_id": I,
                                    "currency": _enum("USD", "EUR"),
                                    "items": _arr(_obj(
                                        {"sku": S, "quantity": I},
                                        ["sku", "quantity"])),
                                    "note": S},
                                   ["customer_id", "items"])),
                        security=key)},
        "/v1/orders/{orderId}": {
            "get": _op([_resp("200", _ref("Order")), *_errors("404")],
                       [oid, _p("expand", "query", _arr(_enum(
                           "items", "customer")))], security=key),
            "patch": _op([_resp("200", _ref("Order")),
                          *_errors("409")], [oid],
                         _json(_obj({"note": S})), security=key)},
        "/v1/orders/{orderId}/items": {
            "get": _op([_resp("200", _arr(_ref("LineItem")))], [oid],
                       security=key)},
        "/v1/orders/{orderId}/cancel": {
            "post": _op([_resp("200", _ref("Order")), *_errors("409")],
                        [oid], security=key)},
        "/v1/orders/{orderId}/refunds": {
            "get": _op([_resp("200", _arr(_ref("Refund")))], [oid],
                       security=key),
            "post": _op([_resp("201", _ref("Refund")), *_errors("422")],
                        [oid], {"content": {
                            "application/x-www-form-urlencoded": {
                                "schema": _obj({"amount": N, "reason": S,
                                                "notify": B},
                                               ["amount"])}}},
                        security=key)},
        "/v1/orders/{orderId}/shipments": {
            "get": _op([_resp("200", _arr(_ref("Shipment")))], [oid],
                       security=key)},
        "/v1/orders/{orderId}/invoice": {
            "get": _op([("200", {"description": "pdf", "content": {
                "application/pdf": {"schema": {"type": "string",
                                               "format": "binary"}}}}),
                *_errors("404")], [oid], security=key)},
        "/v1/products": {
            "get": _op([_resp("200", page_of("Product"))],
                       _page_params() + [
                           _p("category", "query", S),
                           _p("in_stock", "query", B),
                           _p("price_min", "query", N),
                           _p("price_max", "query", N),
                           _p("fields", "query", _arr(_enum(
                               "sku", "title", "price")))]),
            "post": _op([_resp("201", _ref("Product")),
                         *_errors("401", "422")], [],
                        _json(_obj({"sku": S, "title": S, "price": N,
                                    "stock": I, "categories": _arr(S)},
                                   ["sku", "title", "price"])),
                        security=admin)},
        "/v1/products/{sku}": {
            "get": _op([_resp("200", _ref("Product")), *_errors("404")],
                       [sku]),
            "put": _op([_resp("200", _ref("Product")), *_errors("401")],
                       [sku], _json(_obj({"title": S, "price": N,
                                          "stock": I, "active": B},
                                         ["title", "price"])),
                       security=admin),
            "delete": _op([("204", {"description": "gone"}),
                           *_errors("401")], [sku], security=admin)},
        "/v1/products/{sku}/reviews": {
            "get": _op([_resp("200", _arr(_ref("Review")))],
                       [sku, _p("min_rating", "query",
                                {"type": "integer", "minimum": 1,
                                 "maximum": 5})]),
            "post": _op([_resp("201", _ref("Review")), *_errors("422")],
                        [sku], _json(_obj({"rating": I, "title": S,
                                           "body": S}, ["rating"])),
                        security=session)},
        "/v1/products/{sku}/reviews/{reviewId}": {
            "get": _op([_resp("200", _ref("Review")), *_errors("404")],
                       [sku, rid]),
            "delete": _op([("204", {"description": "gone"})], [sku, rid],
                          security=session)},
        "/v1/products/{sku}/images": {
            "get": _op([_resp("200", _arr(_ref("Image")))], [sku]),
            "post": _op([_resp("201", _ref("Image")), *_errors("415")],
                        [sku], {"content": {"multipart/form-data": {
                            "schema": _obj({"file": {
                                "type": "string", "format": "binary"},
                                "alt": S, "position": I},
                                ["file"])}}},
                        security=admin)},
        "/v1/categories/{categorySlug}/products": {
            "get": _op([_resp("200", page_of("Product"))],
                       [_p("categorySlug", "path", S)] +
                       _page_params())},
        "/v1/auth/token": {
            "post": _op([_resp("200", _ref("Token")),
                         *_errors("400", "401")], [],
                        {"content": {"application/x-www-form-urlencoded": {
                            "schema": _obj({"grant_type": _enum(
                                "client_credentials", "refresh_token"),
                                "client_id": S, "client_secret": S,
                                "scope": S},
                                ["grant_type", "client_id"])}}})},
        "/v1/webhooks": {
            "get": _op([_resp("200", _arr(_ref("Webhook")))],
                       security=admin),
            "post": _op([_resp("201", _ref("Webhook")), *_errors("422")],
                        [], _json(_obj({"url": URI, "events": _arr(_enum(
                            "order.paid", "order.shipped",
                            "refund.created"))}, ["url", "events"])),
                        security=admin)},
        "/v1/webhooks/{webhookId}": {
            "get": _op([_resp("200", _ref("Webhook")), *_errors("404")],
                       [whid], security=admin),
            "delete": _op([("204", {"description": "gone"})], [whid],
                          security=admin)},
        "/v1/reports/daily/{reportDate}": {
            "get": _op([_resp("200", _obj({"date": D, "orders": I,
                                           "revenue": N,
                                           "top_products": _arr(S)},
                                          ["date", "orders", "revenue"])),
                        *_errors("404")],
                       [_p("reportDate", "path", D),
                        _p("currency", "query", _enum("USD", "EUR"))],
                       security=admin)},
        "/v1/stats": {
            "get": _op([_resp("200", _ref("Stats"))], security=admin)},
        "/v1/users/{userEmail}/preferences": {
            "get": _op([_resp("200", _ref("Preference")),
                        *_errors("404")],
                       [_p("userEmail", "path", EMAIL)], security=session),
            "put": _op([_resp("200", _ref("Preference"))],
                       [_p("userEmail", "path", EMAIL)],
                       _json(_obj({"newsletter": B, "language": _enum(
                           "en", "de", "fr"), "timezone": S},
                           ["newsletter"])), security=session)},
        "/health": {
            "get": _op([("200", {"description": "up", "content": {
                "text/plain": {"schema": S}}})])},
    }
    # Prism answers every declared status; 'default' is not used.
    return {
        "openapi": "3.0.3",
        "info": {"title": "Commerce", "version": "1.0.0"},
        "x-json-schema-faker": {"fillProperties": False},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "basicAuth": {"type": "http", "scheme": "basic"},
                "apiKeyHeader": {"type": "apiKey", "in": "header",
                                 "name": "X-Api-Key"},
                "apiKeyQuery": {"type": "apiKey", "in": "query",
                                "name": "api_key"},
                "sessionCookie": {"type": "apiKey", "in": "cookie",
                                  "name": "session_id"},
            },
        },
    }


def forge():
    """A code-hosting API in another style: camelCase fields, two
    variables in a row (/repos/{owner}/{repo}), commit hashes, file names
    with extensions, search endpoints that answer alike but are fixed
    words, XML and plain-text answers, and JWT bearer plus basic auth."""
    schemas = {
        "Problem": _obj({"message": S, "documentationUrl": URI},
                        ["message"]),
        "Owner": _obj({"login": S, "id": I, "avatarUrl": URI,
                       "type": _enum("User", "Organization")},
                      ["login", "id", "type"]),
        "Repo": _obj({"id": I, "name": S, "fullName": S,
                      "owner": _ref("Owner"), "private": B,
                      "defaultBranch": S, "stargazers": I,
                      "createdAt": DT, "topics": _arr(S)},
                     ["id", "name", "fullName", "owner", "private"]),
        "Issue": _obj({"number": I, "title": S, "state": _enum("open",
                                                               "closed"),
                       "author": _ref("Owner"), "labels": _arr(_obj(
                           {"name": S, "color": S}, ["name"])),
                       "openedAt": DT, "closedAt": DT},
                      ["number", "title", "state", "author"]),
        "Commit": _obj({"sha": {"type": "string",
                                "pattern": "^[0-9a-f]{40}$"},
                        "message": S, "authoredAt": DT,
                        "stats": _obj({"additions": I, "deletions": I},
                                      ["additions", "deletions"])},
                       ["sha", "message"]),
        "Artifact": _obj({"fileName": S, "sizeBytes": I,
                          "checksum": S, "expiresOn": D},
                         ["fileName", "sizeBytes"]),
    }
    owner = _p("owner", "path", S)
    repo = _p("repo", "path", S)
    num = _p("issueNumber", "path", I)
    sha = _p("sha", "path", {"type": "string", "pattern": "^[0-9a-f]{40}$"})
    jwt = [{"jwt": []}]
    basic = [{"basic": []}]

    def search(item):
        return _op([_resp("200", _obj({"totalCount": I, "incomplete": B,
                                       "items": _arr(_ref(item))},
                                      ["totalCount", "items"])),
                    *_errors("422")],
                   [_p("q", "query", S, True),
                    _p("perPage", "query", {"type": "integer", "minimum": 1,
                                            "maximum": 100})])
    paths = {
        "/v2/repos/{owner}/{repo}": {
            "get": _op([_resp("200", _ref("Repo")), *_errors("404")],
                       [owner, repo], security=jwt),
            "patch": _op([_resp("200", _ref("Repo")), *_errors("403")],
                         [owner, repo], _json(_obj({"defaultBranch": S,
                                                    "private": B})),
                         security=jwt),
            "delete": _op([("204", {"description": "gone"}),
                           *_errors("403")], [owner, repo],
                          security=jwt)},
        "/v2/repos/{owner}/{repo}/issues": {
            "get": _op([_resp("200", _arr(_ref("Issue")))],
                       [owner, repo,
                        _p("state", "query", _enum("open", "closed",
                                                   "all")),
                        _p("labels", "query", _arr(_enum(
                            "bug", "docs", "feature"))),
                        _p("since", "query", DT)], security=jwt),
            "post": _op([_resp("201", _ref("Issue")), *_errors("410")],
                        [owner, repo], _json(_obj(
                            {"title": S, "body": S, "labels": _arr(S)},
                            ["title"])), security=jwt)},
        "/v2/repos/{owner}/{repo}/issues/{issueNumber}": {
            "get": _op([_resp("200", _ref("Issue")), *_errors("404")],
                       [owner, repo, num], security=jwt),
            "patch": _op([_resp("200", _ref("Issue"))],
                         [owner, repo, num], _json(_obj(
                             {"state": _enum("open", "closed")})),
                         security=jwt)},
        "/v2/repos/{owner}/{repo}/commits/{sha}": {
            "get": _op([_resp("200", _ref("Commit")), *_errors("404")],
                       [owner, repo, sha], security=jwt)},
        "/v2/repos/{owner}/{repo}/commits/{sha}/artifacts": {
            "get": _op([_resp("200", _arr(_ref("Artifact")))],
                       [owner, repo, sha], security=jwt)},
        "/v2/repos/{owner}/{repo}/readme": {
            "get": _op([("200", {"description": "text", "content": {
                "text/markdown": {"schema": S}}}), *_errors("404")],
                [owner, repo], security=jwt)},
        "/v2/users/{owner}": {
            "get": _op([_resp("200", _ref("Owner")), *_errors("404")],
                       [owner])},
        "/v2/users/{owner}/repos": {
            "get": _op([_resp("200", _arr(_ref("Repo")))],
                       [owner, _p("sort", "query", _enum(
                           "created", "pushed", "name")),
                        _p("page", "query", I)])},
        "/v2/search/repositories": {"get": search("Repo")},
        "/v2/search/issues": {"get": search("Issue")},
        "/v2/search/commits": {"get": search("Commit")},
        "/v2/admin/reindex": {
            "post": _op([("202", {"description": "queued"}),
                         *_errors("401")], [], security=basic)},
        "/v2/admin/feeds.xml": {
            "get": _op([("200", {"description": "feed", "content": {
                "application/xml": {"schema": S}}})], security=basic)},
        "/v2/rate_limit": {
            "get": _op([_resp("200", _obj({"limit": I, "remaining": I,
                                           "resetAt": DT},
                                          ["limit", "remaining"]))])},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "Forge", "version": "2.0.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "jwt": {"type": "http", "scheme": "bearer",
                        "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }
