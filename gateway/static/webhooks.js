// The webhooks settings view: register endpoints (the secret is shown once), pause,
// resume, rotate, delete, and read or replay each endpoint's deliveries.
// Self-contained: app.js routes #/webhooks here with the page's <main> element.

import { api } from "./api.js";
import { el } from "./dom.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

// This view's styles, added to the page the first time it shows.
function ensureStyles() {
  if (document.getElementById("webhooks-css")) return;
  document.head.append(el("link", { id: "webhooks-css", rel: "stylesheet",
    href: "/static/webhooks.css" }));
}

function field(label, input) {
  return [el("label", { htmlFor: input.id, textContent: label }), input];
}

// The secret, once: after this view re-renders it is gone for good.
function secretBox(secret, what) {
  const code = el("code", { className: "secret", textContent: secret });
  return el("div", { className: "secret-box", role: "status" },
    el("strong", { textContent: `${what} — copy it now, it is not shown again: ` }), code);
}

export class WebhooksView {
  constructor(main, say) {
    this.main = main;
    this.say = say;
    this.types = [];
  }

  async show() {
    ensureStyles();
    const list = el("ul", { className: "endpoints", id: "endpoints" });
    this.list = list;
    this.notice = el("div", { id: "webhook-notice" });
    this.main.replaceChildren(
      el("section", { className: "card", "aria-labelledby": "webhooks-title" },
        el("h1", { id: "webhooks-title", textContent: "Webhooks" }),
        el("p", { className: "muted", textContent:
          "VideoForge POSTs signed events to these https URLs (see the README for a verifier)." }),
        this.notice, list,
        el("p", { className: "empty", id: "endpoints-empty", hidden: true,
          textContent: "No endpoints yet." })),
      await this.form());
    await this.refresh();
  }

  async form() {
    this.types = await api("/api/webhooks/event-types");
    const url = el("input", { id: "hook-url", name: "url", type: "url", required: true,
      placeholder: "https://example.com/hooks/videoforge" });
    const description = el("input", { id: "hook-description", name: "description",
      maxLength: 200 });
    const boxes = this.types.map((type) => el("label", { className: "check" },
      el("input", { type: "checkbox", name: "event_types", value: type, defaultChecked: true }),
      ` ${type}`));
    const error = el("p", { className: "error", id: "hook-error", role: "alert" });
    const form = el("form", { id: "hook-form" },
      ...field("Endpoint URL", url), ...field("Description", description),
      el("fieldset", {}, el("legend", { textContent: "Events" }), ...boxes),
      el("button", { type: "submit", textContent: "Add endpoint" }), error);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.textContent = "";
      const eventTypes = [...form.querySelectorAll("input[name=event_types]:checked")]
        .map((box) => box.value);
      try {
        const created = await api("/api/webhooks/endpoints", { method: "POST",
          body: { url: url.value, description: description.value, event_types: eventTypes } });
        form.reset();
        await this.refresh();
        this.notice.replaceChildren(secretBox(created.secret, `Signing secret for ${created.url}`));
        this.say("Endpoint added.");
      } catch (err) {
        error.textContent = `Could not add the endpoint: ${err.message}.`;
      }
    });
    return el("section", { className: "card", "aria-labelledby": "hook-form-title" },
      el("h2", { id: "hook-form-title", textContent: "Add an endpoint" }), form);
  }

  async refresh() {
    const { items } = await api("/api/webhooks/endpoints");
    this.list.replaceChildren(...items.map((endpoint) => this.row(endpoint)));
    this.main.querySelector("#endpoints-empty").hidden = items.length > 0;
  }

  row(endpoint) {
    const state = endpoint.enabled ? "enabled"
      : `disabled: ${endpoint.disabled_reason || "no reason given"}`;
    const deliveries = el("div", { className: "deliveries", hidden: true });
    const button = (text, action, className = "") => {
      const b = el("button", { type: "button", textContent: text, className });
      b.addEventListener("click", () => action().catch((err) => this.say(`${text}: ${err.message}`)));
      return b;
    };
    const path = `/api/webhooks/endpoints/${endpoint.id}`;
    const li = el("li", { className: "endpoint" },
      el("div", { className: "endpoint-url", textContent: endpoint.url }),
      el("div", { className: "muted", textContent:
        `${endpoint.description ? `${endpoint.description} · ` : ""}${endpoint.event_types.join(", ")}` }),
      el("div", { className: endpoint.enabled ? "muted" : "error endpoint-state",
        textContent: `${state} · last success ${when(endpoint.last_success_at)}` }),
      el("div", { className: "actions" },
        button("Deliveries", () => this.toggleDeliveries(endpoint, deliveries)),
        button(endpoint.enabled ? "Disable" : "Enable", async () => {
          await api(path, { method: "PATCH", body: { enabled: !endpoint.enabled } });
          await this.refresh();
        }),
        button("Rotate secret", async () => {
          const rotated = await api(`${path}/secret`, { method: "POST", body: {} });
          this.notice.replaceChildren(secretBox(rotated.secret,
            `New secret for ${endpoint.url} (the old one signs too until ${when(rotated.previous_secret_expires_at)})`));
        }),
        button("Delete", async () => {
          if (!window.confirm(`Delete the endpoint ${endpoint.url} and its delivery log?`)) return;
          await api(path, { method: "DELETE" });
          this.say("Endpoint deleted.");
          await this.refresh();
        }, "danger")),
      deliveries);
    return li;
  }

  async toggleDeliveries(endpoint, box) {
    if (!box.hidden) {
      box.hidden = true;
      return;
    }
    const { items } = await api(`/api/webhooks/endpoints/${endpoint.id}/deliveries?limit=20`);
    const rows = items.map((d) => {
      const resend = el("button", { type: "button", className: "link", textContent: "Send again" });
      resend.addEventListener("click", async () => {
        try {
          await api(`/api/webhooks/deliveries/${d.id}/redeliver`, { method: "POST" });
          this.say("Queued to be sent again.");
          box.hidden = true;
          await this.toggleDeliveries(endpoint, box);
        } catch (err) {
          this.say(`Could not send it again: ${err.message}`);
        }
      });
      const outcome = d.last_status_code ? `HTTP ${d.last_status_code}` : (d.last_error || "—");
      return el("tr", {},
        el("td", { textContent: when(d.created_at) }), el("td", { textContent: d.event_type }),
        el("td", { className: `delivery-${d.status}`, textContent: d.status }),
        el("td", { textContent: String(d.attempts) }),
        el("td", { textContent: outcome, title: d.last_error || "" }), el("td", {}, resend));
    });
    const head = el("tr", {}, ...["When", "Event", "Status", "Attempts", "Last answer", ""]
      .map((text) => el("th", { scope: "col", textContent: text })));
    box.replaceChildren(items.length
      ? el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows))
      : el("p", { className: "empty", textContent: "No deliveries yet." }));
    box.hidden = false;
  }
}
