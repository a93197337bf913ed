#!/usr/bin/python3
"""A local fake of Groq's OpenAI-compatible chat-completions API.

POST /openai/v1/chat/completions answers like Groq: bearer-key check,
request validation with the OpenAI error envelope, a full chat.completion
object and Groq's x-ratelimit-* headers.  The "model" is a deterministic
function of the prompt: the last user message carries a JSON object (from
its first "{" to its last "}") with the API's operations, and the reply's
content is JSON with a title, a description and, per operation, an
English summary, a description and tags, all derived from the method and
the path template.

Failure modes are set through POST /__control/mode; see README.md.
"""

import json
import re
import threading
import time

import fakelib

MODES = ("ok", "slow", "429", "500", "503", "invalid_json", "wrong_shape",
         "hang", "drop")

ROLES = ("system", "user", "assistant", "tool")


class State(fakelib.ControlState):
    def __init__(self, api_key):
        super().__init__(MODES)
        self.api_key = api_key
        self.lock = threading.Lock()
        self.served = 0


STATE = None


# ---- the deterministic "model" -------------------------------------------

VERSION_RX = re.compile(r"^v\d+(\.\d+)*$", re.I)
SKIP_SEGMENTS = {"api", "rest", "public"}

# Literal path segments that name an action rather than a collection.
ACTIONS = {
    "cancel": "Cancel", "refund": "Refund", "approve": "Approve",
    "capture": "Capture", "activate": "Activate",
    "deactivate": "Deactivate", "archive": "Archive",
    "publish": "Publish", "confirm": "Confirm", "verify": "Verify",
    "reset": "Reset", "restore": "Restore", "close": "Close",
    "open": "Open", "retry": "Retry", "send": "Send", "submit": "Submit",
    "enable": "Enable", "disable": "Disable", "lock": "Lock",
    "unlock": "Unlock", "sync": "Synchronise", "import": "Import",
    "export": "Export", "upload": "Upload", "download": "Download",
}

SPECIAL = {
    "login": "Log in", "signin": "Sign in", "logout": "Log out",
    "signout": "Sign out", "register": "Register an account",
    "signup": "Sign up", "search": "Search", "health": "Check health",
    "healthz": "Check health", "status": "Get the status",
    "ping": "Ping the service", "token": "Obtain a token",
    "refresh": "Refresh a token", "me": None, "echo": "Echo the request",
    "metrics": "Get metrics", "version": "Get the version",
}

UNCOUNTABLE = {"data", "info", "news", "metadata", "status", "health",
               "inventory", "search", "feedback", "config", "settings",
               "analytics", "media"}


def singular(word):
    w = word.lower()
    if w in UNCOUNTABLE:
        return w
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return w[:-2]
    if w.endswith("ss") or w.endswith("us") or w.endswith("is"):
        return w
    if w.endswith("s") and len(w) > 1:
        return w[:-1]
    return w


def words(segment):
    """'order-items' / 'order_items' / 'orderItems' -> 'order items'."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", segment)
    s = re.sub(r"[-_.]+", " ", s)
    return s.strip().lower()


def with_article(noun):
    if not noun:
        return noun
    if noun in UNCOUNTABLE:
        return "the " + noun
    w = noun.lower()
    vowel = w[0] in "aeiou"
    # Spelling is not sound: "a user", "a unit", "an hour".
    if w.startswith(("us", "uni", "use", "eu", "one", "uk")):
        vowel = False
    if w.startswith(("hour", "honest", "honor", "honour")):
        vowel = True
    return ("an " if vowel else "a ") + noun


def is_param(segment):
    return segment.startswith("{") and segment.endswith("}")


def split_path(path):
    segs = [s for s in str(path or "").split("?")[0].split("/") if s]
    # Drop leading prefixes such as /api/v1 that say nothing about the
    # resource.
    while segs and not is_param(segs[0]) and \
            (segs[0].lower() in SKIP_SEGMENTS or VERSION_RX.match(segs[0])):
        segs = segs[1:]
    return segs


def tag_for(path):
    for s in split_path(path):
        if not is_param(s):
            return words(s).replace(" ", "-") or "default"
    return "default"


def owner_phrase(segs, upto):
    """'of a user' for the collection that owns segs[upto], if any."""
    for i in range(upto - 1, 0, -1):
        if is_param(segs[i]) and not is_param(segs[i - 1]):
            return " of " + with_article(singular(words(segs[i - 1])))
    return ""


def summarise(method, path):
    """A short English summary of one operation."""
    method = str(method or "GET").upper()
    segs = split_path(path)
    if not segs:
        return {"GET": "Get the API root", "HEAD": "Check the API root",
                "OPTIONS": "List allowed methods"}.get(
                    method, "%s the API root" % method.capitalize())
    last = segs[-1]
    if is_param(last):
        coll = segs[-2] if len(segs) > 1 and not is_param(segs[-2]) else \
            "item"
        noun = singular(words(coll))
        owner = owner_phrase(segs, len(segs) - 2)
        verb = {"GET": "Get", "HEAD": "Check", "PUT": "Replace",
                "PATCH": "Update", "DELETE": "Delete",
                "POST": "Act on", "OPTIONS": "List allowed methods for"
                }.get(method, method.capitalize())
        return "%s %s%s" % (verb, with_article(noun), owner)

    lw = last.lower()
    prev_is_param = len(segs) > 1 and is_param(segs[-2])
    if lw == "me" and len(segs) > 1:
        noun = singular(words(segs[-2]))
        verb = {"GET": "Get", "PUT": "Replace", "PATCH": "Update",
                "DELETE": "Delete"}.get(method, method.capitalize())
        return "%s the current %s" % (verb, noun)
    if lw in ACTIONS and (method == "POST" or prev_is_param):
        target = segs[-3] if prev_is_param and len(segs) > 2 else None
        if target is not None and not is_param(target):
            return "%s %s" % (ACTIONS[lw],
                              with_article(singular(words(target))))
        return ACTIONS[lw]
    if lw in SPECIAL and SPECIAL[lw] is not None and len(segs) <= 2:
        return SPECIAL[lw]
    noun = words(last)
    owner = owner_phrase(segs, len(segs) - 1)
    if method == "GET":
        if noun in UNCOUNTABLE or singular(noun) == noun:
            return "Get the %s%s" % (noun, owner)
        return "List %s%s" % (noun, owner)
    if method == "POST":
        return "Create %s%s" % (with_article(singular(noun)),
                                owner.replace(" of ", " for ", 1))
    if method == "PUT":
        return "Replace %s%s" % (noun, owner)
    if method == "PATCH":
        return "Update %s%s" % (noun, owner)
    if method == "DELETE":
        return "Delete %s%s" % (noun, owner)
    if method == "HEAD":
        return "Check %s%s" % (noun, owner)
    if method == "OPTIONS":
        return "List allowed methods for %s%s" % (noun, owner)
    return "%s %s%s" % (method.capitalize(), noun, owner)


def param_names(path):
    return [s[1:-1] for s in split_path(path) if is_param(s)]


def describe(op):
    method = str(op.get("method", "GET")).upper()
    path = str(op.get("path", "/"))
    summary = summarise(method, path)
    text = summary + "."
    names = param_names(path)
    if names:
        text += " The path identifies it by %s." % ", ".join(
            "`%s`" % n for n in names)
    qnames = []
    for p in op.get("parameters") or op.get("query") or []:
        if isinstance(p, dict) and p.get("in", "query") == "query" \
                and p.get("name"):
            qnames.append(str(p["name"]))
        elif isinstance(p, str):
            qnames.append(p)
    if qnames:
        text += " Accepts the query parameters %s." % ", ".join(
            "`%s`" % n for n in qnames)
    if method in ("POST", "PUT", "PATCH"):
        text += " Takes the new data in the request body."
    return summary, text


def model_answer(content):
    """The JSON document the fake model writes for one prompt."""
    doc = None
    start, end = content.find("{"), content.rfind("}")
    if start != -1 and end > start:
        try:
            doc = json.loads(content[start:end + 1])
        except ValueError:
            doc = None
    if not isinstance(doc, dict):
        doc = {}
    api = doc.get("api") if isinstance(doc.get("api"), dict) else {}
    ops = doc.get("operations")
    if not isinstance(ops, list):
        ops = []

    out_ops = []
    tags = []
    for op in ops:
        if not isinstance(op, dict):
            continue
        summary, text = describe(op)
        tag = tag_for(op.get("path", "/"))
        if tag not in tags:
            tags.append(tag)
        out_ops.append({"id": op.get("id", ""), "summary": summary,
                        "description": text, "tags": [tag]})

    name = api.get("title") or api.get("name")
    if not name:
        base = str(api.get("baseUrl") or api.get("destination") or
                   api.get("url") or "")
        host = re.sub(r"^[a-z]+://", "", base).split("/")[0].split(":")[0]
        host = re.sub(r"^(www|api)\.", "", host)
        name = (host.split(".")[0].capitalize() + " API") if host else \
            "HTTP API"
    if tags:
        desc = "%s offers %d operation%s grouped as %s." % (
            name, len(out_ops), "" if len(out_ops) == 1 else "s",
            ", ".join(tags))
    else:
        desc = "%s; no operations were described." % name
    return {"title": name, "description": desc, "operations": out_ops}


def last_user_text(messages):
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return content_text(m.get("content"))
    return ""


def content_text(c):
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "".join(p.get("text", "") for p in c
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def count_tokens(text):
    # A crude stand-in for a tokenizer: about four characters a token.
    return max(1, (len(text) + 3) // 4)


# ---- HTTP ---------------------------------------------------------------

def err(message, etype="invalid_request_error", code=None, param=None):
    e = {"message": message, "type": etype}
    if code is not None:
        e["code"] = code
    if param is not None:
        e["param"] = param
    return {"error": e}


class GroqHandler(fakelib.ControlMixin, fakelib.Handler):
    server_version = "cloudflare"
    ROUTES = [
        ("POST", r"/openai/v1/chat/completions", "chat"),
        ("GET", r"/openai/v1/models", "models"),
    ] + fakelib.ControlMixin.CONTROL_ROUTES

    def not_found(self):
        self.send_json(404, err("Unknown request URL: %s %s. Please check "
                                "the URL for typos." %
                                (self.command, self.path_only),
                                code="unknown_url"))

    def method_not_allowed(self, allowed):
        self.send_json(405, err("Method %s is not allowed on %s." %
                                (self.command, self.path_only)),
                       [("Allow", ", ".join(sorted(set(allowed))))])

    def body_error(self, e):
        self.close_connection = True
        self.send_json(e.status, err(e.message))

    def rate_headers(self, remaining_tokens=5800):
        return [("x-ratelimit-limit-requests", "14400"),
                ("x-ratelimit-limit-tokens", "6000"),
                ("x-ratelimit-remaining-requests", "14399"),
                ("x-ratelimit-remaining-tokens", str(remaining_tokens)),
                ("x-ratelimit-reset-requests", "6s"),
                ("x-ratelimit-reset-tokens", "2.5s"),
                ("x-request-id", "req_" + fakelib.rand_id(26).lower())]

    def authorised(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or \
                auth[7:].strip() != STATE.api_key:
            self.send_json(401, err("Invalid API Key",
                                    code="invalid_api_key"))
            return False
        return True

    def models(self):
        if not self.authorised():
            return
        data = [{"id": m, "object": "model", "created": 1700000000,
                 "owned_by": "fake", "active": True,
                 "context_window": 131072}
                for m in ("llama-3.3-70b-versatile", "llama-3.1-8b-instant",
                          "openai/gpt-oss-20b")]
        self.send_json(200, {"object": "list", "data": data})

    def record(self, parsed, raw, outcome):
        STATE.requests.add({
            "time": time.time(), "method": self.command,
            "path": self.path_only, "headers": self.header_dict(),
            "body": parsed,
            "rawBody": None if parsed is not None else
            raw.decode("utf-8", "replace"),
            "mode": outcome})

    def validate(self, body):
        """None when the body is acceptable, else (status, error dict)."""
        if not isinstance(body, dict):
            return 400, err("request body must be a JSON object")
        model = body.get("model")
        if model is None:
            return 400, err("'model' : property 'model' is missing",
                            param="model")
        if not isinstance(model, str) or not model.strip():
            return 400, err("'model' : value must be a non-empty string",
                            param="model")
        msgs = body.get("messages")
        if msgs is None:
            return 400, err("'messages' : property 'messages' is missing",
                            param="messages")
        if not isinstance(msgs, list) or not msgs:
            return 400, err("'messages' : minimum number of items is 1",
                            param="messages")
        for i, m in enumerate(msgs):
            if not isinstance(m, dict):
                return 400, err("'messages.%d' : value must be an object"
                                % i, param="messages")
            if m.get("role") not in ROLES:
                return 400, err("'messages.%d' : discriminator property "
                                "'role' has invalid value" % i,
                                param="messages")
            c = m.get("content")
            if m["role"] != "assistant" and not isinstance(c, (str, list)):
                return 400, err("'messages.%d.content' : value must be a "
                                "string or an array" % i,
                                param="messages")
        t = body.get("temperature")
        if t is not None and (isinstance(t, bool) or
                              not isinstance(t, (int, float)) or
                              t < 0 or t > 2):
            return 400, err("'temperature' : number must be at most 2 and "
                            "at least 0", param="temperature")
        rf = body.get("response_format")
        if rf is not None:
            if not isinstance(rf, dict) or rf.get("type") not in (
                    "text", "json_object", "json_schema"):
                return 400, err("'response_format.type' : value must be "
                                "one of text, json_object, json_schema",
                                param="response_format")
            if rf["type"] == "json_object":
                alltext = " ".join(content_text(m.get("content"))
                                   for m in msgs).lower()
                if "json" not in alltext:
                    return 400, err("'messages' must contain the word "
                                    "'json' in some form, to use "
                                    "'response_format' of type "
                                    "'json_object'.", param="messages")
        if body.get("stream"):
            return 400, err("this fake does not stream; send stream=false",
                            param="stream")
        return None

    def chat(self):
        raw = self.body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
            parse_error = None
        except (UnicodeDecodeError, ValueError) as e:
            body, parse_error = None, str(e)

        if not self.authorised():
            self.record(body, raw, "401")
            return
        if parse_error is not None:
            self.record(None, raw, "400")
            self.send_json(400, err("could not parse the request body as "
                                    "JSON: %s" % parse_error))
            return
        bad = self.validate(body)
        if bad is not None:
            self.record(body, raw, str(bad[0]))
            self.send_json(*bad)
            return

        step = STATE.modes.take()
        mode = step["mode"]
        self.record(body, raw, mode)
        model = body["model"]

        if mode == "drop":
            self.drop(reset=bool(step.get("reset")))
            return
        if mode == "hang":
            self.hang(step.get("cap", fakelib.DEFAULT_HANG_CAP))
            return
        if mode == "429":
            ra = step.get("retryAfter", 2)
            self.send_json(
                429, err("Rate limit reached for model `%s` in organization "
                         "`org_fake` service tier `on_demand` on tokens per "
                         "minute (TPM): Limit 6000, Used 5900, Requested "
                         "800. Please try again in %ss." % (model, ra),
                         etype="tokens", code="rate_limit_exceeded"),
                [("retry-after", str(ra))] + self.rate_headers(0))
            return
        if mode == "500":
            self.send_json(500, err("Internal Server Error",
                                    etype="internal_server_error"))
            return
        if mode == "503":
            self.send_json(503, err("Service Unavailable",
                                    etype="internal_server_error",
                                    code="service_unavailable"),
                           [("retry-after", str(step.get("retryAfter", 1)))])
            return
        if mode == "slow":
            delay = float(step.get("delay", 5))
            fakelib.STOPPING.wait(min(delay, fakelib.DEFAULT_HANG_CAP))

        prompt = last_user_text(body["messages"])
        if mode == "invalid_json":
            content = ("Sure! Here is the documentation you asked for:\n"
                       "{title: 'API', operations: [ ... ]")
        elif mode == "wrong_shape":
            answer = model_answer(prompt)
            content = json.dumps({"title": answer["title"],
                                  "description": answer["description"]})
        else:
            content = json.dumps(model_answer(prompt))
        self.complete(model, body["messages"], content)

    def complete(self, model, messages, content):
        with STATE.lock:
            STATE.served += 1
        prompt_tokens = sum(count_tokens(content_text(m.get("content")))
                            for m in messages)
        completion_tokens = count_tokens(content)
        rid = "req_" + fakelib.rand_id(26).lower()
        obj = {
            "id": "chatcmpl-" + fakelib.rand_id(29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "logprobs": None,
                "finish_reason": "stop",
            }],
            "usage": {
                "queue_time": 0.01,
                "prompt_tokens": prompt_tokens,
                "prompt_time": 0.02,
                "completion_tokens": completion_tokens,
                "completion_time": 0.1,
                "total_tokens": prompt_tokens + completion_tokens,
                "total_time": 0.12,
            },
            "system_fingerprint": "fp_fake0000",
            "x_groq": {"id": rid},
        }
        self.send_json(200, obj, self.rate_headers(
            max(0, 6000 - prompt_tokens - completion_tokens)))


def main():
    global STATE
    p = fakelib.base_parser("Fake Groq chat-completions API")
    p.add_argument("--api-key", default="gsk_test_fake_key",
                   help="the bearer key requests must carry")
    args = p.parse_args()
    STATE = State(args.api_key)
    return fakelib.serve(GroqHandler, args, STATE)


if __name__ == "__main__":
    raise SystemExit(main())
