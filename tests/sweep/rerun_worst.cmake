# A sweep whose check fails on some seeds only (flaky_check.yaml) must say how many
# replications passed, name the worst one, and give a `dsim run` command that repeats it:
# the command (from checks.csv, run in the sweep's directory, and from the terminal, run
# where the sweep was started) must write a summary.csv with exactly the figures runs.csv
# holds for that replication.
# Arguments: -DDSIM=<dsim> -DSCENARIO=<file> -DWORK=<dir>
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
get_filename_component(dsim_dir ${DSIM} DIRECTORY)
set(path_env "PATH=${dsim_dir}:$ENV{PATH}")

execute_process(COMMAND ${DSIM} sweep ${SCENARIO} --jobs 2 --out sw RESULT_VARIABLE code
                OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${WORK})
message("dsim sweep:\n${out}")
if(NOT code EQUAL 1)
  message(FATAL_ERROR "dsim sweep: exit code ${code}, expected 1 (a check failed)\n${err}")
endif()

# The counts, from runs.csv alone: the check rows of point 0.
set(check "latency_ms_p99 < 20")
file(STRINGS ${WORK}/sw/runs.csv fails REGEX "^0,[0-9]+,[0-9]+,.*,run,check,${check},0$")
file(STRINGS ${WORK}/sw/runs.csv passes REGEX "^0,[0-9]+,[0-9]+,.*,run,check,${check},1$")
list(LENGTH fails n_failed)
list(LENGTH passes n_passed)
if(n_failed EQUAL 0 OR n_passed EQUAL 0)
  message(FATAL_ERROR "flaky_check.yaml should fail on some seeds and pass on others at point "
                      "0: ${n_failed} failed, ${n_passed} passed")
endif()
# The worst: the largest p99 at point 0.
file(STRINGS ${WORK}/sw/runs.csv p99s REGEX "^0,[0-9]+,[0-9]+,.*,all,all,latency_ms_p99,")
set(worst_p99 -1)
foreach(line ${p99s})
  string(REGEX MATCH "^0,([0-9]+),([0-9]+),.*,([0-9.]+)$" _ "${line}")
  if(CMAKE_MATCH_3 GREATER worst_p99)
    set(worst_p99 ${CMAKE_MATCH_3})
    set(worst_rep ${CMAKE_MATCH_1})
    set(worst_seed ${CMAKE_MATCH_2})
  endif()
endforeach()
math(EXPR n_runs "${n_failed} + ${n_passed}")

# checks.csv says the same.
file(STRINGS ${WORK}/sw/checks.csv row REGEX "^0,.*,${check},")
string(CONCAT expect "^0,.*,${check},${n_runs},${n_passed},${n_failed},${worst_rep},"
       "${worst_seed},${worst_p99},(dsim run sweep.yaml --seed ${worst_seed} .*)$")
if(NOT row MATCHES "${expect}")
  message(FATAL_ERROR "checks.csv: expected ${expect}\ngot ${row}")
endif()
set(file_command "${CMAKE_MATCH_1}")

# So does the terminal, with the command to run from here.
# (string(CONCAT) of quoted pieces: a list would lose the ';' of "passed; worst".)
string(CONCAT line "  check '${check}': ${n_passed} of ${n_runs} passed; worst r${worst_rep} "
       "\\(seed ${worst_seed}\\): [0-9.]+\n    rerun: (dsim run sw/sweep.yaml --seed "
       "${worst_seed} [^\n]*)\n")
if(NOT out MATCHES "${line}")
  message(FATAL_ERROR "the terminal does not say: ${line}")
endif()
set(terminal_command "${CMAKE_MATCH_1}")
string(CONCAT where "check '${check}' failed in ${n_failed} of [0-9]+ runs, at 1 of 2 "
       "points: point 0 \\(${n_failed} of ${n_runs}\\)\n")
if(NOT out MATCHES "${where}")
  message(FATAL_ERROR "the terminal does not say where '${check}' failed")
endif()

# The figures of that replication, as runs.csv has them: group,op,metric,value.
file(STRINGS ${WORK}/sw/runs.csv rows REGEX "^0,${worst_rep},${worst_seed},")
set(expected "")
foreach(r ${rows})
  string(REGEX REPLACE "^.*,([^,]*,[^,]*,[^,]*,[^,]*)$" "\\1" figure "${r}")
  if(NOT figure MATCHES "^run,check,")
    list(APPEND expected "${figure}")
  endif()
endforeach()

function(rerun name dir command)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env ${path_env}
                          sh -c "${command} --out '${WORK}/rerun-${name}'"
                  RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY ${dir})
  if(NOT code EQUAL 1)
    message(FATAL_ERROR "${command}: exit code ${code}, expected 1 (the check fails)\n${out}${err}")
  endif()
  file(STRINGS ${WORK}/rerun-${name}/summary.csv got REGEX "^[^#]")
  list(REMOVE_AT got 0)  # the column header
  if(NOT got STREQUAL expected)
    message(FATAL_ERROR "${command}: its summary.csv differs from the replication in runs.csv\n"
                        "expected: ${expected}\ngot: ${got}")
  endif()
  list(LENGTH got n)
  message("${name}: ${command}\n  reproduces the ${n} figures of replication ${worst_rep}")
endfunction()
rerun(file ${WORK}/sw "${file_command}")
rerun(terminal ${WORK} "${terminal_command}")
