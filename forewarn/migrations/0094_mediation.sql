-- The complaint-handling group and external mediation (issue #16 point 6; handbook 003 §01 投訴處理組 "專項解決業主
-- 復雜投訴，需掌握衝突調解技巧", §03 第三方調解介入 "引入社區居委會或專業調解機構參與協商").
--
-- The group is a department: complex-tier complaints and billing disputes route to it (tickets/routing.py).
INSERT INTO departments (id, name) VALUES ('complaint_handling', '投诉处理组 Complaint handling')
ON CONFLICT (id) DO NOTHING;

-- An external mediation of a ticket: who mediates (a residents' committee, the owners' committee, a professional
-- mediator, the street office, or another party), from when until when, how it ended and what was agreed. While
-- one is open (ended_at IS NULL) the ticket's SLA clocks are paused; at most one is open per ticket.
CREATE TABLE mediations (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id),
    party_kind  text NOT NULL
                CHECK (party_kind IN ('residents_committee', 'owners_committee', 'mediator', 'street_office',
                                      'other')),
    party_name  text NOT NULL CHECK (party_name <> ''),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    outcome     text CHECK (outcome IN ('agreed', 'not_agreed', 'withdrawn')),
    agreement   text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    recorded_by text REFERENCES users (id),
    ended_by    text REFERENCES users (id),
    CHECK ((ended_at IS NULL) = (outcome IS NULL)),
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX mediations_one_open ON mediations (ticket_id) WHERE ended_at IS NULL;
CREATE INDEX mediations_ticket ON mediations (ticket_id, started_at);
