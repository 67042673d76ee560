#include "models/builtin.h"

#include "models/phold/phold.h"
#include "models/queueing/client.h"
#include "models/queueing/server.h"

namespace dsim {

void register_builtin_models(ModelRegistry& registry) {
  registry.add<queueing::Client>();
  registry.add<queueing::Server>();
  registry.add<phold::Phold>();
}

}  // namespace dsim
