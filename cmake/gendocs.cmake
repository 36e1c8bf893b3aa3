# cmake -DSMXGB=BIN -DOUT=DIR -P gendocs.cmake: write what the binary says about itself as the
# files the install puts beside it: smxgb.1.gz and one smxgb-VERB.1.gz per verb (from `smxgb
# help --man [VERB]`, the verbs from `smxgb help --verbs`), and the bash and zsh completion
# (`smxgb help --completion bash|zsh`). The pages are compressed with gzip -9n (no name or
# time in the header) so the same binary always gives the same bytes.
cmake_minimum_required(VERSION 3.18)
find_program(GZIP gzip REQUIRED)

function(run_to out)
  execute_process(COMMAND ${SMXGB} ${ARGN} OUTPUT_FILE "${out}" RESULT_VARIABLE rc
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "smxgb ${ARGN} failed (${rc}): ${err}")
  endif()
endfunction()

file(REMOVE_RECURSE "${OUT}/man1")
file(MAKE_DIRECTORY "${OUT}/man1" "${OUT}/completion")
execute_process(COMMAND ${SMXGB} help --verbs OUTPUT_VARIABLE verbs RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR verbs STREQUAL "")
  message(FATAL_ERROR "smxgb help --verbs failed (${rc})")
endif()
string(REPLACE "\n" ";" verbs "${verbs}")
run_to("${OUT}/man1/smxgb.1" help --man)
foreach(verb IN LISTS verbs)
  if(NOT verb STREQUAL "")
    run_to("${OUT}/man1/smxgb-${verb}.1" help --man ${verb})
  endif()
endforeach()
file(GLOB pages "${OUT}/man1/*.1")
foreach(page IN LISTS pages)
  execute_process(COMMAND ${GZIP} -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()
run_to("${OUT}/completion/smxgb" help --completion bash)
run_to("${OUT}/completion/_smxgb" help --completion zsh)
