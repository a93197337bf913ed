// The app's shell: the header and navigation, and a router over the
// History API that loads one view module per page. The server answers
// every non-API path with index.html, so any of these URLs can be opened
// directly or reloaded.
//
// A view module exports `default async function (root, ctx)` that fills
// `root`; ctx.onLeave(fn) registers what to stop (timers, polling) when
// the person navigates away.

import { api, onUnauthorized } from "/assets/api.js";
import * as session from "/assets/session.js";
import { h, replace, loading, errorBox, num, toast } from "/assets/ui.js";

const ROUTES = [
	{ path: "/", view: "landing", open: true,
	    title: "API documentation from real traffic" },
	{ path: "/login", view: "login", title: "Log in", open: true },
	{ path: "/register", view: "register", title: "Create an account",
	    open: true },
	{ path: "/dashboard", view: "dashboard", title: "Dashboard" },
	{ path: "/endpoints/:id", view: "endpoint", title: "Endpoint" },
	{ path: "/endpoints/:id/docs", view: "docs", title: "Documentation" },
	{ path: "/credits", view: "credits", title: "Credits" },
	{ path: "/credits/paypal-return", view: "paypal",
	    title: "PayPal payment" },
	{ path: "/notifications", view: "notifications",
	    title: "Notifications" },
	{ path: "/account", view: "account", title: "Account" },
	{ path: "/admin", view: "admin", title: "Admin", admin: true },
	{ path: "/admin/users/:id", view: "admin-user", title: "Admin · user",
	    admin: true },
	{ path: "/admin/:tab", view: "admin", title: "Admin", admin: true },
];

const main = document.getElementById("app");
const header = document.getElementById("site-header");
let leaveHooks = [];
let renderSeq = 0;
let unreadAt = 0;

function match(pathname) {
	const parts = pathname.replace(/\/+$/, "").split("/").slice(1);
	for (const r of ROUTES) {
		const want = r.path === "/" ? [] : r.path.split("/").slice(1);
		if (want.length !== parts.length)
			continue;
		const params = {};
		let ok = true;
		want.forEach((w, i) => {
			if (w.startsWith(":"))
				params[w.slice(1)] = decodeURIComponent(parts[i]);
			else if (w !== parts[i])
				ok = false;
		});
		if (ok)
			return { route: r, params };
	}
	return null;
}

export function navigate(to, { replace: rep = false } = {}) {
	if (rep)
		history.replaceState(null, "", to);
	else
		history.pushState(null, "", to);
	render();
}

function leave() {
	for (const fn of leaveHooks) {
		try {
			fn();
		} catch (e) {
			// A view's clean-up failing must not block the next page.
		}
	}
	leaveHooks = [];
}

function setTitle(t) {
	document.title = t ? `${t} · apiscribe` : "apiscribe";
}

async function render() {
	const seq = ++renderSeq;
	leave();
	const url = new URL(location.href);
	shownPath = url.pathname + url.search;
	const m = match(url.pathname);
	const user = session.currentUser();

	renderHeader();
	if (!m) {
		setTitle("Not found");
		replace(main, h("section.page",
		    h("h1", { tabindex: "-1" }, "Page not found"),
		    h("p", "There is no page at ", h("code", url.pathname), "."),
		    h("p", h("a", { href: user ? "/dashboard" : "/" },
		    user ? "Go to the dashboard" : "Go to the start page"))));
		focusHeading();
		return;
	}
	const { route, params } = m;
	if (!route.open && !user) {
		const next = url.pathname + url.search;
		navigate(`/login?next=${encodeURIComponent(next)}`,
		    { replace: true });
		return;
	}
	if (route.admin && !session.isAdmin()) {
		setTitle("Not allowed");
		replace(main, h("section.page",
		    h("h1", { tabindex: "-1" }, "Admins only"),
		    h("p", "This page needs an admin account.")));
		focusHeading();
		return;
	}

	setTitle(route.title);
	replace(main, loading());
	const root = h("section.page", { dataset: { view: route.view } });
	const ctx = {
		params,
		query: url.searchParams,
		navigate,
		setTitle,
		onLeave: (fn) => leaveHooks.push(fn),
		alive: () => seq === renderSeq,
		refreshUnread,
	};
	try {
		const mod = await import(`/assets/view-${route.view}.js`);
		if (seq !== renderSeq)
			return;
		replace(main, root);
		// Focus the heading as soon as the view has drawn it, not
		// only after all of its data has arrived.
		const done = mod.default(root, ctx);
		await Promise.race([done, new Promise((r) => setTimeout(r, 30))]);
		let focused = false;
		if (seq === renderSeq && main.querySelector("h1")) {
			focusHeading();
			focused = true;
		}
		await done;
		if (!focused && seq === renderSeq)
			focusHeading();
	} catch (err) {
		if (seq !== renderSeq)
			return;
		replace(main, h("section.page",
		    h("h1", { tabindex: "-1" }, "This page could not be shown"),
		    errorBox(err, () => render())));
		focusHeading();
	}
	if (user)
		refreshUnread();
}

// Moves focus to the new page's heading so keyboard and screen reader
// users start at the top of what changed.
function focusHeading() {
	const active = document.activeElement;
	if (active && active !== main && main.contains(active))
		return;
	const h1 = main.querySelector("h1");
	if (h1) {
		if (!h1.hasAttribute("tabindex"))
			h1.setAttribute("tabindex", "-1");
		h1.focus({ preventScroll: true });
	}
	window.scrollTo(0, 0);
}

function navLink(href, label, extra) {
	const here = location.pathname === href ||
	    (href !== "/" && location.pathname.startsWith(href + "/"));
	return h("a.nav-link", { href, "aria-current": here ? "page" : null },
	    label, extra || null);
}

function renderHeader() {
	const user = session.currentUser();
	const brand = h("a.brand", { href: user ? "/dashboard" : "/" },
	    h("span.brand-mark", { "aria-hidden": "true" }, "{ }"), "apiscribe");
	if (!user) {
		const demoBtn = h("button.btn.btn-small", { type: "button" },
		    "Try the demo");
		demoBtn.addEventListener("click", () => startDemo(demoBtn));
		replace(header, h("div.header-inner", brand,
		    h("nav.nav.nav-guest", { "aria-label": "Main" },
		    navLink("/login", "Log in"), navLink("/register", "Register"),
		    demoBtn)));
		return;
	}
	const badge = h("span.count#unread-count", { hidden: true,
	    "aria-label": "unread" });
	const logoutBtn = h("button.btn.btn-small.btn-ghost", { type: "button" },
	    "Log out");
	logoutBtn.addEventListener("click", async () => {
		logoutBtn.disabled = true;
		await session.logout().catch(() => null);
		navigate("/");
	});
	const toggle = h("button.btn.btn-small.btn-ghost.nav-toggle",
	    { type: "button", "aria-expanded": "false",
	    "aria-controls": "main-nav" }, "Menu");
	const nav = h("nav.nav#main-nav", { "aria-label": "Main" },
	    navLink("/dashboard", "Dashboard"),
	    navLink("/credits", "Credits"),
	    navLink("/notifications", "Notifications", badge),
	    navLink("/account", "Account"),
	    session.isAdmin() ? navLink("/admin", "Admin") : null,
	    h("a.credits-chip", { href: "/credits", title: "Your balance" },
	    h("span#balance", num(user.credits)), " credits",
	    user.isDemo ? h("span.demo-flag", "demo") : null),
	    logoutBtn);
	toggle.addEventListener("click", () => {
		const open = nav.classList.toggle("open");
		toggle.setAttribute("aria-expanded", String(open));
	});
	replace(header, h("div.header-inner", brand, toggle, nav));
}

async function startDemo(button) {
	button.disabled = true;
	try {
		await session.demo();
		navigate("/dashboard");
	} catch (err) {
		toast(err.message, "error");
	} finally {
		button.disabled = false;
	}
}

// The unread count in the navigation. Quietly absent when the
// notifications API cannot answer; the notifications page shows why.
async function refreshUnread(force) {
	if (!force && Date.now() - unreadAt < 15000)
		return;
	unreadAt = Date.now();
	try {
		const r = await api.get("/api/notifications", { limit: 50 });
		const n = typeof r.unreadCount === "number" ? r.unreadCount :
		    typeof r.unread === "number" ? r.unread :
		    (r.items || []).filter((x) => !x.readAt).length;
		const el = document.getElementById("unread-count");
		if (el) {
			el.textContent = n > 99 ? "99+" : String(n);
			el.hidden = n === 0;
		}
	} catch (err) {
		// Shown on the notifications page itself.
	}
}

// Same-origin links navigate inside the app; downloads, new tabs,
// modified clicks and other origins are left to the browser.
document.addEventListener("click", (ev) => {
	if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey ||
	    ev.ctrlKey || ev.shiftKey || ev.altKey)
		return;
	const a = ev.target.closest("a[href]");
	if (!a || a.target || a.hasAttribute("download") ||
	    a.dataset.external !== undefined)
		return;
	const url = new URL(a.href, location.href);
	if (url.origin !== location.origin || url.pathname.startsWith("/api/") ||
	    url.pathname.startsWith("/assets/") ||
	    url.pathname.startsWith("/proxy/"))
		return;
	if (a.classList.contains("skip-link")) {
		ev.preventDefault();
		main.focus();
		return;
	}
	if (url.pathname === location.pathname &&
	    url.search === location.search && url.hash)
		return;
	ev.preventDefault();
	const nav = document.getElementById("main-nav");
	if (nav)
		nav.classList.remove("open");
	if (url.href !== location.href)
		navigate(url.pathname + url.search + url.hash);
});

// Back and forward re-render, but a change of the #fragment alone does
// not (it only scrolls).
let shownPath = null;
window.addEventListener("popstate", () => {
	if (location.pathname + location.search !== shownPath)
		render();
});

session.subscribe(() => {
	const el = document.getElementById("balance");
	const u = session.currentUser();
	if (el && u)
		el.textContent = num(u.credits);
});

onUnauthorized(() => {
	if (!session.currentUser())
		return;
	session.forget();
	toast("Your session has ended; please log in again.", "error");
	const next = location.pathname + location.search;
	navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
});

async function start() {
	try {
		await session.load();
	} catch (err) {
		replace(main, h("section.page", h("h1", "apiscribe"),
		    errorBox(err, () => location.reload())));
		return;
	}
	render();
}

start();
