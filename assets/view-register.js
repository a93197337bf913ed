// Create an account: 100 credits to start with.

import * as session from "/assets/session.js";
import { h, field, busy, showFormError } from "/assets/ui.js";

export default async function register(root, ctx) {
	if (session.currentUser()) {
		ctx.navigate("/dashboard", { replace: true });
		return;
	}
	const name = h("input", { type: "text", name: "name",
	    autocomplete: "name", required: true, maxlength: "100" });
	const email = h("input", { type: "email", name: "email",
	    autocomplete: "email", required: true });
	const password = h("input", { type: "password", name: "password",
	    autocomplete: "new-password", required: true, minlength: "10" });
	const formErr = h("div");
	const submit = h("button.btn", { type: "submit" }, "Create account");
	const form = h("form", { novalidate: true },
	    field("Name", name),
	    field("Email", email),
	    field("Password", password, "At least 10 characters; not a " +
		"common password and not your email."),
	    formErr, h("div.row", submit));
	form.addEventListener("submit", (ev) => {
		ev.preventDefault();
		busy(submit, async () => {
			submit.textContent = "Creating…";
			try {
				await session.register(name.value.trim(),
				    email.value.trim(), password.value);
			} catch (err) {
				showFormError(err, { name, email, password }, formErr);
				return;
			}
			ctx.navigate("/dashboard");
		}, formErr);
	});
	root.append(h("div.card.auth-card", h("h1", "Create an account"),
	    h("p.muted", "New accounts get 100 credits: enough for four " +
		"endpoints."),
	    form,
	    h("p.muted", "Already registered? ", h("a", { href: "/login" },
		"Log in"))));
	name.focus();
}
