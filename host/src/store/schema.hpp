// The record store's schema, in one place. Bump `version` when it changes, add the step that
// brings the previous version's database up to it to `migrations`, and keep `sql` the complete
// newest schema (a new database runs only `sql`).
#pragma once

#include <array>

namespace stepline::host::store::schema {

inline constexpr int version = 6;

inline constexpr const char* sql = R"sql(
-- Records: one row per record; its attributes are one document in Stepline's json format.
CREATE TABLE IF NOT EXISTS records (
  seq         INTEGER PRIMARY KEY,       -- creation order, the order queries return
  entity      TEXT    NOT NULL,          -- table logical name
  id          TEXT    NOT NULL,          -- lower-case guid
  attributes  TEXT    NOT NULL,          -- {"name":"Contoso","revenue":{"@type":"money",...}}
  created_on  TEXT    NOT NULL,          -- ISO-8601 UTC
  modified_on TEXT    NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1,
  UNIQUE (entity, id)
);

-- System jobs: asynchronous steps to run after the operation that queued them committed. Rows
-- are written in the operation's own transaction (the outbox); the async service runs them
-- (docs/JOBS.md). state_code/status_code follow the asyncoperation codes: 0/0 Ready, 1/10
-- Waiting (postponed or waiting for a retry until postpone_until), 2/20 In progress, 2/21
-- Pausing, 2/22 Canceling, 3/30 Succeeded, 3/31 Failed, 3/32 Canceled.
-- Every time is ISO-8601 UTC with milliseconds (fixed width), so text order is time order.
-- `sequence` is the rowid: creation order (max + 1 when written), so a new job appends to the
-- table and needs no index of its own.
CREATE TABLE IF NOT EXISTS system_jobs (
  sequence          INTEGER PRIMARY KEY, -- creation order
  id                TEXT    NOT NULL UNIQUE, -- = the frozen context's OperationId
  created_on        TEXT    NOT NULL,    -- = OperationCreatedOn
  step_id           TEXT    NOT NULL,
  step_name         TEXT    NOT NULL,
  regarding_entity  TEXT,
  regarding_id      TEXT,
  message           TEXT    NOT NULL,
  depth             INTEGER NOT NULL,
  correlation_id    TEXT    NOT NULL,
  state_code        INTEGER NOT NULL DEFAULT 0,
  status_code       INTEGER NOT NULL DEFAULT 0,
  retry_count       INTEGER NOT NULL DEFAULT 0,
  postpone_until    TEXT,
  error_code        INTEGER,
  message_text      TEXT,
  friendly_message  TEXT,
  execution_time_ms INTEGER,
  endpoint          TEXT,                -- service endpoint name; NULL for a plug-in step
  ordering_key      TEXT,                -- jobs sharing a key run one at a time, in sequence
  started_on        TEXT,                -- the last attempt's start
  completed_on      TEXT,
  lease_owner       TEXT,                -- host:pid:nonce of the process running it
  lease_until       TEXT,                -- after this another process may take it back
  trace             TEXT,                -- the plug-in's trace lines of the last attempt
  crash_count       INTEGER NOT NULL DEFAULT 0, -- attempts during which the host process died
  context_at        INTEGER,             -- where the frozen context is in the context log
  context_size      INTEGER              -- (NULL: in system_job_contexts instead), its bytes
);
-- Every job but the succeeded ones, by state: what the service looks for (Ready jobs in
-- order), and what an operator filters on (failed, waiting). A job that succeeds leaves it, so
-- it holds the jobs in flight and the few that need a person, not the whole history; a query
-- that wants it says `status_code <> 30`.
CREATE INDEX IF NOT EXISTS system_jobs_state ON system_jobs (state_code, sequence)
  WHERE status_code <> 30;
CREATE INDEX IF NOT EXISTS system_jobs_postponed ON system_jobs (postpone_until)
  WHERE state_code = 1;
CREATE INDEX IF NOT EXISTS system_jobs_ordered ON system_jobs (ordering_key, sequence)
  WHERE ordering_key IS NOT NULL;

-- The jobs whose contexts are in the context log, by place: which jobs refer to a segment
-- (host/src/store/context_log.hpp).
CREATE INDEX IF NOT EXISTS system_jobs_context_at ON system_jobs (context_at)
  WHERE context_at IS NOT NULL;

-- The frozen contexts that are not in the context log (written before it, or moved out of a
-- segment that was retired), apart from their jobs: a job's row is rewritten when a worker
-- takes it and when it records a result, and without its 2-3 KiB context that touches a
-- fraction of a page instead of a page. Keyed by the job's sequence.
CREATE TABLE IF NOT EXISTS system_job_contexts (
  sequence INTEGER PRIMARY KEY,          -- = system_jobs.sequence
  context  TEXT    NOT NULL              -- json format, Mode=1, IsInTransaction=false
);
CREATE TRIGGER IF NOT EXISTS system_jobs_context_gone AFTER DELETE ON system_jobs
BEGIN
  DELETE FROM system_job_contexts WHERE sequence = old.sequence;
END;
)sql";

/// migrations[v - 1] brings a version-v database to version v + 1.
inline constexpr std::array<const char*, version - 1> migrations = {
    // 1 -> 2: the async service's columns; creation order taken from the insertion order.
    R"sql(
ALTER TABLE system_jobs ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE system_jobs ADD COLUMN ordering_key TEXT;
ALTER TABLE system_jobs ADD COLUMN started_on TEXT;
ALTER TABLE system_jobs ADD COLUMN completed_on TEXT;
ALTER TABLE system_jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE system_jobs ADD COLUMN lease_until TEXT;
ALTER TABLE system_jobs ADD COLUMN trace TEXT;
UPDATE system_jobs SET sequence = rowid;
DROP INDEX IF EXISTS system_jobs_due;
)sql",
    // 2 -> 3: contexts move to a table of their own.
    R"sql(
CREATE TABLE system_job_contexts (sequence INTEGER PRIMARY KEY, context TEXT NOT NULL);
INSERT INTO system_job_contexts (sequence, context) SELECT sequence, context FROM system_jobs;
ALTER TABLE system_jobs DROP COLUMN context;
)sql",
    // 3 -> 4: attempts that never returned because the host died.
    R"sql(
ALTER TABLE system_jobs ADD COLUMN crash_count INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4 -> 5: the job's sequence becomes its rowid (one index fewer to write per job), and the
    // state index leaves succeeded jobs out. SQLite changes neither in place: the table is
    // copied. (The table as version 5 has it, kept here as it is when `sql` changes later.)
    R"sql(
DROP TRIGGER IF EXISTS system_jobs_context_gone;
CREATE TABLE system_jobs_v5 (
  sequence          INTEGER PRIMARY KEY, -- creation order
  id                TEXT    NOT NULL UNIQUE, -- = the frozen context's OperationId
  created_on        TEXT    NOT NULL,    -- = OperationCreatedOn
  step_id           TEXT    NOT NULL,
  step_name         TEXT    NOT NULL,
  regarding_entity  TEXT,
  regarding_id      TEXT,
  message           TEXT    NOT NULL,
  depth             INTEGER NOT NULL,
  correlation_id    TEXT    NOT NULL,
  state_code        INTEGER NOT NULL DEFAULT 0,
  status_code       INTEGER NOT NULL DEFAULT 0,
  retry_count       INTEGER NOT NULL DEFAULT 0,
  postpone_until    TEXT,
  error_code        INTEGER,
  message_text      TEXT,
  friendly_message  TEXT,
  execution_time_ms INTEGER,
  endpoint          TEXT,                -- service endpoint name; NULL for a plug-in step
  ordering_key      TEXT,                -- jobs sharing a key run one at a time, in sequence
  started_on        TEXT,                -- the last attempt's start
  completed_on      TEXT,
  lease_owner       TEXT,                -- host:pid:nonce of the process running it
  lease_until       TEXT,                -- after this another process may take it back
  trace             TEXT,                -- the plug-in's trace lines of the last attempt
  crash_count       INTEGER NOT NULL DEFAULT 0 -- attempts during which the host process died
);
INSERT INTO system_jobs_v5 (
sequence, id, created_on, step_id, step_name, regarding_entity, regarding_id, message, depth,
correlation_id, state_code, status_code, retry_count, postpone_until, error_code, message_text,
friendly_message, execution_time_ms, endpoint, ordering_key, started_on, completed_on,
lease_owner, lease_until, trace, crash_count)
SELECT
sequence, id, created_on, step_id, step_name, regarding_entity, regarding_id, message, depth,
correlation_id, state_code, status_code, retry_count, postpone_until, error_code, message_text,
friendly_message, execution_time_ms, endpoint, ordering_key, started_on, completed_on,
lease_owner, lease_until, trace, crash_count
FROM system_jobs ORDER BY sequence;
DROP TABLE system_jobs;
ALTER TABLE system_jobs_v5 RENAME TO system_jobs;
)sql",
    // 5 -> 6: new jobs' contexts go to the context log; the jobs keep where.
    R"sql(
ALTER TABLE system_jobs ADD COLUMN context_at INTEGER;
ALTER TABLE system_jobs ADD COLUMN context_size INTEGER;
)sql",
};

}  // namespace stepline::host::store::schema
