"""The mystery-shop program around audits: review before an audit counts, corrections, assignments
and their schedules, and the append-only history of every change."""
