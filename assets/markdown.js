// Renders Markdown safely, in two layers: raw HTML inside the Markdown
// is escaped (shown as text, never parsed as markup), and DOMPurify then
// removes anything in marked's own output that could run or load
// (javascript: links, event attributes, frames) and hands back a DOM
// fragment, so no unsanitised string ever reaches innerHTML. Both libraries are
// bundled from npm into assets/vendor/ (scripts/vendor/install).
// Without them the text is shown as it is, escaped.

import { h } from "/assets/ui.js";

let libs = null;

function escapeHtml(s) {
	return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
	    .replace(/>/g, "&gt;").replace(/"/g, "&quot;")
	    .replace(/'/g, "&#39;");
}

async function load() {
	if (!libs) {
		libs = Promise.all([import("/assets/vendor-marked.js"),
		    import("/assets/vendor-purify.js")]).then(([m, p]) => ({
			marked: new m.Marked({
				gfm: true,
				async: false,
				renderer: { html: (token) => escapeHtml(token.text) },
			}),
			purify: p.default,
		})).catch((err) => {
			libs = null;
			throw err;
		});
	}
	return libs;
}

export async function renderMarkdown(text) {
	let lib;
	try {
		lib = await load();
	} catch (err) {
		return h("div",
		    h("p.alert.alert-warn", "The Markdown renderer is not " +
			"bundled in this build (run scripts/vendor/install); " +
			"showing the plain text."),
		    h("pre.code", text));
	}
	const html = lib.marked.parse(String(text || ""));
	const frag = lib.purify.sanitize(html, {
		USE_PROFILES: { html: true },
		FORBID_TAGS: ["style", "form", "input", "button", "iframe"],
		FORBID_ATTR: ["style"],
		RETURN_DOM_FRAGMENT: true,
	});
	// Links leave the app in a new tab and carry nothing back.
	for (const a of frag.querySelectorAll("a[href]")) {
		if (!a.getAttribute("href").startsWith("#")) {
			a.setAttribute("target", "_blank");
			a.setAttribute("rel", "noopener noreferrer");
		}
	}
	return h("div.markdown", frag);
}
