#include "stepline/host/amqp/target.hpp"

namespace stepline::host::amqp {

Target Target::from_endpoint(const registration::ServiceEndpoint& endpoint) {
  Target target;
  target.name = endpoint.name;
  target.connection = endpoint.connection;
  target.entity = endpoint.path;
  target.contract = endpoint.contract;
  target.auth = endpoint.auth;
  target.partition_key = endpoint.partition_key;
  target.reply_to = endpoint.reply_to;
  target.timeout = endpoint.timeout;
  return target;
}

}  // namespace stepline::host::amqp
