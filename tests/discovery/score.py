"""Scoring a recovered OpenAPI document against the original.

Templates are compared with parameter names erased ("/users/{}/orders"),
operations as (method, template).  The metrics:

  template precision  recovered templates that exist in the original
  template recall     original templates that were recovered
  operation recall    original operations that were recovered
  parameter recall    query/header/cookie parameters found by name and
                      location (an API key scheme with the same name and
                      location counts), path parameters by position
  response fields     JSON property paths (a.b, list[].c) of each
                      original response, found in the same status of the
                      recovered operation, $refs followed on both sides
  status recall       documented numeric statuses that were recovered

Only what the traffic exercised can be recovered: the caller passes the
set of (method, template, status) the traffic produced, and originals
outside it are left out of every denominator.
"""

import re

from traffic import operations, resolve

PARAM = re.compile(r"\{[^}/]*\}")


def norm(tmpl):
    t = PARAM.sub("{}", tmpl)
    if len(t) > 1 and t.endswith("/"):
        t = t[:-1]
    return t


def fields(doc, schema, prefix="", depth=0, out=None, seen=None):
    """Property paths of a schema, following $ref, unions and allOf."""
    if out is None:
        out = set()
    if seen is None:
        seen = ()
    if depth > 5 or not isinstance(schema, dict):
        return out
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return out
        seen = seen + (ref,)
    schema = resolve(doc, schema)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            fields(doc, sub, prefix, depth + 1, out, seen)
    if "items" in schema:
        fields(doc, schema["items"], prefix + "[]", depth + 1, out, seen)
    for name, sub in (schema.get("properties") or {}).items():
        path = prefix + ("." if prefix else "") + name
        out.add(path)
        fields(doc, sub, path, depth + 1, out, seen)
    return out


def json_schema_of(doc, response):
    response = resolve(doc, response)
    for ctype, media in sorted((response.get("content") or {}).items()):
        if "json" in ctype:
            return media.get("schema", {})
    return None


def index(doc):
    ops = {}
    for method, tmpl, op, params in operations(doc):
        ops[(method, norm(tmpl))] = (tmpl, op, params)
    return ops


def api_key_names(doc):
    out = set()
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for s in schemes.values():
        s = resolve(doc, s)
        if s.get("type") == "apiKey":
            out.add((s.get("in"), s.get("name", "").lower()))
    return out


def ratio(hit, total):
    return 1.0 if total == 0 else hit / total


def score(orig, got, exercised=None):
    """Scores of `got` against `orig`; `exercised` is a set of
    (METHOD, normalised template, status) seen in the traffic."""
    o_ops, g_ops = index(orig), index(got)
    if exercised is not None:
        seen_ops = {(m, t) for m, t, _ in exercised}
        o_ops = {k: v for k, v in o_ops.items() if k in seen_ops}
    o_tmpl = {t for _, t in o_ops}
    g_tmpl = {t for _, t in g_ops}
    keys = api_key_names(got)
    tp = len(o_tmpl & g_tmpl)
    s = {"template precision": ratio(tp, len(g_tmpl)),
         "template recall": ratio(tp, len(o_tmpl)),
         "operation recall": ratio(len(set(o_ops) & set(g_ops)),
                                   len(o_ops))}
    p_hit = p_tot = f_hit = f_tot = c_hit = c_tot = 0
    for key, (tmpl, op, params) in sorted(o_ops.items()):
        g = g_ops.get(key)
        g_params = set()
        if g:
            g_params = {(p.get("in"), p.get("name", "").lower())
                        for p in g[2]}
        for p in params:
            p_tot += 1
            where, name = p.get("in"), p.get("name", "").lower()
            if g is None:
                continue
            if where == "path":
                p_hit += 1
            elif (where, name) in g_params or (where, name) in keys:
                p_hit += 1
        for code, resp in op.get("responses", {}).items():
            if not code.isdigit():
                continue
            if exercised is not None and (key[0], key[1], int(code)) \
                    not in exercised:
                continue
            c_tot += 1
            g_resp = g[1].get("responses", {}).get(code) if g else None
            if g_resp is not None:
                c_hit += 1
            sch = json_schema_of(orig, resp)
            if sch is None:
                continue
            want = fields(orig, sch)
            have = set()
            if g_resp is not None:
                gs = json_schema_of(got, g_resp)
                if gs is not None:
                    have = fields(got, gs)
            f_tot += len(want)
            f_hit += len(want & have)
    s["parameter recall"] = ratio(p_hit, p_tot)
    s["response-field recall"] = ratio(f_hit, f_tot)
    s["status-code recall"] = ratio(c_hit, c_tot)
    return s


def exercised_set(orig, calls):
    """(METHOD, normalised original template, status) of each call,
    matching concrete paths against the original templates."""
    pats = []
    for method, tmpl, _, _ in operations(orig):
        rx = "^" + PARAM.sub("[^/]+", re.escape(tmpl).replace(
            r"\{", "{").replace(r"\}", "}")) + "/?$"
        lits = len([x for x in tmpl.split("/") if x and "{" not in x])
        pats.append((method, re.compile(rx), norm(tmpl), lits))
    # Prefer the template with the most literal segments (/users/me
    # over /users/{id}).
    pats.sort(key=lambda p: -p[3])
    out = set()
    for c in calls:
        for method, rx, t, _ in pats:
            if method == c["method"] and rx.match(c["path"]):
                out.add((method, t, c["statusCode"]))
                break
    return out
