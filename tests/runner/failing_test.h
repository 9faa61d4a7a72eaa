// SPDX-License-Identifier: MIT
// How a GoogleTest data-suite runner reports a problem that belongs to no one case (its data file
// cannot be read, tests/EXPECTED_FAIL names a case that does not exist): a registered test that fails
// with the message.
#pragma once

#include <string>
#include <utility>

#include <gtest/gtest.h>

namespace sockfilter::testing {

/// Registers the test `suite`.`name`, which fails with `message`. Call before RUN_ALL_TESTS.
inline void register_failing_test(const char* suite, const char* name, std::string message) {
    class Failing final : public ::testing::Test {
    public:
        explicit Failing(std::string m) : message_(std::move(m)) {}
        void TestBody() override { FAIL() << message_; }

    private:
        std::string message_;
    };
    ::testing::RegisterTest(suite, name, nullptr, nullptr, __FILE__, __LINE__,
                            [message = std::move(message)]() -> ::testing::Test* { return new Failing(message); });
}

}  // namespace sockfilter::testing
