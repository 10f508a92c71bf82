// Where an OpenID provider sends the dialog's sign-in popup back to (registered with the
// provider as https://DIALOG-ORIGIN/oidc-callback.html). The answer is in the fragment, so
// it never reaches a server log; this page hands it to the dialog that opened the popup,
// and only to a window of this same origin (postMessage's target origin).
// The dialog checks the sender's origin, that it is the popup it opened, and the state,
// and then closes this window itself. Closing here, right after posting, raced the
// dialog's watch for a closed window: on a busy machine the dialog could see the window
// gone before the message arrived, and tell the person they had closed it.
const FIELDS = ["id_token", "state", "error", "error_description"];
const LEFT_OPEN_MS = 15000;

const params = new URLSearchParams(location.hash.slice(1));
history.replaceState(null, "", location.pathname); // the token leaves the address bar

const answer = { type: "vouch-oidc" };
for (const field of FIELDS) {
  if (params.has(field)) answer[field] = params.get(field);
}

const status = document.getElementById("status");
if (window.opener && !window.opener.closed) {
  window.opener.postMessage(answer, location.origin);
  // Still open after this long: the dialog did not take the answer (it was for an earlier
  // sign-in, or the dialog moved on). Say so rather than sit on "Going back".
  setTimeout(() => {
    status.textContent = "The sign-in dialog did not take this answer. Close this window and try again.";
  }, LEFT_OPEN_MS);
} else {
  status.textContent =
    "The sign-in dialog that opened this window is gone. Close this window and start again.";
}
