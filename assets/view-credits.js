// Credits: the balance, the packages and their purchase through Stripe or
// PayPal, the ledger of transactions and the payment history. Stripe
// sends the buyer back to /credits?payment=<id>&result=success|cancel;
// the credits arrive with Stripe's webhook, so the page waits for the
// payment to complete.

import { api } from "/assets/api.js";
import * as session from "/assets/session.js";
import {
	h, replace, loading, empty, errorBox, busy, statusBadge, num, money,
	time, table, pager, alertBox,
} from "/assets/ui.js";

const WAIT_MS = 1500;
const WAIT_TRIES = 60;

const KINDS = {
	SIGNUP_BONUS: "Sign-up bonus",
	PURCHASE: "Purchase",
	ENDPOINT_CREATE: "Endpoint created",
	ADMIN_ADJUST: "Adjusted by an admin",
	REFUND: "Refund",
};

export default async function credits(root, ctx) {
	const user = session.currentUser();
	const balance = h("span.stat-value#credits-balance", num(user.credits));
	const returnSlot = h("div#payment-return");
	const packagesSlot = h("div", loading("Loading packages…"));
	const txSlot = h("div", loading("Loading transactions…"));
	const paySlot = h("div", loading("Loading payments…"));

	root.append(h("div.page-head", h("h1", "Credits")),
	    returnSlot,
	    h("div.grid.grid-3",
		h("div.card.stat", balance, h("span.stat-label",
		    "credits available")),
		h("div.card", { style: "grid-column: span 2" },
		    h("p", "Creating an endpoint costs 25 credits. Credits " +
			"never expire."),
		    user.isDemo ? alertBox("warn", "This is a demo account: " +
			"it cannot buy credits. ",
			h("a", { href: "/register" }, "Register"),
			" to buy them.") : null)),
	    h("h2", { style: "margin-top:1.5rem" }, "Buy credits"), packagesSlot,
	    h("div.grid.grid-2", { style: "margin-top:1.5rem" },
		h("div", h("h2", "Transactions"), txSlot),
		h("div", h("h2", "Payments"), paySlot)));

	const unsub = session.subscribe((u) => {
		if (u)
			balance.textContent = num(u.credits);
	});
	ctx.onLeave(unsub);

	const timers = [];
	ctx.onLeave(() => timers.forEach(clearTimeout));

	async function refreshAll() {
		await session.refreshCredits();
		await Promise.all([loadTransactions(), loadPayments()]);
	}

	async function loadPackages() {
		let r;
		try {
			r = await api.get("/api/credits/packages");
		} catch (err) {
			replace(packagesSlot, errorBox(err, loadPackages));
			return;
		}
		const providers = r.providers || {};
		const pkgs = r.packages || [];
		if (pkgs.length === 0) {
			replace(packagesSlot, empty("No packages on sale"));
			return;
		}
		const err = h("div");
		replace(packagesSlot, h("div.grid.grid-3", pkgs.map((p) =>
		    packageCard(p, providers, user.isDemo, err))), err,
		    !providers.stripe && !providers.paypal ? alertBox("warn",
			"No payment provider is configured on this server, so " +
			"credits cannot be bought right now.") : null);
	}

	async function loadTransactions() {
		let first;
		try {
			first = await api.get("/api/credits/transactions",
			    { limit: 20 });
		} catch (err) {
			replace(txSlot, errorBox(err, loadTransactions));
			return;
		}
		if (!(first.items || []).length) {
			replace(txSlot, empty("No transactions yet"));
			return;
		}
		const tbl = table(["When", "What", "Amount", "Balance"], [],
		    { caption: "Credit transactions", className: "transactions" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/credits/transactions",
		    { limit: 20, cursor }), (items) => {
			for (const t of items) {
				body.append(h("tr",
				    h("td.nowrap", time(t.createdAt)),
				    h("td", KINDS[t.kind] || t.kind,
					t.reference ? h("div.small.muted.mono",
					    t.reference) : null),
				    h("td.num", { class: t.amount < 0 ? "diff-removed" :
					"diff-added" }, (t.amount > 0 ? "+" : "") +
					num(t.amount)),
				    h("td.num", num(t.balanceAfter))));
			}
		});
		replace(txSlot, tbl, more);
		more.start(first);
	}

	async function loadPayments() {
		let first;
		try {
			first = await api.get("/api/payments", { limit: 20 });
		} catch (err) {
			replace(paySlot, errorBox(err, loadPayments));
			return;
		}
		if (!(first.items || []).length) {
			replace(paySlot, empty("No payments yet",
			    "Purchases appear here with their status."));
			return;
		}
		const tbl = table(["When", "Package", "Amount", "Status"], [],
		    { caption: "Payments", className: "payments" });
		const body = tbl.querySelector("tbody");
		const more = pager((cursor) => api.get("/api/payments",
		    { limit: 20, cursor }), (items) => {
			for (const p of items) {
				body.append(h("tr", { dataset: { paymentId: p.id } },
				    h("td.nowrap", time(p.createdAt)),
				    h("td", `${num(p.credits)} credits`,
					h("div.small.muted", p.provider)),
				    h("td.num", money(p.amountCents, p.currency)),
				    h("td", statusBadge(p.status),
					p.failureReason ? h("div.small.muted",
					    p.failureReason) : null)));
			}
		});
		replace(paySlot, tbl, more);
		more.start(first);
	}

	// After Stripe's redirect: wait for the webhook to complete it.
	async function followReturn(paymentId, result) {
		if (result === "cancel") {
			replace(returnSlot, alertBox("info", "The payment was " +
			    "cancelled; nothing was charged."));
			return;
		}
		replace(returnSlot, alertBox("info", h("span.spinner",
		    { "aria-hidden": "true" }), " Payment received by the " +
		    "provider; waiting for its confirmation…"));
		let tries = 0;
		const check = async () => {
			if (!ctx.alive())
				return;
			let p;
			try {
				p = await api.get(`/api/payments/${
				    encodeURIComponent(paymentId)}`);
			} catch (err) {
				replace(returnSlot, errorBox(err));
				return;
			}
			if (p.status === "COMPLETED") {
				replace(returnSlot, alertBox("success",
				    h("strong", "Payment complete: "),
				    `${num(p.credits)} credits were added to your ` +
				    "balance."));
				refreshAll();
				return;
			}
			if (p.status === "FAILED" || p.status === "REFUNDED") {
				replace(returnSlot, alertBox("error",
				    `The payment ${p.status.toLowerCase()}` +
				    (p.failureReason ? `: ${p.failureReason}` : ".")));
				refreshAll();
				return;
			}
			if (++tries >= WAIT_TRIES) {
				replace(returnSlot, alertBox("warn", "The provider has " +
				    "not confirmed the payment yet. It stays pending " +
				    "and the credits arrive as soon as it does; this " +
				    "page shows its status below."));
				return;
			}
			timers.push(setTimeout(check, WAIT_MS));
		};
		check();
	}

	const paymentId = ctx.query.get("payment");
	if (paymentId)
		followReturn(paymentId, ctx.query.get("result"));
	session.refreshCredits();
	await Promise.all([loadPackages(), loadTransactions(), loadPayments()]);
}

function packageCard(p, providers, isDemo, errSlot) {
	const buttons = [];
	for (const [prov, label] of [["stripe", "Pay with card (Stripe)"],
	    ["paypal", "Pay with PayPal"]]) {
		const b = h("button.btn" + (prov === "paypal" ? ".btn-secondary" :
		    ""), { type: "button", disabled: isDemo || !providers[prov],
		    dataset: { package: p.id, provider: prov },
		    title: !providers[prov] ? `${label}: not available here` :
		    isDemo ? "demo accounts cannot buy" : null }, label);
		b.addEventListener("click", () => busy(b, async () => {
			b.textContent = "Redirecting…";
			const r = await api.post("/api/payments/checkout",
			    { packageId: p.id, provider: prov });
			if (!r || !r.redirectUrl)
				throw new Error("the server did not say where to pay");
			location.assign(r.redirectUrl);
			// The browser is leaving for the provider's page: keep
			// the button busy until it has gone.
			await new Promise(() => {});
		}, errSlot));
		buttons.push(b);
	}
	return h("div.card.package", { dataset: { packageId: p.id } },
	    h("h3", p.label || p.id),
	    h("span.price", money(p.amountCents, p.currency)),
	    h("span", `${num(p.credits)} credits`),
	    h("div.row", buttons),
	    !providers.stripe || !providers.paypal ? h("p.small.muted",
		[!providers.stripe ? "Stripe" : null,
		    !providers.paypal ? "PayPal" : null].filter(Boolean)
		    .join(" and ") + " not available on this server.") : null);
}

