// The record store's schema, in one place. Bump schema_version when it changes and add the
// migration step to RecordStore's constructor.
#pragma once

namespace stepline::host::store_schema {

inline constexpr int version = 1;

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
-- are written in the operation's own transaction (the outbox); the async service runs them.
-- state_code/status_code follow the asyncoperation codes: 0/0 Ready, 1/10 Waiting,
-- 2/20 In progress, 3/30 Succeeded, 3/31 Failed, 3/32 Canceled.
CREATE TABLE IF NOT EXISTS system_jobs (
  id                TEXT    PRIMARY KEY, -- = the frozen context's OperationId
  created_on        TEXT    NOT NULL,    -- ISO-8601 UTC, = OperationCreatedOn
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
  context           TEXT    NOT NULL     -- json format, Mode=1, IsInTransaction=false
);
CREATE INDEX IF NOT EXISTS system_jobs_due ON system_jobs (state_code, postpone_until, created_on);
)sql";

}  // namespace stepline::host::store_schema
