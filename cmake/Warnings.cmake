# SPDX-License-Identifier: MIT
# Warning flags for every sockfilter target (HOUSE_STYLE §6).
function(sf_warnings target)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Werror=switch)
    # g++ 12 reports -Wrestrict on std::string assignments at -O2/-O3 where no overlap is possible
    # (GCC bug 105329); the false positive breaks -Werror builds, so it is off for that compiler.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(SF_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()

# sf_library(<comp> SOURCES ... DEPS ...): one component = one static library sockfilter_<comp>.
function(sf_library comp)
    cmake_parse_arguments(A "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
    add_library(sockfilter_${comp} STATIC ${A_SOURCES})
    target_include_directories(sockfilter_${comp} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
    target_link_libraries(sockfilter_${comp} PUBLIC ${A_DEPS} PRIVATE ${A_PRIVATE_DEPS})
    sf_warnings(sockfilter_${comp})
endfunction()

# sf_unit_test(<comp> SOURCES ...): one GoogleTest binary per component, label "unit".
function(sf_unit_test comp)
    cmake_parse_arguments(A "" "" "SOURCES;DEPS;LABELS" ${ARGN})
    if(NOT SF_BUILD_TESTS)
        return()
    endif()
    add_executable(${comp}_test ${A_SOURCES})
    target_link_libraries(${comp}_test PRIVATE sockfilter_${comp} ${A_DEPS} GTest::gtest GTest::gtest_main)
    sf_warnings(${comp}_test)
    set(labels unit ${A_LABELS})
    gtest_discover_tests(${comp}_test TEST_PREFIX "${comp}/" PROPERTIES LABELS "${labels}"
        ENVIRONMENT "SF_SHARED_DIR=${SF_SHARED_DIR};SF_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
        DISCOVERY_TIMEOUT 60)
endfunction()
