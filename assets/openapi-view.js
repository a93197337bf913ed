// The interactive OpenAPI reference: Redoc's standalone bundle (from npm,
// copied into assets/vendor/ at build time) rendered into an element.
// Redoc is read-only: it has no "try it" console that could send the
// user's session cookie through the proxy to someone else's API.

import { h, replace } from "/assets/ui.js";

let loader = null;

function loadRedoc() {
	if (window.Redoc)
		return Promise.resolve(window.Redoc);
	if (!loader) {
		loader = new Promise((resolve, reject) => {
			const s = document.createElement("script");
			s.src = "/assets/vendor-redoc.js";
			s.async = true;
			s.onload = () => window.Redoc ? resolve(window.Redoc) :
			    reject(new Error("Redoc did not load"));
			s.onerror = () => {
				loader = null;
				s.remove();
				reject(new Error("the OpenAPI viewer is not bundled " +
				    "in this build (run scripts/vendor/install)"));
			};
			document.head.append(s);
		});
	}
	return loader;
}

export async function renderOpenApi(host, spec) {
	const redoc = await loadRedoc();
	const target = h("div.redoc-target");
	replace(host, target);
	const header = document.getElementById("site-header");
	await new Promise((resolve, reject) => {
		try {
			redoc.init(spec, {
				scrollYOffset: header ? header.offsetHeight : 0,
				hideDownloadButton: true,
				expandResponses: "200,201",
				nativeScrollbars: true,
				jsonSampleExpandLevel: 3,
				theme: {
					colors: { primary: { main: "#3b5bdb" } },
					typography: {
						fontFamily: "system-ui, sans-serif",
						headings: { fontFamily: "system-ui, sans-serif" },
						code: { fontFamily: "ui-monospace, monospace" },
					},
				},
			}, target, (err) => err ? reject(err) : resolve());
		} catch (err) {
			reject(err);
		}
	});
}
