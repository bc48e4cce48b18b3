-- One complaint per submission (tickets/submissions.py). A client that did not hear the answer to a complaint it
-- sent (a connection reset, a phone losing signal, a second tap on Send) sends it again under the same key and is
-- answered with the first filing instead of filing twice. The key is the client's (`Idempotency-Key` on the API, a
-- hidden field of the resident's form), scoped to the account that submits; `fingerprint` is a digest of what was
-- submitted, so that one key reused for a different complaint is refused rather than answered with the wrong one.
CREATE TABLE complaint_submissions (
    submitter    text        NOT NULL,
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint  text        NOT NULL,
    complaint_id bigint      NOT NULL REFERENCES complaints (id) ON DELETE CASCADE,
    answer       jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (submitter, key)
);
CREATE INDEX complaint_submissions_complaint ON complaint_submissions (complaint_id);
