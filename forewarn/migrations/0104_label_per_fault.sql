-- A verdict is given on a ticket, and a device's ticket can carry several of its faults (a lift out of service, then
-- passengers trapped in it; a rule's alarm and the learned "unusual behaviour" beside it): each fault gets its own
-- label, naming its incident, so that every detector the ticket came from is tuned and each is counted once in the
-- review's precision (tickets/flows.py record_verdict). Older labels name their ticket's first incident, which is
-- what they labelled.
ALTER TABLE detector_labels ADD COLUMN incident_id bigint REFERENCES incidents (id);
UPDATE detector_labels l SET incident_id = t.incident_id FROM tickets t WHERE t.id = l.ticket_id;
