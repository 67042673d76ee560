# limits.memory and limits.wall (sim/run/resource_limits.h), from the command line, with
# small budgets so nothing grows large:
#   - a scenario whose estimate exceeds the budget is refused before anything is built
#     (exit 3, no output directory);
#   - one that passes the estimate but outgrows the budget while its nodes are built and
#     started is stopped then (exit 3, no output directory);
#   - one that outgrows it while running stops like max_events does (exit 3, its results
#     written, stop_reason "memory limit reached"); the same for limits.wall.
#   cmake -DDSIM=<dsim> -DWORK=<dir> -P limits.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# run_expect(<name> <scenario text> <exit code> <text stderr must hold> <output dir wanted>)
function(run_expect name text want needle want_dir)
  file(WRITE ${WORK}/${name}.yaml "${text}")
  execute_process(COMMAND ${DSIM} run ${WORK}/${name}.yaml --out ${WORK}/${name} --quiet
                  RESULT_VARIABLE code ERROR_VARIABLE err OUTPUT_VARIABLE out)
  message("${name}: exit ${code}: ${err}")
  if(NOT code EQUAL want)
    message(FATAL_ERROR "${name}: exit code ${code}, expected ${want}")
  endif()
  string(FIND "${err}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${name}: stderr lacks '${needle}'")
  endif()
  if(want_dir AND NOT EXISTS ${WORK}/${name}/summary.json)
    message(FATAL_ERROR "${name}: no results written")
  elseif(NOT want_dir AND EXISTS ${WORK}/${name})
    message(FATAL_ERROR "${name}: an output directory was written")
  endif()
endfunction()

# 10^6 nodes cannot fit in 64 MiB whatever their model: refused by the estimate.
run_expect(estimate "name: estimate
duration: 1s
limits: {memory: 64MiB}
groups:
  - {name: web, model: server}
  - {name: c, model: client, count: 1000000, params: {target: web, rate: 1/s}}
" 3 "needs at least" FALSE)

# 10^8 closed-loop users (10^6 per client node) are events scheduled at start: refused too.
run_expect(users "name: users
duration: 1s
limits: {memory: 64MiB}
groups:
  - {name: web, model: server}
  - {name: c, model: client, count: 100, params: {target: web, load: closed, users: 1000000}}
" 3 "100000000 events scheduled at start" FALSE)

# 48,000 key-value clients pass the estimate (about 68 MiB: the engine's share and the
# client object of each, a lower bound) but take more (about 1.5 KB each with what their
# maps allocate): the building stops at the budget.
run_expect(building "name: building
duration: 1s
limits: {memory: 72MiB}
groups:
  - {name: db, model: kv_store}
  - {name: c, model: kv_client, count: 48000, params: {target: db, rate: 1/s}}
" 3 "stopped while building the engine" FALSE)

# An overloaded server's queue grows while the run goes on: it stops at the budget, and
# its results so far are written.
run_expect(running "name: running
duration: 600s
limits: {memory: 64MiB}
groups:
  - {name: web, model: server, params: {workers: 1, service: constant(1ms)}}
  - {name: c, model: client, count: 10, params: {target: web, rate: 10000/s, timeout: 1000s}}
" 3 "memory limit reached" TRUE)
file(READ ${WORK}/running/summary.json json)
if(NOT json MATCHES "\"stop_reason\": \"memory limit reached\"")
  message(FATAL_ERROR "running: summary.json does not say the memory limit stopped it")
endif()

# 10^10 events cannot be run in 100 ms.
run_expect(wall "name: wall
duration: 1000000s
limits: {wall: 100ms}
groups:
  - {name: p, model: phold, count: 10, params: {tokens: 1000}}
" 3 "limits.wall (100ms) reached" TRUE)
file(READ ${WORK}/wall/summary.json json)
if(NOT json MATCHES "\"stop_reason\": \"wall-clock limit reached\"")
  message(FATAL_ERROR "wall: summary.json does not say the wall-clock limit stopped it")
endif()
