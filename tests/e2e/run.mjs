// Browser tests of the single-page app in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), against the real server
// binary, the real PostgreSQL and the fakes, all started here on
// loopback (see harness.mjs) and stopped at the end.
//
//	node tests/e2e/run.mjs [name-filter ...]
//
// Each test saves a screenshot in tests/e2e/screenshots/<test>.png (and
// <test>-failed.png when it fails); a few are also saved under names fit
// for the README (readme-*.png; E2E_README=1 copies them to
// tests/e2e/readme/, which is committed). Any Content-Security-Policy violation
// or uncaught script error in the page fails the test. The last line is
// "e2e: N passed, N failed"; the exit status is non-zero on failure.

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import {
	startAll, stopAll, serverRequest, serverLog, serverAlive, restartServer,
	ADMIN_EMAIL, ADMIN_PASSWORD,
} from "./harness.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = path.join(HERE, "screenshots");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TEST_TIMEOUT = 240000;
const PASSWORD = "a-long-enough-password-42";

const tests = [];
function test(name, fn) {
	tests.push({ name, fn });
}

class Failure extends Error {}

function expect(cond, message) {
	if (!cond)
		throw new Failure(message);
}

function uniqueEmail(tag) {
	return `e2e-${tag}-${crypto.randomBytes(5).toString("hex")}@example.com`;
}

function randomIp() {
	const b = crypto.randomBytes(3);
	return `10.${b[0]}.${b[1]}.${(b[2] % 250) + 1}`;
}

// A signed-in API client outside the browser, for setting things up
// (another user, calls through the proxy) and for checking results.
class ApiClient {
	constructor(base) {
		this.base = base;
		this.cookie = "";
		this.csrf = null;
		this.ip = randomIp();
	}

	async req(method, p, body, extra = {}) {
		const headers = { "X-Forwarded-For": this.ip, ...extra };
		if (this.cookie)
			headers.Cookie = this.cookie;
		if (body !== undefined)
			headers["Content-Type"] = "application/json";
		if (this.csrf && method !== "GET")
			headers["X-CSRF-Token"] = this.csrf;
		const r = await serverRequest(this.base, method, p,
		    { headers, body });
		const set = r.headers["set-cookie"];
		if (set && set.length)
			this.cookie = set.map((c) => c.split(";")[0]).join("; ");
		return r;
	}

	async register(tag) {
		this.email = uniqueEmail(tag);
		const r = await this.req("POST", "/api/auth/register",
		    { email: this.email, password: PASSWORD, name: `E2E ${tag}` });
		expect(r.status === 201, `register: ${r.status} ${r.text}`);
		this.csrf = r.json.csrfToken;
		this.user = r.json.user;
		return this;
	}
}

// --- helpers that drive the app -------------------------------------

async function registerInBrowser(page, base, tag) {
	const email = uniqueEmail(tag);
	await page.goto(`${base}/register`);
	await page.getByLabel("Name").fill(`E2E ${tag}`);
	await page.getByLabel("Email").fill(email);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Create account" }).click();
	await page.waitForURL(`${base}/dashboard`);
	return email;
}

async function balanceShown(page) {
	const t = await page.locator("#balance").textContent();
	return Number(String(t).replace(/[^0-9-]/g, ""));
}

async function waitFor(fn, what, timeout = 30000, every = 500) {
	const end = Date.now() + timeout;
	let last;
	while (Date.now() < end) {
		last = await fn();
		if (last)
			return last;
		await new Promise((r) => setTimeout(r, every));
	}
	throw new Failure(`timed out waiting for ${what}`);
}

// --- the tests --------------------------------------------------------

test("landing page, then direct links need a login", async (t) => {
	const { page, base } = t;
	const res = await page.goto(`${base}/`);
	const csp = res.headers()["content-security-policy"] || "";
	expect(/script-src 'self'(;|$)/.test(csp),
	    `the page has a strict script-src: ${csp}`);
	await page.getByRole("heading", { level: 1 }).waitFor();
	expect(await page.getByRole("link", { name: "Create a free account" })
	    .isVisible(), "the landing page offers registration");
	expect(await page.locator("#landing-demo").isVisible(),
	    "the landing page offers the demo");
	expect((await page.locator("script:not([src])").count()) === 0,
	    "index.html has no inline script");
	await t.shot("readme-landing");

	await page.goto(`${base}/credits`);
	await page.waitForURL(/\/login\?next=%2Fcredits$/);
	await page.getByRole("heading", { name: "Log in" }).waitFor();
});

test("register shows validation errors next to the field", async (t) => {
	const { page, base } = t;
	await page.goto(`${base}/register`);
	await page.getByLabel("Name").fill("Short Password");
	await page.getByLabel("Email").fill(uniqueEmail("short"));
	await page.getByLabel("Password").fill("short");
	await page.getByRole("button", { name: "Create account" }).click();
	const err = page.locator(".field-error:not([hidden])");
	await err.waitFor();
	const text = await err.textContent();
	expect(/password/i.test(text), `the error names the password: ${text}`);
	const pw = page.getByLabel("Password");
	expect(await pw.getAttribute("aria-invalid") === "true",
	    "the password field is marked invalid");
	expect(new URL(page.url()).pathname === "/register",
	    "the page stays on the form");
	await t.shot();
});

test("login with a wrong password shows the API's message", async (t) => {
	const { page, base } = t;
	await page.goto(`${base}/login`);
	await page.getByLabel("Email").fill(uniqueEmail("nobody"));
	await page.getByLabel("Password").fill("wrong-password-123");
	await page.getByRole("button", { name: "Log in" }).click();
	const alert = page.locator(".alert-error");
	await alert.waitFor();
	const text = await alert.textContent();
	expect(/email or the password is wrong/.test(text),
	    `the API's message is shown: ${text}`);
	await t.shot();
});

test("demo login", async (t) => {
	const { page, base } = t;
	await page.goto(`${base}/`);
	await page.locator("#landing-demo").click();
	await page.waitForURL(`${base}/dashboard`);
	await page.locator(".demo-flag").waitFor();
	await page.getByRole("heading", { name: "Dashboard" }).waitFor();
	await page.getByRole("link", { name: "Credits", exact: true }).click();
	await page.waitForURL(`${base}/credits`);
	await page.getByText("This is a demo account").waitFor();
	await page.locator(".package").first().waitFor();
	const buy = page.locator(".package button");
	const n = await buy.count();
	expect(n > 0, "packages have buy buttons");
	for (let i = 0; i < n; i++)
		expect(await buy.nth(i).isDisabled(), "a demo cannot buy");
	await t.shot();
});

test("register, create endpoint, capture, generate, read docs, export",
    async (t) => {
	const { page, base, fakes } = t;
	await page.goto(`${base}/`);
	await page.getByRole("link", { name: "Create a free account" }).click();
	await page.waitForURL(`${base}/register`);
	await registerInBrowser(page, base, "flow");
	expect(await balanceShown(page) === 100, "a new account has 100");

	// Create the endpoint: the cost is shown before.
	await page.locator("#create-cost").getByText("25 credits").waitFor();
	await page.getByLabel("Name").fill("Upstream shop");
	await page.getByLabel("Destination base URL").fill(fakes.upstream.url);
	await page.getByRole("button", { name: "Create endpoint" }).click();
	const proxyUrl = (await page.locator("#new-proxy-url").textContent())
	    .trim();
	expect(/\/proxy\/[0-9a-f-]{36}$/.test(proxyUrl),
	    `a proxy URL is shown: ${proxyUrl}`);
	await waitFor(async () => await balanceShown(page) === 75,
	    "the balance to drop to 75");
	await page.locator(".endpoints tbody tr").first().waitFor();
	await t.shot("readme-dashboard");

	// Calls through the proxy, from outside the browser.
	const p = new URL(proxyUrl).pathname;
	const send = (method, rest, opts) => serverRequest(base, method,
	    p + rest, opts);
	const sent = [
		await send("GET", "/users?page=1&per_page=5"),
		await send("GET", "/users/1"),
		await send("GET", "/users/2/orders"),
		await send("GET", "/users/me", { headers:
		    { Authorization: "Bearer test-token" } }),
		await send("POST", "/users", { headers:
		    { "Content-Type": "application/json" }, body:
		    { name: "Ada", email: "ada@example.com" } }),
		await send("GET", "/products?limit=3"),
		await send("GET", "/status/404"),
	];
	for (const r of sent)
		expect(r.status < 500, `the proxy forwarded: ${r.status} ${r.text}`);

	// The dashboard's count follows by itself.
	await waitFor(async () => (await page.locator(".endpoints .ep-calls")
	    .first().textContent()) === String(sent.length),
	    "the dashboard's call count", 30000);

	// They appear on the endpoint page by themselves.
	await page.getByRole("link", { name: "Open the endpoint" }).click();
	await page.locator("#proxy-url").waitFor();
	await waitFor(async () => await page.locator(".calls tbody tr")
	    .count() >= sent.length, "the calls to appear", 30000);

	// Filters: by method, and by status class.
	const rows = page.locator(".calls tbody tr");
	await page.getByLabel("Method").selectOption("POST");
	await waitFor(async () => await rows.count() === 1 &&
	    /POST/.test(await rows.first().textContent()), "only the POST call");
	await page.getByLabel("Method").selectOption("");
	await page.getByRole("textbox", { name: "Status" }).fill("4xx");
	await page.getByRole("button", { name: "Filter" }).click();
	await waitFor(async () => await rows.count() === 1 &&
	    /404/.test(await rows.first().textContent()), "only the 404 call");
	await page.getByRole("textbox", { name: "Status" }).fill("");
	await page.getByRole("button", { name: "Filter" }).click();
	await waitFor(async () => await rows.count() >= sent.length,
	    "all calls again");

	// The detail view marks the redacted Authorization header.
	await page.locator(".calls tbody tr", { hasText: "/users/me" }).first()
	    .locator("button.row-button").click();
	const dialog = page.locator("dialog.dialog");
	await dialog.waitFor();
	await dialog.locator("mark.redacted").first().waitFor();
	const hdr = await dialog.locator("table.headers").first().textContent();
	expect(/authorization/i.test(hdr) && !/test-token/.test(hdr),
	    "the token is not shown");
	await t.shot("readme-call-detail");
	await page.keyboard.press("Escape");
	await dialog.waitFor({ state: "detached" });

	// Charts of the traffic.
	await page.locator("svg.chart").first().waitFor();
	await t.shot("readme-endpoint");

	// Generate and follow the job.
	await page.locator("#generate").click();
	await page.locator("#job-panel .card").waitFor();
	await page.locator("#job-docs-link").waitFor({ timeout: 120000 });
	await page.locator(".badge-complete").first().waitFor();
	await page.locator("#job-docs-link").click();
	await page.waitForURL(/\/docs/);

	// The OpenAPI reference (Redoc) shows the inferred operations.
	const redoc = page.locator("#redoc");
	await redoc.getByText("/users/{userId}", { exact: false }).first()
	    .waitFor({ timeout: 30000 });
	await t.shot("readme-docs-reference");

	// The Markdown, rendered.
	await page.getByRole("tab", { name: "Markdown" }).click();
	await page.locator(".markdown h1, .markdown h2").first().waitFor();
	const md = await page.locator(".markdown").textContent();
	expect(/users/i.test(md), "the Markdown describes the users");
	expect(await page.locator(".markdown script").count() === 0,
	    "no script in rendered Markdown");

	// Reactivate, capture a new operation, generate version 2 and see
	// what changed.
	await page.getByRole("link", { name: "← Back to the endpoint" }).click();
	await page.locator("#reactivate").click();
	await page.locator("h1 .badge-active").waitFor();
	const more = await send("GET", "/search?q=ada&type=users");
	expect(more.status === 200, `the proxy forwards again: ${more.status}`);
	await waitFor(async () => await page.locator(".calls tbody tr",
	    { hasText: "/search" }).count() === 1, "the new call");
	await page.locator("#generate").click();
	await page.locator("#job-docs-link").waitFor({ timeout: 120000 });
	await page.locator("#job-docs-link").click();
	await page.waitForURL(/\/docs/);
	await page.getByRole("tab", { name: "Versions & changes" }).click();
	await page.getByRole("cell", { name: "Version 2", exact: true }).waitFor();
	await page.locator("#diff-from").selectOption("1");
	await page.locator("#diff-to").selectOption("2");
	await page.getByRole("button", { name: "Compare" }).click();
	const diff = page.locator("#diff-result");
	await diff.getByText("/search").first().waitFor();
	expect(await diff.locator(".diff-added").count() > 0,
	    "the new operation is listed as added");
	await t.shot("readme-docs-diff");

	// Exports: the calls CSV and the ZIP.
	await page.getByRole("tab", { name: "Exports" }).click();
	const [csv] = await Promise.all([page.waitForEvent("download"),
	    page.locator("#export-csv").click()]);
	const csvText = fs.readFileSync(await csv.path(), "utf8");
	expect(/method/i.test(csvText.split("\n")[0]),
	    `the CSV has a header: ${csvText.slice(0, 120)}`);
	expect(csvText.includes("/users"), "the CSV lists the calls");
	const [zip] = await Promise.all([page.waitForEvent("download"),
	    page.locator("#export-zip").click()]);
	const zipBytes = fs.readFileSync(await zip.path());
	expect(zipBytes.slice(0, 2).toString() === "PK", "the ZIP is a zip");
	const [printable] = await Promise.all([page.waitForEvent("popup"),
	    page.locator("#export-printable").click()]);
	await printable.waitForLoadState();
	expect(/Upstream shop/.test(await printable.content()),
	    "the printable page names the endpoint");
	await printable.close();
	await t.shot();
});

test("endpoint creation errors: bad destination, not enough credits",
    async (t) => {
	const { page, base, fakes } = t;
	await registerInBrowser(page, base, "broke");
	const name = page.getByLabel("Name");
	const dest = page.getByLabel("Destination base URL");
	const create = page.getByRole("button", { name: "Create endpoint" });

	// A refused destination: the reason appears under that field and
	// nothing is charged.
	await name.fill("Bad scheme");
	await dest.fill("ftp://example.com/files");
	await create.click();
	const destErr = page.locator(`#${await dest.getAttribute("id")}-error`);
	await destErr.waitFor();
	expect(/destinationUrl is not allowed/.test(await destErr.textContent()),
	    "the destination's error is under the destination field");
	expect(await dest.getAttribute("aria-invalid") === "true",
	    "the field is marked invalid");
	expect(await balanceShown(page) === 100, "nothing was charged");

	// 100 credits pay for four endpoints; the fifth is refused with 402.
	for (let i = 1; i <= 4; i++) {
		await name.fill(`Paid ${i}`);
		await dest.fill(fakes.upstream.url);
		await create.click();
		await waitFor(async () => await balanceShown(page) === 100 - 25 * i,
		    `the balance after endpoint ${i}`);
	}
	await page.locator("#create-cost").getByText("Not enough").waitFor();
	await name.fill("One too many");
	await dest.fill(fakes.upstream.url);
	await create.click();
	const err = page.locator("#create-endpoint .alert-error");
	await err.waitFor();
	expect(/not enough credits/i.test(await err.textContent()),
	    "the API's 402 message is shown");
	expect(await balanceShown(page) === 0, "the balance stays at 0");
	expect(await page.locator(".endpoints tbody tr").count() === 4,
	    "four endpoints are listed");
	await t.shot();

	// Rename one in its settings, then delete it.
	await page.getByRole("link", { name: "Paid 1" }).click();
	await page.getByRole("button", { name: "Settings" }).click();
	const dialog = page.locator("dialog.dialog");
	await dialog.getByLabel("Name").fill("Renamed");
	await dialog.getByRole("button", { name: "Save" }).click();
	await page.getByRole("heading", { name: /^Renamed/ }).waitFor();
	await page.getByRole("button", { name: "Settings" }).click();
	await dialog.getByRole("button", { name: "Delete endpoint" }).click();
	await dialog.getByRole("button", { name: /Delete it/ }).click();
	await page.waitForURL(`${base}/dashboard`);
	await waitFor(async () => await page.locator(".endpoints tbody tr")
	    .count() === 3, "three endpoints left");
	expect(await page.getByRole("link", { name: "Renamed" }).count() === 0,
	    "the deleted endpoint is gone");
});

test("purchase with the fake Stripe", async (t) => {
	const { page, base } = t;
	await registerInBrowser(page, base, "buyer");
	const before = await balanceShown(page);
	await page.getByRole("link", { name: "Credits", exact: true }).click();
	const pkg = page.locator(".package").first();
	await pkg.waitFor();
	const credits = Number((await pkg.textContent())
	    .match(/([\d,]+) credits/)[1].replace(/,/g, ""));
	await pkg.locator("button[data-provider=stripe]").click();

	// Stripe's hosted page (the fake's), then back to the app.
	await page.waitForURL(/\/pay\//);
	await page.locator("#amount").waitFor();
	await t.shot("stripe-checkout");
	await page.locator("#pay").click();
	await page.waitForURL(/\/credits\?payment=.*result=success/);
	await page.getByText("Payment complete").waitFor({ timeout: 60000 });
	await waitFor(async () => await balanceShown(page) === before + credits,
	    `the balance to reach ${before + credits}`);
	await page.locator(".payments .badge-completed").first().waitFor();
	await t.shot("readme-credits");
});

test("purchase with the fake PayPal", async (t) => {
	const { page, base } = t;
	await registerInBrowser(page, base, "paypal");
	const before = await balanceShown(page);
	await page.goto(`${base}/credits`);
	const pkg = page.locator(".package").first();
	await pkg.waitFor();
	const credits = Number((await pkg.textContent())
	    .match(/([\d,]+) credits/)[1].replace(/,/g, ""));
	await pkg.locator("button[data-provider=paypal]").click();

	// PayPal's approval page (the fake's); back on the app's return
	// page the order is captured.
	await page.waitForURL(/\/checkoutnow\?token=/);
	await page.locator("#approve").click();
	await page.waitForURL(/\/credits\/paypal-return\?payment=.*token=/);
	await page.getByText("Payment complete").waitFor({ timeout: 60000 });
	await waitFor(async () => await balanceShown(page) === before + credits,
	    `the balance to reach ${before + credits}`);
	await t.shot();
});

test("admin adjusts a user's credits", async (t) => {
	const { page, base } = t;
	const other = await new ApiClient(base).register("adjusted");
	await page.goto(`${base}/login`);
	await page.getByLabel("Email").fill(ADMIN_EMAIL);
	await page.getByLabel("Password").fill(ADMIN_PASSWORD);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForURL(`${base}/dashboard`);
	await page.getByRole("link", { name: "Admin", exact: true }).click();
	await page.locator("#admin-user-search").fill(other.email);
	await page.getByRole("button", { name: "Search" }).click();
	await page.getByRole("link", { name: other.email }).click();
	await page.locator("#adjust-credits").waitFor();
	await page.getByLabel(/^Amount/).fill("40");
	await page.getByLabel("Reason").fill("e2e goodwill credit");
	await page.getByRole("button", { name: "Apply" }).click();
	await waitFor(async () => (await page.locator("#admin-user-credits")
	    .textContent()).trim() === "140", "the new balance on the page");
	const r = await other.req("GET", "/api/credits");
	expect(r.json && r.json.balance === 140,
	    `the user's balance is 140: ${r.text}`);
	await t.shot("readme-admin");

	// The adjustment is in the audit log, found by its target.
	await page.goto(`${base}/admin/audit`);
	await page.locator("#audit-target").fill(other.user.id);
	await page.getByRole("button", { name: "Filter" }).click();
	await page.locator(".audit tbody tr", { hasText: "admin_adjust" })
	    .first().waitFor();

	// A checkout whose webhook never came: the admin grants it once.
	const pk = (await other.req("GET", "/api/credits/packages")).json
	    .packages[0];
	const co = await other.req("POST", "/api/payments/checkout",
	    { packageId: pk.id, provider: "stripe" });
	expect(co.status === 200 || co.status === 201,
	    `checkout: ${co.status} ${co.text}`);
	await page.goto(`${base}/admin/payments`);
	await page.locator("#admin-payment-status").selectOption("PENDING");
	await page.getByRole("button", { name: "Show" }).click();
	const prow = page.locator(`tr[data-payment-id="${co.json.paymentId}"]`);
	await prow.getByRole("button", { name: "Grant credits" }).click();
	await waitFor(async () => (await other.req("GET", "/api/credits"))
	    .json.balance === 140 + pk.credits, "the granted credits");

	// The other tabs show their data, not an error.
	for (const [tab, ready] of [["endpoints", "table, .state-empty"],
	    ["payments", "table, .state-empty"],
	    ["queue", ".stat-value"], ["metrics", "svg.chart"]]) {
		await page.goto(`${base}/admin/${tab}`);
		await page.locator(`#admin-panel :is(${ready})`).first().waitFor();
		expect(await page.locator("#admin-panel .alert-error").count() ===
		    0, `the ${tab} tab shows no error`);
	}
	await t.shot("readme-admin-metrics");
});

test("notifications, account and logout", async (t) => {
	const { page, base, fakes } = t;
	// Set up through the API: an endpoint with one call, documented.
	const u = await new ApiClient(base).register("notified");
	const ep = await u.req("POST", "/api/endpoints",
	    { name: "Notified", destinationUrl: fakes.upstream.url });
	expect(ep.status === 201, `endpoint: ${ep.status} ${ep.text}`);
	const proxied = await serverRequest(base, "GET",
	    `${new URL(ep.json.proxyUrl).pathname}/users/3`);
	expect(proxied.status === 200, `proxy: ${proxied.status}`);
	await waitFor(async () => (await u.req("GET",
	    `/api/endpoints/${ep.json.id}/calls`)).json.items.length === 1,
	    "the call to be captured");
	const gen = await u.req("POST", `/api/endpoints/${ep.json.id}/generate`,
	    {});
	expect(gen.status === 202, `generate: ${gen.status} ${gen.text}`);
	await waitFor(async () => (await u.req("GET",
	    `/api/endpoints/${ep.json.id}`)).json.status === "COMPLETE",
	    "the documentation", 60000);

	await page.goto(`${base}/login`);
	await page.getByLabel("Email").fill(u.email);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.waitForURL(`${base}/dashboard`);
	const badge = page.locator("#unread-count");
	await waitFor(async () => (await badge.isVisible()) &&
	    (await badge.textContent()) === "1", "one unread notification");

	await page.getByRole("link", { name: /^Notifications/ }).click();
	const item = page.locator(".notification.unread");
	await item.getByText("Documentation ready").waitFor();
	await t.shot();
	await item.getByRole("button", { name: "Mark as read" }).click();
	await page.locator(".notification.unread").waitFor({ state: "detached" });
	await waitFor(async () => !(await badge.isVisible()), "no unread left");
	await page.locator(".notification").getByRole("link", { name: "Open" })
	    .click();
	await page.waitForURL(/\/endpoints\/[0-9a-f-]+\/docs/);

	await page.getByRole("link", { name: "Account", exact: true }).click();
	expect((await page.locator("#account-email").textContent()) === u.email,
	    "the account page shows the email");
	await page.locator("#logout").click();
	await page.waitForURL(`${base}/`);
	await page.goto(`${base}/dashboard`);
	await page.waitForURL(/\/login\?next=%2Fdashboard$/);
});

test("phone-sized screen and keyboard", async (t) => {
	const { page, base, fakes } = t;
	const u = await new ApiClient(base).register("phone");
	const ep = await u.req("POST", "/api/endpoints",
	    { name: "Phone", destinationUrl: fakes.upstream.url });
	expect(ep.status === 201, `endpoint: ${ep.status} ${ep.text}`);
	await serverRequest(base, "GET",
	    `${new URL(ep.json.proxyUrl).pathname}/users?page=2`);

	await page.setViewportSize({ width: 390, height: 844 });
	await page.goto(`${base}/login`);
	await page.getByLabel("Email").fill(u.email);
	await page.getByLabel("Password").fill(PASSWORD);
	await page.keyboard.press("Enter");
	await page.waitForURL(`${base}/dashboard`);
	await page.getByRole("heading", { name: "Dashboard" }).waitFor();
	const overflow = () => page.evaluate(() =>
	    document.documentElement.scrollWidth - window.innerWidth);
	expect(await overflow() <= 0, "nothing wider than the screen");

	// After a page change focus is on its heading, for screen readers.
	await waitFor(() => page.evaluate(() =>
	    document.activeElement.tagName === "H1" &&
	    document.activeElement.textContent === "Dashboard"),
	    "focus on the page's heading", 5000, 100);

	// The skip link is the stop before the header's first link, and
	// Enter on it moves focus to the content; the menu opens from the
	// keyboard and its links follow with Enter.
	await page.locator("a.brand").focus();
	await page.keyboard.press("Shift+Tab");
	const first = await page.evaluate(() =>
	    document.activeElement.textContent);
	expect(/skip/i.test(first), `a skip link comes first: ${first}`);
	await page.keyboard.press("Enter");
	await waitFor(() => page.evaluate(() =>
	    document.activeElement.id === "app"), "focus on the content",
	    5000, 100);
	const toggle = page.locator(".nav-toggle");
	expect(await toggle.isVisible(), "a menu button on a phone");
	expect(!(await page.getByRole("link", { name: "Credits",
	    exact: true }).isVisible()), "the menu starts closed");
	await toggle.focus();
	await page.keyboard.press("Enter");
	const credits = page.getByRole("link", { name: "Credits", exact: true });
	await credits.waitFor();
	await t.shot("readme-phone-menu");
	await credits.focus();
	await page.keyboard.press("Enter");
	await page.waitForURL(`${base}/credits`);
	await page.getByRole("heading", { name: "Credits", exact: true })
	    .waitFor();
	await page.locator(".package").first().waitFor();
	expect(await overflow() <= 0, "the credits page fits");

	// The endpoint page and a call's detail fit too; the detail opens
	// and closes from the keyboard.
	await page.goto(`${base}/endpoints/${ep.json.id}`);
	const open = page.locator(".calls button.row-button").first();
	await open.waitFor();
	expect(await overflow() <= 0, "the endpoint page fits");
	await open.focus();
	await page.keyboard.press("Enter");
	const dialog = page.locator("dialog.dialog");
	await dialog.locator("h3").first().waitFor();
	const box = await dialog.boundingBox();
	expect(box.width <= 390, `the dialog fits (${box.width}px)`);
	await page.keyboard.press("Escape");
	await dialog.waitFor({ state: "detached" });
	expect(await page.evaluate(() =>
	    document.activeElement.classList.contains("row-button")),
	    "focus returns to the row that opened the dialog");
	await t.shot();
});

test("Markdown is rendered without anything that could run", async (t) => {
	const { page, base } = t;
	await page.goto(`${base}/`);
	const out = await page.evaluate(async () => {
		const m = await import("/assets/markdown.js");
		const el = await m.renderMarkdown([
			"# Title",
			"<script>window.__x = 1</script>",
			"<img src=x onerror=\"window.__x = 2\">",
			"[click](javascript:window.__x=3)",
			"<iframe src=\"/\"></iframe>",
			"`<b>code</b>`",
		].join("\n\n"));
		document.body.append(el);
		await new Promise((r) => setTimeout(r, 200));
		return {
			h1: el.querySelector("h1") && el.querySelector("h1").textContent,
			scripts: el.querySelectorAll("script").length,
			iframes: el.querySelectorAll("iframe").length,
			handlers: [...el.querySelectorAll("*")].filter((n) =>
			    [...n.attributes].some((a) => /^on/i.test(a.name))).length,
			jsLinks: [...el.querySelectorAll("a")].filter((a) =>
			    /^javascript:/i.test(a.getAttribute("href") || "")).length,
			code: el.querySelector("code") &&
			    el.querySelector("code").textContent,
			rawAsText: el.textContent.includes("<script>"),
			ran: window.__x || 0,
		};
	});
	expect(out.h1 === "Title", "Markdown headings render");
	expect(out.scripts === 0 && out.iframes === 0 && out.handlers === 0 &&
	    out.jsLinks === 0, `nothing active survives: ${JSON.stringify(out)}`);
	expect(out.code === "<b>code</b>", "code is shown as text");
	expect(out.rawAsText, "raw HTML in Markdown is shown as text");
	expect(out.ran === 0, "no injected code ran");
});

// --- the runner ---------------------------------------------------------

// E2E_README=1 copies the readme-*.png shots of this run into
// tests/e2e/readme/, the committed pictures the README shows.
function keepReadmeShots() {
	const out = path.join(HERE, "readme");
	fs.mkdirSync(out, { recursive: true });
	for (const f of fs.readdirSync(SHOTS)) {
		if (f.startsWith("readme-") && f.endsWith(".png"))
			fs.copyFileSync(path.join(SHOTS, f),
			    path.join(out, f.slice("readme-".length)));
	}
}

async function main() {
	const filters = process.argv.slice(2);
	const chosen = tests.filter((tc) => filters.length === 0 ||
	    filters.some((f) => tc.name.includes(f)));
	fs.mkdirSync(SHOTS, { recursive: true });

	let env = null, browser = null;
	let passed = 0, failed = 0;
	try {
		env = await startAll();
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ["--no-sandbox", "--disable-gpu", "--disable-quic",
			    "--no-first-run", "--disable-background-networking",
			    "--disable-component-update", "--disable-sync",
			    "--disable-dev-shm-usage"],
		});
	} catch (err) {
		console.error(`e2e: could not start: ${err.stack || err}`);
		if (browser)
			await browser.close().catch(() => {});
		await stopAll();
		console.log(`e2e: 0 passed, ${chosen.length} failed`);
		process.exit(1);
	}

	let restarts = 0;
	for (const tc of chosen) {
		if (!serverAlive(env.server)) {
			restarts++;
			console.log(`WARN the server exited during the run; its ` +
			    `log ends:\n${serverLog(env.server)}`);
			try {
				await restartServer(env);
			} catch (err) {
				console.log(`WARN could not restart it: ${err}`);
			}
		}
		const slug = tc.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")
		    .replace(/^-|-$/g, "").slice(0, 60);
		const context = await browser.newContext({
			ignoreHTTPSErrors: true,
			acceptDownloads: true,
			viewport: { width: 1280, height: 860 },
			locale: "en-GB",
		});
		const page = await context.newPage();
		page.setDefaultTimeout(20000);
		const problems = [];
		page.on("console", (msg) => {
			if (/Content.Security.Policy/i.test(msg.text()))
				problems.push(`CSP: ${msg.text()}`);
		});
		page.on("pageerror", (err) => problems.push(`page error: ${err}`));
		let shotTaken = false;
		const t = {
			page, context, base: env.server.url, fakes: env.fakes,
			server: env.server,
			// Shots for the README show what a screen shows (the
			// sticky header stays on top); the others the whole page.
			shot: async (name) => {
				const file = path.join(SHOTS, `${name || slug}.png`);
				const readme = String(name).startsWith("readme-");
				if (readme)
					await page.evaluate(() => window.scrollTo(0, 0));
				await page.screenshot({ path: file, fullPage: !readme });
				if (!name || name === slug)
					shotTaken = true;
			},
		};
		const started = Date.now();
		let error = null;
		try {
			await Promise.race([tc.fn(t), new Promise((_, rej) =>
			    setTimeout(() => rej(new Failure("test timed out")),
			    TEST_TIMEOUT))]);
			if (problems.length)
				throw new Failure(problems.join("\n"));
			if (!shotTaken)
				await t.shot();
		} catch (err) {
			error = err;
			await page.screenshot({ path: path.join(SHOTS,
			    `${slug}-failed.png`), fullPage: true }).catch(() => {});
		}
		await context.close().catch(() => {});
		const secs = ((Date.now() - started) / 1000).toFixed(1);
		if (error) {
			failed++;
			console.log(`FAIL ${tc.name} (${secs} s)`);
			console.log(`     ${String(error.stack || error)
			    .split("\n").slice(0, 6).join("\n     ")}`);
		} else {
			passed++;
			console.log(`ok   ${tc.name} (${secs} s)`);
		}
	}

	await browser.close().catch(() => {});
	if (process.env.E2E_README === "1")
		keepReadmeShots();
	if (failed > 0)
		console.log(`server log (last lines):\n${serverLog(env.server)}`);
	await stopAll({ keepLogs: failed > 0 || restarts > 0 });
	if (restarts > 0)
		console.log(`WARN the server had to be restarted ${restarts} ` +
		    "time(s)");
	console.log(`e2e: ${passed} passed, ${failed} failed`);
	process.exit(failed > 0 ? 1 : 0);
}

process.on("SIGINT", async () => {
	await stopAll();
	process.exit(130);
});

main().catch(async (err) => {
	console.error(err);
	await stopAll();
	console.log("e2e: 0 passed, 1 failed");
	process.exit(1);
});

