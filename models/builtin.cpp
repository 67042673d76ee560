#include "models/builtin.h"

#include "models/kv/client.h"
#include "models/kv/store.h"
#include "models/queueing/client.h"
#include "models/queueing/server.h"
#include "models/raft/node.h"

namespace dsim {

void register_builtin_models(ModelRegistry& registry) {
  registry.add<queueing::Client>();
  registry.add<queueing::Server>();
  registry.add<kv::KvClient>();
  registry.add<kv::KvStore>();
  registry.add<raft::RaftNode>();
}

}  // namespace dsim
