#include "admission.hpp"

namespace stepline::broker {

Admission::Verdict Admission::admit(const void* connection, const std::string& address,
                                    int64_t now_ms) {
  Entry entry{address, now_ms, false, false};
  Verdict verdict = Verdict::admitted;
  if (per_address_[address] >= limits_.max_connections_per_address)
    verdict = Verdict::too_many_from_address;
  else if (unauthenticated_ >= limits_.max_unauthenticated_connections)
    verdict = Verdict::too_many_unauthenticated;
  if (verdict == Verdict::admitted) {
    ++per_address_[address];
    ++unauthenticated_;
  } else {
    entry.refused = true;
    log_refusal(verdict, address, now_ms);
  }
  if (per_address_[address] == 0) per_address_.erase(address);
  connections_[connection] = std::move(entry);
  return verdict;
}

void Admission::log_refusal(Verdict verdict, const std::string& address, int64_t now_ms) {
  bool per_address = verdict == Verdict::too_many_from_address;
  ++(per_address ? counters_.connections_refused_per_address
                 : counters_.connections_refused_unauthenticated);
  if (!refusal_log_.due(now_ms)) return;
  uint64_t refused = refusal_log_.take_count();
  if (per_address)
    log::warn(
        "refusing connections from {}: it holds {} connections, the most "
        "'max_connections_per_address' allows ({} refused since the last such line)",
        address, limits_.max_connections_per_address, refused);
  else
    log::warn(
        "refusing connections: {} connections have not authenticated yet, the most "
        "'max_unauthenticated_connections' allows (this one from {}; {} refused since the last "
        "such line)",
        unauthenticated_, address, refused);
}

void Admission::authenticated(const void* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end() || it->second.authenticated || it->second.refused) return;
  it->second.authenticated = true;
  --unauthenticated_;
}

bool Admission::is_authenticated(const void* connection) const {
  auto it = connections_.find(connection);
  return it != connections_.end() && it->second.authenticated;
}

bool Admission::refused(const void* connection) const {
  auto it = connections_.find(connection);
  return it != connections_.end() && it->second.refused;
}

void Admission::closed(const void* connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  const Entry& e = it->second;
  if (!e.refused) {
    if (!e.authenticated) --unauthenticated_;
    auto count = per_address_.find(e.address);
    if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
  }
  connections_.erase(it);
}

std::vector<const void*> Admission::overdue(int64_t now_ms) const {
  std::vector<const void*> out;
  if (unauthenticated_ == 0) return out;
  int64_t limit = limits_.authentication_timeout.count();
  for (const auto& [c, e] : connections_)
    if (!e.authenticated && !e.refused && now_ms - e.since_ms >= limit) out.push_back(c);
  return out;
}

}  // namespace stepline::broker
