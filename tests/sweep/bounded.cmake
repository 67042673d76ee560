# A sweep's start is bounded whatever its grid: `--dry-run` of 10^7 points validates each
# axis value alone and a sample of points, lists the first points and says how many more
# there are. And a run that a limit refuses (here, by its memory estimate) is reported with
# its point, the sweep exits 3, and the other runs' results are written.
#   cmake -DDSIM=<dsim> -DSCENARIO=<tests/sweep/tiny_sweep.yaml> -DWORK=<dir> -P bounded.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

set(ten_axes
    --grid groups.web.params.workers=1,2,3,4,5,6,7,8,9,10
    --grid groups.clients.params.rate=10/s,20/s,30/s,40/s,50/s,60/s,70/s,80/s,90/s,100/s
    --grid groups.clients.params.timeout=100ms,200ms,300ms,400ms,500ms,600ms,700ms,800ms,900ms,1s
    --grid output.window=100ms,200ms,300ms,400ms,500ms,600ms,700ms,800ms,900ms,1s
    --grid warmup=0ms,50ms,100ms,150ms,200ms,250ms,300ms,350ms,400ms,450ms
    --grid groups.clients.count=1,2,3,4,5,6,7,8,9,10
    --grid groups.web.count=1,2,3,4,5,6,7,8,9,10)
execute_process(COMMAND ${DSIM} sweep ${SCENARIO} ${ten_axes} -r 1 --dry-run
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT code EQUAL 0)
  message(FATAL_ERROR "dry run: exit code ${code}\n${err}")
endif()
foreach(needle "10000000 points x 1 replication = 10000000 runs" "  point 99: "
        "  ... and 9999900 more points" "1000 points spread over the grid")
  string(FIND "${out}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "dry run: stdout lacks '${needle}':\n${out}")
  endif()
endforeach()
string(REGEX MATCHALL "\n" newlines "${out}")
list(LENGTH newlines lines)
if(lines GREATER 110)
  message(FATAL_ERROR "dry run: ${lines} lines for 10^7 points")
endif()
message("dry run of 10^7 points: ${lines} lines")

# Point 1 has 10^6 client nodes: more than 64 MiB by the estimate.
execute_process(COMMAND ${DSIM} sweep ${SCENARIO} --set duration=1s --set limits.memory=64MiB
                        --grid groups.web.params.workers=2 --grid groups.clients.params.rate=100/s
                        --grid groups.clients.count=1,1000000 -r 2 --jobs 2 --quiet --out refused
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err
                WORKING_DIRECTORY ${WORK})
message("refused point:\n${err}")
if(NOT code EQUAL 3)
  message(FATAL_ERROR "refused point: exit code ${code}, expected 3")
endif()
foreach(needle "point 1 (groups.web.params.workers=2 groups.clients.params.rate=100/s "
        "groups.clients.count=1000000), replication 0: not run: this scenario needs at least"
        "2 runs gave no results")
  string(FIND "${err}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "refused point: stderr lacks '${needle}'")
  endif()
endforeach()
file(READ ${WORK}/refused/sweep.csv sweep_csv)
if(NOT sweep_csv MATCHES "\n0,2,100/s,1,all,all,requests,2," OR sweep_csv MATCHES "\n1,")
  message(FATAL_ERROR "refused point: sweep.csv should hold point 0 (both runs) only:\n${sweep_csv}")
endif()
