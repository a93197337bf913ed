"""Start and stop the fakes from Python (pytest fixtures, scripts).

    from runner import start_fake
    with start_fake("stripe", "--webhook-url", url) as fake:
        requests.post(fake.url + "/v1/checkout/sessions", ...)

start_fake runs tests/fakes/<name>.py with /usr/bin/python3 on a free
loopback port, waits for its "READY <port>" line and returns a FakeProcess
whose stop() sends SIGTERM (then SIGKILL after a grace period).  The
fake's stderr goes to a log file whose path is FakeProcess.log_path.
"""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable


class FakeProcess:
    def __init__(self, name, proc, port, host, log_path):
        self.name = name
        self.proc = proc
        self.port = port
        self.host = host
        self.url = "http://%s:%d" % (host, port)
        self.log_path = log_path

    def control(self, method, path, body=None, timeout=30):
        """Calls the fake's /__control API; returns the decoded JSON."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + "/__control/" + path,
                                     data=data, method=method,
                                     headers={"Content-Type":
                                              "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def stop(self, grace=5.0):
        """SIGTERM, wait, SIGKILL if needed.  Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(grace)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_fake(name, *args, host="127.0.0.1", port=0, timeout=20.0,
               log_dir=None):
    script = os.path.join(HERE, name + ".py")
    if not os.path.exists(script):
        raise ValueError("no fake named %r" % name)
    fd, log_path = tempfile.mkstemp(prefix="fake-%s-" % name,
                                    suffix=".log", dir=log_dir)
    log = os.fdopen(fd, "w")
    proc = subprocess.Popen(
        [PYTHON, script, "--host", host, "--port", str(port)] + list(args),
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if r:
            line = proc.stdout.readline()
            break
        if proc.poll() is not None:
            break
    if not line.startswith(b"READY "):
        proc.kill()
        proc.wait()
        with open(log_path, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("fake %s did not start: %r\n%s" %
                               (name, line, f.read()))
    return FakeProcess(name, proc, int(line.split()[1]), host, log_path)
