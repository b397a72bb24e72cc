# kubetrail_cc_library / kubetrail_cc_binary / kubetrail_cc_test, in the spirit of abseil's
# absl_cc_library: every library gets a kubetrail::<name> alias, common warning flags and the
# sanitizer settings.

set(KUBETRAIL_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)
if(KUBETRAIL_WERROR)
  list(APPEND KUBETRAIL_WARNINGS -Werror)
endif()

if(KUBETRAIL_SANITIZE)
  string(REPLACE "," ";" _kt_sanitizers "${KUBETRAIL_SANITIZE}")
  foreach(_s IN LISTS _kt_sanitizers)
    add_compile_options(-fsanitize=${_s})
    add_link_options(-fsanitize=${_s})
  endforeach()
  add_compile_options(-fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fno-sanitize-recover=all)
endif()

function(_kubetrail_common_target_settings target)
  target_compile_options(${target} PRIVATE ${KUBETRAIL_WARNINGS})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}>)
endfunction()

# kubetrail_cc_library(NAME n SRCS ... [HDRS ...] [DEPS ...] [PRIVATE_DEPS ...])
function(kubetrail_cc_library)
  cmake_parse_arguments(KT "" "NAME" "SRCS;HDRS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(_t kubetrail_${KT_NAME})
  if(KT_SRCS)
    add_library(${_t} STATIC ${KT_SRCS} ${KT_HDRS})
    _kubetrail_common_target_settings(${_t})
    target_link_libraries(${_t} PUBLIC ${KT_DEPS} PRIVATE ${KT_PRIVATE_DEPS})
  else()
    add_library(${_t} INTERFACE ${KT_HDRS})
    target_include_directories(${_t} INTERFACE
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}>)
    target_link_libraries(${_t} INTERFACE ${KT_DEPS})
  endif()
  add_library(kubetrail::${KT_NAME} ALIAS ${_t})
endfunction()

# kubetrail_cc_binary(NAME n SRCS ... [DEPS ...] [OUTPUT_NAME name])
function(kubetrail_cc_binary)
  cmake_parse_arguments(KT "" "NAME;OUTPUT_NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${KT_NAME} ${KT_SRCS})
  _kubetrail_common_target_settings(${KT_NAME})
  target_link_libraries(${KT_NAME} PRIVATE ${KT_DEPS})
  if(KT_OUTPUT_NAME)
    set_target_properties(${KT_NAME} PROPERTIES OUTPUT_NAME ${KT_OUTPUT_NAME})
  endif()
endfunction()

# kubetrail_cc_test(NAME n SRCS ... [DEPS ...] [LABELS unit|integration|e2e] [TIMEOUT s])
# Registers every gtest case with ctest; the label defaults to "unit".
function(kubetrail_cc_test)
  if(NOT KUBETRAIL_TESTS)
    return()
  endif()
  cmake_parse_arguments(KT "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT KT_LABELS)
    set(KT_LABELS unit)
  endif()
  if(NOT KT_TIMEOUT)
    set(KT_TIMEOUT 300)
  endif()
  add_executable(${KT_NAME} ${KT_SRCS})
  _kubetrail_common_target_settings(${KT_NAME})
  target_link_libraries(${KT_NAME} PRIVATE ${KT_DEPS} GTest::gmock GTest::gtest_main)
  set_target_properties(${KT_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  gtest_discover_tests(${KT_NAME}
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    # KUBETRAIL_SOURCE_DIR / KUBETRAIL_BIN_DIR are read through tests/testing/paths.h.
    # One ENVIRONMENT value per variable: a ';' inside one value would split the property list.
    PROPERTIES LABELS "${KT_LABELS}" TIMEOUT ${KT_TIMEOUT}
      ENVIRONMENT "KUBETRAIL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
      ENVIRONMENT_MODIFICATION "KUBETRAIL_BIN_DIR=set:${CMAKE_BINARY_DIR}/bin"
    DISCOVERY_TIMEOUT 60)
endfunction()

# Sets the cache variable KUBETRAIL_PYTHON3 to Debian's python3 first: the Debian python3-*
# packages the Python tests need are installed for it, not for a python3 that may come earlier
# on PATH (pyenv, conda); any python3 on PATH otherwise. Override with -DKUBETRAIL_PYTHON3=.
function(kubetrail_find_python3)
  find_program(KUBETRAIL_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH
    DOC "python3 with Debian's python3-* packages, for the Python tests")
  if(NOT KUBETRAIL_PYTHON3)
    find_program(KUBETRAIL_PYTHON3 NAMES python3)
  endif()
endfunction()
