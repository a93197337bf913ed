// In-app notifications: documentation ready or failed, payments, and
// anything else the server tells the person, newest first.

import { api } from "/assets/api.js";
import {
	h, replace, loading, empty, errorBox, busy, time, pager, num, money,
} from "/assets/ui.js";

const TITLES = {
	"docs.ready": "Documentation ready",
	"docs.completed": "Documentation ready",
	"docs.failed": "Documentation failed",
	"job.failed": "Documentation failed",
	"docs.ai_unavailable": "Documentation published without AI",
	"payment.completed": "Payment complete",
	"payment.failed": "Payment failed",
	"payment.refunded": "Payment refunded",
	"credits.adjusted": "Credits adjusted",
};

function describe(n) {
	const p = n.payload || {};
	const title = TITLES[n.type] || n.type;
	let text = p.message || "";
	if (!text && n.type === "payment.completed")
		text = `${num(p.credits)} credits were added` +
		    (p.amountCents ? ` for ${money(p.amountCents,
		    p.currency || "usd")}` : "") +
		    (p.provider ? ` through ${p.provider}` : "") + ".";
	if (!text && n.type === "payment.refunded")
		text = (p.refundedCents ? `${money(p.refundedCents,
		    p.currency || "usd")} was refunded` : "A payment was " +
		    "refunded") + (p.creditsRevoked ? `; ${num(p.creditsRevoked)} ` +
		    "credits were taken back" : "") + ".";
	if (!text && p.credits !== undefined)
		text = `${num(p.credits)} credits`;
	if (!text && p.error)
		text = p.error;
	if (!text && p.endpointName)
		text = p.endpointName;
	const link = p.endpointId ? `/endpoints/${p.endpointId}` +
	    (/ready|completed|ai_/.test(n.type) ? "/docs" +
	    (p.version ? `?version=${p.version}` : "") : "") :
	    /payment|credits/.test(n.type) ? "/credits" : null;
	return { title, text, link };
}

export default async function notifications(root, ctx) {
	const slot = h("div", loading("Loading notifications…"));
	const allRead = h("button.btn.btn-ghost#read-all", { type: "button",
	    hidden: true }, "Mark all as read");
	const err = h("div");
	root.append(h("div.page-head", h("h1", "Notifications"),
	    h("div.actions", allRead)), err, slot);
	allRead.addEventListener("click", () => busy(allRead, async () => {
		await api.post("/api/notifications/read-all", {});
		ctx.refreshUnread(true);
		await load();
	}, err));

	async function load() {
		let first;
		try {
			first = await api.get("/api/notifications", { limit: 30 });
		} catch (err) {
			replace(slot, errorBox(err, load));
			return;
		}
		allRead.hidden = !(first.unreadCount > 0 ||
		    (first.items || []).some((n) => !n.readAt));
		if (!(first.items || []).length) {
			replace(slot, empty("No notifications",
			    "You are told here when documentation is ready or a " +
			    "payment completes."));
			return;
		}
		const list = h("div.stack#notification-list");
		const more = pager((cursor) => api.get("/api/notifications",
		    { limit: 30, cursor }), (items) => {
			for (const n of items)
				list.append(item(n));
		});
		replace(slot, list, more);
		more.start(first);
	}

	function item(n) {
		const d = describe(n);
		const card = h("div.card.notification" + (n.readAt ? "" :
		    ".unread"), { dataset: { notificationId: n.id } });
		const body = h("div",
		    h("h2", { style: "font-size:1rem;margin:0" }, d.title),
		    d.text ? h("p", { style: "margin:.2rem 0" }, d.text) : null,
		    h("p.small.muted", { style: "margin:0" }, time(n.createdAt),
			d.link ? [" · ", h("a", { href: d.link }, "Open")] : null));
		card.append(body);
		if (!n.readAt) {
			const mark = h("button.btn.btn-small.btn-ghost",
			    { type: "button" }, "Mark as read");
			mark.addEventListener("click", () => busy(mark, async () => {
				await api.post(`/api/notifications/${n.id}/read`, {});
				card.classList.remove("unread");
				mark.remove();
				ctx.refreshUnread(true);
			}));
			card.append(mark);
		}
		return card;
	}
	await load();
}
