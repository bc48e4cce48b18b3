-- Photos residents and engineers attach to requests and work orders (tickets/attachments.py). Bytes live in
-- PostgreSQL: they are few and small (5 MB at most each), and one database keeps backups and access checks whole.
CREATE TABLE attachments (
    id            bigserial PRIMARY KEY,
    ticket_id     bigint REFERENCES tickets (id) ON DELETE CASCADE,
    uploaded_by   text NOT NULL REFERENCES users (id),
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size          integer NOT NULL CHECK (size > 0 AND size <= 5242880),
    sha256        bytea NOT NULL,
    bytes         bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_ticket ON attachments (ticket_id);
