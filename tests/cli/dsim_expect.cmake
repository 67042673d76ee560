# dsim_expect(<exit code> <text stderr must hold, or ""> <dsim arguments>...): runs ${DSIM}
# in ${WORK} and fails the script unless it exits with that code and says that text.
# Included by the CLI test scripts of this folder.
function(dsim_expect want needle)
  execute_process(COMMAND ${DSIM} ${ARGN} RESULT_VARIABLE code OUTPUT_VARIABLE out
                  ERROR_VARIABLE err WORKING_DIRECTORY ${WORK} TIMEOUT 120)
  if(NOT code EQUAL want)
    message(FATAL_ERROR "dsim ${ARGN}: exit code ${code}, expected ${want}\n${out}\n${err}")
  endif()
  if(needle)
    string(FIND "${err}" "${needle}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "dsim ${ARGN}: stderr lacks '${needle}':\n${err}")
    endif()
  endif()
  message("ok: dsim ${ARGN} -> ${code}")
endfunction()
