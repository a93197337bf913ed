// Who is signed in. The session itself is an HttpOnly cookie the page
// cannot read; what the page keeps is the account the API returned and
// the CSRF token that goes with the cookie. Views subscribe to hear when
// the account changes (sign-in, sign-out, a new balance).

import { api, setCsrfToken } from "/assets/api.js";

const listeners = new Set();
let user = null;

function emit() {
	listeners.forEach((fn) => fn(user));
}

export function currentUser() {
	return user;
}

export function isAdmin() {
	return !!user && user.role === "admin";
}

export function subscribe(fn) {
	listeners.add(fn);
	return () => listeners.delete(fn);
}

// Register, login, demo and me all answer {user, csrfToken}.
export function signedIn(body) {
	user = body && body.user ? body.user : null;
	setCsrfToken(body ? body.csrfToken : null);
	emit();
	return user;
}

export function forget() {
	user = null;
	setCsrfToken(null);
	emit();
}

// Asks the server whether the cookie still names a session.
export async function load() {
	try {
		return signedIn(await api.get("/api/auth/me", undefined,
		    { quiet401: true }));
	} catch (err) {
		if (err.status === 401) {
			forget();
			return null;
		}
		throw err;
	}
}

export async function login(email, password) {
	return signedIn(await api.post("/api/auth/login", { email, password }));
}

export async function register(name, email, password) {
	return signedIn(await api.post("/api/auth/register",
	    { name, email, password }));
}

export async function demo() {
	return signedIn(await api.post("/api/auth/demo", {}));
}

export async function logout() {
	try {
		await api.post("/api/auth/logout", {}, { quiet401: true });
	} finally {
		forget();
	}
}

// Re-reads the balance after something that spends or adds credits.
export async function refreshCredits() {
	if (!user)
		return null;
	try {
		const c = await api.get("/api/credits");
		if (user && typeof c.balance === "number") {
			user = { ...user, credits: c.balance };
			emit();
		}
		return c;
	} catch (err) {
		return null;
	}
}

export function setCredits(balance) {
	if (user && typeof balance === "number") {
		user = { ...user, credits: balance };
		emit();
	}
}
