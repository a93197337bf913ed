"""Traffic for the discovery engine, made from an OpenAPI document.

Given a document, `Generator` invents varied but valid calls for every
operation (path parameters of the right kind, required and optional query
parameters, header parameters, credentials for the declared security,
request bodies in the declared media type) and asks for every documented
status.  `drive_prism` sends them to a Prism mock of the document and
records each exchange as one NDJSON call, redacting credentials the way
the capture does.  `to_har` turns recorded calls into a HAR log so other
tools can read the same traffic.

Nothing here knows a particular API: it follows whatever the document
declares, so the same code drives the Petstore and the larger APIs of
apis.py.
"""

import base64
import json
import random
import re
import string
import urllib.parse
import uuid

WORDS = ["alpha", "river", "stone", "maple", "cedar", "orbit", "pixel",
         "amber", "delta", "ember", "frost", "grove", "haven", "ivory",
         "jade", "koala", "lunar", "mango", "noble", "ocean", "prism",
         "quill", "raven", "solar", "tulip", "umber", "vivid", "willow",
         "xenon", "yarrow", "zephyr", "bright", "calm", "dusty", "eager"]
NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace",
         "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy",
         "rupert", "sybil", "trent", "victor", "walter", "yolanda"]

SENSITIVE = {"authorization", "cookie", "set-cookie", "proxy-authorization",
             "x-api-key", "api-key", "apikey", "api_key", "x-auth-token"}


def expand_class(spec):
    """The characters of a regular-expression class body like a-f0-9."""
    out, i = [], 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out += [chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1)]
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return out


def resolve(doc, node, depth=0):
    """Follow local $ref pointers (one level at a time, bounded)."""
    while isinstance(node, dict) and "$ref" in node and depth < 50:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return {}
        cur = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            cur = cur.get(part, {}) if isinstance(cur, dict) else {}
        node = cur
        depth += 1
    return node if isinstance(node, dict) else {}


def operations(doc):
    """(method, template, operation, merged parameters) for every op."""
    out = []
    for tmpl, item in sorted(doc.get("paths", {}).items()):
        item = resolve(doc, item)
        common = [resolve(doc, p) for p in item.get("parameters", [])]
        for method in ("get", "put", "post", "delete", "patch", "head",
                       "options"):
            if method not in item:
                continue
            op = resolve(doc, item[method])
            params = {(p.get("in"), p.get("name")): p for p in common}
            for p in op.get("parameters", []):
                p = resolve(doc, p)
                params[(p.get("in"), p.get("name"))] = p
            out.append((method.upper(), tmpl, op, list(params.values())))
    return out


class Generator:
    def __init__(self, doc, seed=1):
        self.doc = doc
        self.rng = random.Random(seed)
        # Requests leave out readOnly fields, answers writeOnly ones.
        self.writing = False

    # Values -------------------------------------------------------------

    def slug(self):
        r = self.rng
        k = r.random()
        if k < 0.4:
            return r.choice(NAMES) + (str(r.randint(1, 999))
                                      if r.random() < 0.6 else "")
        if k < 0.8:
            return "%s-%s-%d" % (r.choice(WORDS), r.choice(WORDS),
                                 r.randint(1, 99))
        return r.choice(NAMES) + "_" + r.choice(WORDS)

    def string_value(self, schema, name=""):
        r = self.rng
        fmt = schema.get("format", "")
        if fmt == "uuid":
            return str(uuid.UUID(int=r.getrandbits(128), version=4))
        if fmt == "date":
            return "20%02d-%02d-%02d" % (r.randint(10, 29), r.randint(1, 12),
                                         r.randint(1, 28))
        if fmt == "date-time":
            return "20%02d-%02d-%02dT%02d:%02d:%02dZ" % (
                r.randint(10, 29), r.randint(1, 12), r.randint(1, 28),
                r.randint(0, 23), r.randint(0, 59), r.randint(0, 59))
        if fmt == "email":
            return "%s.%s@example.%s" % (r.choice(NAMES), r.choice(WORDS),
                                         r.choice(["com", "org", "net"]))
        if fmt in ("uri", "url"):
            return "https://%s.example.com/%s" % (r.choice(WORDS),
                                                 r.choice(WORDS))
        if fmt == "ipv4":
            return ".".join(str(r.randint(1, 254)) for _ in range(4))
        if fmt == "password":
            return "".join(r.choice(string.ascii_letters) for _ in range(12))
        pat = schema.get("pattern", "")
        m = re.match(r"^\^\[([^\]]+)\]\{(\d+)\}\$$", pat)
        if m:
            chars = expand_class(m.group(1))
            return "".join(r.choice(chars) for _ in range(int(m.group(2))))
        n = name.lower()
        if "email" in n:
            return self.string_value({"format": "email"})
        if n in ("q", "query", "search"):
            return r.choice(WORDS)
        if "name" in n or "slug" in n or "sku" in n or "user" in n:
            return self.slug()
        words = [r.choice(WORDS) for _ in range(r.randint(1, 4))]
        return " ".join(words)

    def value(self, schema, name="", depth=0):
        r = self.rng
        schema = resolve(self.doc, schema)
        if "enum" in schema and schema["enum"]:
            return r.choice(schema["enum"])
        if "example" in schema and r.random() < 0.2:
            return schema["example"]
        for key in ("oneOf", "anyOf"):
            if key in schema and schema[key]:
                return self.value(r.choice(schema[key]), name, depth + 1)
        if "allOf" in schema:
            merged = {"type": "object", "properties": {}, "required": []}
            for part in schema["allOf"]:
                part = resolve(self.doc, part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            schema = merged
        t = schema.get("type")
        if isinstance(t, list):
            t = [x for x in t if x != "null"][0] if len(t) > 1 else t[0]
        if t is None:
            t = "object" if "properties" in schema else "string"
        if t == "integer":
            lo = int(schema.get("minimum", 1))
            hi = int(schema.get("maximum", max(lo + 1, 100000)))
            return r.randint(lo, hi)
        if t == "number":
            lo = float(schema.get("minimum", 0))
            hi = float(schema.get("maximum", 1000))
            return round(r.uniform(lo, hi), 2)
        if t == "boolean":
            return r.random() < 0.5
        if t == "array":
            if depth > 5:
                return []
            lo = int(schema.get("minItems", 1))
            n = r.randint(max(lo, 1), max(lo, 3))
            return [self.value(schema.get("items", {}), name, depth + 1)
                    for _ in range(n)]
        if t == "object":
            if depth > 5:
                return {}
            out = {}
            req = set(schema.get("required", []))
            for key, sub in schema.get("properties", {}).items():
                sub = resolve(self.doc, sub)
                if sub.get("readOnly" if self.writing else "writeOnly"):
                    continue
                if key in req or r.random() < 0.7:
                    out[key] = self.value(sub, key, depth + 1)
            addl = schema.get("additionalProperties")
            if isinstance(addl, dict) and not schema.get("properties"):
                for _ in range(r.randint(1, 3)):
                    out[r.choice(WORDS)] = self.value(addl, "", depth + 1)
            return out
        return self.string_value(schema, name)

    def path_value(self, param):
        schema = resolve(self.doc, param.get("schema", {}))
        t = schema.get("type", "string")
        if "enum" in schema:
            return str(self.rng.choice(schema["enum"]))
        if t == "integer":
            return str(self.rng.randint(1, 10 ** self.rng.randint(1, 6)))
        if t == "string" and not schema.get("format") and \
                not schema.get("pattern"):
            return self.slug()
        return str(self.value(schema, param.get("name", "")))

    # Calls --------------------------------------------------------------

    def body(self, op):
        rb = resolve(self.doc, op.get("requestBody", {}))
        content = rb.get("content", {})
        if not content:
            return None, None
        ctype = sorted(content)[self.rng.randrange(len(content))]
        schema = resolve(self.doc, content[ctype].get("schema", {}))
        self.writing = True
        value = self.value(schema)
        self.writing = False
        if "json" in ctype:
            return ctype, json.dumps(value).encode()
        if ctype == "application/x-www-form-urlencoded":
            if not isinstance(value, dict):
                value = {"value": value}
            pairs = []
            for k, v in value.items():
                for one in (v if isinstance(v, list) else [v]):
                    if isinstance(one, (dict, list)):
                        one = json.dumps(one)
                    elif isinstance(one, bool):
                        one = "true" if one else "false"
                    pairs.append((k, str(one)))
            return ctype, urllib.parse.urlencode(pairs).encode()
        if ctype == "multipart/form-data":
            boundary = "----disc%08x" % self.rng.getrandbits(32)
            parts = []
            props = schema.get("properties", {})
            if not isinstance(value, dict):
                value = {}
            for k, sub in props.items():
                sub = resolve(self.doc, sub)
                if sub.get("format") == "binary":
                    data = bytes(self.rng.getrandbits(8) for _ in range(64))
                    parts.append(
                        b"--" + boundary.encode() + b"\r\n"
                        b'Content-Disposition: form-data; name="' +
                        k.encode() + b'"; filename="f.png"\r\n'
                        b"Content-Type: image/png\r\n\r\n" + data + b"\r\n")
                elif k in value:
                    v = value[k]
                    if isinstance(v, (dict, list)):
                        v = json.dumps(v)
                    parts.append(
                        ("--%s\r\nContent-Disposition: form-data; "
                         'name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)
                         ).encode())
            data = b"".join(parts) + ("--%s--\r\n" % boundary).encode()
            return "multipart/form-data; boundary=" + boundary, data
        if ctype.startswith("text/"):
            return ctype, " ".join(self.rng.choice(WORDS)
                                   for _ in range(5)).encode()
        return ctype, bytes(self.rng.getrandbits(8) for _ in range(32))

    def credentials(self, op, headers, query):
        """Satisfy the first security requirement of the operation."""
        reqs = op.get("security", self.doc.get("security", []))
        schemes = self.doc.get("components", {}).get("securitySchemes", {})
        reqs = [x for x in reqs if x]
        if not reqs:
            return
        for name in self.rng.choice(reqs):
            s = resolve(self.doc, schemes.get(name, {}))
            t = s.get("type")
            token = "".join(self.rng.choice(string.ascii_letters)
                            for _ in range(24))
            if t == "oauth2" or t == "openIdConnect" or (
                    t == "http" and s.get("scheme", "").lower() == "bearer"):
                headers["authorization"] = "Bearer " + token
            elif t == "http" and s.get("scheme", "").lower() == "basic":
                headers["authorization"] = "Basic " + base64.b64encode(
                    b"user:" + token.encode()).decode()
            elif t == "apiKey":
                where = s.get("in")
                if where == "header":
                    headers[s["name"].lower()] = token
                elif where == "query":
                    query.append((s["name"], token))
                elif where == "cookie":
                    headers["cookie"] = "%s=%s" % (s["name"], token)

    def request(self, method, tmpl, op, params, status):
        r = self.rng
        path = tmpl
        query = []
        headers = {"accept": "application/json",
                   "user-agent": "disc-bench/1"}
        for p in params:
            where, name = p.get("in"), p.get("name")
            schema = resolve(self.doc, p.get("schema", {}))
            if where == "path":
                path = path.replace("{%s}" % name, urllib.parse.quote(
                    self.path_value(p), safe="@-._~"))
                continue
            if not p.get("required") and r.random() < 0.45:
                continue
            if where == "query":
                v = self.value(schema, name)
                if isinstance(v, list):
                    for one in v:
                        query.append((name, str(one).lower()
                                      if isinstance(one, bool) else one))
                else:
                    query.append((name, str(v).lower()
                                  if isinstance(v, bool) else v))
            elif where == "header":
                headers[name.lower()] = str(self.value(schema, name))
            elif where == "cookie":
                headers["cookie"] = "%s=%s" % (name, self.value(schema,
                                                                name))
        self.credentials(op, headers, query)
        ctype, body = self.body(op)
        if ctype:
            headers["content-type"] = ctype
        if status is not None:
            headers["prefer"] = "code=%s" % status
        qs = urllib.parse.urlencode(query)
        return {"method": method, "path": path, "query": qs,
                "headers": headers, "ctype": ctype, "body": body}

    def plan(self, per_status=12):
        """Requests for every operation and every documented status."""
        out = []
        for method, tmpl, op, params in operations(self.doc):
            codes = [c for c in op.get("responses", {}) if c.isdigit()]
            if not codes:
                codes = [None]
            for code in codes:
                for _ in range(per_status):
                    out.append(self.request(method, tmpl, op, params, code))
        self.rng.shuffle(out)
        return out


def capture_headers(headers):
    """The capture keeps header names lower-case and hides secrets,
    keeping the scheme word of Authorization."""
    out = {}
    for k, v in headers.items():
        k = k.lower()
        if k in SENSITIVE or "token" in k or "key" in k:
            if k in ("authorization", "proxy-authorization") and " " in v:
                v = v.split(" ", 1)[0] + " [REDACTED]"
            else:
                v = "[REDACTED]"
        out[k] = v
    return out


def record(req, resp, elapsed_ms):
    """One NDJSON call from a request and a requests.Response."""
    call = {"method": req["method"], "path": req["path"],
            "query": req["query"],
            "requestHeaders": capture_headers(req["headers"]),
            "statusCode": resp.status_code,
            "responseHeaders": capture_headers(dict(resp.headers)),
            "durationMs": int(elapsed_ms)}
    if req["body"] is not None:
        call["requestContentType"] = req["ctype"]
        try:
            call["requestBody"] = req["body"].decode("utf-8")
        except UnicodeDecodeError:
            call["requestBodyBase64"] = base64.b64encode(
                req["body"]).decode()
    ctype = resp.headers.get("content-type")
    if resp.content:
        call["responseContentType"] = ctype or ""
        try:
            call["responseBody"] = resp.content.decode("utf-8")
        except UnicodeDecodeError:
            call["responseBodyBase64"] = base64.b64encode(
                resp.content).decode()
    return call


def drive(base_url, requests_list, session=None):
    """Send planned requests to a server; returns recorded calls."""
    import time
    import requests
    s = session or requests.Session()
    calls = []
    for req in requests_list:
        url = base_url + req["path"]
        if req["query"]:
            url += "?" + req["query"]
        t0 = time.monotonic()
        resp = s.request(req["method"], url, headers=req["headers"],
                         data=req["body"], timeout=30)
        calls.append(record(req, resp, (time.monotonic() - t0) * 1000))
    return calls


def to_har(calls, base_url):
    """A HAR 1.2 log of recorded calls, for tools that read HAR."""
    entries = []
    for c in calls:
        url = base_url + c["path"] + ("?" + c["query"] if c["query"] else "")
        req = {"method": c["method"], "url": url, "httpVersion": "HTTP/1.1",
               "headers": [{"name": k, "value": v}
                           for k, v in c["requestHeaders"].items()],
               "queryString": [{"name": k, "value": v} for k, v in
                               urllib.parse.parse_qsl(c["query"],
                                                      keep_blank_values=True)],
               "cookies": [], "headersSize": -1, "bodySize": -1}
        if "requestBody" in c or "requestBodyBase64" in c:
            req["postData"] = {"mimeType": c.get("requestContentType", ""),
                               "text": c.get("requestBody",
                                             c.get("requestBodyBase64"))}
        content = {"size": len(c.get("responseBody", "")),
                   "mimeType": c.get("responseContentType", "")}
        if "responseBody" in c:
            content["text"] = c["responseBody"]
        elif "responseBodyBase64" in c:
            content["text"] = c["responseBodyBase64"]
            content["encoding"] = "base64"
        entries.append({
            "startedDateTime": "2024-01-01T00:00:00.000Z",
            "time": c.get("durationMs", 0),
            "request": req,
            "response": {"status": c["statusCode"], "statusText": "",
                         "httpVersion": "HTTP/1.1",
                         "headers": [{"name": k, "value": v} for k, v in
                                     c["responseHeaders"].items()],
                         "cookies": [], "content": content,
                         "redirectURL": "", "headersSize": -1,
                         "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}})
    return {"log": {"version": "1.2",
                    "creator": {"name": "disc-bench", "version": "1"},
                    "entries": entries}}


def synthesize(doc, per_status=8, seed=1):
    """Recorded calls without a server: each planned request gets an
    answer made from the document's own response schema for the status
    it asked for.  Deterministic for a given seed."""
    gen = Generator(doc, seed)
    ops = {(m, t): op for m, t, op, _ in operations(doc)}
    calls = []
    for method, tmpl, op, params in operations(doc):
        codes = [c for c in op.get("responses", {}) if c.isdigit()] or \
            ["200"]
        for code in codes:
            for _ in range(per_status):
                req = gen.request(method, tmpl, op, params, None)
                resp = resolve(doc, ops[(method, tmpl)]["responses"].get(
                    code, {}))
                content = resp.get("content", {})
                call = {"method": method, "path": req["path"],
                        "query": req["query"],
                        "requestHeaders": capture_headers(req["headers"]),
                        "statusCode": int(code),
                        "responseHeaders": {"content-type": ""},
                        "durationMs": gen.rng.randint(1, 80)}
                if req["body"] is not None:
                    call["requestContentType"] = req["ctype"]
                    try:
                        call["requestBody"] = req["body"].decode()
                    except UnicodeDecodeError:
                        call["requestBodyBase64"] = base64.b64encode(
                            req["body"]).decode()
                if content:
                    ctype = sorted(content)[0]
                    schema = content[ctype].get("schema", {})
                    call["responseContentType"] = ctype
                    call["responseHeaders"]["content-type"] = ctype
                    if "json" in ctype:
                        call["responseBody"] = json.dumps(gen.value(schema))
                    elif ctype.startswith("text/"):
                        call["responseBody"] = " ".join(
                            gen.rng.choice(WORDS) for _ in range(4))
                    else:
                        call["responseBodyBase64"] = base64.b64encode(
                            bytes(gen.rng.getrandbits(8)
                                  for _ in range(48))).decode()
                else:
                    del call["responseHeaders"]["content-type"]
                calls.append(call)
    gen.rng.shuffle(calls)
    return calls
