"""The discovery engine end to end through disc-cli.

Traffic comes from the made-up APIs of apis.py, answered from their own
response schemas (no server needed), plus hand-made hostile input.  The
recovered documents are checked by a real OpenAPI validator
(@apidevtools/swagger-parser), scored against the original, and checked
for byte-identical output.

    /usr/bin/python3 -m pytest tests/discovery
"""

import json
import os
import random
import subprocess

import pytest

import apis
import score
import traffic

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
TESTS = os.path.join(TOP, "tests")
CLI = os.path.join(TOP, ".build", "tools", "disc-cli")
CLI_ASAN = os.path.join(TOP, ".build", "tools", "disc-cli-asan")

VALIDATE = r"""
const SwaggerParser = require("@apidevtools/swagger-parser");
SwaggerParser.validate(process.argv[1])
    .then(() => console.log("valid"))
    .catch((e) => { console.error(e.message); process.exit(1); });
"""


@pytest.fixture(scope="session", autouse=True)
def built():
    subprocess.run(["make", "-s", "-C", os.path.join(TESTS, "tools"), "all",
                    "asan"], check=True)
    if not os.path.isdir(os.path.join(TESTS, "node_modules",
                                      "@apidevtools")):
        subprocess.run(["npm", "ci", "--prefix", TESTS], check=True)


def run_cli(tmp_path, calls, name="in", cli=CLI, lines=None):
    src = tmp_path / (name + ".ndjson")
    with open(src, "w") as f:
        if lines is not None:
            f.write(lines)
        for c in calls:
            f.write(json.dumps(c) + "\n")
    out = tmp_path / (name + ".json")
    md = tmp_path / (name + ".md")
    r = subprocess.run([cli, "-o", str(out), "-m", str(md), "-t", "Test",
                        "-s", "https://api.example.com", str(src)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out.read_bytes(), md.read_text(), r.stderr


def validate(tmp_path, doc_bytes):
    path = tmp_path / "validate.json"
    path.write_bytes(doc_bytes)
    r = subprocess.run(["node", "-e", VALIDATE, str(path)], cwd=TESTS,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout


API_DOCS = {"commerce": apis.commerce, "forge": apis.forge}


@pytest.mark.parametrize("api", sorted(API_DOCS))
def test_generated_document_passes_the_openapi_validator(tmp_path, api):
    calls = traffic.synthesize(API_DOCS[api](), 6, seed=11)
    doc, _, _ = run_cli(tmp_path, calls)
    assert json.loads(doc)["openapi"] == "3.1.0"
    validate(tmp_path, doc)


@pytest.mark.parametrize("api", sorted(API_DOCS))
def test_recovered_document_scores_at_least_095(tmp_path, api):
    orig = API_DOCS[api]()
    calls = traffic.synthesize(orig, 6, seed=5)
    doc, _, _ = run_cli(tmp_path, calls)
    got = json.loads(doc)
    s = score.score(orig, got, score.exercised_set(orig, calls))
    low = {k: v for k, v in s.items() if v < 0.95}
    assert not low, s


def test_same_calls_give_byte_identical_output(tmp_path):
    calls = traffic.synthesize(apis.commerce(), 4, seed=2)
    a = run_cli(tmp_path, calls, "a")
    b = run_cli(tmp_path, calls, "b")
    assert a[0] == b[0]
    assert a[1] == b[1]


def test_order_of_calls_does_not_change_the_output(tmp_path):
    calls = traffic.synthesize(apis.forge(), 4, seed=3)
    shuffled = list(calls)
    random.Random(9).shuffle(shuffled)
    a = run_cli(tmp_path, calls, "a")
    b = run_cli(tmp_path, shuffled, "b")
    assert a[0] == b[0]
    assert a[1] == b[1]


def test_markdown_has_a_section_for_every_operation(tmp_path):
    calls = traffic.synthesize(apis.forge(), 3, seed=4)
    doc, md, _ = run_cli(tmp_path, calls)
    got = json.loads(doc)
    assert md.startswith("# Test\n")
    assert "## Authentication" in md
    for tmpl, item in got["paths"].items():
        for method in item:
            assert "### %s `%s`" % (method.upper(), tmpl) in md


def test_every_path_parameter_is_declared(tmp_path):
    calls = traffic.synthesize(apis.commerce(), 3, seed=6)
    doc, _, _ = run_cli(tmp_path, calls)
    got = json.loads(doc)
    for tmpl, item in got["paths"].items():
        names = set(score.PARAM.findall(tmpl))
        for method, op in item.items():
            declared = {"{%s}" % p["name"] for p in op.get("parameters", [])
                        if p["in"] == "path"}
            assert names == declared, (method, tmpl)


def test_credentials_never_reach_the_document(tmp_path):
    calls = [{"method": "POST", "path": "/login", "query": "token=s3cr3t",
              "requestHeaders": {"authorization": "Bearer eyJhbGciOi.x.y"},
              "requestContentType": "application/json",
              "requestBody": json.dumps({"user": "ann",
                                         "password": "hunter2"}),
              "statusCode": 200, "responseContentType": "application/json",
              "responseBody": json.dumps({"access_token": "tok-123",
                                          "note": "Bearer abc.def"})}]
    doc, md, _ = run_cli(tmp_path, calls)
    for secret in (b"hunter2", b"s3cr3t", b"tok-123", b"abc.def",
                   b"eyJhbGciOi"):
        assert secret not in doc
        assert secret.decode() not in md
    validate(tmp_path, doc)


def test_hostile_input_is_survived_and_still_valid(tmp_path):
    deep = "[" * 100 + "1" + "]" * 100
    deeper = "{\"a\":" * 3000 + "1" + "}" * 3000
    huge = json.dumps({"items": [{"id": i, "name": "n%d" % i,
                                  "k%d" % (i % 500): i}
                                 for i in range(20000)]})
    calls = [
        {"method": "GET", "path": "/deep/1", "statusCode": 200,
         "responseContentType": "application/json", "responseBody": deep},
        {"method": "GET", "path": "/deep/2", "statusCode": 200,
         "responseContentType": "application/json", "responseBody": deeper},
        {"method": "GET", "path": "/huge", "statusCode": 200,
         "responseContentType": "application/json", "responseBody": huge},
        {"method": "GET", "path": "/bin", "statusCode": 200,
         "responseContentType": "application/json",
         "responseBodyBase64": "//79/AAAAQID"},
        {"method": "POST", "path": "/x%00y/%ff%fe", "statusCode": 200,
         "query": "a=%ff&%zz=1&&=&b", "requestContentType": "text/plain",
         "requestBody": "\u0000\u0001"},
        {"method": "GET", "path": "/unicode/\u00e9t\u00e9",
         "statusCode": 200, "responseContentType": "application/json",
         "responseBody": "{\"\\u00e9\\ud83d\\ude00\": \"\\u0000\"}"},
        {"method": "GET", "path": "", "statusCode": 700},
        {"method": "", "path": "/a", "statusCode": 200},
    ]
    garbage = "not json\n\x00\x01\n[1,2,3]\n{\"method\":5}\n"
    doc, md, err = run_cli(tmp_path, calls, lines=garbage)
    got = json.loads(doc)
    assert "/huge" in got["paths"]
    assert "/unicode/%C3%A9t%C3%A9" in got["paths"]
    validate(tmp_path, doc)
    # The sanitizer build must agree and report no error.
    doc2, md2, err2 = run_cli(tmp_path, calls, "asan", cli=CLI_ASAN,
                              lines=garbage)
    assert doc2 == doc and md2 == md
    assert "ERROR" not in err2


def test_empty_input_gives_an_empty_but_valid_document(tmp_path):
    doc, md, _ = run_cli(tmp_path, [])
    assert json.loads(doc)["paths"] == {}
    assert "0 operations" in md
    validate(tmp_path, doc)
