// Log in with email and password, or enter the demo account.

import * as session from "/assets/session.js";
import { h, field, busy, showFormError } from "/assets/ui.js";

// Only paths inside the app are followed after login, never another site.
export function nextPath(query, fallback = "/dashboard") {
	const next = query.get("next") || "";
	return /^\/(?!\/)/.test(next) && !next.startsWith("/login") ?
	    next : fallback;
}

export default async function login(root, ctx) {
	if (session.currentUser()) {
		ctx.navigate(nextPath(ctx.query), { replace: true });
		return;
	}
	const email = h("input", { type: "email", name: "email",
	    autocomplete: "username", required: true });
	const password = h("input", { type: "password", name: "password",
	    autocomplete: "current-password", required: true });
	const formErr = h("div");
	const submit = h("button.btn", { type: "submit" }, "Log in");
	const form = h("form", { novalidate: true },
	    field("Email", email), field("Password", password), formErr,
	    h("div.row", submit));
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		busy(submit, async () => {
			submit.textContent = "Logging in…";
			try {
				await session.login(email.value.trim(), password.value);
			} catch (err) {
				showFormError(err, { email, password }, formErr);
				return;
			}
			ctx.navigate(nextPath(ctx.query));
		}, formErr);
	});

	const demo = h("button.btn.btn-ghost", { type: "button" },
	    "Use the demo account");
	demo.addEventListener("click", () => busy(demo, async () => {
		await session.demo();
		ctx.navigate("/dashboard");
	}, formErr));

	root.append(h("div.card.auth-card",
	    h("h1", "Log in"), form,
	    h("hr"),
	    h("p.muted", "No account yet? ", h("a", { href: "/register" },
		"Create one"), " or look around first:"),
	    demo));
	email.focus();
}
