// PayPal sends the buyer back here after approving the order:
// /credits/paypal-return?payment=<id>&token=<orderId>. The app asks the
// server to capture the order, which completes the payment.

import { api } from "/assets/api.js";
import * as session from "/assets/session.js";
import { h, replace, loading, errorBox, alertBox, num } from "/assets/ui.js";

export default async function paypalReturn(root, ctx) {
	const orderId = ctx.query.get("token");
	const paymentId = ctx.query.get("payment");
	const slot = h("div", loading("Completing the PayPal payment…"));
	root.append(h("h1", "PayPal payment"), slot,
	    h("p", h("a", { href: "/credits" }, "Back to credits")));

	if (!orderId) {
		replace(slot, alertBox("error", "PayPal did not say which order " +
		    "this is, so nothing was captured. If you cancelled at " +
		    "PayPal, nothing was charged."));
		return;
	}

	async function capture() {
		replace(slot, loading("Completing the PayPal payment…"));
		let r;
		try {
			r = await api.post("/api/payments/paypal/capture",
			    { orderId });
		} catch (err) {
			replace(slot, errorBox(err, capture));
			return;
		}
		let p = r && r.payment ? r.payment : r;
		if ((!p || !p.status) && paymentId) {
			try {
				p = await api.get(`/api/payments/${
				    encodeURIComponent(paymentId)}`);
			} catch (err) {
				p = null;
			}
		}
		await session.refreshCredits();
		if (p && p.status === "COMPLETED")
			replace(slot, alertBox("success", h("strong",
			    "Payment complete: "), `${num(p.credits)} credits were ` +
			    "added to your balance."));
		else if (p && p.status === "PENDING")
			replace(slot, alertBox("info", "PayPal accepted the payment " +
			    "but has not cleared it yet; the credits arrive when it " +
			    "does."));
		else
			replace(slot, alertBox("error", "The payment did not " +
			    "complete" + (p && p.failureReason ?
			    `: ${p.failureReason}` : ".")));
	}
	await capture();
}
