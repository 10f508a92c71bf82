// vouch embed SDK: one ES module, no build step.
//
//   import { Vouch } from "https://auth.example.com/vouch.js";
//   const { account, username, token } = await Vouch.open({
//     mode: "signin",                      // "signin" | "account" | "recover"
//     dialogOrigin: "https://auth.example.com",
//     display: "auto",                     // "auto" | "popup" | "iframe"
//   });
//
// The dialog talks to this page only by postMessage, and both sides check the exact origin:
// the dialog posts only to the origin it was opened for (and the server must allow it), and
// this module accepts messages only from the dialog's origin, from the window it opened,
// carrying the nonce it chose. The Promise rejects with a VouchError whose `reason` is
// "closed" (the user closed the window), "cancelled" (the user cancelled in the dialog) or
// "error".

const MODES = ["signin", "account", "recover"];
const DISPLAYS = ["auto", "popup", "iframe"];
const POPUP_FEATURES = "popup,width=460,height=720";

// The dialog session of the last sign-in from this page, by dialog origin. Memory only
// (never storage, never in what open() resolves): "Manage account" opened right after a
// sign-in hands it back to the dialog, which then needs no passkey. A reload forgets it;
// the dialog's Sign out, or a session it refuses, drops it.
const sessions = new Map();

export class VouchError extends Error {
  constructor(reason, message) {
    super(message);
    this.name = "VouchError";
    this.reason = reason;
  }
}

function newNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

function dialogUrl(dialogOrigin, mode, display, nonce, resume) {
  const url = new URL("/dialog.html", dialogOrigin);
  const params = { mode, origin: location.origin, display, nonce };
  if (resume) params.resume = "1";
  url.search = new URLSearchParams(params).toString();
  return url.toString();
}

// Browsers that let a cross-origin frame run WebAuthn ceremonies expose the permission
// through the Permissions Policy API; elsewhere the popup is the safe choice.
function framesCanUseWebAuthn() {
  const policy = document.featurePolicy || document.permissionsPolicy;
  return Boolean(policy && policy.features && policy.features().includes("publickey-credentials-create"));
}

function openFrame(url, onClose) {
  const overlay = document.createElement("div");
  overlay.setAttribute("data-vouch-overlay", "");
  overlay.style.cssText =
    "position:fixed;inset:0;z-index:2147483647;display:grid;place-items:center;" +
    "background:rgb(0 0 0 / 0.45);";
  const frame = document.createElement("iframe");
  frame.src = url;
  frame.title = "Sign-in dialog";
  frame.allow = "publickey-credentials-get; publickey-credentials-create; clipboard-write";
  frame.style.cssText =
    "width:min(460px,100vw);height:min(720px,100vh);border:0;border-radius:12px;" +
    "background:Canvas;box-shadow:0 12px 40px rgb(0 0 0 / 0.3);";
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close the sign-in dialog");
  close.style.cssText =
    "position:fixed;top:12px;right:12px;width:44px;height:44px;border-radius:22px;" +
    "border:0;font-size:24px;cursor:pointer;background:Canvas;color:CanvasText;";
  close.addEventListener("click", onClose);
  const onKey = (event) => { if (event.key === "Escape") onClose(); };
  document.addEventListener("keydown", onKey);
  overlay.append(frame, close);
  document.body.append(overlay);
  frame.focus();
  return {
    window: () => frame.contentWindow,
    remove: () => { document.removeEventListener("keydown", onKey); overlay.remove(); },
  };
}

function openPopup(url) {
  const popup = window.open(url, "vouch-dialog", POPUP_FEATURES);
  if (!popup) throw new VouchError("error", "The browser blocked the sign-in window.");
  return popup;
}

export const Vouch = {
  open({ mode = "signin", dialogOrigin, display = "auto" } = {}) {
    return new Promise((resolve, reject) => {
      if (!MODES.includes(mode)) throw new VouchError("error", `Unknown mode "${mode}"`);
      if (!DISPLAYS.includes(display)) throw new VouchError("error", `Unknown display "${display}"`);
      const origin = new URL(dialogOrigin || location.origin).origin;
      const nonce = newNonce();
      const resume = mode === "account" ? sessions.get(origin) : undefined;
      let frame = null;
      let popup = null;
      let pollClosed = null;

      const cleanup = () => {
        window.removeEventListener("message", onMessage);
        if (pollClosed) clearInterval(pollClosed);
        if (frame) frame.remove();
        if (popup && !popup.closed) popup.close();
        frame = popup = null;
      };
      const fail = (reason, message) => { cleanup(); reject(new VouchError(reason, message)); };
      const source = () => (frame ? frame.window() : popup);

      const startPopup = () => {
        popup = openPopup(dialogUrl(origin, mode, "popup", nonce, resume));
        pollClosed = setInterval(() => {
          if (popup && popup.closed) fail("closed", "The sign-in window was closed.");
        }, 400);
      };

      function onMessage(event) {
        if (event.origin !== origin || event.source !== source()) return;
        const data = event.data;
        if (!data || typeof data !== "object" || data.nonce !== nonce) return;
        if (data.type === "vouch:ready" && resume) {
          event.source.postMessage({ type: "vouch:resume", nonce, session: resume }, origin);
        } else if (data.type === "vouch:signed-out") {
          sessions.delete(origin);
        } else if (data.type === "vouch:result") {
          const { account, username, token, session } = data.result || {};
          if (typeof session === "string") sessions.set(origin, session);
          cleanup();
          resolve({ account, username, token });
        } else if (data.type === "vouch:error") {
          fail(data.reason === "cancelled" ? "cancelled" : "error", String(data.message || ""));
        } else if (data.type === "vouch:webauthn-blocked" && frame && display === "auto") {
          frame.remove();
          frame = null;
          try { startPopup(); } catch (error) { fail("error", error.message); }
        }
      }

      window.addEventListener("message", onMessage);
      try {
        const useFrame = display === "iframe" || (display === "auto" && framesCanUseWebAuthn());
        if (useFrame) {
          frame = openFrame(dialogUrl(origin, mode, "iframe", nonce, resume), () =>
            fail("closed", "The sign-in dialog was closed."));
        } else {
          startPopup();
        }
      } catch (error) {
        cleanup();
        reject(error instanceof VouchError ? error : new VouchError("error", error.message));
      }
    });
  },
};

export default Vouch;
