"""Shared plumbing for the local fakes of Groq, Stripe, PayPal and the
test upstream.

Every fake is a ThreadingHTTPServer on loopback that prints one line
"READY <port>" once it listens, logs one line per request to stderr and
stops cleanly on SIGTERM.  This module holds what they all need: the
command line, the server loop, a small router, body reading (including
chunked uploads), a thread-safe recorder, the failure-mode switch used by
/__control/mode, an outbound webhook poster that accepts self-signed TLS
certificates, and the control handlers the fakes have in common: mode,
requests and reset for all, and events, deliveries and webhook settings
for the two that send signed webhooks (Stripe and PayPal).

Only the Python standard library is used here.
"""

import argparse
import base64
import copy
import datetime
import http.client
import http.server
import json
import re
import secrets
import select
import signal
import socket
import ssl
import string
import sys
import threading
import time
import urllib.parse

# Set when the process is asked to stop, so that requests parked in a
# "hang" mode give their thread back at once.
STOPPING = threading.Event()

# Largest request body a fake accepts.  The proxy's test profile allows
# 50 MB bodies, so the upstream must take a little more than that.
MAX_BODY = 64 * 1024 * 1024

# How long a "hang"/"timeout" request holds its thread at most.
DEFAULT_HANG_CAP = 120.0

_ALNUM = string.ascii_letters + string.digits


def rand_id(n, alphabet=_ALNUM):
    """A random identifier of n characters from alphabet."""
    return "".join(secrets.choice(alphabet) for _ in range(n))


def now_iso(ts=None, millis=False):
    """UTC time as RFC 3339 with a Z suffix."""
    if ts is None:
        ts = time.time()
    dt = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + \
            "%03dZ" % (dt.microsecond // 1000)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def log(fmt, *args):
    """One line to stderr, flushed, prefixed with a timestamp."""
    msg = fmt % args if args else fmt
    sys.stderr.write("%s %s\n" % (now_iso(millis=True), msg))
    sys.stderr.flush()


def base_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on; 0 picks a free one")
    p.add_argument("--quiet", action="store_true",
                   help="do not log each request to stderr")
    return p


def add_webhook_options(p):
    """The options of the fakes that send webhooks (Stripe, PayPal)."""
    p.add_argument("--webhook-url", default=None,
                   help="where events are POSTed (http or https; TLS is "
                   "not verified)")
    p.add_argument("--delivery", choices=("auto", "manual"), default="auto")
    p.add_argument("--retries", type=int, default=0,
                   help="automatic re-deliveries after a failed one")
    p.add_argument("--retry-delay", type=float, default=1.0)
    p.add_argument("--public-url", default=None,
                   help="base URL of the pages and links it hands out "
                   "(default: own address)")


class Recorder:
    """A thread-safe, bounded list of dicts (requests, deliveries)."""

    def __init__(self, limit=10000):
        self._lock = threading.Lock()
        self._items = []
        self._limit = limit

    def add(self, item):
        with self._lock:
            self._items.append(item)
            if len(self._items) > self._limit:
                del self._items[0:len(self._items) - self._limit]
        return item

    def list(self):
        with self._lock:
            return list(self._items)

    def clear(self):
        with self._lock:
            self._items = []


class ModeSwitch:
    """Failure modes for the next requests.

    A plan is a list of steps {"mode": m, "count": n, ...params}.  Each
    request takes one unit from the first step; a step without a count
    lasts forever.  When the plan runs out the mode is "ok" again.
    """

    def __init__(self, allowed):
        self._lock = threading.Lock()
        self._plan = []
        self._allowed = set(allowed)

    def parse(self, body):
        """Validate a control body; return the plan or raise ValueError."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        steps = body.get("sequence")
        if steps is None:
            steps = [body]
        if not isinstance(steps, list) or not steps:
            raise ValueError("sequence must be a non-empty list")
        plan = []
        for step in steps:
            if not isinstance(step, dict):
                raise ValueError("each step must be an object")
            mode = str(step.get("mode", ""))
            if mode not in self._allowed:
                raise ValueError("unknown mode %r; allowed: %s" %
                                 (mode, ", ".join(sorted(self._allowed))))
            count = step.get("count")
            if count is not None:
                if not isinstance(count, int) or isinstance(count, bool) \
                        or count < 1:
                    raise ValueError("count must be a positive integer")
            plan.append(dict(step, mode=mode, count=count))
        return plan

    def set(self, body):
        plan = self.parse(body)
        with self._lock:
            self._plan = plan
        return self.describe()

    def take(self, path=None):
        """The step for one request (a dict with at least "mode")."""
        with self._lock:
            while self._plan:
                step = self._plan[0]
                prefix = step.get("path")
                if prefix and path is not None and \
                        not path.startswith(prefix):
                    return {"mode": "ok"}
                if step["count"] is None:
                    return dict(step)
                step["count"] -= 1
                if step["count"] <= 0:
                    self._plan.pop(0)
                return dict(step)
            return {"mode": "ok"}

    def describe(self):
        with self._lock:
            if not self._plan:
                return {"mode": "ok", "plan": []}
            return {"mode": self._plan[0]["mode"],
                    "plan": [dict(s) for s in self._plan]}

    def reset(self):
        with self._lock:
            self._plan = []


class DeliveryQueue:
    """Runs automatic webhook deliveries one at a time, in the order the
    events happened, on a background thread, so a test sees them in a
    fixed order.  (Manual delivery is how tests get other orders.)"""

    class Job:
        def __init__(self, fn, args):
            self.fn, self.args = fn, args
            self.done = threading.Event()

        def join(self, timeout=None):
            return self.done.wait(timeout)

    def __init__(self):
        self._cv = threading.Condition()
        self._jobs = []
        self._thread = None

    def submit(self, fn, *args):
        job = self.Job(fn, args)
        with self._cv:
            self._jobs.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run,
                                                daemon=True)
                self._thread.start()
            self._cv.notify()
        return job

    def _run(self):
        while True:
            with self._cv:
                while not self._jobs:
                    self._cv.wait()
                job = self._jobs.pop(0)
            try:
                job.fn(*job.args)
            except Exception as e:  # keep the worker alive
                log("delivery job failed: %s: %s", type(e).__name__, e)
            finally:
                job.done.set()


class ControlState:
    """What every fake's /__control/mode, /requests and /reset work on:
    the failure modes and the record of API requests.  serve() hands it
    to the handlers as server.store."""

    def __init__(self, modes):
        self.modes = ModeSwitch(modes)
        self.requests = Recorder()

    def clear(self):
        """Forget the recorded requests and the planned modes."""
        self.requests.clear()
        self.modes.reset()

    def listening(self, server):
        """Called once the server is bound, before READY."""


class WebhookStore(ControlState):
    """The state of a fake that sends signed webhooks: its delivery
    settings, its events in the order they happened, the ids still
    pending, and the record of every delivery.

    A subclass says how its events look (EVENT_TYPE, EVENT_CONTENT,
    TYPE_KEY), which signature faults it knows (FAULTS) and which
    settings /__control/webhooks takes (SETTINGS), and fills in the
    methods that differ: clear_objects, new_event, sign_delivery,
    delivery_id, webhook_config, and configure and delivered where it
    has more to do.
    """

    EVENT_TYPE = None       # the field of an event that names its type
    EVENT_CONTENT = None    # the object POST /__control/events must carry
    TYPE_KEY = None         # the type's key in delivery records, and the
    #                         query parameter that filters by it
    FAULTS = (None, "none")
    SETTINGS = ("url", "delivery", "retries", "retryDelay")

    def __init__(self, args, modes):
        super().__init__(modes)
        self.lock = threading.RLock()
        self.webhook_url = args.webhook_url
        self.delivery = args.delivery
        self.retries = args.retries
        self.retry_delay = args.retry_delay
        self.public_url = args.public_url
        self.public = None
        self.deliveries = Recorder()
        self.queue = DeliveryQueue()
        self.clear()

    def listening(self, server):
        self.public = public_base(server, self.public_url)

    def clear(self):
        """Forget all state but the configuration."""
        with self.lock:
            self.events = {}
            self.event_order = []
            self.event_bodies = {}
            self.pending = []
            self.clear_objects()
        self.deliveries.clear()
        super().clear()

    def clear_objects(self):
        """Forget the fake's own objects (called under the lock)."""

    # ---- settings -----------------------------------------------------

    def configure(self, key, value):
        """Apply one setting of POST /__control/webhooks (under the lock);
        returns why the value is refused, or None."""
        if key == "url":
            self.webhook_url = value or None
        elif key == "delivery":
            if value not in ("auto", "manual"):
                return "delivery must be auto or manual"
            self.delivery = value
        elif key == "retries":
            self.retries = int(value)
        elif key == "retryDelay":
            self.retry_delay = float(value)
        return None

    def webhook_config(self):
        """What GET /__control/webhooks shows."""
        return {"url": self.webhook_url, "delivery": self.delivery,
                "retries": self.retries, "retryDelay": self.retry_delay}

    # ---- events and deliveries ---------------------------------------

    def new_event(self, body):
        """The event POST /__control/events asks for, stored but left
        pending (auto=False)."""
        raise NotImplementedError

    def add_event(self, eid, event, body, auto=None, send=True):
        """Keep an event and the exact bytes every delivery of it sends,
        and hand it to delivery: auto=None as configured, False to leave
        it pending; send=False keeps it without ever sending it.  Returns
        the automatic delivery's job, or None."""
        with self.lock:
            self.events[eid] = event
            self.event_order.append(eid)
            self.event_bodies[eid] = body
            if not send:
                return None
            if auto is None:
                auto = self.delivery == "auto"
            auto = bool(auto and self.webhook_url)
            if not auto:
                self.pending.append(eid)
                return None
        return self.queue.submit(self.deliver_with_retries, eid)

    def sign_delivery(self, event_id, fault, **opts):
        """(body, headers, record fields) for one delivery, signed as the
        real service does unless fault says otherwise."""
        raise NotImplementedError

    def delivery_options(self, body):
        """Keyword arguments for sign_delivery taken from a control
        body."""
        return {}

    def delivery_id(self):
        raise NotImplementedError

    def delivered(self, event_id):
        """An event was delivered cleanly (called under the lock)."""

    def deliver_once(self, event_id, fault=None, url=None, attempt=1,
                     **opts):
        """POST one event now and record the attempt; a 2xx answer to a
        correctly signed delivery takes it off the pending list."""
        if fault == "none":
            fault = None
        url = url or self.webhook_url
        if not url:
            raise ValueError("no webhook URL configured")
        body, headers, fields = self.sign_delivery(event_id, fault, **opts)
        etype = self.events[event_id][self.EVENT_TYPE]
        res = post_webhook(url, body, headers)
        rec = {"id": self.delivery_id(), "eventId": event_id,
               self.TYPE_KEY: etype, "time": time.time(),
               "attempt": attempt, "fault": fault}
        rec.update(fields)
        rec["requestHeaders"] = headers
        rec["body"] = body.decode("utf-8")
        rec.update(res)
        self.deliveries.add(rec)
        log("webhook %s %s -> %s %s", etype, event_id, rec["status"],
            rec["error"] or "")
        if rec["status"] is not None and 200 <= rec["status"] < 300 \
                and fault is None:
            with self.lock:
                self.delivered(event_id)
                if event_id in self.pending:
                    self.pending.remove(event_id)
        return rec

    def deliver_with_retries(self, event_id):
        attempt = 1
        while True:
            rec = self.deliver_once(event_id, attempt=attempt)
            ok = rec["status"] is not None and 200 <= rec["status"] < 300
            if ok or attempt > self.retries or STOPPING.is_set():
                return rec
            attempt += 1
            STOPPING.wait(self.retry_delay)

    def deliver_concurrently(self, event_id, n, fault=None, url=None,
                             **opts):
        """n deliveries of one event at the same moment, each on its own
        connection, as the services do when they retry while a slow
        handler is still busy."""
        results = [None] * n
        barrier = threading.Barrier(n)

        def one(i):
            try:
                barrier.wait(5)
            except threading.BrokenBarrierError:
                pass
            results[i] = self.deliver_once(event_id, fault, url,
                                           attempt=i + 1, **opts)

        threads = [threading.Thread(target=one, args=(i,), daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results


def wait_until_client_leaves(conn, cap):
    """Hold the calling thread until the peer closes the connection, the
    process stops, or cap seconds pass.  Returns why it stopped."""
    deadline = time.monotonic() + cap
    while not STOPPING.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return "cap"
        try:
            r, _, _ = select.select([conn], [], [], min(0.25, left))
        except (OSError, ValueError):
            return "gone"
        if r:
            try:
                data = conn.recv(1, socket.MSG_PEEK)
            except OSError:
                return "gone"
            if not data:
                return "gone"
            # A pipelined request: keep waiting, we never answer anyway.
            time.sleep(0.25)
    return "stopping"


class Handler(http.server.BaseHTTPRequestHandler):
    """Base request handler: HTTP/1.1, a regex router, JSON helpers.

    Subclasses set ROUTES, a list of (method, pattern, method_name); the
    pattern is matched against the path without the query string, and
    named groups become keyword arguments.
    """

    protocol_version = "HTTP/1.1"
    server_version = "fake/1.0"
    sys_version = ""
    ROUTES = []
    _compiled = None
    # Stripe pretty-prints its JSON; Groq and PayPal send it compact.
    JSON_INDENT = None

    # ---- plumbing ----------------------------------------------------

    @classmethod
    def _routes(cls):
        if cls.__dict__.get("_compiled") is None:
            cls._compiled = [(m, re.compile("^" + p + "$"), fn)
                             for (m, p, fn) in cls.ROUTES]
        return cls._compiled

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if not getattr(self.server, "quiet", False):
            log("%s %s", self.address_string(), fmt % args)

    def setup(self):
        super().setup()
        hook = getattr(self.server, "on_connection", None)
        if hook is not None:
            hook(self)

    def _dispatch(self):
        self.started = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        self.path_only = split.path
        self.query_string = split.query
        self.query = urllib.parse.parse_qs(split.query,
                                           keep_blank_values=True)
        allowed = []
        for method, rx, fn in self._routes():
            m = rx.match(self.path_only)
            if not m:
                continue
            # HEAD is served by the GET route unless one is given.
            if method != "*" and method != self.command and \
                    not (method == "GET" and self.command == "HEAD"):
                allowed.append(method)
                continue
            try:
                getattr(self, fn)(**m.groupdict())
            except BodyError as e:
                self.body_error(e)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        if allowed:
            self.method_not_allowed(allowed)
        else:
            self.not_found()

    def parse_request(self):
        # Per-request state must not leak between keep-alive requests.
        self._body = None
        self.answered = False
        return super().parse_request()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            self.close_connection = True

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_OPTIONS(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    # ---- input -------------------------------------------------------

    def body(self):
        """The raw request body (bytes), read once; chunked is decoded."""
        if self._body is not None:
            return self._body
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            self._body = self._read_chunked()
            return self._body
        length = self.headers.get("Content-Length")
        if length is None:
            self._body = b""
            return self._body
        try:
            n = int(length)
        except ValueError:
            raise BodyError(400, "bad Content-Length")
        if n < 0:
            raise BodyError(400, "bad Content-Length")
        if n > MAX_BODY:
            raise BodyError(413, "body larger than %d bytes" % MAX_BODY)
        self._body = self._read_exact(n)
        return self._body

    def _read_exact(self, n):
        chunks = []
        while n > 0:
            data = self.rfile.read(min(n, 1 << 20))
            if not data:
                raise BodyError(400, "body shorter than Content-Length")
            chunks.append(data)
            n -= len(data)
        return b"".join(chunks)

    def _read_chunked(self):
        out = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise BodyError(400, "truncated chunked body")
            size_s = line.split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BodyError(400, "bad chunk size")
            if size == 0:
                # Trailers end with an empty line.
                while True:
                    t = self.rfile.readline(8192)
                    if t in (b"\r\n", b"\n", b""):
                        break
                break
            total += size
            if total > MAX_BODY:
                raise BodyError(413, "body larger than %d bytes" % MAX_BODY)
            out.append(self._read_exact(size))
            self.rfile.readline(8)
        return b"".join(out)

    def json_body(self):
        """The body parsed as JSON; raises BodyError(400) when it isn't."""
        raw = self.body()
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError) as e:
            raise BodyError(400, "body is not valid JSON: %s" % e)

    def form_body(self):
        """The body as a list of (key, value) pairs (form-encoded)."""
        raw = self.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError(400, "form body is not UTF-8")
        return urllib.parse.parse_qsl(text, keep_blank_values=True)

    def header_dict(self):
        return {k: v for k, v in self.headers.items()}

    def request_record(self, **fields):
        """This request as /__control/requests lists it (time, method,
        path, query, headers, body as text), then fields."""
        body = self.body().decode("utf-8", "replace")
        rec = {"time": time.time(), "method": self.command,
               "path": self.path_only, "query": self.query_string,
               "headers": self.header_dict(), "body": body}
        rec.update(fields)
        return rec

    def qparam(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    # ---- output ------------------------------------------------------

    def send(self, status, body=b"", ctype="application/json",
             headers=None, reason=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status, reason)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or []):
            self.send_header(k, v)
        # RFC 9110: no Content-Length (and no body) on 1xx and 204.
        if status >= 200 and status != 204:
            self.send_header("Content-Length", str(len(body)))
        else:
            body = b""
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()
        self.answered = True

    def send_json(self, status, obj, headers=None):
        if self.JSON_INDENT is None:
            body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        else:
            body = json.dumps(obj, indent=self.JSON_INDENT).encode(
                "utf-8") + b"\n"
        self.send(status, body, "application/json", self._hdrs(headers))

    @staticmethod
    def _hdrs(headers):
        if headers is None:
            return []
        if isinstance(headers, dict):
            return list(headers.items())
        return list(headers)

    def redirect(self, status, location):
        self.send(status, b"", None, [("Location", location)])

    def drop(self, reset=False):
        """Close the connection without answering."""
        self.close_connection = True
        self.answered = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER,
                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, cap=DEFAULT_HANG_CAP):
        """Never answer: wait until the client gives up (or the cap), then
        close the connection."""
        why = wait_until_client_leaves(self.connection, float(cap))
        log("hung request released (%s)", why)
        self.drop()

    # ---- default errors (subclasses override for their API's shape) ---

    def not_found(self):
        self.send_json(404, {"error": {"message": "no route for %s %s" %
                                       (self.command, self.path_only)}})

    def method_not_allowed(self, allowed):
        self.send_json(405, {"error": {"message": "method not allowed"}},
                       [("Allow", ", ".join(sorted(set(allowed))))])

    def body_error(self, e):
        self.close_connection = True
        self.send_json(e.status, {"error": {"message": e.message}})

    # ---- control helpers ----------------------------------------------

    def control_json(self):
        """Control bodies: JSON object, empty meaning {}."""
        obj = self.json_body()
        if obj is None:
            return {}
        if not isinstance(obj, dict):
            raise BodyError(400, "control body must be a JSON object")
        return obj


class ControlMixin:
    """The control handlers every fake has, over server.store (a
    ControlState): POST/GET /__control/mode, GET /__control/requests,
    POST /__control/reset.  Mix in before Handler."""

    CONTROL_ROUTES = [
        ("POST", r"/__control/mode", "ctl_mode"),
        ("GET", r"/__control/mode", "ctl_get_mode"),
        ("GET", r"/__control/requests", "ctl_requests"),
        ("POST", r"/__control/reset", "ctl_reset"),
    ]

    @property
    def store(self):
        return self.server.store

    def ctl_fail(self, status, message):
        self.send_json(status, {"error": message})

    def ctl_mode(self):
        try:
            cur = self.store.modes.set(self.control_json())
        except ValueError as e:
            self.ctl_fail(400, str(e))
            return
        self.send_json(200, cur)

    def ctl_get_mode(self):
        self.send_json(200, self.store.modes.describe())

    def ctl_requests(self):
        self.send_json(200, {"requests": self.store.requests.list()})

    def ctl_reset(self):
        self.store.clear()
        self.send_json(200, {"ok": True})


class WebhookControlMixin(ControlMixin):
    """The control handlers of the fakes that send webhooks, over
    server.store (a WebhookStore): events, pending ids, deliveries (now,
    concurrent, with signature faults) and the webhook settings."""

    WEBHOOK_ROUTES = ControlMixin.CONTROL_ROUTES + [
        ("GET", r"/__control/deliveries", "ctl_deliveries"),
        ("GET", r"/__control/events", "ctl_events"),
        ("POST", r"/__control/events", "ctl_new_event"),
        ("GET", r"/__control/pending", "ctl_pending"),
        ("POST", r"/__control/deliver-pending", "ctl_deliver_pending"),
        ("POST", r"/__control/events/(?P<eid>[^/]+)/deliver", "ctl_deliver"),
        ("POST", r"/__control/events/(?P<eid>[^/]+)/redeliver",
         "ctl_deliver"),
        ("GET", r"/__control/webhooks", "ctl_get_webhooks"),
        ("POST", r"/__control/webhooks", "ctl_webhooks"),
    ]

    def wait_for(self, job, body):
        """With {"wait": true}, a control call answers only once the
        automatic delivery it caused has finished."""
        if body.get("wait") and job is not None:
            job.join(30)

    def ctl_deliveries(self):
        key = self.store.TYPE_KEY
        items = self.store.deliveries.list()
        eid = self.qparam("eventId")
        etype = self.qparam(key)
        if eid:
            items = [d for d in items if d["eventId"] == eid]
        if etype:
            items = [d for d in items if d[key] == etype]
        self.send_json(200, {"deliveries": items})

    def ctl_events(self):
        st = self.store
        with st.lock:
            evs = [copy.deepcopy(st.events[i]) for i in st.event_order]
            pending = list(st.pending)
        etype = self.qparam(st.TYPE_KEY)
        if etype:
            evs = [e for e in evs if e[st.EVENT_TYPE] == etype]
        self.send_json(200, {"events": evs, "pending": pending})

    def ctl_pending(self):
        with self.store.lock:
            pending = list(self.store.pending)
        self.send_json(200, {"pending": pending})

    def ctl_new_event(self):
        """Creates an arbitrary event; unless {"deliver": false} it is
        delivered once, now, with the chosen signature fault (if any).
        A faulty delivery leaves the event pending."""
        st = self.store
        body = self.control_json()
        if not isinstance(body.get(st.EVENT_TYPE), str) or \
                not isinstance(body.get(st.EVENT_CONTENT), dict):
            self.ctl_fail(400, "need {%s: string, %s: {...}}" %
                          (st.EVENT_TYPE, st.EVENT_CONTENT))
            return
        fault = body.get("fault")
        if fault not in st.FAULTS:
            self.ctl_fail(400, "unknown fault %r" % fault)
            return
        deliver = body.get("deliver", True)
        if deliver and not (body.get("url") or st.webhook_url):
            self.ctl_fail(409, "no webhook URL configured")
            return
        ev = st.new_event(body)
        out = {"event": ev}
        if deliver:
            out["deliveries"] = [st.deliver_once(
                ev["id"], fault, body.get("url"),
                **st.delivery_options(body))]
        self.send_json(200, out)

    def ctl_deliver(self, eid):
        st = self.store
        body = self.control_json()
        if eid not in st.events:
            self.ctl_fail(404, "no such event %s" % eid)
            return
        fault = body.get("fault")
        if fault not in st.FAULTS:
            self.ctl_fail(400, "unknown fault %r; one of %s" %
                          (fault, ", ".join(f for f in st.FAULTS if f)))
            return
        n = body.get("concurrent", 1)
        if not isinstance(n, int) or n < 1 or n > 64:
            self.ctl_fail(400, "concurrent must be 1..64")
            return
        url = body.get("url")
        if not (url or st.webhook_url):
            self.ctl_fail(409, "no webhook URL configured")
            return
        opts = st.delivery_options(body)
        if n == 1:
            res = [st.deliver_once(eid, fault, url, **opts)]
        else:
            res = st.deliver_concurrently(eid, n, fault, url, **opts)
        self.send_json(200, {"deliveries": res})

    def ctl_deliver_pending(self):
        st = self.store
        body = self.control_json()
        if not (body.get("url") or st.webhook_url):
            self.ctl_fail(409, "no webhook URL configured")
            return
        with st.lock:
            pending = list(st.pending)
        res = [st.deliver_once(eid, url=body.get("url")) for eid in pending]
        self.send_json(200, {"deliveries": res})

    def ctl_get_webhooks(self):
        self.send_json(200, self.store.webhook_config())

    def ctl_webhooks(self):
        st = self.store
        body = self.control_json()
        with st.lock:
            # In SETTINGS order: a refused value leaves the ones before it
            # applied and the ones after it untouched.
            for key in st.SETTINGS:
                if key in body:
                    problem = st.configure(key, body[key])
                    if problem:
                        self.ctl_fail(400, problem)
                        return
        self.ctl_get_webhooks()


class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Concurrent webhook tests open many connections at once.
    request_queue_size = 128


def serve(handler_cls, args, store=None, setup=None):
    """Bind, print READY, serve until SIGTERM/SIGINT, then exit 0.

    The handlers find store (a ControlState) as server.store.
    store.listening(server) and setup(server) run after bind and before
    READY, so the fake can learn its own port (for URLs it hands out)."""
    server = Server((args.host, args.port), handler_cls)
    server.quiet = getattr(args, "quiet", False)
    server.store = store
    if store is not None:
        store.listening(server)
    if setup is not None:
        setup(server)

    def stop(signum, frame):
        STOPPING.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    port = server.server_address[1]
    log("%s listening on %s:%d", handler_cls.__name__, args.host, port)
    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        STOPPING.set()
        server.server_close()
        log("stopped")
    return 0


def public_base(server, override):
    """The base URL the fake puts in the links it hands out."""
    if override:
        return override.rstrip("/")
    host, port = server.server_address[0], server.server_address[1]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d" % (host, port)


def post_webhook(url, body, headers, timeout=10.0):
    """POST body to url on a fresh connection; TLS is not verified
    (the server under test uses a self-signed certificate).

    Returns a dict describing the attempt: status, response body (first
    4 KiB as text), response headers, error, duration."""
    started = time.monotonic()
    res = {"url": url, "status": None, "responseBody": None,
           "responseHeaders": None, "error": None}
    u = urllib.parse.urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    try:
        if u.scheme == "https":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                               timeout=timeout, context=ctx)
        elif u.scheme == "http":
            conn = http.client.HTTPConnection(u.hostname, u.port or 80,
                                              timeout=timeout)
        else:
            raise ValueError("unsupported webhook URL scheme %r" % u.scheme)
        try:
            hdrs = dict(headers)
            hdrs["Content-Length"] = str(len(body))
            hdrs["Connection"] = "close"
            conn.request("POST", path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read(4096)
            res["status"] = resp.status
            res["responseBody"] = data.decode("utf-8", "replace")
            res["responseHeaders"] = dict(resp.getheaders())
        finally:
            conn.close()
    except Exception as e:  # recorded for the tests to read
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["durationMs"] = int((time.monotonic() - started) * 1000)
    return res


def b64(data):
    return base64.b64encode(data).decode("ascii")
