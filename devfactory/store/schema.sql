-- devfactory's own tables; LangGraph's checkpointer manages its tables itself.
CREATE TABLE IF NOT EXISTS devfactory_runs (
    run_id      text PRIMARY KEY,
    requirement text NOT NULL,
    pipeline    text NOT NULL,
    status      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    out_dir     text NOT NULL,
    pid         integer,
    host        text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_runs_created ON devfactory_runs (created_at DESC);
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS project text NOT NULL DEFAULT 'default';
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS spend jsonb NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX IF NOT EXISTS devfactory_runs_project ON devfactory_runs (project);
-- Who started the run (the CLI operator, or the chat's signed-in user).
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS devfactory_runs_owner ON devfactory_runs (owner, created_at DESC);

-- Every lifecycle transition of a run: who or what caused it, when and why.
-- ``key`` makes recording idempotent when a graph node is re-run.
CREATE TABLE IF NOT EXISTS devfactory_transitions (
    id         bigserial PRIMARY KEY,
    run_id     text NOT NULL REFERENCES devfactory_runs (run_id) ON DELETE CASCADE,
    key        text NOT NULL,
    from_phase text NOT NULL,
    to_phase   text NOT NULL,
    actor      text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, key)
);

-- Immutable audit memory: every event of a run, hash-chained per run.
-- ``body`` is the canonical JSON that ``hash`` covers; the database refuses
-- UPDATE, DELETE and TRUNCATE, so the chain can only grow.
CREATE TABLE IF NOT EXISTS devfactory_audit (
    id        bigserial PRIMARY KEY,
    run_id    text NOT NULL,
    seq       integer NOT NULL,
    key       text NOT NULL,
    kind      text NOT NULL,
    actor     text NOT NULL,
    at        timestamptz NOT NULL,
    body      text NOT NULL,
    prev_hash text NOT NULL,
    hash      text NOT NULL,
    search    tsvector GENERATED ALWAYS AS (
        to_tsvector('english', kind || ' ' || actor || ' ' || body)
    ) STORED,
    UNIQUE (run_id, seq),
    UNIQUE (run_id, key)
);
CREATE INDEX IF NOT EXISTS devfactory_audit_search ON devfactory_audit USING gin (search);

CREATE OR REPLACE FUNCTION devfactory_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'devfactory_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS devfactory_audit_no_change ON devfactory_audit;
CREATE TRIGGER devfactory_audit_no_change BEFORE UPDATE OR DELETE ON devfactory_audit
    FOR EACH ROW EXECUTE FUNCTION devfactory_audit_append_only();
DROP TRIGGER IF EXISTS devfactory_audit_no_truncate ON devfactory_audit;
CREATE TRIGGER devfactory_audit_no_truncate BEFORE TRUNCATE ON devfactory_audit
    FOR EACH STATEMENT EXECUTE FUNCTION devfactory_audit_append_only();

-- Who drives a run now: a lease that its driver renews while it works. A run
-- whose lease ran out (or whose driver's process is gone) may be claimed by
-- another; claiming is one compare-and-set, so two processes never drive it.
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS driver text;
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS lease_until timestamptz;
-- The interrupt ids a PAUSED run waits on: an answer must name one of them.
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS pending text[] NOT NULL DEFAULT '{}';

-- Standing pre-approvals of projects for unattended runs (devfactory approve-project):
-- the governance approval of an unattended run of a pre-approved project needs no
-- approver. A project's newest row decides (approve or revoke); rows are never changed,
-- so the table is its own history (each row is also appended to the audit log).
CREATE TABLE IF NOT EXISTS devfactory_project_approvals (
    id          bigserial PRIMARY KEY,
    project     text NOT NULL,
    action      text NOT NULL CHECK (action IN ('approve', 'revoke')),
    approved_by text NOT NULL,
    role        text NOT NULL,
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_project_approvals_newest
    ON devfactory_project_approvals (project, id DESC);
CREATE OR REPLACE FUNCTION devfactory_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- Budgets set per project by an admin (the console's settings, ``PUT /projects/{p}/caps``).
-- The table only grows: a project's newest row decides what its new runs get.
CREATE TABLE IF NOT EXISTS devfactory_project_caps (
    id      bigserial PRIMARY KEY,
    project text NOT NULL,
    caps    jsonb NOT NULL,
    set_by  text NOT NULL,
    role    text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_project_caps_newest ON devfactory_project_caps (project, id DESC);
-- The two project tables refuse change. The triggers are created once (no DROP): preparing
-- again takes no exclusive lock on the table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['devfactory_project_approvals', 'devfactory_project_caps'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = t || '_no_change'
                       AND tgrelid = t::regclass) THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
                           || 'EXECUTE FUNCTION devfactory_append_only()', t || '_no_change', t);
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                           || 'EXECUTE FUNCTION devfactory_append_only()', t || '_no_truncate', t);
        END IF;
    END LOOP;
END
$$;

-- The run queue (devfactory worker). A run submitted to the workers (``mode``
-- 'worker') waits with ``queued_at`` set until a worker claims it with
-- ``FOR UPDATE SKIP LOCKED`` and takes its lease; ``inbox`` is what the next
-- drive feeds the graph (the first input, or a person's answers). ``crashes``
-- counts drives that ended without releasing the run (the watchdog requeues
-- such a run, and fails it past the configured cap). ``cancel_by`` is who asked
-- the run to stop; its driver stops at the next step boundary.
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS mode text NOT NULL DEFAULT 'local';
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS queued_at timestamptz;
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS inbox jsonb;
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS crashes integer NOT NULL DEFAULT 0;
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS cancel_by text;
CREATE INDEX IF NOT EXISTS devfactory_runs_queued
    ON devfactory_runs (queued_at) WHERE queued_at IS NOT NULL;

-- Every event shown while a run was driven, in order: the live feed that the
-- API's Server-Sent Events replay from (``id`` is the SSE event id). New rows
-- are announced on the ``devfactory_events`` channel with the run id.
CREATE TABLE IF NOT EXISTS devfactory_events (
    id     bigserial PRIMARY KEY,
    run_id text NOT NULL REFERENCES devfactory_runs (run_id) ON DELETE CASCADE,
    kind   text NOT NULL,
    body   jsonb NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_events_run ON devfactory_events (run_id, id);

-- Retention: a finished run older than ``retention_days`` is archived (the
-- watchdog sets ``archived_at``); an admin may then purge it: its checkpoints,
-- its event feed and its folder are deleted and ``purged_at`` set. Its row, its
-- transitions and its audit log stay (audit rows are never deleted).
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS archived_at timestamptz;
ALTER TABLE devfactory_runs ADD COLUMN IF NOT EXISTS purged_at timestamptz;

-- Sign-in failures of the chat and the console, per name at an address, per address
-- and per name (``control/signin_throttle.py``): kept here so that a lock outlives the process,
-- and shared by every replica. ``strikes`` counts a key's locks (each lasts longer).
-- Rows go only when they expire (no failure left in the window, no lock for a while),
-- or when an admin unlocks a name, never to make room, so no flood of names can
-- clear a lock.
CREATE TABLE IF NOT EXISTS devfactory_signin_failures (
    key          text PRIMARY KEY,
    failures     double precision[] NOT NULL DEFAULT '{}',
    locked_until double precision NOT NULL DEFAULT 0
);
ALTER TABLE devfactory_signin_failures ADD COLUMN IF NOT EXISTS strikes integer NOT NULL DEFAULT 0;

-- What a run's readers are shown (``store/views.py``): the part of its graph state
-- that GET /runs/{id}, /pending and `devfactory status` show, and the questions a
-- paused run waits on, kept by its recorder so that no read decodes a checkpoint.
-- A run recorded before this table existed has no row until its first read.
CREATE TABLE IF NOT EXISTS devfactory_run_views (
    run_id     text PRIMARY KEY REFERENCES devfactory_runs (run_id) ON DELETE CASCADE,
    state      jsonb NOT NULL DEFAULT '{}'::jsonb,
    pending    jsonb NOT NULL DEFAULT '[]'::jsonb,
    next       text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every change of what GET /runs/{id} shows (a run's row, its view, its transitions) is
-- announced on ``devfactory_runs`` with the run's id ('' for a TRUNCATE: every run) when
-- its transaction commits, whoever writes it: each API process then forgets the
-- finished run's detail it kept (``api/finished.py``). Created once (no DROP).
CREATE OR REPLACE FUNCTION devfactory_run_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('devfactory_runs', '');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('devfactory_runs', OLD.run_id);
    ELSE
        PERFORM pg_notify('devfactory_runs', NEW.run_id);
    END IF;
    RETURN NULL;
END
$$;
DO $$
DECLARE
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['devfactory_runs', 'devfactory_run_views', 'devfactory_transitions']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = tab || '_changed'
                       AND tgrelid = tab::regclass) THEN
            EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I'
                           ' FOR EACH ROW EXECUTE FUNCTION devfactory_run_changed()',
                           tab || '_changed', tab);
            EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I'
                           ' FOR EACH STATEMENT EXECUTE FUNCTION devfactory_run_changed()',
                           tab || '_truncated', tab);
        END IF;
    END LOOP;
END
$$;

-- Model health (``store/health_snapshots.py``): each process that calls models writes its
-- snapshot (one row per model label, throttled); `devfactory models`, GET /models and
-- the console read the fresh rows of every process.
CREATE TABLE IF NOT EXISTS devfactory_model_health (
    source     text NOT NULL,  -- host:pid of the process that made the calls
    label      text NOT NULL,  -- provider:model
    breaker    text NOT NULL CHECK (breaker IN ('closed', 'open', 'half_open')),
    standing   text NOT NULL CHECK (standing IN ('healthy', 'degraded', 'blocked')),
    score      double precision NOT NULL CHECK (score >= 0 AND score <= 1),
    calls      bigint NOT NULL DEFAULT 0,
    errors     bigint NOT NULL DEFAULT 0,
    timeouts   bigint NOT NULL DEFAULT 0,
    failures   integer NOT NULL DEFAULT 0,
    p50_ms     bigint,
    retry_in_s double precision,
    last_error text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, label)
);

-- Operations (``store/controls.py``): what an admin holds now. A row exists while it
-- holds: the emergency stop (kind 'stop', target ''), a paused team (kind 'team') or a
-- paused project (kind 'project', by a person or an open incident). Releasing deletes
-- the row; every change is appended to the audit log (``operations``) with who made it.
CREATE TABLE IF NOT EXISTS devfactory_controls (
    kind     text NOT NULL CHECK (kind IN ('stop', 'team', 'project')),
    target   text NOT NULL DEFAULT '',
    held_by  text NOT NULL,
    reason   text NOT NULL DEFAULT '',
    incident bigint,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, target)
);
-- Confidence thresholds an admin set per team at run time (the gate reads them at the
-- next attempt; a team with no row keeps its team.yaml's threshold).
CREATE TABLE IF NOT EXISTS devfactory_thresholds (
    team       text PRIMARY KEY,
    confidence double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    set_by     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);

-- Incidents (``store/incidents_table.py``): a trigger paused a project; a person resumes,
-- rolls back or closes it. ``facts`` are what the triggers compare with: one row per
-- finished stage (spend, seconds, calls) and per finished run whose tests ran.
CREATE TABLE IF NOT EXISTS devfactory_incidents (
    id           bigserial PRIMARY KEY,
    project      text NOT NULL,
    run_id       text NOT NULL DEFAULT '',
    trigger      text NOT NULL,
    summary      text NOT NULL,
    last_actions jsonb NOT NULL DEFAULT '[]'::jsonb,
    spend        jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'resumed', 'rolled_back', 'closed')),
    opened_at    timestamptz NOT NULL DEFAULT now(),
    decided_by   text,
    decision     text NOT NULL DEFAULT '',
    decided_at   timestamptz
);
CREATE INDEX IF NOT EXISTS devfactory_incidents_open ON devfactory_incidents (project)
    WHERE status = 'open';
CREATE TABLE IF NOT EXISTS devfactory_incident_facts (
    id           bigserial PRIMARY KEY,
    project      text NOT NULL,
    run_id       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('stage', 'run')),
    key          text NOT NULL UNIQUE,  -- a stage recorded again (a resumed run) counts once
    team         text NOT NULL DEFAULT '',
    tokens       bigint NOT NULL DEFAULT 0,
    cost_usd     double precision NOT NULL DEFAULT 0,
    seconds      double precision NOT NULL DEFAULT 0,
    calls        integer NOT NULL DEFAULT 0,
    tests_failed boolean,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devfactory_incident_facts_recent
    ON devfactory_incident_facts (project, kind, id DESC);

-- Console sign-ins (``store/sessions.py``): one row per signed-in browser, keyed by the
-- SHA-256 of the random token in its cookie (the token itself is never stored). Signing
-- out deletes the row, `devfactory users rotate-secret` deletes them all, and expired
-- rows are purged a batch at a time as people sign in (the runtime role deletes them).
CREATE TABLE IF NOT EXISTS devfactory_console_sessions (
    id           bigserial PRIMARY KEY,
    token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    person       text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS devfactory_console_sessions_person
    ON devfactory_console_sessions (person, created_at DESC);
CREATE INDEX IF NOT EXISTS devfactory_console_sessions_expiry
    ON devfactory_console_sessions (expires_at);

-- Secrets kept out of the data directory's files, by name (``chat/secret.py``: the chat's
-- signing secret, read by every chat process and replaced by `devfactory users
-- rotate-secret`): a link planted in a run's folder cannot name a row.
CREATE TABLE IF NOT EXISTS devfactory_secrets (
    name       text PRIMARY KEY,
    value      text NOT NULL CHECK (length(value) >= 32),
    changed_at timestamptz NOT NULL DEFAULT now()
);
