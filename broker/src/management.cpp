// The $cbs node (put-token) and the $management nodes: Service Bus lock renewal, disposition
// updates and peek, Event Hubs READ of hub and partition properties.
#include <proton/annotation_key.hpp>
#include <proton/codec/map.hpp>
#include <proton/codec/vector.hpp>
#include <proton/message_id.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/timestamp.hpp>
#include <proton/uuid.hpp>

#include <stepline/azure/cbs.hpp>

#include "broker.hpp"
#include "codec.hpp"
#include "log.hpp"

namespace stepline::broker {
namespace {

std::string text_property(const proton::message& m, const std::string& key) {
  proton::scalar v = m.properties().get(key);
  if (v.type() == proton::type_id::STRING) return proton::get<std::string>(v);
  if (v.type() == proton::type_id::SYMBOL) return proton::get<proton::symbol>(v);
  return {};
}

std::map<std::string, proton::value> body_map(const proton::message& m) {
  std::map<std::string, proton::value> out;
  if (m.body().type() != proton::type_id::MAP) return out;
  std::map<proton::value, proton::value> raw;
  proton::get(m.body(), raw);
  for (auto& [k, v] : raw) {
    if (k.type() == proton::type_id::STRING)
      out[proton::get<std::string>(k)] = v;
    else if (k.type() == proton::type_id::SYMBOL)
      out[proton::get<proton::symbol>(k)] = v;
  }
  return out;
}

std::vector<LockToken> lock_tokens(const std::map<std::string, proton::value>& body) {
  std::vector<LockToken> out;
  auto it = body.find("lock-tokens");
  if (it == body.end()) return out;
  std::vector<proton::uuid> uuids;
  proton::get(it->second, uuids);
  for (const auto& u : uuids) {
    LockToken t;
    std::copy(u.begin(), u.end(), t.begin());
    out.push_back(dotnet_guid_order(t));  // the SDK sends the .NET-ordered form of the tag
  }
  return out;
}

}  // namespace

proton::message Broker::management_reply(int status, const std::string& description,
                                         const std::string& condition) {
  proton::message r;
  auto& p = r.properties();
  // Service Bus clients read statusCode, Event Hubs and $cbs clients status-code: send both.
  p.put("statusCode", int32_t(status));
  p.put("status-code", int32_t(status));
  p.put("statusDescription", description);
  p.put("status-description", description);
  if (!condition.empty()) {
    p.put("errorCondition", proton::symbol(condition));
    p.put("error-condition", proton::symbol(condition));
  }
  return r;
}

void Broker::reply(pn_connection_t* c, const proton::message& request, proton::message response) {
  response.correlation_id(request.id());  // the same type: JS matches on the decoded value
  auto& cs = links_.connection(c);
  auto route = cs.reply_routes.find(request.reply_to());
  if (route == cs.reply_routes.end()) {
    log::warn("no reply link for reply-to '{}': attach a receiver on the node first",
              request.reply_to());
    return;
  }
  LinkState* link = links_.find(route->second);
  if (!link) return;
  response.to(request.reply_to());
  link->replies.push_back(std::move(response));
  send_replies(route->second, *link);
}

void Broker::handle_cbs(pn_delivery_t* d, const proton::message& m, pn_connection_t* c) {
  accept_delivery(d);
  using azure::cbs::PutTokenResponse;
  azure::cbs::PutTokenRequest request;
  try {
    request = azure::cbs::PutTokenRequest::from_message(m);
  } catch (const std::invalid_argument& e) {
    return reply(c, m, PutTokenResponse::reply(m, 400, e.what(), "amqp:invalid-field"));
  }
  auto result = authority_.verify_token(request.token, request.audience, now_ms());
  if (auto* why = std::get_if<std::string>(&result)) {
    log::info("put-token for '{}' refused: {}", request.audience, *why);
    return reply(
        c, m, PutTokenResponse::reply(m, 401, "Unauthorized: " + *why, "amqp:unauthorized-access"));
  }
  Grant grant = std::get<Grant>(result);
  auto& grants = links_.connection(c).grants;
  std::erase_if(grants, [&](const Grant& g) { return g.expires_ms && g.path == grant.path; });
  grants.push_back(grant);
  authenticated(c);
  reply(c, m, PutTokenResponse::reply(m, 202, "Accepted"));
}

bool Broker::settle_lock(Queue* q, const LockToken& token, const std::string& disposition,
                         const std::string& reason, const std::string& description, int64_t now) {
  if (disposition == "completed") return q->complete(token);
  if (disposition == "abandoned") return q->abandon(token, now);
  if (disposition == "defered" || disposition == "deferred") return q->defer(token);
  if (disposition == "suspended") return q->dead_letter(token, reason, description, now);
  return false;
}

void Broker::handle_management(pn_delivery_t* d, const proton::message& m, LinkState& st,
                               pn_connection_t* c) {
  accept_delivery(d);
  std::string operation = text_property(m, "operation");
  int64_t now = now_ms();
  auto& cs = links_.connection(c);
  Queue* q = st.address.queue;

  if (operation == "READ") {
    std::string name = text_property(m, "name");
    std::string type = text_property(m, "type");
    EventHub* hub = entities_.hub(name);
    if (!hub)
      return reply(c, m,
                   management_reply(404, "The messaging entity '" + name + "' could not be found.",
                                    "amqp:not-found"));
    bool ok = allowed(cs.grants, hub->key(), Need::any, now);
    std::string token = text_property(m, "security_token");
    if (!ok && !token.empty()) {
      std::string host = cs.host.empty() ? "localhost" : cs.host;
      ok = std::holds_alternative<Grant>(
          authority_.verify_token(token, "sb://" + host + "/" + name, now));
    }
    if (!ok)
      return reply(c, m,
                   management_reply(401, "Unauthorized access to '" + name + "'.",
                                    "amqp:unauthorized-access"));
    EventHub& h = *hub;
    std::map<std::string, proton::value> body;
    body["name"] = h.name();
    body["type"] = type;
    if (type == "com.microsoft:eventhub") {
      std::vector<std::string> ids;
      for (const auto& p : h.partitions()) ids.push_back(std::to_string(p.id));
      body["created_at"] = proton::timestamp(h.created_ms());
      body["partition_count"] = int32_t(ids.size());
      body["partition_ids"] = ids;
    } else if (type == "com.microsoft:partition") {
      std::string id = text_property(m, "partition");
      int p = -1;
      try {
        p = std::stoi(id);
      } catch (const std::exception&) {
      }
      if (p < 0 || p >= static_cast<int>(h.partitions().size()))
        return reply(
            c, m,
            management_reply(404, "Partition '" + id + "' does not exist in '" + name + "'.",
                             "amqp:not-found"));
      const Partition& part = h.partitions()[static_cast<size_t>(p)];
      bool empty = part.events.empty();
      body["partition"] = id;
      body["begin_sequence_number"] = int64_t(part.begin_sequence());
      body["last_enqueued_sequence_number"] = int64_t(part.next_sequence - 1);
      body["last_enqueued_offset"] =
          empty ? std::string("-1") : std::to_string(part.events.back().offset);
      body["last_enqueued_time_utc"] = proton::timestamp(part.last_enqueued_ms);
      body["is_partition_empty"] = empty;
    } else {
      return reply(c, m,
                   management_reply(400, "Unknown READ type '" + type + "'.",
                                    "com.microsoft:argument-error"));
    }
    proton::message r = management_reply(200, "OK");
    r.body(body);
    return reply(c, m, std::move(r));
  }

  if (!q)
    return reply(c, m,
                 management_reply(501, "Operation '" + operation + "' is not supported here.",
                                  "amqp:not-implemented"));
  if (!allowed(cs.grants, st.address.path, Need::listen, now))
    return reply(
        c, m,
        management_reply(401,
                         fmt::format("Unauthorized access. 'Listen' claim(s) are required "
                                     "to perform this operation. Resource: 'sb://{}/{}'.",
                                     cs.host.empty() ? "localhost" : cs.host, st.address.path),
                         "amqp:unauthorized-access"));
  auto body = body_map(m);

  if (operation == "com.microsoft:renew-lock") {
    std::vector<proton::timestamp> expirations;
    for (const auto& token : lock_tokens(body)) {
      auto until = q->renew(token, now);
      if (!until)
        return reply(c, m,
                     management_reply(
                         410,
                         "The lock supplied is invalid. Either the lock expired, or the message "
                         "has already been removed from the queue.",
                         "com.microsoft:message-lock-lost"));
      expirations.push_back(proton::timestamp(*until));
    }
    proton::message r = management_reply(200, "OK");
    std::map<std::string, proton::value> out;
    out["expirations"] = expirations;
    r.body(out);
    return reply(c, m, std::move(r));
  }

  if (operation == "com.microsoft:update-disposition") {
    auto text = [&](const char* key) {
      auto it = body.find(key);
      return it != body.end() && it->second.type() == proton::type_id::STRING
                 ? proton::get<std::string>(it->second)
                 : std::string();
    };
    std::string disposition = text("disposition-status");
    std::map<std::string, proton::scalar> properties;
    if (auto it = body.find("properties-to-modify");
        it != body.end() && it->second.type() == proton::type_id::MAP) {
      try {
        proton::get(it->second, properties);
      } catch (const std::exception&) {
        properties.clear();  // values that are not scalars are ignored
      }
    }
    for (const auto& token : lock_tokens(body)) {
      if (!properties.empty() && disposition != "completed")
        q->modify_properties(token, properties);
      if (!settle_lock(q, token, disposition, text("deadletter-reason"),
                       text("deadletter-description"), now))
        return reply(c, m,
                     management_reply(
                         410,
                         "The lock supplied is invalid. Either the lock expired, or the message "
                         "has already been removed from the queue.",
                         "com.microsoft:message-lock-lost"));
    }
    pump(q);
    if (q->dead_letter_queue()) pump(q->dead_letter_queue());
    return reply(c, m, management_reply(200, "OK"));
  }

  if (operation == "com.microsoft:receive-by-sequence-number") {
    // Deferred messages are received by sequence number; they are then settled through
    // update-disposition with the lock token given here.
    std::vector<int64_t> sequences;
    if (auto it = body.find("sequence-numbers"); it != body.end())
      proton::get(it->second, sequences);
    bool peek_lock = true;
    if (auto it = body.find("receiver-settle-mode"); it != body.end())
      peek_lock = proton::coerce<int64_t>(it->second) != 0;
    std::vector<proton::value> messages;
    proton::message msg;
    for (int64_t seq : sequences) {
      QueuedMessage* qm = q->find(static_cast<uint64_t>(seq));
      if (!qm || !qm->deferred || (qm->lock && qm->locked_until > now))
        return reply(c, m,
                     management_reply(
                         404,
                         "Failed to lock one or more specified messages: " + std::to_string(seq) +
                             " is not a deferred message of '" + q->path() + "'.",
                         "com.microsoft:message-not-found"));
      decode_message(qm->bytes, msg);
      std::map<std::string, proton::value> entry;
      if (peek_lock) {
        const LockToken& token = q->lock(*qm, now);
        msg.message_annotations().put(proton::symbol("x-opt-locked-until"),
                                      proton::timestamp(qm->locked_until));
        // The SDK uses this uuid as is (no reordering, unlike a delivery tag) and sends it back in
        // the same form, so hand out the form lock_tokens() turns into our token.
        LockToken wire = dotnet_guid_order(token);
        proton::uuid id;
        std::copy(wire.begin(), wire.end(), id.begin());
        entry["lock-token"] = id;
      }
      std::string bytes = encode_for_delivery(msg, qm->delivery_count);
      entry["message"] = proton::binary(bytes.begin(), bytes.end());
      messages.push_back(entry);
      if (!peek_lock) q->remove(qm->sequence);
    }
    proton::message r = management_reply(200, "OK");
    std::map<std::string, proton::value> out;
    out["messages"] = messages;
    r.body(out);
    return reply(c, m, std::move(r));
  }

  if (operation == "com.microsoft:peek-message") {
    int64_t from = 0;
    int32_t count = 1;
    if (auto it = body.find("from-sequence-number"); it != body.end())
      from = proton::coerce<int64_t>(it->second);
    if (auto it = body.find("message-count"); it != body.end())
      count = proton::coerce<int32_t>(it->second);
    std::vector<proton::value> messages;
    for (auto it = q->messages().lower_bound(static_cast<uint64_t>(std::max<int64_t>(from, 0)));
         it != q->messages().end() && static_cast<int32_t>(messages.size()) < count; ++it) {
      std::map<std::string, proton::value> entry;
      entry["message"] = proton::binary(it->second.bytes.begin(), it->second.bytes.end());
      messages.push_back(entry);
    }
    if (messages.empty()) return reply(c, m, management_reply(204, "No messages"));
    proton::message r = management_reply(200, "OK");
    std::map<std::string, proton::value> out;
    out["messages"] = messages;
    r.body(out);
    return reply(c, m, std::move(r));
  }

  reply(c, m,
        management_reply(501,
                         "The operation '" + operation + "' is not implemented by stepline-broker.",
                         "amqp:not-implemented"));
}

}  // namespace stepline::broker
