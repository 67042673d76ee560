#include "models/builtin.h"

#include "models/cache/cache.h"
#include "models/gossip/gossip.h"
#include "models/heartbeat_gossip/heartbeat_gossip.h"
#include "models/kv/check/checks.h"
#include "models/kv/client.h"
#include "models/kv/store.h"
#include "models/load_balancer/load_balancer.h"
#include "models/phold/phold.h"
#include "models/primary_backup/monitor.h"
#include "models/primary_backup/replica.h"
#include "models/queueing/client.h"
#include "models/queueing/fanout_client.h"
#include "models/queueing/server.h"
#include "models/quorum/store.h"
#include "models/raft/node.h"
#include "models/rate_limiter/rate_limiter.h"
#include "models/saga/client.h"
#include "models/saga/orchestrator.h"
#include "models/saga/service.h"
#include "models/service/service.h"
#include "models/swim/swim.h"
#include "models/tcc/client.h"
#include "models/tcc/coordinator.h"
#include "models/tcc/shard.h"
#include "models/txn/acceptor.h"
#include "models/txn/check.h"
#include "models/txn/client.h"
#include "models/txn/coordinator.h"
#include "models/txn/participant.h"

namespace dsim {

void register_builtin_models(ModelRegistry& registry) {
  registry.add<queueing::Client>();
  registry.add<queueing::Server>();
  registry.add<queueing::FanoutClient>();
  registry.add<service::Service>();
  registry.add<lb::LoadBalancer>();
  registry.add<kv::KvClient>();
  registry.add<kv::KvStore>();
  registry.add<cache::Cache>();
  registry.add<quorum::QuorumStore>();
  registry.add<phold::Phold>();
  registry.add<raft::RaftNode>();
  registry.add<ratelimit::RateLimiterNode>();
  registry.add<pb::PrimaryBackup>();
  registry.add<pb::Monitor>();
  registry.add<gossip::GossipNode>();
  registry.add<swim::SwimNode>();
  registry.add<heartbeat_gossip::HeartbeatGossip>();
  registry.add<txn::TxnClient>();
  registry.add<txn::TxnCoordinator>();
  registry.add<txn::TxnParticipant>();
  registry.add<txn::TxnAcceptor>();
  registry.add<saga::SagaClient>();
  registry.add<saga::SagaOrchestrator>();
  registry.add<saga::SagaService>();
  registry.add<tcc::WalletClient>();
  registry.add<tcc::TccCoordinator>();
  registry.add<tcc::WalletShard>();

  registry.add_family(kv::kv_history_family());
  registry.add_family(txn::txn_history_family());
}

}  // namespace dsim
