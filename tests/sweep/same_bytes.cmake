# Runs one sweep several ways and requires the same bytes from each (runs.csv, sweep.csv,
# checks.csv, sweep.yaml and every run's directory):
#   --jobs 1, --jobs 2, two shards merged with `dsim merge`, and (when MPIEXEC is given)
#   mpirun -np 2. Every run's directory (--keep-runs) must match too.
# Arguments: -DDSIM=<dsim> -DSCENARIO=<file> -DWORK=<dir> [-DMPIEXEC=<mpirun>]
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(dsim_sweep name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY ${WORK})
  # The scenario's check fails at its overloaded points: a sweep says so with exit code 1.
  if(NOT code EQUAL 1)
    message(FATAL_ERROR "${name}: exit code ${code}, expected 1\n${out}\n${err}")
  endif()
  message("${name}:\n${out}")
endfunction()

set(common ${SCENARIO} --keep-runs --quiet)
if(MPIEXEC)
  # As root, Open MPI wants --allow-run-as-root; --oversubscribe lets 2 ranks share fewer cores.
  dsim_sweep("mpirun -np 2" ${MPIEXEC} -np 2 --allow-run-as-root --oversubscribe
             ${DSIM} sweep ${common} --out ranks2)
  set(ways ranks2)
else()
  dsim_sweep("jobs 1" ${DSIM} sweep ${common} --jobs 1 --out jobs1)
  dsim_sweep("jobs 2" ${DSIM} sweep ${common} --jobs 2 --out jobs2)
  dsim_sweep("shard 0/2" ${DSIM} sweep ${common} --jobs 2 --shard 0/2 --out shard0)
  dsim_sweep("shard 1/2" ${DSIM} sweep ${common} --jobs 1 --shard 1/2 --out shard1)
  dsim_sweep("merge" ${DSIM} merge --quiet --out merged shard1 shard0)
  set(ways jobs2 merged)
endif()
# The reference: one thread (also the MPI test's, computed here so both stand alone).
if(NOT EXISTS ${WORK}/jobs1)
  dsim_sweep("jobs 1" ${DSIM} sweep ${common} --jobs 1 --out jobs1)
endif()

file(GLOB_RECURSE ref_files RELATIVE ${WORK}/jobs1 ${WORK}/jobs1/*)
list(LENGTH ref_files n)
if(n LESS 90)
  message(FATAL_ERROR "expected 45 run directories and the sweep files, got ${n} files")
endif()
foreach(f runs.csv sweep.csv checks.csv sweep.yaml)
  list(FIND ref_files ${f} at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the sweep wrote no ${f}")
  endif()
endforeach()
foreach(way ${ways})
  file(GLOB_RECURSE files RELATIVE ${WORK}/${way} ${WORK}/${way}/*)
  if(NOT files STREQUAL ref_files)
    message(FATAL_ERROR "${way} wrote other files than --jobs 1")
  endif()
  foreach(f ${ref_files})
    file(SHA256 ${WORK}/jobs1/${f} a)
    file(SHA256 ${WORK}/${way}/${f} b)
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "${way}/${f} differs from jobs1/${f}")
    endif()
  endforeach()
  message("${way}: ${n} files, identical to --jobs 1")
endforeach()
