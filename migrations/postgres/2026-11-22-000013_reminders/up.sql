-- Reminders and escalations: at most one row per assignment and step (reminder before the due
-- date, escalation after it). The row and its e-mails are written in one transaction, so each
-- step is e-mailed once, however many schedulers run and however often they restart.
CREATE TABLE reminders (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    step TEXT NOT NULL CHECK (step IN ('reminder', 'escalation')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (assignment_id, step)
);
-- Open leads by due date, for the scheduler.
CREATE INDEX assignments_open_leads_due ON assignments (due_date, id) WHERE ended_at IS NULL AND purpose = 'action';
