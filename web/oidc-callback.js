// Where an OpenID provider sends the dialog's sign-in popup back to (registered with the
// provider as https://DIALOG-ORIGIN/oidc-callback.html). The answer is in the fragment, so
// it never reaches a server log; this page hands it to the dialog that opened the popup,
// and only to a window of this same origin (postMessage's target origin), then closes.
// The dialog checks the sender's origin, that it is the popup it opened, and the state.
const FIELDS = ["id_token", "state", "error", "error_description"];

const params = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, "", location.pathname); // the token leaves the address bar

const answer = { type: "vouch-oidc" };
for (const field of FIELDS) {
  if (params.has(field)) answer[field] = params.get(field);
}

const status = document.getElementById("status");
if (window.opener && !window.opener.closed) {
  window.opener.postMessage(answer, location.origin);
  window.close();
} else {
  status.textContent =
    "The sign-in dialog that opened this window is gone. Close this window and start again.";
}
