# smxgb_embed(OUT_C SYMBOL FILE): compile a data file into the binary as
# `const unsigned char SYMBOL[]` and `const size_t SYMBOL_len`, so the tables in compat/
# stay data files in the tree and the installed binary needs nothing beside it. The generated
# file sits in the build tree where the data file sits in the source tree (compat/rules/x.json
# -> build/compat/rules/SYMBOL.c), so it belongs to the same module as the code that reads it.
function(smxgb_embed out_c symbol file)
  file(RELATIVE_PATH rel "${CMAKE_CURRENT_SOURCE_DIR}" "${file}")
  get_filename_component(rel_dir "${rel}" DIRECTORY)
  set(gen "${CMAKE_CURRENT_BINARY_DIR}/${rel_dir}/${symbol}.c")
  add_custom_command(
    OUTPUT "${gen}"
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${gen} -DSYM=${symbol}
            -P "${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake"
    DEPENDS "${file}" "${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake"
    COMMENT "Embedding ${file}")
  set(${out_c} "${gen}" PARENT_SCOPE)
endfunction()
