# `dsim bench phold` runs the same engine, network and models as `dsim run`: the scenario
# it prints (--print-scenario), run by `dsim run`, and that run's resolved scenario run
# again, handle exactly the events the benchmark reported; and the benchmark's last line
# on stdout has the format compare.sh reads.
#   cmake -DDSIM=<dsim> -DWORK=<scratch dir> -P bench_matches_run.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run_events json_out var)
  string(REGEX MATCH "\"metric\": \"events\", \"value\": ([0-9]+)" m "${json_out}")
  if(NOT m)
    message(FATAL_ERROR "no events figure in:\n${json_out}")
  endif()
  set(${var} ${CMAKE_MATCH_1} PARENT_SCOPE)
endfunction()

foreach(workload timers net)
  set(args bench phold --workload ${workload} --nodes 50 --tokens 200 --end-s 0.02 --seed 3)
  execute_process(COMMAND ${DSIM} ${args} RESULT_VARIABLE code OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "dsim ${args}: exit code ${code}\n${err}")
  endif()
  if(NOT out MATCHES "^workload=${workload} events=([0-9]+) sim_seconds=0.02\n$")
    message(FATAL_ERROR "dsim ${args}: unexpected stdout:\n${out}")
  endif()
  set(bench_events ${CMAKE_MATCH_1})
  if(bench_events EQUAL 0)
    message(FATAL_ERROR "dsim ${args}: no events")
  endif()

  execute_process(COMMAND ${DSIM} ${args} --print-scenario OUTPUT_FILE ${WORK}/${workload}.yaml
                  RESULT_VARIABLE code)
  execute_process(COMMAND ${DSIM} run ${WORK}/${workload}.yaml --out ${WORK}/${workload} --json
                  RESULT_VARIABLE code OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "dsim run of the printed scenario: exit code ${code}\n${err}")
  endif()
  run_events("${json}" run_count)
  execute_process(COMMAND ${DSIM} run ${WORK}/${workload}/scenario.resolved.yaml
                          --out ${WORK}/${workload}-again --json
                  RESULT_VARIABLE code OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "dsim run of the resolved scenario: exit code ${code}\n${err}")
  endif()
  run_events("${json}" again_count)
  message("${workload}: bench ${bench_events}, run ${run_count}, resolved ${again_count} events")
  if(NOT bench_events EQUAL run_count OR NOT run_count EQUAL again_count)
    message(FATAL_ERROR "${workload}: the event counts differ")
  endif()
endforeach()
