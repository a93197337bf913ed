// The one module that talks to the server. It owns fetch, the session's
// CSRF token (sent as X-CSRF-Token on every mutating request) and turns
// every failure -- the API's error envelope, a non-JSON answer, a lost
// connection -- into an ApiError with a message a person can read.

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

let csrfToken = null;
const unauthorizedListeners = new Set();

export class ApiError extends Error {
	constructor(status, code, message, requestId) {
		super(message);
		this.name = "ApiError";
		this.status = status;
		this.code = code;
		this.requestId = requestId || null;
	}
}

export function setCsrfToken(token) {
	csrfToken = token || null;
}

// Called with the error when a request that needed a session got 401, so
// the app can send the person to the login page.
export function onUnauthorized(fn) {
	unauthorizedListeners.add(fn);
	return () => unauthorizedListeners.delete(fn);
}

// Builds "/path?a=1&b=2", leaving out empty values.
export function withQuery(path, query) {
	const params = new URLSearchParams();
	for (const [k, v] of Object.entries(query || {})) {
		if (v !== undefined && v !== null && v !== "")
			params.set(k, String(v));
	}
	const qs = params.toString();
	return qs ? `${path}?${qs}` : path;
}

function statusText(status) {
	const words = {
		400: "the request was not understood",
		401: "you are not signed in",
		403: "this is not allowed",
		404: "this was not found",
		409: "this conflicts with the current state",
		413: "the request is too large",
		422: "the input is not valid",
		429: "too many requests; wait a moment",
		500: "the server failed",
		502: "an upstream service failed",
		503: "the service is not available right now",
		504: "an upstream service timed out",
	};
	return words[status] || `the server answered ${status}`;
}

async function errorFrom(res) {
	const rid = res.headers.get("X-Request-Id");
	let body = null;
	try {
		body = await res.json();
	} catch (e) {
		body = null;
	}
	const env = body && body.error;
	if (env && typeof env.message === "string")
		return new ApiError(res.status, env.code || "ERROR", env.message,
		    env.requestId || rid);
	return new ApiError(res.status, "HTTP_" + res.status,
	    statusText(res.status), rid);
}

// Sends one request. Options: body (sent as JSON), query (object),
// quiet401 (do not tell the listeners; for the start-up session probe),
// raw (resolve with the Response, for downloads).
export async function request(method, path, opts = {}) {
	const headers = { "Accept": "application/json" };
	const init = { method, headers, credentials: "same-origin" };
	if (opts.body !== undefined) {
		headers["Content-Type"] = "application/json";
		init.body = JSON.stringify(opts.body);
	}
	if (MUTATING.has(method) && csrfToken)
		headers["X-CSRF-Token"] = csrfToken;

	let res;
	try {
		res = await fetch(withQuery(path, opts.query), init);
	} catch (e) {
		throw new ApiError(0, "NETWORK",
		    "cannot reach the server; check the connection and retry");
	}

	if (!res.ok) {
		const err = await errorFrom(res);
		if (res.status === 401 && !opts.quiet401)
			unauthorizedListeners.forEach((fn) => fn(err));
		throw err;
	}
	if (opts.raw)
		return res;
	if (res.status === 204)
		return null;
	const type = res.headers.get("Content-Type") || "";
	if (!type.includes("json"))
		return res.text();
	try {
		return await res.json();
	} catch (e) {
		throw new ApiError(res.status, "BAD_RESPONSE",
		    "the server sent an answer that could not be read",
		    res.headers.get("X-Request-Id"));
	}
}

export const api = {
	get: (path, query, opts) => request("GET", path, { ...opts, query }),
	post: (path, body, opts) => request("POST", path, { ...opts, body }),
	patch: (path, body, opts) => request("PATCH", path, { ...opts, body }),
	del: (path, opts) => request("DELETE", path, opts),
};

// Fetches a file the API produces (CSV, HTML, ZIP) and hands it to the
// browser as a download, so a failure shows the API's message instead of
// a page of raw JSON.
export async function download(path, fallbackName) {
	const res = await request("GET", path, { raw: true });
	const blob = await res.blob();
	const disp = res.headers.get("Content-Disposition") || "";
	const m = /filename="?([^";]+)"?/i.exec(disp);
	const name = m ? m[1] : fallbackName;
	const url = URL.createObjectURL(blob);
	const a = document.createElement("a");
	a.href = url;
	a.download = name;
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
	return { name, size: blob.size, type: blob.type };
}
