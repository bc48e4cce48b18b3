-- The estate registry's version: `forewarn estate load` (ingest/estate_store.save_estate) bumps it in the same
-- transaction as its changes (and NOTIFYs forewarn_registry), so running workers reload devices, buildings and
-- served units without a restart.
CREATE TABLE registry_version (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO registry_version (version) VALUES (1);
