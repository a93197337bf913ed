// One captured call in a dialog: summary, headers and bodies, JSON
// pretty-printed, binary bodies shown as base64, and every value the
// capture redacted marked so it is not mistaken for real data.

import { api } from "/assets/api.js";
import {
	h, replace, loading, errorBox, openDialog, dateTime, ms, bytes,
	prettyJson, alertBox, copyButton,
} from "/assets/ui.js";

const MARKERS = /(\[REDACTED\]|%5BREDACTED%5D)/g;

// Text with the redaction markers wrapped in <mark class="redacted">.
export function markRedacted(text) {
	const out = [];
	let last = 0;
	for (const m of String(text).matchAll(MARKERS)) {
		if (m.index > last)
			out.push(text.slice(last, m.index));
		out.push(h("mark.redacted", { title: "redacted before storage" },
		    m[0]));
		last = m.index + m[0].length;
	}
	if (last < text.length)
		out.push(text.slice(last));
	return out;
}

function headersTable(headers) {
	const names = Object.keys(headers || {}).sort();
	if (names.length === 0)
		return h("p.muted", "No headers.");
	return h("div.table-wrap", h("table.table.headers",
	    h("tbody", names.map((n) => {
		const v = headers[n];
		const text = Array.isArray(v) ? v.join(", ") : String(v);
		return h("tr", h("th", { scope: "row" }, h("code", n)),
		    h("td.mono", markRedacted(text)));
	    }))));
}

function bodyBlock(body, encoding, contentType, truncated) {
	if (body === null || body === undefined || body === "")
		return h("p.muted", "No body.");
	const notes = [];
	if (truncated)
		notes.push(alertBox("warn", "This body was longer than the " +
		    "capture limit; only its beginning was stored."));
	let text = body;
	if (encoding === "base64") {
		notes.push(h("p.small.muted", "Binary body, shown as base64" +
		    (contentType ? ` (${contentType})` : "") + "."));
	} else {
		const pretty = prettyJson(body);
		if (pretty !== null)
			text = pretty;
	}
	return h("div", notes, h("div.code-wrap",
	    h("pre.code", h("code", markRedacted(text))),
	    copyButton(text)));
}

export function openCallDetail(endpointId, callId) {
	const body = h("div", loading("Loading the call…"));
	openDialog(`Call ${callId}`, body, { wide: true });
	load();

	async function load() {
		let c;
		try {
			c = await api.get(`/api/endpoints/${endpointId}/calls/` +
			    encodeURIComponent(callId));
		} catch (err) {
			replace(body, errorBox(err, load));
			return;
		}
		const target = c.path + (c.query ? `?${c.query}` : "");
		replace(body,
		    h("p", h("span.method.method-" + String(c.method).toLowerCase(),
			c.method), " ", h("code.call-path", markRedacted(target))),
		    c.error ? alertBox("error", h("strong", "Upstream error: "),
			c.error) : null,
		    c.redacted ? alertBox("info", "Secret values in this call " +
			"were redacted before storage; they are marked ",
			h("mark.redacted", "[REDACTED]"), ".") : null,
		    h("dl.kv",
			h("dt", "When"), h("dd", dateTime(c.timestamp)),
			h("dt", "Status"), h("dd", c.statusCode === null ?
			    "no response" : String(c.statusCode)),
			h("dt", "Duration"), h("dd", ms(c.durationMs)),
			h("dt", "Request"), h("dd", `${bytes(c.requestSize)}` +
			    (c.requestContentType ? `, ${c.requestContentType}` :
			    "")),
			h("dt", "Response"), h("dd", `${bytes(c.responseSize)}` +
			    (c.responseContentType ?
			    `, ${c.responseContentType}` : ""))),
		    h("h3", "Request headers"), headersTable(c.requestHeaders),
		    h("h3", "Request body"),
		    bodyBlock(c.requestBody, c.requestBodyEncoding,
			c.requestContentType, c.requestTruncated),
		    h("h3", "Response headers"), headersTable(c.responseHeaders),
		    h("h3", "Response body"),
		    bodyBlock(c.responseBody, c.responseBodyEncoding,
			c.responseContentType, c.responseTruncated));
	}
}
