# SPDX-License-Identifier: MIT
# One example test: runs `SOCKFILTER run OBJECT -r CAPTURE ARGS --json --maps` and compares its
# standard output with the file EXPECTED, printing both on a difference.
# Set SF_UPDATE=1 in the environment to rewrite EXPECTED instead.
execute_process(COMMAND "${SOCKFILTER}" run "${OBJECT}" -r "${CAPTURE}" ${ARGS} --json --maps
    OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE status)
if(NOT status EQUAL 0)
    message(FATAL_ERROR "sockfilter exited with ${status}:\n${errors}")
endif()
if("$ENV{SF_UPDATE}" STREQUAL "1")
    file(WRITE "${EXPECTED}" "${actual}")
    return()
endif()
file(READ "${EXPECTED}" expected)
if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "output differs from ${EXPECTED}\n--- expected\n${expected}--- actual\n${actual}")
endif()
