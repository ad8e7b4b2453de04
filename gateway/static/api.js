// The API from the browser: tokens in sessionStorage, refreshed once on a 401;
// server-sent events read with fetch() so the Authorization header goes along.

const TOKENS = "vf.tokens";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS) || "null");
  } catch {
    return null;
  }
}

function saveTokens(value) {
  if (value) sessionStorage.setItem(TOKENS, JSON.stringify(value));
  else sessionStorage.removeItem(TOKENS);
}

// The signed-in user from the token's claims (display only; the server verifies).
export function currentUser() {
  const t = tokens();
  if (!t) return null;
  try {
    const part = t.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    return { id: claims.sub, name: claims.username || claims["cognito:username"] || claims.sub };
  } catch {
    return null;
  }
}

// The one-line reason of an error response ({"error": {"code", "message"}}).
async function detail(response) {
  try {
    const body = await response.json();
    if (body.error) return body.error.message || body.error.code;
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body);
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

export async function login(username, password) {
  const response = await fetch("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new ApiError(await detail(response), response.status);
  const body = await response.json();
  saveTokens({ access_token: body.access_token, refresh_token: body.refresh_token });
}

export function logout() {
  saveTokens(null);
}

let refreshing = null;

async function refresh() {
  const t = tokens();
  if (!t?.refresh_token) return false;
  refreshing ??= fetch("/api/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: t.refresh_token }),
  }).then(async (response) => {
    if (!response.ok) return false;
    const body = await response.json();
    saveTokens({ ...t, access_token: body.access_token });
    return true;
  }).finally(() => { refreshing = null; });
  return refreshing;
}

export function authHeader() {
  const t = tokens();
  return t ? { Authorization: `Bearer ${t.access_token}` } : {};
}

async function authed(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { ...(init.headers || {}), ...authHeader() };
    const response = await fetch(path, { ...init, headers });
    if (response.status === 401 && attempt === 0 && (await refresh())) continue;
    if (response.status === 401) {
      logout();
      window.dispatchEvent(new Event("vf:signed-out"));
    }
    return response;
  }
}

// JSON in, JSON out; throws ApiError with the server's reason.
export async function api(path, { method = "GET", body, headers } = {}) {
  const init = { method, headers: { ...(headers || {}) } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await authed(path, init);
  if (!response.ok) throw new ApiError(await detail(response), response.status);
  return response.status === 204 ? null : response.json();
}

// Read a text/event-stream; calls onEvent(data, type) per event (type: the "event:"
// field, "message" without one) until the stream ends or signal aborts. Resolves when
// the server closes the stream.
export async function events(path, onEvent, signal) {
  const response = await authed(path, { headers: { Accept: "text/event-stream" }, signal });
  if (!response.ok) throw new ApiError(await detail(response), response.status);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const lines = block.split(/\r?\n/);
      const data = lines.filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart()).join("\n");
      const type = lines.find((l) => l.startsWith("event:"))?.slice(6).trim() || "message";
      if (data) {
        let parsed;
        try {
          parsed = JSON.parse(data);
        } catch {
          continue; // a keep-alive or a non-JSON event: nothing to show
        }
        onEvent(parsed, type);
      }
    }
  }
}

// A presigned media URL from the streaming service ({url, expires_at, …}).
export async function mediaUrl(path) {
  return (await api(path)).url;
}
