#include "models/builtin.h"

#include "models/queueing/client.h"
#include "models/queueing/fanout_client.h"
#include "models/queueing/server.h"

namespace dsim {

void register_builtin_models(ModelRegistry& registry) {
  registry.add<queueing::Client>();
  registry.add<queueing::Server>();
  registry.add<queueing::FanoutClient>();
}

}  // namespace dsim
