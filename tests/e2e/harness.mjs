// Starts what the browser tests need, all on loopback, the way
// tests/api/conftest.py does for the API tests: the fakes of Groq,
// Stripe and PayPal and the test upstream (tests/fakes/*.py), then the
// real server binary against $DATABASE_URL with those fakes configured.
// Everything started here is stopped by stopAll(), also after failures.

import { spawn } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TOP = path.resolve(HERE, "..", "..");

export const BIN = process.env.APISCRIBE_BIN ||
    path.join(TOP, ".build", "apiscribe", "apiscribe");
export const DATABASE_URL = process.env.DATABASE_URL || "";
export const ADMIN_EMAIL = "admin@apiscribe.dev";
export const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD ||
    "admin-test-password-1";

// The same test credentials as tests/api/conftest.py.
const STRIPE_KEY = "sk_test_apiscribe_tests";
const STRIPE_WHSEC = "whsec_apiscribe_tests_secret";
const GROQ_KEY = "gsk_apiscribe_tests";
const PAYPAL_ID = "apiscribe-tests-client";
const PAYPAL_SECRET = "apiscribe-tests-secret";
const PAYPAL_WEBHOOK_ID = "5GP028458E2496506";

const PYTHON = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" :
    "python3";

const started = [];
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "apiscribe-e2e-"));

export function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on("error", reject);
		s.listen(0, "127.0.0.1", () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

// Runs tests/fakes/<name>.py on a free port and waits for "READY <port>".
export function startFake(name, args = []) {
	const script = path.join(TOP, "tests", "fakes", `${name}.py`);
	const logPath = path.join(tmpDir, `fake-${name}.log`);
	const log = fs.openSync(logPath, "a");
	const proc = spawn(PYTHON, [script, "--host", "127.0.0.1", "--port", "0",
	    ...args], { stdio: ["ignore", "pipe", log] });
	fs.closeSync(log);
	const fake = { name, proc, logPath, url: null, port: null };
	proc.on("error", () => {});
	started.push(fake);
	return new Promise((resolve, reject) => {
		let buf = "";
		const timer = setTimeout(() => reject(new Error(
		    `fake ${name} did not start:\n${readTail(logPath)}`)), 20000);
		proc.stdout.on("data", (d) => {
			buf += d.toString();
			const m = /READY (\d+)/.exec(buf);
			if (m && !fake.port) {
				clearTimeout(timer);
				fake.port = Number(m[1]);
				fake.url = `http://127.0.0.1:${fake.port}`;
				resolve(fake);
			}
		});
		proc.on("exit", (code) => {
			if (!fake.port) {
				clearTimeout(timer);
				reject(new Error(`fake ${name} exited (${code}):\n` +
				    readTail(logPath)));
			}
		});
	});
}

function readTail(p, n = 3000) {
	try {
		const s = fs.readFileSync(p, "utf8");
		return s.slice(-n);
	} catch (e) {
		return "";
	}
}

// Calls a fake's /__control API.
export async function control(fake, method, what, body) {
	const res = await fetch(`${fake.url}/__control/${what}`, {
		method,
		headers: { "Content-Type": "application/json" },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	if (!res.ok)
		throw new Error(`${fake.name} control ${what}: ${res.status} ${text}`);
	return text ? JSON.parse(text) : null;
}

// A request to the server, which has a self-signed certificate.
export function serverRequest(base, method, urlPath, { headers = {},
    body } = {}) {
	return new Promise((resolve, reject) => {
		const u = new URL(urlPath, base);
		const data = body === undefined ? null :
		    Buffer.from(typeof body === "string" ? body :
		    JSON.stringify(body));
		const req = https.request(u, { method, rejectUnauthorized: false,
		    headers: { ...(data ? { "Content-Length": data.length } : {}),
		    ...headers }, timeout: 60000 }, (res) => {
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => {
				const text = Buffer.concat(chunks).toString("utf8");
				let json = null;
				try {
					json = JSON.parse(text);
				} catch (e) {
					json = null;
				}
				resolve({ status: res.statusCode, headers: res.headers,
				    text, json });
			});
		});
		req.on("timeout", () => req.destroy(new Error("timed out")));
		req.on("error", reject);
		if (data)
			req.write(data);
		req.end();
	});
}

export async function startServer(port, fakes, extra = {}) {
	if (!fs.existsSync(BIN))
		throw new Error(`no server binary at ${BIN}; build it first ` +
		    "(scripts/test does) or set APISCRIBE_BIN");
	const logPath = path.join(tmpDir, `server-${port}.log`);
	const log = fs.openSync(logPath, "a");
	const base = `https://127.0.0.1:${port}`;
	const env = {
		...process.env,
		DATABASE_URL,
		PORT: String(port),
		BIND_ADDRESS: "127.0.0.1",
		PUBLIC_BASE_URL: base,
		PIDFILE: path.join(tmpDir, `apiscribe-${port}.pid`),
		ALLOW_PRIVATE_DESTINATIONS: "1",
		TRUST_PROXY: "1",
		LOG_LEVEL: "INFO",
		PROXY_BODY_MAX: String(50 * 1024 * 1024),
		PROXY_TIMEOUT_SECONDS: "60",
		GROQ_API_KEY: GROQ_KEY,
		GROQ_BASE_URL: `${fakes.groq.url}/openai/v1`,
		GROQ_MODEL: "llama-3.3-70b-versatile",
		STRIPE_SECRET_KEY: STRIPE_KEY,
		STRIPE_WEBHOOK_SECRET: STRIPE_WHSEC,
		STRIPE_API_BASE: fakes.stripe.url,
		PAYPAL_CLIENT_ID: PAYPAL_ID,
		PAYPAL_CLIENT_SECRET: PAYPAL_SECRET,
		PAYPAL_WEBHOOK_ID,
		PAYPAL_API_BASE: fakes.paypal.url,
		...extra,
	};
	const proc = spawn(BIN, ["-f", "-n", "-r"], {
		cwd: process.env.APISCRIBE_CWD || TOP, env, detached: true,
		stdio: ["ignore", log, log],
	});
	fs.closeSync(log);
	const server = { name: "server", proc, logPath, url: base, port,
	    group: true, error: null };
	proc.on("error", (err) => { server.error = err; });
	started.push(server);
	const deadline = Date.now() + 30000;
	while (Date.now() < deadline) {
		if (server.error)
			throw new Error(`server did not start: ${server.error}`);
		if (proc.exitCode !== null)
			throw new Error(`server exited:\n${readTail(logPath)}`);
		try {
			const r = await serverRequest(base, "GET", "/api/health");
			if (r.status === 200 || r.status === 503)
				return server;
		} catch (e) {
			// not listening yet
		}
		await sleep(100);
	}
	throw new Error(`server did not start:\n${readTail(logPath)}`);
}

export function serverAlive(server) {
	return server.proc.exitCode === null && server.proc.signalCode === null;
}

// A server that died is started again on the same port (the fakes'
// webhook URLs name it), so one crash fails the test it happened in,
// not every test after it.
export async function restartServer(env) {
	const dead = env.server;
	const i = started.indexOf(dead);
	if (i >= 0)
		started.splice(i, 1);
	env.server = await startServer(dead.port, env.fakes);
	return env.server;
}

export async function startAll() {
	const port = await freePort();
	const hook = `https://127.0.0.1:${port}`;
	// Start the fakes one at a time: a failure leaves nothing half made
	// that stopAll() would not know about.
	const fakes = {};
	fakes.groq = await startFake("groq", ["--api-key", GROQ_KEY]);
	// Stripe delivers its webhooks by itself, as the real one does, so a
	// purchase in the browser completes without the test's help.
	fakes.stripe = await startFake("stripe", ["--secret-key", STRIPE_KEY,
	    "--webhook-secret", STRIPE_WHSEC, "--webhook-url",
	    `${hook}/webhooks/stripe`, "--delivery", "auto"]);
	fakes.paypal = await startFake("paypal", ["--client-id", PAYPAL_ID,
	    "--client-secret", PAYPAL_SECRET, "--webhook-id",
	    PAYPAL_WEBHOOK_ID, "--webhook-url", `${hook}/webhooks/paypal`,
	    "--delivery", "auto"]);
	fakes.upstream = await startFake("upstream");
	const server = await startServer(port, fakes);
	return { server, fakes, logDir: tmpDir };
}

function stopOne(p) {
	return new Promise((resolve) => {
		if (!p.proc.pid || p.proc.exitCode !== null ||
		    p.proc.signalCode !== null) {
			resolve();
			return;
		}
		const kill = setTimeout(() => {
			try {
				if (p.group)
					process.kill(-p.proc.pid, "SIGKILL");
				else
					p.proc.kill("SIGKILL");
			} catch (e) {
				// already gone
			}
		}, 10000);
		p.proc.once("exit", () => {
			clearTimeout(kill);
			resolve();
		});
		try {
			p.proc.kill("SIGTERM");
		} catch (e) {
			clearTimeout(kill);
			resolve();
		}
	});
}

// Stops everything; the logs are kept for a failed run and removed
// after a good one.
export async function stopAll({ keepLogs = true } = {}) {
	// The server first, so it does not log errors about vanished fakes.
	const order = started.slice().reverse();
	for (const p of order)
		await stopOne(p);
	started.length = 0;
	if (keepLogs)
		console.log(`logs of the server and the fakes: ${tmpDir}`);
	else
		fs.rmSync(tmpDir, { recursive: true, force: true });
}

export function serverLog(server) {
	return readTail(server.logPath, 6000);
}
