"""Exports of an endpoint for its owner: calls.csv (RFC 4180, formulas
neutralised, paged), the printable HTML report and docs.zip."""

import base64
import csv
import io
import json
import os
import subprocess
import tempfile
import time
import uuid
import zipfile

import pytest
import requests

from conftest import Client, error_of

COLUMNS = [
    "id", "timestamp", "method", "path", "query", "status_code",
    "duration_ms", "request_size", "response_size", "request_content_type",
    "response_content_type", "error", "request_truncated",
    "response_truncated", "redacted", "request_headers", "response_headers",
    "request_body_encoding", "request_body", "response_body_encoding",
    "response_body"]

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def ep(user, fakes):
    r = user.post("/api/endpoints", json={
        "name": "Shop <b>API</b>", "destinationUrl": fakes["upstream"].url})
    assert r.status_code == 201, r.text
    return r.json()


def proxy(server, ep, path, method="GET", **kw):
    return requests.request(method, server.url + "/proxy/" + ep["id"] +
                            path, verify=False, timeout=30, **kw)


def wait_captured(db, ep, want, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = db.val("SELECT count(*) FROM api_calls WHERE endpoint_id = %s",
                   ep["id"])
        if n >= want:
            return n
        time.sleep(0.05)
    raise AssertionError("only %d of %d calls captured" % (n, want))


def insert_calls(db, ep, n, body=None):
    db.rows(
        "INSERT INTO api_calls (endpoint_id, method, path, query, "
        "status_code, duration_ms, request_body, response_body) "
        "SELECT %s, 'GET', '/items/' || g, 'page=' || g, 200, g %% 50, "
        "%s, convert_to('{\"n\": ' || g || '}', 'UTF8') "
        "FROM generate_series(1, %s) g", ep["id"], body, n)


def insert_docs(db, ep, openapi, markdown="# Shop\n", version=1):
    db.rows(
        "INSERT INTO documentation (endpoint_id, version, openapi, "
        "markdown, ai_status, calls_analysed) VALUES (%s, %s, %s::jsonb, "
        "%s, 'used', 3)", ep["id"], version, json.dumps(openapi), markdown)


def read_csv(r):
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    # RFC 4180: every row ends in CRLF.
    assert r.content.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"),
                                       newline="")))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, row)) for row in rows[1:]]


# calls.csv

def test_csv_neutralises_formula_injection(server, user, ep, db):
    payloads = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0",
                "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
    for p in payloads:
        r = proxy(server, ep, "/echo", method="POST", data=p.encode(),
                  headers={"Content-Type": "text/plain",
                           "X-Note": "=1+1"})
        assert r.status_code == 200
    proxy(server, ep, "/echo/=evil?=cmd|calc")
    wait_captured(db, ep, len(payloads) + 1)

    rows = read_csv(user.get("/api/endpoints/%s/export/calls.csv" %
                             ep["id"]))
    assert len(rows) == len(payloads) + 1
    bodies = [r["request_body"] for r in rows if r["method"] == "POST"]
    assert bodies == ["'" + p for p in payloads]
    for row in rows:
        for col, cell in row.items():
            assert not cell.startswith(DANGEROUS), (col, cell)
    get = [r for r in rows if r["method"] == "GET"][0]
    assert get["path"] == "/echo/=evil"
    assert get["query"] == "'=cmd%7Ccalc"


def test_csv_quotes_commas_quotes_and_newlines(server, user, ep, db):
    text = 'a "quoted", multi\r\nline\nbody, done'
    proxy(server, ep, "/echo", method="POST", data=text.encode(),
          headers={"Content-Type": "text/plain"})
    wait_captured(db, ep, 1)
    r = user.get("/api/endpoints/%s/export/calls.csv" % ep["id"])
    assert b'"a ""quoted"", multi\r\nline\nbody, done"' in r.content
    row = read_csv(r)[0]
    assert row["request_body"] == text
    assert row["request_body_encoding"] == "utf8"
    assert row["method"] == "POST" and row["status_code"] == "200"
    assert json.loads(row["response_headers"])


def test_csv_binary_bodies_are_base64(server, user, ep, db):
    blob = bytes(range(256))
    proxy(server, ep, "/echo", method="PUT", data=blob,
          headers={"Content-Type": "application/octet-stream"})
    wait_captured(db, ep, 1)
    row = read_csv(user.get("/api/endpoints/%s/export/calls.csv" %
                            ep["id"]))[0]
    assert row["request_body_encoding"] == "base64"
    assert base64.b64decode(row["request_body"]) == blob


def test_csv_pages_through_many_calls_in_order(user, ep, db):
    insert_calls(db, ep, 2345)
    rows = read_csv(user.get("/api/endpoints/%s/export/calls.csv" %
                             ep["id"]))
    assert len(rows) == 2345
    ids = [int(r["id"]) for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 2345
    assert rows[-1]["path"] == "/items/2345"
    assert rows[0]["response_body"] == '{"n": 1}'


def test_csv_cuts_long_bodies_and_flags_them(user, ep, db, spawn):
    s = spawn(EXPORT_BODY_MAX="10")
    owner = Client(s.url)
    owner.login(user.user["email"], user.password)
    insert_calls(db, ep, 1, body=b"0123456789abcdef")
    row = read_csv(owner.get("/api/endpoints/%s/export/calls.csv" %
                             ep["id"]))[0]
    assert row["request_body"] == "0123456789"
    assert row["request_truncated"] == "true"
    assert row["response_truncated"] == "false"


def test_csv_of_an_endpoint_without_calls_is_the_header(user, ep):
    r = user.get("/api/endpoints/%s/export/calls.csv" % ep["id"])
    assert read_csv(r) == []


def test_exports_are_owners_only(server, user, ep):
    other = Client(server.url).register()
    for kind in ("calls.csv", "printable", "docs.zip"):
        r = other.get("/api/endpoints/%s/export/%s" % (ep["id"], kind))
        assert r.status_code == 404, kind
        error_of(r)
        r = Client(server.url).get("/api/endpoints/%s/export/%s" %
                                   (ep["id"], kind))
        assert r.status_code == 401, kind
        r = user.get("/api/endpoints/not-a-uuid/export/%s" % kind)
        assert r.status_code == 400, kind
        r = user.get("/api/endpoints/%s/export/%s" % (uuid.uuid4(), kind))
        assert r.status_code == 404, kind


# printable

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "Shop <script>alert(1)</script>", "version": "1"},
    "paths": {
        "/users/{userId}": {
            "get": {
                "summary": "Fetch a <b>user</b>",
                "parameters": [{"name": "userId", "in": "path",
                                "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {
                    "description": "The user",
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/User"}}}}}}}}}


def test_printable_report_escapes_and_shows_stats(server, user, ep, db):
    insert_calls(db, ep, 5)
    insert_docs(db, ep, OPENAPI)
    r = user.get("/api/endpoints/%s/export/printable" % ep["id"])
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    html = r.text
    assert "<script>" not in html and "<b>" not in html
    assert "Shop &lt;b&gt;API&lt;/b&gt;" in html
    assert "Shop &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Fetch a &lt;b&gt;user&lt;/b&gt;" in html
    assert "/users/{userId}" in html and ">GET<" in html
    assert "<td>5</td>" in html
    assert "/items/1" in html


def test_printable_without_docs_says_so(user, ep):
    r = user.get("/api/endpoints/%s/export/printable" % ep["id"])
    assert r.status_code == 200
    assert "No documentation has been generated" in r.text


@pytest.mark.parametrize("version,status", [("9", 404), ("abc", 422),
                                            ("0", 422)])
def test_printable_bad_version(user, ep, db, version, status):
    insert_docs(db, ep, OPENAPI)
    r = user.get("/api/endpoints/%s/export/printable?version=%s" %
                 (ep["id"], version))
    assert r.status_code == status
    error_of(r)


# docs.zip

def test_docs_zip_opens_with_unzip_and_holds_everything(server, user, ep,
                                                        db):
    insert_calls(db, ep, 3)
    insert_docs(db, ep, OPENAPI, "# Shop v1\n", version=1)
    insert_docs(db, ep, dict(OPENAPI, info={"title": "v2",
                                            "version": "2"}),
                "# Shop v2\n", version=2)
    r = user.get("/api/endpoints/%s/export/docs.zip" % ep["id"])
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "application/zip"
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as f:
        f.write(r.content)
        path = f.name
    try:
        t = subprocess.run(["unzip", "-t", path], capture_output=True,
                           text=True)
        assert t.returncode == 0, t.stdout + t.stderr
        assert "No errors detected" in t.stdout
    finally:
        os.unlink(path)

    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == ["README.txt", "calls.csv", "docs.md",
                                    "openapi.json"]
    assert json.loads(z.read("openapi.json"))["info"]["title"] == "v2"
    assert z.read("docs.md") == b"# Shop v2\n"
    rows = list(csv.reader(io.StringIO(z.read("calls.csv").decode(),
                                       newline="")))
    assert rows[0] == COLUMNS and len(rows) == 4

    r = user.get("/api/endpoints/%s/export/docs.zip?version=1" % ep["id"])
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert z.read("docs.md") == b"# Shop v1\n"


def test_docs_zip_without_docs_is_409(user, ep):
    r = user.get("/api/endpoints/%s/export/docs.zip" % ep["id"])
    assert r.status_code == 409
    assert error_of(r)["code"] == "NO_DOCUMENTATION"
    r = user.get("/api/endpoints/%s/export/docs.zip?version=3" % ep["id"])
    assert r.status_code == 404


def test_export_leaves_no_temporary_files(user, ep, db):
    before = set(f for f in os.listdir("/tmp") if f.startswith(
        "apiscribe-csv") or f.startswith("apiscribe-zip") or
        f.startswith("apiscribe-calls"))
    insert_docs(db, ep, OPENAPI)
    assert user.get("/api/endpoints/%s/export/docs.zip" %
                    ep["id"]).status_code == 200
    assert user.get("/api/endpoints/%s/export/calls.csv" %
                    ep["id"]).status_code == 200
    after = set(f for f in os.listdir("/tmp") if f.startswith(
        "apiscribe-csv") or f.startswith("apiscribe-zip") or
        f.startswith("apiscribe-calls"))
    assert after - before == set()
