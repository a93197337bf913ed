// The public start page: what apiscribe does, and the ways in.

import * as session from "/assets/session.js";
import { h, busy } from "/assets/ui.js";

export default async function landing(root, ctx) {
	const user = session.currentUser();
	const errors = h("div");
	const demo = h("button.btn.btn-large.btn-secondary", { type: "button",
	    id: "landing-demo" }, "Try the demo");
	demo.addEventListener("click", () => busy(demo, async () => {
		await session.demo();
		ctx.navigate("/dashboard");
	}, errors));

	root.append(
	    h("div.hero",
		h("h1", "Documentation for any API, written from its real traffic"),
		h("p", "Point apiscribe at an API's base URL and send your calls " +
		    "through the proxy URL it gives you. Every request and " +
		    "response is recorded, and when you are ready apiscribe " +
		    "infers an OpenAPI 3.1 document and readable Markdown from " +
		    "what it saw, with descriptions written by a language model."),
		user ?
		h("div.row", h("a.btn.btn-large", { href: "/dashboard" },
		    "Go to your dashboard")) :
		h("div.row",
		    h("a.btn.btn-large", { href: "/register" },
			"Create a free account"),
		    h("a.btn.btn-large.btn-ghost", { href: "/login" }, "Log in"),
		    demo),
		errors),
	    h("div.grid.grid-3.steps",
		h("div.card", h("h2", "Register an endpoint"),
		    h("p", "Give the base URL of the API you want documented. " +
			"It costs 25 credits; new accounts start with 100.")),
		h("div.card", h("h2", "Send calls through the proxy"),
		    h("p", "Use the proxy URL in place of the real one. Calls " +
			"are forwarded unchanged and captured, with secrets " +
			"such as tokens and cookies redacted.")),
		h("div.card", h("h2", "Generate the documentation"),
		    h("p", "Path templates, parameters, JSON schemas, security " +
			"schemes and examples are inferred; read them here, " +
			"compare versions, or export OpenAPI, Markdown, CSV and " +
			"ZIP."))));
}
