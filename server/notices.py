"""The "Done: ..." notices the managers' pages show after a form, as the server wrote them.

A form's answer sends the browser to a page with `?said=KEY` (a count after it where one is
made: `scheduled 12`). The page shows the message this table holds for the key, and nothing for
any other text: a link someone else made cannot put words of their own on a trusted page
("Done: your account is locked, call +44 ..."). Pure."""

NOTICES: dict[str, dict[str, str]] = {
    "audit": {"approved": "the audit is approved", "returned": "the audit is returned to its auditor", "rejected": "the audit is rejected",
              "corrected": "the audit is corrected", "explained": "the flag is explained"},
    "action": {"closed": "the action is closed"},
    "assignment": {"planned": "the visit is planned", "cancelled": "the visit is cancelled"},
    "assignments": {"scheduled": "{n} visits scheduled", "imported": "{n} visits imported"},
    "campaign": {"made": "the campaign was made", "revoked": "the join link was revoked", "renewed": "the join link was renewed"},
    "location": {"added": "the location was added", "saved": "the location was saved", "moved": "the location was moved to its new region, its audits with it",
                 "deactivated": "the location is deactivated and {n} open assignments there were cancelled", "activated": "the location is active again"},
    "locations": {"region_made": "the region was made", "region_renamed": "the region was renamed"},
    "webhooks": {"added": "the webhook was added", "removed": "the webhook was removed", "queued": "the delivery is queued to be sent again"},
    "brands": {"published": "the draft is published: {n} files changed, current for everyone now"},
    "draft": {"saved": "the draft is saved; auditors do not see it until it is published", "discarded": "the draft is discarded", "unchanged": "the workbook holds the checklist as the draft has it: nothing changed",
              "copied": "the new brand is made as a copy and published; edit it here"},
    "mail": {"queued": "the mail is queued to be sent again"},
    "person": {"edited": "the changes are saved", "disabled": "they can no longer sign in: their sessions ended and their tokens were revoked",
               "enabled": "they may sign in again", "forgotten": "the person is forgotten: their name and e-mail are replaced by their code",
               "ended": "{n} sessions ended", "uninvited": "the invitation was revoked: its link no longer works"},
    "account": {"revoked": "the token was revoked"},
}


def notice(page: str, said: str | None) -> str | None:
    """The notice for `said` on `page` ("Done: the action is closed."), or None for anything the server did not write."""
    key, _, count = (said or "").partition(" ")
    message = NOTICES[page].get(key)
    counted = "{n}" in message if message else False
    if message is None or (not (count.isdigit() and len(count) < 10) if counted else count != ""):
        return None
    return f"Done: {message.format(n=int(count)) if counted else message}."
