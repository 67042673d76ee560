# dsim cache replay: a small trace whose hits LRU and FIFO count differently (worked by
# hand below), the CSV it prints, and bad input (a trace out of time order, a missing
# trace, an unknown policy, no capacity) refused with exit code 2 and a message.
include(${CMAKE_CURRENT_LIST_DIR}/dsim_expect.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
# Capacity 2 objects, gets of a b a c a b:
#   LRU:  a, b miss; a hit; c misses and evicts b; a hit; b misses      -> 2 hits of 6
#   FIFO: a, b miss; a hit; c evicts a; a evicts b; b evicts c (misses)  -> 1 hit of 6
# then a put of a (cached under both: admitted again at its new size, evicting nothing) and
# a delete, which count as neither hits nor misses.
file(WRITE ${WORK}/trace.csv "time,key,size,op\n0,a,100,get\n1ms,b,100\n2ms,a,100\n3ms,c,100\n4ms,a,100\n5ms,b,100\n6ms,a,50,put\n7ms,b,0,delete\n")
execute_process(COMMAND ${DSIM} cache replay trace.csv --eviction lru,fifo --capacity-objects 2 --csv
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY ${WORK})
set(want "policy,gets,hits,hit_ratio,byte_hit_ratio,evictions,not_admitted\nlru,6,2,0.3333333333333333,0.3333333333333333,2,0\nfifo,6,1,0.16666666666666666,0.16666666666666666,3,0\n")
if(NOT code EQUAL 0 OR NOT out STREQUAL want)
  message(FATAL_ERROR "dsim cache replay: exit ${code}\n${out}\n${err}\nexpected:\n${want}")
endif()
file(WRITE ${WORK}/late.csv "0,1,100\n2s,2,100\n1s,3,100\n")
dsim_expect(2 "late.csv:3: time 1s is earlier than the previous row's 2s" cache replay late.csv --capacity 1MiB)
dsim_expect(2 "cannot read 'missing.csv'" cache replay missing.csv --capacity 1MiB)
dsim_expect(2 "--eviction: unknown policy 'mru'" cache replay trace.csv --eviction mru --capacity 1MiB)
dsim_expect(2 "give --capacity (bytes), --capacity-objects, or both" cache replay trace.csv)
