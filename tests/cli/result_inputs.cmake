# The result files dsim reads back (a shard's runs.csv for dsim merge, a run's summary.csv
# for dsim analyze run) are read only when they are regular files of bounded size: a device
# in their place is refused at once (exit 2, a message naming the file), never read until
# memory runs out, and no output is written.
#   cmake -DDSIM=<dsim> -DSCENARIO=<tests/sweep/tiny_sweep.yaml> -DWORK=<dir> -P result_inputs.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

include(${CMAKE_CURRENT_LIST_DIR}/dsim_expect.cmake)

# A device where a result file should be.
function(replace_with_device path)
  file(REMOVE ${WORK}/${path})
  file(CREATE_LINK /dev/zero ${WORK}/${path} SYMBOLIC)
endfunction()

# dsim analyze run: summary.csv is /dev/zero.
dsim_expect(0 "" run ${SCENARIO} --set duration=1s --quiet --out run)
dsim_expect(0 "" analyze run run)
replace_with_device(run/summary.csv)
dsim_expect(2 "run/summary.csv: cannot read: it is a device, not a file" analyze run run)

# dsim merge: one shard's runs.csv, then its sweep.yaml, is /dev/zero.
foreach(shard 0 1)
  execute_process(COMMAND ${DSIM} sweep ${SCENARIO} --shard ${shard}/2 --quiet --out shard${shard}
                  WORKING_DIRECTORY ${WORK} RESULT_VARIABLE code OUTPUT_QUIET ERROR_QUIET)
  if(NOT EXISTS ${WORK}/shard${shard}/runs.csv)
    message(FATAL_ERROR "dsim sweep --shard ${shard}/2 wrote no runs.csv (exit code ${code})")
  endif()
endforeach()
# (exit code 1: some points of tiny_sweep.yaml fail their check by design)
dsim_expect(1 "" merge shard0 shard1 --out merged)
replace_with_device(shard1/runs.csv)
dsim_expect(2 "shard1/runs.csv: cannot read: it is a device, not a file" merge shard0 shard1 --out merged2)
replace_with_device(shard0/sweep.yaml)
dsim_expect(2 "shard0/sweep.yaml: cannot read: it is a device, not a file" merge shard0 shard0 --out merged3)
foreach(out merged2 merged3)
  if(EXISTS ${WORK}/${out})
    message(FATAL_ERROR "${out} was written")
  endif()
endforeach()
