// The job store's behaviour, the same on every kind of store: taking due jobs under a lease in
// creation order, per-record order, leases lost and recovered, the operator's status changes,
// the hand-off of an operation's jobs at its commit, and two hosts working on one store.
#include <doctest/doctest.h>

#include <atomic>
#include <cctype>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "jobs/fixture.hpp"
#include "store/kinds.hpp"

using namespace stepline;
using namespace stepline::test;
using namespace std::chrono_literals;
using host::store::JobRefused;
using host::store::JobResult;
using host::store::JobStatus;
using host::store::status_of;
using host::store::SystemJob;

namespace {

SystemJob new_job(int n, std::string ordering_key = {},
                  std::optional<std::string> endpoint = std::string("orders")) {
  SystemJob j;
  j.id = host::store::time_ordered_guid();
  j.created_on = now_utc();
  j.step_id = fixed_guid(100);
  j.step_name = "publish";
  j.regarding_entity = "account";
  j.regarding_id = fixed_guid(n);
  j.message = "Update";
  j.correlation_id = Guid::random();
  j.endpoint = std::move(endpoint);
  j.ordering_key = std::move(ordering_key);
  j.context = R"({"MessageName":"Update"})";
  return j;
}

template <class Kind>
struct JobStores : Stores<Kind> {
  Guid add(SystemJob j) {
    this->records->add_system_job(j);
    return j.id;
  }
  JobStatus status(const Guid& id) { return *status_of(this->jobs->find(id.str())); }
  /// `n` new jobs, taken by `owner` for a minute from `now`: In progress, as a worker holds them.
  std::vector<Guid> add_taken(int n, std::string_view owner, DateTime now) {
    std::vector<Guid> out;
    for (int i = 1; i <= n; ++i) out.push_back(add(new_job(i)));
    REQUIRE(this->jobs->take(owner, now, now + 1min, n, true).size() ==
            static_cast<std::size_t>(n));
    return out;
  }
};

std::vector<Guid> ids(const std::vector<SystemJob>& jobs) {
  std::vector<Guid> out;
  for (auto& j : jobs) out.push_back(j.id);
  return out;
}

/// Takes every job offered (or none), as the async service does, and remembers what came back.
class RecordingHandoff : public host::store::JobHandoff {
 public:
  bool take = true;
  std::vector<SystemJob> handed;
  std::size_t claimed = 0, abandoned_count = 0;

  bool claim(SystemJob& job) override {
    if (!take) return false;
    ++claimed;
    job.state_code = 2;
    job.status_code = 20;
    job.lease_owner = "here:1:handoff";
    job.lease_until = now_utc() + 60s;
    job.started_on = now_utc();
    return true;
  }
  void committed(std::vector<SystemJob> jobs) override {
    for (auto& j : jobs) handed.push_back(std::move(j));
  }
  void abandoned(std::size_t count) override { abandoned_count += count; }
};

}  // namespace

TEST_CASE_TEMPLATE("take leases due jobs in creation order, and never the same job twice", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  std::vector<Guid> created;
  for (int i = 0; i < 5; ++i) created.push_back(s.add(new_job(i)));
  auto now = now_utc();
  auto first = s.jobs->take("a:1:x", now, now + 60s, 3, true);
  CHECK(ids(first) == std::vector<Guid>(created.begin(), created.begin() + 3));
  for (auto& j : first) {
    CHECK(status_of(j) == JobStatus::in_progress);
    CHECK(j.lease_owner == "a:1:x");
    CHECK(j.lease_until == now + 60s);
    CHECK(j.context == R"({"MessageName":"Update"})");
  }
  CHECK(first[0].sequence < first[1].sequence);
  auto second = s.jobs->take("b:2:y", now, now + 60s, 10, true);
  CHECK(ids(second) == std::vector<Guid>(created.begin() + 3, created.end()));
  CHECK(s.jobs->take("c:3:z", now, now + 60s, 10, true).empty());
  CHECK_FALSE(s.jobs->has_due(now, true));
}

TEST_CASE_TEMPLATE("a waiting job is due only once its postpone-until has passed", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  s.jobs->postpone(id, now + 1h);
  CHECK_FALSE(s.jobs->has_due(now, true));
  CHECK(s.jobs->take("a:1:x", now, now + 1min, 10, true).empty());
  CHECK(s.jobs->has_due(now + 2h, true));
  auto taken = s.jobs->take("a:1:x", now + 2h, now + 3h, 10, true);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].id == id);
}

TEST_CASE_TEMPLATE("without endpoints only plug-in jobs are taken", Kind, STORE_KINDS) {
  JobStores<Kind> s;
  s.add(new_job(1));
  auto plugin = s.add(new_job(2, {}, std::nullopt));
  auto now = now_utc();
  CHECK(ids(s.jobs->take("a:1:x", now, now + 1min, 10, false)) == std::vector<Guid>{plugin});
}

TEST_CASE_TEMPLATE("jobs sharing an ordering key are taken one at a time, in creation order", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto a1 = s.add(new_job(1, "account:1"));
  auto b1 = s.add(new_job(2, "account:2"));
  auto a2 = s.add(new_job(1, "account:1"));
  auto plain = s.add(new_job(1));
  auto now = now_utc();
  CHECK(ids(s.jobs->take("w:1:x", now, now + 1min, 10, true)) == std::vector<Guid>{a1, b1, plain});
  CHECK(s.jobs->take("w:1:x", now, now + 1min, 10, true).empty());  // a2 waits for a1

  JobResult done{.id = a1};
  s.jobs->finish(std::span(&done, 1), "w:1:x", now);
  CHECK(ids(s.jobs->take("w:1:x", now, now + 1min, 10, true)) == std::vector<Guid>{a2});
}

TEST_CASE_TEMPLATE("a failed job no longer holds back the later jobs of its record", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto a1 = s.add(new_job(1, "account:1"));
  auto a2 = s.add(new_job(1, "account:1"));
  auto now = now_utc();
  s.jobs->take("w:1:x", now, now + 1min, 10, true);
  JobResult failed{.id = a1, .status = JobStatus::failed, .error_code = 1, .message = "no"};
  CHECK(s.jobs->finish(std::span(&failed, 1), "w:1:x", now)[0] == JobStatus::failed);
  CHECK(ids(s.jobs->take("w:1:x", now, now + 1min, 10, true)) == std::vector<Guid>{a2});
}

TEST_CASE_TEMPLATE("results are written only for jobs the owner still holds", Kind, STORE_KINDS) {
  JobStores<Kind> s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  s.jobs->take("old:1:x", now, now + 1s, 10, true);
  CHECK(s.jobs->recover(now + 2s, {}) == 1);  // the lease expired
  s.jobs->take("new:2:y", now + 2s, now + 1min, 10, true);
  JobResult late{.id = id};
  CHECK_FALSE(s.jobs->finish(std::span(&late, 1), "old:1:x", now + 3s)[0].has_value());
  CHECK(s.status(id) == JobStatus::in_progress);
  CHECK(s.jobs->find(id.str()).lease_owner == "new:2:y");
}

TEST_CASE_TEMPLATE("results record retries, failures and removals in one call", Kind, STORE_KINDS) {
  JobStores<Kind> s;
  auto now = now_utc();
  const auto taken = s.add_taken(3, "w:1:x", now);
  const Guid retried = taken[0], failed = taken[1], removed = taken[2];
  std::vector<JobResult> results{
      {.id = retried,
       .status = JobStatus::waiting,
       .retry_count = 1,
       .postpone_until = now + 5s,
       .error_code = -2147204346,
       .message = "amqp:resource-limit-exceeded: busy",
       .friendly_message = "Posting failed; attempt 1 of 10",
       .execution_time_ms = 12},
      {.id = failed,
       .status = JobStatus::failed,
       .error_code = 7,
       .message = "no",
       .friendly_message = "it's \"quoted\", with a \\ backslash",
       .trace = std::string("line 1\nline 2, a NUL ") + '\0' + " and after it"},
      {.id = removed, .remove = true}};
  auto written = s.jobs->finish(results, "w:1:x", now);
  CHECK(written == std::vector<std::optional<JobStatus>>{JobStatus::waiting, JobStatus::failed,
                                                         JobStatus::succeeded});
  auto r = s.jobs->find(retried.str());
  CHECK(r.retry_count == 1);
  CHECK(r.postpone_until == now + 5s);
  CHECK(r.error_code == -2147204346);
  CHECK(r.execution_time_ms == 12);
  CHECK(r.lease_owner.empty());
  auto f = s.jobs->find(failed.str());
  CHECK(f.friendly_message == "it's \"quoted\", with a \\ backslash");
  // SQLite keeps a NUL; PostgreSQL's text holds none, so it is written as \u0000 and what
  // follows it is kept.
  CHECK(f.trace == (std::is_same_v<Kind, test::SqliteKind>
                        ? std::string("line 1\nline 2, a NUL ") + '\0' + " and after it"
                        : std::string("line 1\nline 2, a NUL \\u0000 and after it")));
  CHECK(f.completed_on == now);
  CHECK_THROWS_AS(s.jobs->find(removed.str()), host::store::JobNotFound);
}

TEST_CASE_TEMPLATE("a result for a job canceled while it ran says what the job became", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto now = now_utc();
  const auto taken = s.add_taken(3, "w:1:x", now);
  const Guid retried = taken[0], delivered = taken[1], untouched = taken[2];
  CHECK(s.jobs->cancel(retried, now) == JobStatus::canceling);
  CHECK(s.jobs->cancel(delivered, now) == JobStatus::canceling);
  std::vector<JobResult> results{
      {.id = retried, .status = JobStatus::waiting, .retry_count = 1, .postpone_until = now + 5s},
      {.id = delivered, .status = JobStatus::succeeded, .execution_time_ms = 7},
      {.id = untouched, .status = JobStatus::succeeded, .execution_time_ms = 9}};
  auto written = s.jobs->finish(results, "w:1:x", now + 1s);
  // A retry of a canceled job does not happen; a post that was made stands.
  CHECK(written == std::vector<std::optional<JobStatus>>{JobStatus::canceled, JobStatus::succeeded,
                                                         JobStatus::succeeded});
  auto r = s.jobs->find(retried.str());
  CHECK(s.status(retried) == JobStatus::canceled);
  CHECK_FALSE(r.postpone_until.has_value());
  CHECK(r.completed_on == now + 1s);
  CHECK(r.lease_owner.empty());
  for (auto id : {delivered, untouched}) {
    auto d = s.jobs->find(id.str());
    CHECK(s.status(id) == JobStatus::succeeded);
    CHECK(d.completed_on == now + 1s);
    CHECK(d.lease_owner.empty());
  }
  CHECK(s.jobs->find(delivered.str()).execution_time_ms == 7);
  CHECK(s.jobs->find(untouched.str()).execution_time_ms == 9);
  // Written once: a second result for the same attempt finds no job this owner holds.
  CHECK_FALSE(s.jobs->finish(std::span(&results[2], 1), "w:1:x", now + 2s)[0].has_value());
}

TEST_CASE_TEMPLATE("an expired lease returns the job to Ready; a renewed one does not", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto a = s.add(new_job(1));
  auto b = s.add(new_job(2));
  auto now = now_utc();
  s.jobs->take("gone:1:x", now, now + 10s, 1, true);
  s.jobs->take("alive:2:y", now, now + 10s, 1, true);
  CHECK(s.jobs->renew("alive:2:y", now + 60s) == 1);
  CHECK(s.jobs->recover(now + 30s, {}) == 1);
  CHECK(s.status(a) == JobStatus::ready);
  CHECK(s.jobs->find(a.str()).lease_owner.empty());
  CHECK(s.status(b) == JobStatus::in_progress);
  // An owner known to be gone loses its jobs at once, whatever its lease.
  CHECK(s.jobs->recover(now, [](std::string_view owner) { return owner == "alive:2:y"; }) == 1);
  CHECK(s.status(b) == JobStatus::ready);
  CHECK(s.jobs->release("nobody:0:0") == 0);
}

TEST_CASE_TEMPLATE("cancel: ready and waiting jobs end Canceled, in-progress ones go Canceling",
                   Kind, STORE_KINDS) {
  JobStores<Kind> s;
  auto ready = s.add(new_job(1));
  auto waiting = s.add(new_job(2));
  auto running = s.add(new_job(3));
  auto now = now_utc();
  s.jobs->postpone(waiting, now + 1h);
  s.jobs->postpone(ready, now + 1h);
  s.jobs->take("w:1:x", now, now + 1min, 10, true);  // the third only
  s.jobs->resume(ready);
  CHECK(s.status(running) == JobStatus::in_progress);

  CHECK(s.jobs->cancel(ready, now) == JobStatus::canceled);
  CHECK(s.jobs->cancel(waiting, now) == JobStatus::canceled);
  CHECK(s.jobs->find(waiting.str()).completed_on == now);
  CHECK(s.jobs->cancel(running, now) == JobStatus::canceling);
  CHECK_THROWS_AS(s.jobs->cancel(running, now), JobRefused);
  CHECK_THROWS_AS(s.jobs->cancel(ready, now), JobRefused);
  CHECK(s.jobs->release("w:1:x") == 1);  // the worker hands it back: it ends Canceled
  CHECK(s.status(running) == JobStatus::canceled);
}

TEST_CASE_TEMPLATE("resume, retry and postpone accept only the statuses they make sense for", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  auto id = s.add(new_job(1));
  auto now = now_utc();
  CHECK_THROWS_AS(s.jobs->resume(id), JobRefused);  // ready
  CHECK_THROWS_AS(s.jobs->retry(id), JobRefused);   // ready
  CHECK(s.jobs->postpone(id, now + 1h) == JobStatus::waiting);
  CHECK(s.jobs->find(id.str()).postpone_until == now + 1h);
  CHECK(s.jobs->resume(id) == JobStatus::ready);
  CHECK_FALSE(s.jobs->find(id.str()).postpone_until.has_value());

  s.jobs->take("w:1:x", now, now + 1min, 1, true);
  CHECK_THROWS_AS(s.jobs->postpone(id, now + 1h), JobRefused);  // in progress
  JobResult failed{.id = id,
                   .status = JobStatus::failed,
                   .retry_count = 9,
                   .error_code = 7,
                   .message = "gave up"};
  s.jobs->finish(std::span(&failed, 1), "w:1:x", now);
  CHECK(s.jobs->retry(id) == JobStatus::ready);
  auto again = s.jobs->find(id.str());
  CHECK(again.retry_count == 0);
  CHECK_FALSE(again.error_code.has_value());
  CHECK(again.message_text.empty());
  CHECK_FALSE(again.completed_on.has_value());

  s.jobs->take("w:1:x", now, now + 1min, 1, true);
  JobResult ok{.id = id};
  s.jobs->finish(std::span(&ok, 1), "w:1:x", now);
  try {
    s.jobs->retry(id);
    FAIL("retry of a succeeded job was accepted");
  } catch (const JobRefused& e) {
    CHECK(e.status() == JobStatus::succeeded);
    CHECK(std::string(e.what()).find("a second time") != std::string::npos);
  }
  CHECK_THROWS_AS(s.jobs->resume(Guid::random()), host::store::JobNotFound);
}

TEST_CASE_TEMPLATE("find takes an id, or a unique start or end of one", Kind, STORE_KINDS) {
  JobStores<Kind> s;
  auto id = s.add(new_job(1));
  CHECK(s.jobs->find(id.str()).id == id);
  CHECK(s.jobs->find(id.str()).context == R"({"MessageName":"Update"})");
  CHECK_THROWS_AS(s.jobs->find("abc"), host::store::JobNotFound);
  CHECK_THROWS_AS(s.jobs->find("ffffffff-ffff"), host::store::JobNotFound);
  CHECK_THROWS_AS(s.jobs->find("%%%%"), host::store::JobNotFound);

  // Time-ordered ids made in the same minute share their start; their random end tells them apart.
  SystemJob a = new_job(2), b = new_job(3);
  auto bytes = a.id.bytes();
  bytes[15] ^= 0x5a;  // the same millisecond, another random end
  b.id = Guid(bytes);
  s.add(a);
  s.add(b);
  CHECK_THROWS_WITH_AS(s.jobs->find(a.id.str().substr(0, 8)),
                       doctest::Contains("several system jobs have ids starting or ending with"),
                       host::store::JobNotFound);
  std::string end = a.id.str().substr(24);
  CHECK(s.jobs->find(end).id == a.id);
  for (char& c : end) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(s.jobs->find(end).id == a.id);
  CHECK(s.jobs->find(b.id.str().substr(30)).id == b.id);
  CHECK_THROWS_AS(s.jobs->find(a.id.str().substr(10, 12)), host::store::JobNotFound);  // a middle
}

TEST_CASE_TEMPLATE("purge removes completed jobs of one status older than the cut-off", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  std::vector<Guid> all;
  for (int i = 0; i < 6; ++i) all.push_back(s.add(new_job(i)));
  auto now = now_utc();
  s.jobs->take("w:1:x", now, now + 1min, 6, true);
  std::vector<JobResult> results;
  for (int i = 0; i < 6; ++i)
    results.push_back({.id = all[i], .status = i < 4 ? JobStatus::succeeded : JobStatus::failed});
  s.jobs->finish(results, "w:1:x", now - 2h);
  CHECK(s.jobs->purge(JobStatus::succeeded, now - 3h) == 0);
  CHECK(s.jobs->purge(JobStatus::succeeded, now - 1h) == 4);
  auto counts = s.jobs->count();
  CHECK(counts[JobStatus::failed] == 2);
  CHECK(counts.count(JobStatus::succeeded) == 0);
  CHECK_THROWS_AS(s.jobs->find(all[0].str()), host::store::JobNotFound);
}

TEST_CASE_TEMPLATE("list filters by status, step and entity, in creation order, up to the limit",
                   Kind, STORE_KINDS) {
  JobStores<Kind> s;
  std::vector<Guid> created;
  for (int i = 0; i < 5; ++i) created.push_back(s.add(new_job(i)));
  auto other = new_job(9);
  other.step_name = "audit";
  other.regarding_entity = "contact";
  s.add(other);
  auto listed = [&](host::store::JobFilter f) {
    std::vector<Guid> out;
    s.jobs->list(f, [&](const SystemJob& j) {
      CHECK(j.context.empty());  // listings never load contexts
      out.push_back(j.id);
    });
    return out;
  };
  CHECK(listed({}).size() == 6);
  CHECK(listed({.limit = 2}) == std::vector<Guid>{created[0], created[1]});
  CHECK(listed({.status = JobStatus::ready}).size() == 6);
  CHECK(listed({.status = JobStatus::failed}).empty());
  CHECK(listed({.step = "audit"}) == std::vector<Guid>{other.id});
  CHECK(listed({.entity = "account"}) == created);
}

TEST_CASE_TEMPLATE("list pages newest first from where the last page ended, within a time window",
                   Kind, STORE_KINDS) {
  JobStores<Kind> s;
  const DateTime start = now_utc();
  std::vector<Guid> created;
  for (int i = 0; i < 5; ++i) {
    auto j = new_job(i);
    j.created_on = start + std::chrono::minutes(i);
    created.push_back(s.add(j));
  }
  std::vector<SystemJob> page;
  auto list = [&](host::store::JobFilter f) {
    page.clear();
    s.jobs->list(f, [&](const SystemJob& j) { page.push_back(j); });
    return ids(page);
  };
  CHECK(list({.limit = 2, .newest_first = true}) == std::vector<Guid>{created[4], created[3]});
  // The next page starts after the last one shown, whatever was written since.
  s.add(new_job(7));
  CHECK(list({.limit = 2, .newest_first = true, .after_sequence = page.back().sequence}) ==
        std::vector<Guid>{created[2], created[1]});
  CHECK(list({.limit = 2, .newest_first = true, .after_sequence = page.back().sequence}) ==
        std::vector<Guid>{created[0]});
  CHECK(list({.limit = 0, .after_sequence = page.back().sequence}).size() == 5);
  CHECK(list({.limit = 0,
              .created_from = start + std::chrono::minutes(1),
              .created_until = start + std::chrono::minutes(3)}) ==
        std::vector<Guid>{created[1], created[2]});
  CHECK(list({.status = JobStatus::ready,
              .limit = 1,
              .created_from = start + std::chrono::minutes(1),
              .newest_first = true}) == std::vector<Guid>{created[4]});
}

TEST_CASE_TEMPLATE("sequences, counts and the unfinished check follow the jobs written", Kind,
                   STORE_KINDS) {
  JobStores<Kind> s;
  CHECK(s.jobs->last_sequence() == 0);
  s.add(new_job(1));
  const auto mark = s.jobs->last_sequence();
  CHECK(mark > 0);
  CHECK_FALSE(s.jobs->unfinished_after(mark));
  auto plugin = s.add(new_job(2, {}, std::nullopt));
  auto endpoint = s.add(new_job(3));
  CHECK(s.jobs->unfinished_after(mark));
  CHECK(s.jobs->count(mark)[JobStatus::ready] == 2);
  auto now = now_utc();
  s.jobs->take("w:1:x", now, now + 1min, 10, true);
  std::vector<JobResult> done{{.id = plugin}};
  s.jobs->finish(done, "w:1:x", now);
  CHECK(s.jobs->unfinished_after(mark, true));
  CHECK_FALSE(s.jobs->unfinished_after(mark, false));  // only the endpoint job is left
  done = {{.id = endpoint}};
  s.jobs->finish(done, "w:1:x", now);
  CHECK_FALSE(s.jobs->unfinished_after(mark));
  CHECK(s.jobs->count(mark)[JobStatus::succeeded] == 2);
}

TEST_CASE_TEMPLATE("a job whose attempts took the host down is counted, then failed at the limit",
                   Kind, STORE_KINDS) {
  JobStores<Kind> s;
  auto id = s.add(new_job(1, {}, std::nullopt));
  auto now = now_utc();
  auto first = s.jobs->count_crashes(std::vector<Guid>{id, Guid::random()}, 2, now);
  REQUIRE(first.size() == 1);
  CHECK(first[0].crash_count == 1);
  CHECK_FALSE(first[0].failed);
  auto second = s.jobs->count_crashes(std::vector<Guid>{id}, 2, now);
  REQUIRE(second.size() == 1);
  CHECK(second[0].failed);
  auto job = s.jobs->find(id.str());
  CHECK(status_of(job) == JobStatus::failed);
  CHECK(job.crash_count == 2);
  CHECK(job.friendly_message.find("isolation: process") != std::string::npos);
  CHECK(s.jobs->retry(id) == JobStatus::ready);
  CHECK(s.jobs->find(id.str()).crash_count == 0);
}

TEST_CASE_TEMPLATE("jobs of a committed operation are handed over In progress; rolled back never",
                   Kind, STORE_KINDS) {
  JobStores<Kind> s;
  RecordingHandoff handoff;
  REQUIRE(s.records->attach_handoff(handoff));
  Guid kept, kept_after, rolled_back, inner_rolled_back, outside, declined;
  {
    host::store::RecordStore::Transaction operation(*s.records);
    kept = s.add(new_job(1));
    {
      host::store::RecordStore::Transaction nested(*s.records);
      inner_rolled_back = s.add(new_job(2));
    }
    CHECK(handoff.abandoned_count == 1);
    kept_after = s.add(new_job(6));
    CHECK(handoff.handed.empty());  // not before the commit
    operation.commit();
  }
  REQUIRE(handoff.handed.size() == 2);
  CHECK(handoff.handed[0].id == kept);
  CHECK(handoff.handed[1].id == kept_after);
  auto row = s.jobs->find(kept.str());
  CHECK(status_of(row) == JobStatus::in_progress);
  CHECK(row.lease_owner == "here:1:handoff");
  // As a job read back would carry them, also after a claim rolled back between the two.
  CHECK(handoff.handed[0].sequence == row.sequence);
  CHECK(handoff.handed[1].sequence == s.jobs->find(kept_after.str()).sequence);
  {
    host::store::RecordStore::Transaction operation(*s.records);
    rolled_back = s.add(new_job(3));
  }
  CHECK(handoff.abandoned_count == 2);
  CHECK_THROWS(s.jobs->find(rolled_back.str()));
  CHECK_THROWS(s.jobs->find(inner_rolled_back.str()));

  outside = s.add(new_job(4));  // no transaction: not offered
  handoff.take = false;
  {
    host::store::RecordStore::Transaction operation(*s.records);
    declined = s.add(new_job(5));
    operation.commit();
  }
  CHECK(handoff.claimed == 4);
  CHECK(handoff.handed.size() == 2);
  CHECK(s.status(outside) == JobStatus::ready);
  CHECK(s.status(declined) == JobStatus::ready);

  RecordingHandoff second;
  CHECK_FALSE(s.records->attach_handoff(second));  // one taker per store
  s.records->detach_handoff(second);               // not attached: the first stays
  s.records->detach_handoff(handoff);
  CHECK(s.records->attach_handoff(second));
  s.records->detach_handoff(second);
}

TEST_CASE_TEMPLATE("two hosts taking at once never take the same job", Kind, STORE_KINDS) {
  Kind kind;
  auto records = host::store::open_records(kind.location());
  constexpr int jobs = 600;
  {
    host::store::RecordStore::Transaction operation(*records);
    for (int i = 0; i < jobs; ++i) records->add_system_job(new_job(i));
    operation.commit();
  }
  std::mutex mutex;
  std::multiset<std::string> taken;
  auto host_worker = [&](std::string owner) {
    auto store = host::store::open_jobs(kind.location());
    for (;;) {
      auto now = now_utc();
      auto batch = store->take(owner, now, now + 1min, 16, true);
      if (batch.empty()) return;
      std::vector<JobResult> results;
      for (auto& j : batch) results.push_back({.id = j.id});
      for (auto& written : store->finish(results, owner, now))
        CHECK(written == JobStatus::succeeded);
      std::lock_guard lock(mutex);
      for (auto& j : batch) taken.insert(j.id.str());
    }
  };
  std::vector<std::thread> hosts;
  for (int h = 0; h < 3; ++h) hosts.emplace_back(host_worker, "host" + std::to_string(h) + ":1:x");
  for (auto& t : hosts) t.join();
  CHECK(taken.size() == static_cast<std::size_t>(jobs));
  CHECK(std::set<std::string>(taken.begin(), taken.end()).size() == taken.size());
}

TEST_CASE_TEMPLATE("per-record order holds across hosts: one job per key in flight, in order", Kind,
                   STORE_KINDS) {
  Kind kind;
  auto records = host::store::open_records(kind.location());
  constexpr int keys = 5, per_key = 20;
  std::map<std::string, std::vector<Guid>> created;
  for (int i = 0; i < per_key; ++i)
    for (int k = 0; k < keys; ++k) {
      auto job = new_job(k, "account:" + std::to_string(k));
      records->add_system_job(job);
      created[job.ordering_key].push_back(job.id);
    }
  std::mutex mutex;
  std::map<std::string, std::vector<Guid>> ran;
  std::map<std::string, int> in_flight;
  bool overlapped = false;
  auto host_worker = [&](std::string owner) {
    auto store = host::store::open_jobs(kind.location());
    for (int idle = 0; idle < 50;) {
      auto now = now_utc();
      auto batch = store->take(owner, now, now + 1min, 4, true);
      if (batch.empty()) {
        ++idle;
        std::this_thread::sleep_for(2ms);
        continue;
      }
      idle = 0;
      {
        std::lock_guard lock(mutex);
        for (auto& j : batch) {
          overlapped = overlapped || ++in_flight[j.ordering_key] > 1;
          ran[j.ordering_key].push_back(j.id);
        }
      }
      std::this_thread::sleep_for(1ms);
      std::vector<JobResult> results;
      {
        std::lock_guard lock(mutex);
        for (auto& j : batch) {
          --in_flight[j.ordering_key];
          results.push_back({.id = j.id});
        }
      }
      store->finish(results, owner, now);
    }
  };
  std::vector<std::thread> hosts;
  for (int h = 0; h < 3; ++h) hosts.emplace_back(host_worker, "host" + std::to_string(h) + ":1:x");
  for (auto& t : hosts) t.join();
  CHECK_FALSE(overlapped);
  CHECK(ran == created);
}

TEST_CASE_TEMPLATE("a store that announces jobs tells a running service of another host's", Kind,
                   STORE_KINDS) {
  Kind kind;
  auto jobs = host::store::open_jobs(kind.location());
  auto records = host::store::open_records(kind.location());
  std::atomic<int> announced{0};
  auto companion = jobs->accompany([&] { ++announced; });
  if (!jobs->announces_jobs()) {
    // SQLite has no way to: its services poll.
    CHECK(std::string(Kind::name) == "sqlite");
    return;
  }
  {
    host::store::RecordStore::Transaction operation(*records);
    records->add_system_job(new_job(1));
    std::this_thread::sleep_for(200ms);
    CHECK(announced == 0);  // not before the commit
    operation.commit();
  }
  CHECK(eventually([&] { return announced > 0; }));
  const int before = announced;
  {
    host::store::RecordStore::Transaction operation(*records);
    records->add_system_job(new_job(2));
  }  // rolled back: nothing to announce
  std::this_thread::sleep_for(300ms);
  CHECK(announced == before);
}
