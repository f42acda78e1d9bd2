-- Live memory: banks (per team, per project, and the shared world) of embedded texts.
-- One table for every bank; each bank records the embedder that filled it and
-- its dimension, and vectors are indexed per dimension (HNSW, cosine).
CREATE TABLE IF NOT EXISTS devfactory_memory_banks (
    bank       text PRIMARY KEY,
    embedder   text NOT NULL,
    dims       integer NOT NULL CHECK (dims > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS devfactory_memories (
    id           bigserial PRIMARY KEY,
    bank         text NOT NULL REFERENCES devfactory_memory_banks (bank) ON DELETE CASCADE,
    kind         text NOT NULL,
    text         text NOT NULL,
    provenance   jsonb NOT NULL DEFAULT '{}'::jsonb,
    content_hash text NOT NULL,
    embedding    vector NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bank, content_hash)
);
CREATE INDEX IF NOT EXISTS devfactory_memories_bank ON devfactory_memories (bank, kind);
CREATE INDEX IF NOT EXISTS devfactory_memories_hnsw_384 ON devfactory_memories
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX IF NOT EXISTS devfactory_memories_hnsw_768 ON devfactory_memories
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE vector_dims(embedding) = 768;

-- Who may read a memory: every memory a run leaves carries the run's owner, and
-- recall, search and Q&A return only the memories of owners the caller may see
-- (their own, or every owner for the policy's ``see_all_runs`` roles). ``shared``
-- marks knowledge meant for everyone; nothing a run writes is shared by itself.
-- Rows from before owners were kept take the owner of the run they came from.
ALTER TABLE devfactory_memories ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
ALTER TABLE devfactory_memories ADD COLUMN IF NOT EXISTS shared boolean NOT NULL DEFAULT false;
UPDATE devfactory_memories AS m SET owner = r.owner FROM devfactory_runs AS r
    WHERE m.owner = '' AND r.owner IS NOT NULL AND r.owner <> ''
      AND r.run_id = m.provenance->>'run';
CREATE INDEX IF NOT EXISTS devfactory_memories_owner ON devfactory_memories (bank, owner);
