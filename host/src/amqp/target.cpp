#include "stepline/host/amqp/target.hpp"

#include <stdexcept>

namespace stepline::host::amqp {

Target Target::from_endpoint(const registration::ServiceEndpoint& endpoint) {
  auto where = [&] {
    std::string text = "endpoint '" + endpoint.name + "'";
    if (!endpoint.where.file.empty()) {
      text += " (" + endpoint.where.file + ":" + std::to_string(endpoint.where.line) + ")";
    }
    return text;
  };
  Target target;
  target.name = endpoint.name;
  try {
    target.connection = azure::ConnectionString::parse(endpoint.connection_string);
  } catch (const azure::ConnectionStringError& e) {
    throw std::invalid_argument(where() + ": " + e.what());
  }
  const std::string& entity_path = target.connection.entity_path;
  if (!endpoint.path.empty() && !entity_path.empty() && endpoint.path != entity_path &&
      endpoint.path.rfind(entity_path + "/", 0) != 0) {
    throw std::invalid_argument(where() + ": path '" + endpoint.path +
                                "' differs from the connection string's EntityPath '" +
                                entity_path + "'; drop one of them");
  }
  target.entity = endpoint.path.empty() ? entity_path : endpoint.path;
  if (target.entity.empty()) {
    throw std::invalid_argument(
        where() + ": no entity to post to; set path or EntityPath in the connection string");
  }
  target.contract = endpoint.contract;
  target.auth = endpoint.auth;
  target.partition_key = endpoint.partition_key;
  target.reply_to = endpoint.reply_to;
  target.timeout = endpoint.timeout;
  return target;
}

}  // namespace stepline::host::amqp
