// The demo host page: loads the SDK from the dialog's origin, like any embedding site would.
const dialogOrigin = new URLSearchParams(location.search).get("dialog") || location.origin;
const status = document.getElementById("status");
const claims = document.getElementById("claims");

function decodeClaims(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

async function open(mode) {
  const { Vouch } = await import(new URL("/vouch.js", dialogOrigin).toString());
  const display = document.querySelector("input[name=display]:checked").value;
  status.textContent = "Waiting for the dialog…";
  try {
    const result = await Vouch.open({ mode, dialogOrigin, display });
    status.textContent = `Signed in as ${result.username}`;
    claims.textContent = JSON.stringify(decodeClaims(result.token), null, 2);
    claims.hidden = false;
    document.body.dataset.token = result.token;
  } catch (error) {
    status.textContent = `Not signed in (${error.reason || "error"}): ${error.message}`;
  }
}

for (const button of document.querySelectorAll("button[data-mode]")) {
  button.addEventListener("click", () => open(button.dataset.mode));
}
