"""Fixtures for the fakes' own tests: one process per fake per module,
reset before each test, and a webhook receiver the fakes deliver to."""

import datetime
import http.server
import os
import ssl
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakekeys import (GROQ_KEY, PAYPAL_ID, PAYPAL_SECRET,  # noqa: E402
                      PAYPAL_WEBHOOK_ID, STRIPE_KEY, STRIPE_WHSEC)
from runner import start_fake  # noqa: E402


class Receiver:
    """A tiny HTTP(S) server that records webhook deliveries."""

    def __init__(self, tls_files=None):
        self.records = []
        self.lock = threading.Lock()
        self.status = 200
        self.delay = 0.0
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if rec.delay:
                    time.sleep(rec.delay)
                with rec.lock:
                    rec.records.append({
                        "path": self.path,
                        "headers": {k.lower(): v
                                    for k, v in self.headers.items()},
                        "body": body, "port": self.client_address[1],
                        "time": time.time()})
                out = b'{"received":true}'
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        scheme = "http"
        if tls_files:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls_files)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d/webhook" % (
            scheme, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def wait(self, n=1, timeout=10.0):
        """Waits for at least n deliveries; returns all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.records) >= n:
                    return list(self.records)
            time.sleep(0.02)
        with self.lock:
            return list(self.records)

    def clear(self):
        with self.lock:
            self.records = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("tls")
    crt, pem = d / "cert.pem", d / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(crt), str(pem)


@pytest.fixture
def tls_receiver(tls_files):
    r = Receiver(tls_files)
    yield r
    r.close()


def _module_fake(name, *args):
    fake = start_fake(name, *args)
    return fake


@pytest.fixture(scope="module")
def groq_proc():
    fake = _module_fake("groq", "--api-key", GROQ_KEY)
    yield fake
    fake.stop()


@pytest.fixture
def groq(groq_proc):
    groq_proc.control("POST", "reset", {})
    return groq_proc


@pytest.fixture(scope="module")
def stripe_proc():
    fake = _module_fake("stripe", "--secret-key", STRIPE_KEY,
                        "--webhook-secret", STRIPE_WHSEC)
    yield fake
    fake.stop()


@pytest.fixture
def stripe(stripe_proc, receiver):
    stripe_proc.control("POST", "reset", {})
    stripe_proc.control("POST", "webhooks", {"url": receiver.url,
                                             "delivery": "auto",
                                             "retries": 0})
    return stripe_proc


@pytest.fixture(scope="module")
def paypal_proc():
    fake = _module_fake("paypal", "--client-id", PAYPAL_ID,
                        "--client-secret", PAYPAL_SECRET,
                        "--webhook-id", PAYPAL_WEBHOOK_ID)
    yield fake
    fake.stop()


@pytest.fixture
def paypal(paypal_proc, receiver):
    paypal_proc.control("POST", "reset", {})
    paypal_proc.control("POST", "webhooks", {
        "url": receiver.url, "delivery": "auto", "retries": 0,
        "webhookId": PAYPAL_WEBHOOK_ID, "events": ["PAYMENT.CAPTURE.*"]})
    return paypal_proc


@pytest.fixture(scope="module")
def upstream_proc():
    fake = _module_fake("upstream")
    yield fake
    fake.stop()


@pytest.fixture
def upstream(upstream_proc):
    upstream_proc.control("POST", "reset", {})
    return upstream_proc
