// The processes a sweep runs on. Built with MPI (cmake -DDSIM_MPI=ON) and started by an
// MPI launcher (mpirun, srun), a Cluster joins the MPI job: every rank takes its share
// of the runs and the root (rank 0) gathers the results. Otherwise it is a cluster of one
// process and nothing is initialised.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dsim::sweep {

class Cluster {
 public:
  Cluster();   ///< joins the MPI job if there is one (at most one Cluster at a time)
  ~Cluster();  ///< leaves it
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  static bool built_with_mpi();
  /// True when the process was started by an MPI launcher (it sets OMPI_COMM_WORLD_SIZE,
  /// PMIX_RANK or PMI_SIZE).
  static bool launched_by_mpi();

  uint32_t rank() const { return rank_; }
  uint32_t size() const { return size_; }
  bool root() const { return rank_ == 0; }
  bool distributed() const { return mpi_; }

  /// At the root: every rank's string, in rank order. Elsewhere: empty. Collective.
  std::vector<std::string> gather(const std::string& mine) const;
  /// The root's value, on every rank. Collective.
  int broadcast(int value) const;
  void barrier() const;

 private:
  uint32_t rank_ = 0;
  uint32_t size_ = 1;
  bool mpi_ = false;
};

}  // namespace dsim::sweep
