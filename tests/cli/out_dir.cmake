# What `--out` may replace (sim/run/output_dir.h), for dsim run, sweep and merge: nothing
# the user had is lost. A previous output of the same kind is replaced; anything else (a
# file, a directory dsim did not write, a dsim output that also holds other files or is of
# the other kind) is refused (exit 2, a message naming it and --force, no output written)
# and left as it was; with --force the results are written and what was there is moved to
# <out>.old, intact. The current directory is never replaced.
#   cmake -DDSIM=<dsim> -DSCENARIO=<tests/sweep/tiny_sweep.yaml> -DWORK=<dir> -P out_dir.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

include(${CMAKE_CURRENT_LIST_DIR}/dsim_expect.cmake)

function(expect_absent path)
  if(EXISTS ${WORK}/${path})
    message(FATAL_ERROR "${path} was written")
  endif()
endfunction()

function(expect_exists path)
  if(NOT EXISTS ${WORK}/${path})
    message(FATAL_ERROR "${path} is missing")
  endif()
endfunction()

function(expect_file path content)
  if(NOT EXISTS ${WORK}/${path})
    message(FATAL_ERROR "${path} was removed")
  endif()
  file(READ ${WORK}/${path} text)
  if(NOT text STREQUAL content)
    message(FATAL_ERROR "${path} was changed: '${text}'")
  endif()
endfunction()

set(run run ${SCENARIO} --set duration=1s --quiet)
# One point whose check passes (exit code 0), five short replications.
set(sweep sweep ${SCENARIO} --set duration=1s --grid groups.web.params.workers=2
    --grid groups.clients.params.rate=100/s --jobs 1 --quiet)

# A plain file: refused, and left as it was; with --force, moved aside.
file(WRITE ${WORK}/a_file "mine\n")
dsim_expect(2 "a file is there" ${run} --out a_file)
dsim_expect(2 "pass --force to write there anyway" ${sweep} --out a_file)
expect_file(a_file "mine\n")
expect_absent(.a_file.partial)
dsim_expect(0 "what was at --out is now in a_file.old" ${run} --out a_file --force)
expect_file(a_file.old "mine\n")
expect_exists(a_file/summary.json)

# A directory of the user's: refused and left intact; with --force, moved aside whole.
file(WRITE ${WORK}/mine/notes.txt "notes\n")
file(WRITE ${WORK}/mine/data/raw.csv "1,2\n")
dsim_expect(2 "holds data/, notes.txt, which dsim did not write" ${run} --out mine)
dsim_expect(2 "holds data/, notes.txt, which dsim did not write" ${sweep} --out mine)
expect_file(mine/notes.txt "notes\n")
expect_file(mine/data/raw.csv "1,2\n")
expect_absent(mine/summary.csv)
expect_absent(.mine.partial)
dsim_expect(0 "what was at --out is now in mine.old" ${run} --out mine --force)
expect_file(mine.old/notes.txt "notes\n")
expect_file(mine.old/data/raw.csv "1,2\n")
# Again: the run's own directory is replaced; a second foreign one goes to mine.old.2.
dsim_expect(0 "" ${run} --out mine --seed 3)
expect_absent(mine.old.2)
file(WRITE ${WORK}/mine/notes.txt "more notes\n")
dsim_expect(0 "what was at --out is now in mine.old.2" ${sweep} --out mine --force)
expect_file(mine.old.2/notes.txt "more notes\n")
expect_file(mine.old/notes.txt "notes\n")

# The current directory (or one above it): never, even with --force.
dsim_expect(2 "the current directory or one above it" ${run} --out . --force)

# An empty directory, then the previous run's directory: written, then replaced.
file(MAKE_DIRECTORY ${WORK}/runs/empty)
dsim_expect(0 "" ${run} --out runs/empty)
dsim_expect(0 "" ${run} --out runs/empty --seed 5)
file(STRINGS ${WORK}/runs/empty/summary.csv header LIMIT_COUNT 1)
if(NOT header MATCHES "seed=5 ")
  message(FATAL_ERROR "the run directory was not replaced: ${header}")
endif()

# A run's directory that also holds the user's files: refused; with --force, moved aside.
file(WRITE ${WORK}/runs/empty/plots/latency.png "png\n")
dsim_expect(2 "also plots/, which dsim did not write" ${run} --out runs/empty)
expect_file(runs/empty/plots/latency.png "png\n")
dsim_expect(0 "what was at --out is now in runs/empty.old" ${run} --out runs/empty --force)
expect_file(runs/empty.old/plots/latency.png "png\n")
if(EXISTS ${WORK}/runs/empty/plots OR NOT EXISTS ${WORK}/runs/empty/summary.csv)
  message(FATAL_ERROR "--force did not write the run directory")
endif()

# Sweeps: a new directory, the previous sweep's, one with the user's files, another kind.
dsim_expect(0 "" ${sweep} --out sweeps/s --keep-runs)
dsim_expect(0 "" ${sweep} --out sweeps/s --keep-runs)
file(WRITE ${WORK}/sweeps/s/runs/p0-r0/mine.txt "mine\n")
dsim_expect(2 "also runs/p0-r0/mine.txt, which dsim did not write" ${sweep} --out sweeps/s)
expect_file(sweeps/s/runs/p0-r0/mine.txt "mine\n")
dsim_expect(0 "what was at --out is now in sweeps/s.old" ${sweep} --out sweeps/s --force)
expect_file(sweeps/s.old/runs/p0-r0/mine.txt "mine\n")
if(EXISTS ${WORK}/sweeps/s/runs)
  message(FATAL_ERROR "--force did not write the sweep directory")
endif()
dsim_expect(2 "the results of a dsim run, not of a sweep" ${sweep} --out runs/empty)
dsim_expect(2 "the results of a dsim sweep, not of a run" ${run} --out sweeps/s)
dsim_expect(0 "what was at --out is now in sweeps/s.old.2" ${run} --out sweeps/s --force)
expect_exists(sweeps/s.old.2/sweep.csv)

# dsim merge: the same rule for its --out.
dsim_expect(0 "" ${sweep} --out shards/0 --shard 0/2)
dsim_expect(0 "" ${sweep} --out shards/1 --shard 1/2)
file(WRITE ${WORK}/theirs/notes.txt "notes\n")
dsim_expect(2 "is moved to theirs.old first, not deleted" merge shards/0 shards/1 --out theirs -q)
expect_file(theirs/notes.txt "notes\n")
dsim_expect(0 "" merge shards/0 shards/1 --out merged -q)
dsim_expect(0 "what was at --out is now in theirs.old" merge shards/0 shards/1 --out theirs -q --force)
expect_file(theirs.old/notes.txt "notes\n")
