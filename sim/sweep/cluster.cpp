#include "sim/sweep/cluster.h"

#include <cstdlib>

#if defined(DSIM_WITH_MPI)
#include <mpi.h>

#include <algorithm>
#include <climits>
#endif

namespace dsim::sweep {

bool Cluster::launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_SIZE");
}

#if defined(DSIM_WITH_MPI)

namespace {
// Messages larger than this go in pieces (MPI counts are ints).
constexpr uint64_t kChunk = 1u << 30;
constexpr int kTagSize = 1, kTagData = 2;
}  // namespace

bool Cluster::built_with_mpi() {
  return true;
}

Cluster::Cluster() {
  if (!launched_by_mpi()) return;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  rank_ = static_cast<uint32_t>(rank);
  size_ = static_cast<uint32_t>(size);
  mpi_ = true;
}

Cluster::~Cluster() {
  if (mpi_) MPI_Finalize();
}

std::vector<std::string> Cluster::gather(const std::string& mine) const {
  if (!mpi_) return {mine};
  if (!root()) {
    uint64_t n = mine.size();
    MPI_Send(&n, 1, MPI_UINT64_T, 0, kTagSize, MPI_COMM_WORLD);
    for (uint64_t off = 0; off < n; off += kChunk) {
      const int len = static_cast<int>(std::min(kChunk, n - off));
      MPI_Send(mine.data() + off, len, MPI_CHAR, 0, kTagData, MPI_COMM_WORLD);
    }
    return {};
  }
  std::vector<std::string> all(size_);
  all[0] = mine;
  for (uint32_t r = 1; r < size_; ++r) {
    uint64_t n = 0;
    MPI_Recv(&n, 1, MPI_UINT64_T, static_cast<int>(r), kTagSize, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    all[r].resize(n);
    for (uint64_t off = 0; off < n; off += kChunk) {
      const int len = static_cast<int>(std::min(kChunk, n - off));
      MPI_Recv(all[r].data() + off, len, MPI_CHAR, static_cast<int>(r), kTagData, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
    }
  }
  return all;
}

int Cluster::broadcast(int value) const {
  if (mpi_) MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return value;
}

void Cluster::barrier() const {
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
}

#else

bool Cluster::built_with_mpi() {
  return false;
}
Cluster::Cluster() = default;
Cluster::~Cluster() = default;
std::vector<std::string> Cluster::gather(const std::string& mine) const {
  return {mine};
}
int Cluster::broadcast(int value) const {
  return value;
}
void Cluster::barrier() const {}

#endif

}  // namespace dsim::sweep
