"""What follows each event, in order: the one table of reactions.

A store publishes an event inside its write transaction (or the Writer's savepoint for one
audit); every reaction below runs in that same transaction, in the order listed, so an audit and
its history row, flags, action and webhook deliveries commit together or not at all, and a
reaction that refuses (an audit that does not fit its assignment) undoes the whole audit.

The table is a module, not a registry filled at run time: the Writer is a spawned process, and
what it imports is what it runs. Adding a reaction (a mail, say) is one entry here."""

import sqlite_utils

from server import events
from server.followup import actions, flags, webhooks
from server.program import assignments, history

REACTIONS = {
    events.AuditArrived: (history.audit_arrived, assignments.audit_arrived, flags.audit_arrived, actions.audit_arrived, webhooks.audit_arrived),
    events.AuditReviewed: (history.audit_reviewed, actions.audit_reviewed, webhooks.audit_reviewed, assignments.audit_reviewed),
    events.AnswerCorrected: (history.answer_corrected,),
    events.PhotoStored: (flags.photo_stored,),
}


def publish(db: sqlite_utils.Database, event: events.Event) -> None:
    """Run every reaction to `event`, in order, in the caller's transaction."""
    for react in REACTIONS[type(event)]:
        react(db, event)
