// Small building blocks every view shares: an element builder that only
// ever sets text (never HTML, so nothing the API returns can become
// markup), the loading, empty and error states, buttons that show their
// progress, copy buttons, dialogs, tabs and number/date formatting.

// h("a.btn", {href: "/x", onclick: fn}, "text", child, ...)
export function h(spec, attrs, ...children) {
	if (attrs === null || typeof attrs !== "object" ||
	    attrs instanceof Node || Array.isArray(attrs)) {
		children.unshift(attrs);
		attrs = {};
	}
	// "tag.class1.class2#id" in any order after the tag name.
	const parts = spec.match(/^[^.#]*|[.#][^.#]+/g);
	const el = document.createElement(parts[0] || "div");
	const classes = [];
	for (const p of parts.slice(1)) {
		if (p[0] === "#")
			el.id = p.slice(1);
		else
			classes.push(p.slice(1));
	}
	if (classes.length)
		el.className = classes.join(" ");
	for (const [k, v] of Object.entries(attrs)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith("on") && typeof v === "function")
			el.addEventListener(k.slice(2), v);
		else if (k === "class")
			el.className = [el.className, v].filter(Boolean).join(" ");
		else if (k === "dataset")
			Object.assign(el.dataset, v);
		else if (k === "value" || k === "checked" || k === "disabled" ||
		    k === "selected")
			el[k] = v;
		else
			el.setAttribute(k, v === true ? "" : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else if (c instanceof Node)
			el.append(c);
		else
			el.append(document.createTextNode(String(c)));
	}
}

// SVG elements need their namespace.
export function svg(tag, attrs = {}, ...children) {
	const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v !== undefined && v !== null)
			el.setAttribute(k, String(v));
	}
	for (const c of children.flat()) {
		if (c === undefined || c === null || c === false)
			continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild)
		el.firstChild.remove();
	return el;
}

export function replace(el, ...children) {
	clear(el);
	append(el, children);
	return el;
}

export function loading(text = "Loading…") {
	return h("div.state.state-loading", { role: "status" },
	    h("span.spinner", { "aria-hidden": "true" }), h("span", text));
}

export function empty(title, hint, action) {
	return h("div.state.state-empty", h("p.state-title", title),
	    hint ? h("p.muted", hint) : null, action || null);
}

// An API error as a readable message, with the request id for support
// and an optional retry.
export function errorBox(err, retry) {
	const msg = err && err.message ? err.message : String(err);
	return h("div.alert.alert-error", { role: "alert" },
	    h("strong", errorTitle(err)), " ", h("span.error-message", msg),
	    err && err.requestId ?
	    h("small.muted.request-id", ` (request ${err.requestId})`) : null,
	    retry ? h("button.btn.btn-small", { type: "button",
	    onclick: retry }, "Retry") : null);
}

function errorTitle(err) {
	if (!err || !err.status)
		return "Something went wrong:";
	if (err.status === 402)
		return "Not enough credits:";
	if (err.status === 404)
		return "Not found:";
	if (err.status === 409)
		return "Not possible right now:";
	if (err.status === 422 || err.status === 400)
		return "Please check:";
	if (err.status === 429)
		return "Slow down:";
	if (err.status >= 500)
		return "Server problem:";
	return "Error:";
}

export function alertBox(kind, ...content) {
	return h(`div.alert.alert-${kind}`,
	    { role: kind === "error" ? "alert" : "status" }, ...content);
}

// Runs an async action from a button: disables it and shows progress,
// puts any error into `errorSlot` (or a toast), re-enables it after.
export async function busy(button, fn, errorSlot) {
	const label = button.textContent;
	button.disabled = true;
	button.setAttribute("aria-busy", "true");
	if (errorSlot)
		clear(errorSlot);
	try {
		return await fn();
	} catch (err) {
		if (errorSlot)
			replace(errorSlot, errorBox(err));
		else
			toast(err.message || String(err), "error");
		return undefined;
	} finally {
		if (button.isConnected) {
			button.disabled = false;
			button.removeAttribute("aria-busy");
			button.textContent = label;
		}
	}
}

let toastRegion = null;

export function toast(message, kind = "info") {
	if (!toastRegion || !toastRegion.isConnected) {
		toastRegion = h("div.toasts", { "aria-live": "polite" });
		document.body.append(toastRegion);
	}
	const t = h(`div.toast.toast-${kind}`,
	    { role: kind === "error" ? "alert" : "status" }, message);
	toastRegion.append(t);
	setTimeout(() => t.remove(), kind === "error" ? 8000 : 4000);
}

export async function copyText(text) {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch (e) {
		// Clipboard access can be refused (no secure context, no
		// permission): fall back to a selected, hidden text area.
		const ta = h("textarea.visually-hidden", { readonly: true });
		ta.value = text;
		document.body.append(ta);
		ta.select();
		let ok = false;
		try {
			ok = document.execCommand("copy");
		} catch (e2) {
			ok = false;
		}
		ta.remove();
		return ok;
	}
}

export function copyButton(text, label = "Copy") {
	const b = h("button.btn.btn-small.btn-ghost", { type: "button",
	    "aria-label": `${label} to the clipboard` }, label);
	b.addEventListener("click", async () => {
		const ok = await copyText(text);
		b.textContent = ok ? "Copied" : "Copy failed";
		setTimeout(() => { b.textContent = label; }, 1500);
	});
	return b;
}

// A block of code with a copy button.
export function codeBlock(text, label) {
	return h("div.code-wrap", h("pre.code", h("code", text)),
	    copyButton(text, label || "Copy"));
}

// A modal <dialog>: Escape and the close button close it; focus returns
// to whatever opened it.
export function openDialog(title, body, { wide = false } = {}) {
	const opener = document.activeElement;
	const close = h("button.btn.btn-ghost.btn-small.dialog-close",
	    { type: "button", "aria-label": "Close" }, "Close");
	const dlg = h("dialog.dialog" + (wide ? ".dialog-wide" : ""),
	    { "aria-labelledby": "dialog-title" },
	    h("div.dialog-head", h("h2#dialog-title", title), close),
	    h("div.dialog-body", body));
	close.addEventListener("click", () => dlg.close());
	dlg.addEventListener("close", () => {
		dlg.remove();
		if (opener && opener.focus)
			opener.focus();
	});
	document.body.append(dlg);
	dlg.showModal();
	return dlg;
}

// Tabs with arrow-key movement, as the ARIA pattern describes.
export function tabs(items, onSelect, selected) {
	const list = h("div.tabs", { role: "tablist" });
	const buttons = items.map((it) => {
		const b = h("button.tab", { type: "button", role: "tab",
		    id: `tab-${it.id}`, "aria-selected": String(it.id === selected),
		    tabindex: it.id === selected ? "0" : "-1",
		    dataset: { tab: it.id } }, it.label);
		b.addEventListener("click", () => select(it.id, true));
		return b;
	});
	function select(id, focus) {
		for (const b of buttons) {
			const on = b.dataset.tab === id;
			b.setAttribute("aria-selected", String(on));
			b.tabIndex = on ? 0 : -1;
			if (on && focus)
				b.focus();
		}
		onSelect(id);
	}
	list.addEventListener("keydown", (ev) => {
		const i = buttons.indexOf(document.activeElement);
		if (i < 0)
			return;
		let j = -1;
		if (ev.key === "ArrowRight")
			j = (i + 1) % buttons.length;
		else if (ev.key === "ArrowLeft")
			j = (i - 1 + buttons.length) % buttons.length;
		if (j >= 0) {
			ev.preventDefault();
			select(buttons[j].dataset.tab, true);
		}
	});
	list.append(...buttons);
	list.select = select;
	return list;
}

export function statusBadge(status) {
	const s = String(status || "unknown");
	return h(`span.badge.badge-${s.toLowerCase()}`, s);
}

// A labelled form field; the error slot below it is filled by
// fieldError() when the API rejects that field.
export function field(label, input, hint) {
	const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
	input.id = id;
	const err = h("p.field-error", { id: `${id}-error`, hidden: true });
	const hintEl = hint ? h("p.field-hint", { id: `${id}-hint` }, hint) :
	    null;
	input.setAttribute("aria-describedby",
	    [hintEl ? hintEl.id : null, err.id].filter(Boolean).join(" "));
	return h("div.field", h("label", { for: id }, label), input, hintEl,
	    err);
}

export function fieldError(input, message) {
	const slot = document.getElementById(`${input.id}-error`);
	if (!slot)
		return;
	slot.textContent = message || "";
	slot.hidden = !message;
	input.setAttribute("aria-invalid", message ? "true" : "false");
}

// Shows a 4xx message next to the field it names (the API's messages
// start with the field's name: "email must contain..."); anything else
// goes to the form's own error slot. Returns the input it picked.
export function showFormError(err, inputs, formSlot) {
	for (const input of Object.values(inputs))
		fieldError(input, "");
	clear(formSlot);
	const msg = (err && err.message) || "";
	if (err && (err.status === 422 || err.status === 400 ||
	    err.status === 409)) {
		const lower = msg.toLowerCase();
		let best = null, bestAt = Infinity;
		for (const [name, input] of Object.entries(inputs)) {
			const words = [name.toLowerCase(),
			    name.replace(/([A-Z])/g, " $1").toLowerCase()];
			for (const w of words) {
				const at = lower.indexOf(w);
				if (at >= 0 && at < bestAt) {
					best = input;
					bestAt = at;
				}
			}
		}
		if (best) {
			fieldError(best, msg);
			best.focus();
			return best;
		}
	}
	formSlot.append(errorBox(err));
	return null;
}

const numberFmt = new Intl.NumberFormat("en");

export function num(n) {
	return n === null || n === undefined ? "—" : numberFmt.format(n);
}

export function bytes(n) {
	if (n === null || n === undefined)
		return "—";
	if (n < 1024)
		return `${n} B`;
	if (n < 1024 * 1024)
		return `${(n / 1024).toFixed(1)} KB`;
	return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function ms(n) {
	if (n === null || n === undefined || Number.isNaN(Number(n)))
		return "—";
	const v = Number(n);
	return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
}

export function money(cents, currency = "USD") {
	return new Intl.NumberFormat("en", { style: "currency",
	    currency: currency.toUpperCase() }).format(cents / 100);
}

export function dateTime(iso) {
	if (!iso)
		return "—";
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return String(iso);
	return d.toLocaleString("en-GB", { year: "numeric", month: "short",
	    day: "numeric", hour: "2-digit", minute: "2-digit",
	    second: "2-digit" });
}

export function ago(iso) {
	if (!iso)
		return "never";
	const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
	if (Number.isNaN(s))
		return String(iso);
	if (s < 5)
		return "just now";
	if (s < 60)
		return `${s} s ago`;
	if (s < 3600)
		return `${Math.floor(s / 60)} min ago`;
	if (s < 86400)
		return `${Math.floor(s / 3600)} h ago`;
	return `${Math.floor(s / 86400)} d ago`;
}

export function time(iso) {
	return h("time", { datetime: iso || "", title: dateTime(iso) },
	    ago(iso));
}

// A table inside a scrolling wrapper, so wide tables work on a phone.
export function table(headers, rows, { caption, className } = {}) {
	return h("div.table-wrap", { tabindex: "0", role: "region",
	    "aria-label": caption || "table" },
	    h("table.table" + (className ? "." + className : ""),
	    caption ? h("caption.visually-hidden", caption) : null,
	    h("thead", h("tr", headers.map((t) => h("th", { scope: "col" }, t)))),
	    h("tbody", rows)));
}

// A "Load more" button for cursor-paged lists: calls load(cursor) which
// returns {items, nextCursor}, and renderRows(items) which appends rows.
export function pager(load, renderRows) {
	let cursor = null;
	const slot = h("div.pager");
	const more = h("button.btn.btn-ghost", { type: "button" }, "Load more");
	more.addEventListener("click", () => next());
	async function next() {
		await busy(more, async () => {
			more.textContent = "Loading…";
			const page = await load(cursor);
			renderRows(page.items || [], cursor === null);
			cursor = page.nextCursor || null;
			more.hidden = !cursor;
		}, slot.querySelector(".pager-error") || undefined);
	}
	more.hidden = true;
	slot.append(more, h("div.pager-error"));
	slot.start = async (first) => {
		renderRows(first.items || [], true);
		cursor = first.nextCursor || null;
		more.hidden = !cursor;
	};
	return slot;
}

export function prettyJson(text) {
	try {
		return JSON.stringify(JSON.parse(text), null, 2);
	} catch (e) {
		return null;
	}
}
