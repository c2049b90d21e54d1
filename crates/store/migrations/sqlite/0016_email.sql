-- Email continuity: the newest message an email carried to the customer (0: none), and the
-- conversations whose agent replies wait for an email (the customer has not read them), by
-- the time of their last change.
ALTER TABLE conversations ADD COLUMN emailed_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX conversations_email_due ON conversations (updated_at)
    WHERE contact_email IS NOT NULL AND last_author = 'agent'
      AND last_seq > emailed_seq AND last_seq > visitor_read;
