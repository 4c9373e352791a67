// Talking to the server. Only a JSON answer from Touchpoint counts: a captive portal's 200 HTML
// page, a proxy's error page or a dropped connection all mean "not sent, try again later".

/** Not sent; nothing is known to have happened, so trying again later is safe. */
export class TryLater extends Error {}
/** The session has ended: sign in again. */
export class SignedOut extends Error {}
/** The server answered and said no (4xx): `details` is its JSON error with every problem. */
export class Refused extends Error {
  constructor(status, details) {
    super(details?.message || `refused (${status})`);
    this.status = status;
    this.details = details;
  }
}

/** Who the server takes audits from (POST /api/audits's guard): a manager's audit is refused with 403,
 *  so the app says so before a manager starts one, not when it is sent. */
export const sendsAudits = (role) => ["auditor", "admin", "participant"].includes(role);
export const MANAGERS_SEND_NONE = "Managers cannot send audits: the server takes them from auditors (and admins). To do a visit, sign in with an auditor's account.";

export async function call(method, path, { json, blob, form, csrf, expectId } = {}) {
  const headers = { Accept: "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (blob !== undefined) { headers["Content-Type"] = blob.type || "application/octet-stream"; body = blob; }
  if (form !== undefined) body = form;  // FormData: the browser writes the multipart Content-Type
  let response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
  } catch {
    throw new TryLater("no connection to the server");
  }
  let data;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try { data = await response.json(); } catch { data = undefined; }
  }
  if (data === undefined) {
    throw new TryLater(`the network answered with something that is not Touchpoint (HTTP ${response.status}; a Wi-Fi sign-in page?)`);
  }
  if (response.status === 401) throw new SignedOut(data.message || "signed out");
  if (response.status >= 500 || response.status === 408 || response.status === 429) throw new TryLater(data.message || `server busy (${response.status})`);
  if (!response.ok) throw new Refused(response.status, data);
  if (expectId !== undefined && data.id !== expectId) throw new TryLater("the answer did not name what was sent");
  return data;
}
