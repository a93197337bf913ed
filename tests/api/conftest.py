"""API tests run against the real server binary and the real PostgreSQL
cluster that scripts/test set up, with local fakes of Groq, Stripe and
PayPal and a local upstream API, all on loopback.

Fixtures:
  server   the session's server (started once, stopped at the end)
  spawn    starts extra servers for tests that kill or restart one
  fakes    the fakes (groq, stripe, paypal, upstream) as runner.FakeProcess
  client   a fresh, signed-out API client for the session's server
  user     a client signed in as a newly registered account
  admin    a client signed in as the seeded admin
  db       a PostgreSQL connection for checks the API does not expose

After every test the ledger invariant is checked: each balance equals the
sum of its credit transactions and none is negative.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg2
import psycopg2.extras
import pytest
import requests
import urllib3

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fakes"))

from runner import start_fake  # noqa: E402

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

BIN = os.environ.get("APISCRIBE_BIN",
                     os.path.join(TOP, ".build", "apiscribe", "apiscribe"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
PG_SCRIPT = os.environ.get("PG_SCRIPT", os.path.join(TOP, "scripts", "pg"))
ADMIN_EMAIL = "admin@apiscribe.dev"
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "admin-test-password-1")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-password-2024")
PASSWORD = "a-long-enough-password-42"

STRIPE_KEY = "sk_test_apiscribe_tests"
STRIPE_WHSEC = "whsec_apiscribe_tests_secret"
GROQ_KEY = "gsk_apiscribe_tests"
PAYPAL_ID = "apiscribe-tests-client"
PAYPAL_SECRET = "apiscribe-tests-secret"
PAYPAL_WEBHOOK_ID = "5GP028458E2496506"


def pytest_configure(config):
    config.addinivalue_line(
        "filterwarnings",
        "ignore::urllib3.exceptions.InsecureRequestWarning")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running apiscribe process and its log."""

    def __init__(self, port, env):
        self.port = port
        self.url = "https://127.0.0.1:%d" % port
        self.env = env
        fd, self.log_path = tempfile.mkstemp(prefix="apiscribe-",
                                             suffix=".log")
        os.close(fd)
        self.proc = None

    def start(self, timeout=30):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-f", "-n", "-r"], cwd=TOP,
                                     env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: %s" % self.log()[-2000:])
            try:
                r = requests.get(self.url + "/api/health", verify=False,
                                 timeout=2)
                if r.status_code in (200, 503):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start: %s" % self.log()[-2000:])

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return
        if sig == signal.SIGKILL:
            # The whole process group: Kore's workers only notice a dead
            # parent through a socket their siblings also hold, so they
            # would live on (and keep claiming jobs) after it.
            os.killpg(self.proc.pid, signal.SIGKILL)
        else:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def server_env(port, fakes, **extra):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": DATABASE_URL,
        "PORT": str(port),
        "BIND_ADDRESS": "127.0.0.1",
        "PUBLIC_BASE_URL": "https://127.0.0.1:%d" % port,
        "PIDFILE": tempfile.mktemp(prefix="apiscribe-", suffix=".pid"),
        "ALLOW_PRIVATE_DESTINATIONS": "1",
        "TRUST_PROXY": "1",
        "LOG_LEVEL": "DEBUG",
        # The test profile of DESIGN section 6.
        "PROXY_BODY_MAX": str(50 * 1024 * 1024),
        "PROXY_TIMEOUT_SECONDS": "60",
        "GROQ_API_KEY": GROQ_KEY,
        "GROQ_BASE_URL": fakes["groq"].url + "/openai/v1",
        "GROQ_MODEL": "llama-3.3-70b-versatile",
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WHSEC,
        "STRIPE_API_BASE": fakes["stripe"].url,
        "PAYPAL_CLIENT_ID": PAYPAL_ID,
        "PAYPAL_CLIENT_SECRET": PAYPAL_SECRET,
        "PAYPAL_WEBHOOK_ID": PAYPAL_WEBHOOK_ID,
        "PAYPAL_API_BASE": fakes["paypal"].url,
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture(scope="session")
def server_port():
    return free_port()


@pytest.fixture(scope="session")
def fakes(server_port):
    hook = "https://127.0.0.1:%d" % server_port
    started = {}
    try:
        started["groq"] = start_fake("groq", "--api-key", GROQ_KEY)
        started["stripe"] = start_fake(
            "stripe", "--secret-key", STRIPE_KEY, "--webhook-secret",
            STRIPE_WHSEC, "--webhook-url", hook + "/webhooks/stripe",
            "--delivery", "manual")
        started["paypal"] = start_fake(
            "paypal", "--client-id", PAYPAL_ID, "--client-secret",
            PAYPAL_SECRET, "--webhook-id", PAYPAL_WEBHOOK_ID,
            "--webhook-url", hook + "/webhooks/paypal", "--delivery",
            "manual")
        started["upstream"] = start_fake("upstream")
        yield started
    finally:
        for f in started.values():
            f.stop()


@pytest.fixture(scope="session")
def server(server_port, fakes):
    s = Server(server_port, server_env(server_port, fakes)).start()
    yield s
    s.stop()


@pytest.fixture
def spawn(fakes):
    """Starts extra servers with their own settings; stops them after."""
    started = []

    def start(**extra):
        port = free_port()
        s = Server(port, server_env(port, fakes, **extra)).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop(signal.SIGKILL)


def random_ip():
    return "10.%d.%d.%d" % (random.randint(0, 255), random.randint(0, 255),
                            random.randint(1, 254))


class Client:
    """A browser-like API client: keeps the cookie, sends the CSRF token,
    and comes from an address of its own (the server trusts the
    X-Forwarded-For header in tests), so throttling tests do not affect
    one another."""

    def __init__(self, base, ip=None):
        self.base = base
        self.http = requests.Session()
        self.http.verify = False
        self.ip = ip or random_ip()
        self.csrf = None
        self.user = None

    def request(self, method, path, csrf=True, **kw):
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("X-Forwarded-For", self.ip)
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        kw.setdefault("timeout", 60)
        kw.setdefault("verify", False)
        return self.http.request(method, self.base + path, headers=headers,
                                 **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def signed_in(self, r):
        assert r.status_code in (200, 201), r.text
        body = r.json()
        self.csrf = body["csrfToken"]
        self.user = body["user"]
        return self

    def register(self, email=None, password=PASSWORD, name="Test User"):
        email = email or "user-%s@example.com" % uuid.uuid4().hex[:12]
        r = self.post("/api/auth/register",
                      json={"email": email, "password": password,
                            "name": name})
        self.password = password
        return self.signed_in(r)

    def login(self, email, password):
        return self.signed_in(self.post("/api/auth/login",
                                        json={"email": email,
                                              "password": password}))


@pytest.fixture
def client(server):
    return Client(server.url)


@pytest.fixture
def user(server):
    return Client(server.url).register()


@pytest.fixture
def admin(server):
    return Client(server.url).login(ADMIN_EMAIL, ADMIN_PASSWORD)


class Db:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True

    def rows(self, sql, *args):
        with self.conn.cursor(
                cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []

    def one(self, sql, *args):
        rows = self.rows(sql, *args)
        return rows[0] if rows else None

    def val(self, sql, *args):
        row = self.one(sql, *args)
        return None if row is None else list(row.values())[0]

    def reconnect(self):
        try:
            self.conn.close()
        except psycopg2.Error:
            pass
        self.conn = psycopg2.connect(DATABASE_URL)
        self.conn.autocommit = True


@pytest.fixture(scope="session")
def db():
    d = Db(DATABASE_URL)
    yield d
    d.conn.close()


@pytest.fixture(autouse=True)
def ledger_invariant(request):
    """Every balance equals the sum of its ledger and is not negative."""
    yield
    if "db" not in request.fixturenames and "server" not in \
            request.fixturenames and "client" not in request.fixturenames:
        return
    d = request.getfixturevalue("db")
    try:
        bad = d.rows(
            "SELECT u.id, u.credits, coalesce(sum(t.amount), 0) AS ledger "
            "FROM users u LEFT JOIN credit_transactions t "
            "ON t.user_id = u.id GROUP BY u.id "
            "HAVING u.credits <> coalesce(sum(t.amount), 0) "
            "OR u.credits < 0")
    except psycopg2.Error:
        d.reconnect()
        bad = []
    assert bad == [], "ledger invariant broken: %r" % bad


def pg(action):
    """Starts or stops the test cluster (scripts/pg)."""
    subprocess.run([PG_SCRIPT, action], check=True, capture_output=True)


def error_of(r):
    """The error envelope of a response, checked for its shape."""
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "requestId"}, err
    assert err["requestId"] == r.headers["X-Request-Id"]
    assert err["message"]
    return err
