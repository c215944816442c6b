# Tests: unit (Criterion), fuzz corpus replay, integration (real processes).
set(AM_VECTORS_DIR "${CMAKE_SOURCE_DIR}/tests/vectors" CACHE PATH
    "Folder holding the public test vectors (noise/...)")

if(NOT CRITERION_FOUND)
  message(FATAL_ERROR "Criterion not found: install libcriterion-dev (make deps does)")
endif()

# A small library of helpers shared by unit tests (tests/unit/testutil.c), and those of the
# stick tests (stick_tu.c).
add_library(amtestutil STATIC ${CMAKE_SOURCE_DIR}/tests/unit/testutil.c
            ${CMAKE_SOURCE_DIR}/tests/unit/memstore.c ${CMAKE_SOURCE_DIR}/tests/unit/stick_tu.c)
target_include_directories(amtestutil PUBLIC ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(amtestutil PUBLIC amtools PkgConfig::CRITERION)

file(GLOB AM_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*_test.c)
foreach(src ${AM_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE amtestutil)
  add_test(NAME unit_${name} COMMAND ${name} --jobs 2)
  set_tests_properties(unit_${name} PROPERTIES
    ENVIRONMENT "AM_VECTORS_DIR=${AM_VECTORS_DIR};AM_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    TIMEOUT 600)
endforeach()

# Fuzz targets: tests/fuzz/<name>_fuzz.c defines LLVMFuzzerTestOneInput. make test replays
# each committed corpus (tests/fuzz/corpus/<name>/) through a plain driver; make fuzz
# builds the same file with clang's libFuzzer and runs it longer.
file(GLOB AM_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/*_fuzz.c)
if(AM_FUZZ)
  # coverage instrumentation for every file, so libFuzzer sees inside the decoders
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
foreach(src ${AM_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" short ${name})
  if(AM_FUZZ)
    add_executable(${name} ${src})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE amtools)
  else()
    add_executable(${name}_replay ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
    target_link_libraries(${name}_replay PRIVATE amtools)
    add_test(NAME fuzz_replay_${short}
             COMMAND ${name}_replay ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${short})
  endif()
endforeach()

# The layers' include rules and the file size budget (tools/check-layers.sh), on this tree.
add_test(NAME layers COMMAND bash ${CMAKE_SOURCE_DIR}/tools/check-layers.sh ${CMAKE_SOURCE_DIR})

# Integration tests: tests/integration/*.sh start real processes.
file(GLOB AM_INTEGRATION_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/*.sh)
list(FILTER AM_INTEGRATION_TESTS EXCLUDE REGEX ".*/lib[^/]*\\.sh$")
foreach(src ${AM_INTEGRATION_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME integration_${name} COMMAND bash ${src})
  set_tests_properties(integration_${name} PROPERTIES
    ENVIRONMENT "AIDMESH=$<TARGET_FILE:aidmesh>;AM_TESTTOOL=$<TARGET_FILE:aidmesh-testtool>;AM_SOURCE_DIR=${CMAKE_SOURCE_DIR};AM_BIN_DIR=$<TARGET_FILE_DIR:aidmesh>"
    TIMEOUT 900)
endforeach()

add_executable(aidmesh-testtool ${CMAKE_SOURCE_DIR}/tests/integration/testtool_main.c)
target_link_libraries(aidmesh-testtool PRIVATE amtools)

add_executable(aidmesh-discovery-probe ${CMAKE_SOURCE_DIR}/tests/integration/discovery_probe_main.c)
target_link_libraries(aidmesh-discovery-probe PRIVATE amtools)
foreach(t integration_discovery_netns integration_discovery_replay_netns)
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
               "AM_DISCOVERY_PROBE=$<TARGET_FILE:aidmesh-discovery-probe>")
endforeach()

add_executable(aidmesh-relay ${CMAKE_SOURCE_DIR}/tests/integration/relay_main.c)
set_property(TEST integration_netns_sync APPEND PROPERTY ENVIRONMENT
             "AM_RELAY=$<TARGET_FILE:aidmesh-relay>")

# clone_converges.sh bounds itself (AM_CLONE_LIMIT, 120 s) and says so on failure; ctest's
# limit sits just above that bound so the test's own message is what one reads.
set_tests_properties(integration_clone_converges PROPERTIES TIMEOUT 150)
