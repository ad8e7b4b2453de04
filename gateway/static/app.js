// VideoForge's page: a hash router over its views. Anyone browses, searches and watches
// public videos; signing in adds uploading, "My library" (with private videos) and
// webhooks. Plain ES modules, no build step.

import { currentUser, login, logout, tokens } from "./api.js";
import { $, mount, say } from "./dom.js";
import { showGallery } from "./gallery.js";
import { showUpload } from "./uploader.js";
import { showWatch } from "./watch.js";
import { WebhooksView } from "./webhooks.js";

const NEXT = "vf.next"; // where to go back to after signing in
const SIGNED_IN_ONLY = new Set(["#/mine", "#/upload", "#/webhooks"]);

function setNav() {
  const user = currentUser();
  for (const a of $("nav").querySelectorAll("[data-signed-in]")) a.hidden = !user;
  $("sign-in").hidden = Boolean(user);
  $("who").hidden = !user;
  $("who-name").textContent = user ? `Signed in as ${user.name}` : "";
  const here = location.hash || "#/";
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

function showLogin(next) {
  mount("tpl-login");
  $("login-user").focus();
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    $("login-error").textContent = "";
    try {
      await login(form.get("username"), form.get("password"));
      say("Signed in.");
      sessionStorage.removeItem(NEXT);
      if (location.hash === next) route();
      else location.hash = next; // the hashchange routes there
    } catch (error) {
      $("login-error").textContent = `Could not sign in: ${error.message}.`;
    }
  });
}

// Send the visitor to sign in, then back to ``next``.
function signInFor(next) {
  sessionStorage.setItem(NEXT, next);
  location.hash = "#/login";
}

function route() {
  setNav();
  const hash = location.hash || "#/";
  const watch = hash.match(/^#\/watch\/([\w-]+)$/);
  if (hash === "#/login") {
    if (tokens()) location.hash = sessionStorage.getItem(NEXT) || "#/";
    else showLogin(sessionStorage.getItem(NEXT) || "#/");
  } else if (SIGNED_IN_ONLY.has(hash) && !tokens()) {
    signInFor(hash);
  } else if (watch) {
    sessionStorage.setItem(NEXT, hash); // "sign in" from here comes back here
    showWatch(watch[1]);
  } else if (hash === "#/mine") {
    showGallery({ mine: true });
  } else if (hash === "#/upload") {
    showUpload();
  } else if (hash === "#/webhooks") {
    const main = mount("tpl-webhooks");
    new WebhooksView(main, say).show().catch((error) => say(`Webhooks: ${error.message}`));
  } else {
    sessionStorage.removeItem(NEXT);
    showGallery({ mine: false });
  }
  $("main").focus({ preventScroll: true });
}

// The skip link moves focus without touching the hash (the router's).
$("skip").addEventListener("click", (e) => {
  e.preventDefault();
  $("main").focus();
});
$("sign-out").addEventListener("click", () => {
  logout();
  say("Signed out.");
  if (SIGNED_IN_ONLY.has(location.hash)) location.hash = "#/";
  else route();
});
window.addEventListener("vf:signed-out", () => {
  say("Your session ended; sign in again to upload or see your own videos.");
  route();
});
window.addEventListener("hashchange", route);
route();
