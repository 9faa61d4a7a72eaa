// SPDX-License-Identifier: MIT
// libFuzzer harness for the capture reader: any file is read packet by packet (pcap and pcapng,
// through libpcap) to the end or to a clean error, and every packet read becomes an sk_buff for
// every socket kind or a clean error.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "pcap/reader.h"

namespace sockfilter::fuzz {
namespace {

/// An in-memory file (memfd) that holds the current input; Reader opens it by its /proc path, so
/// nothing is written to disk and nothing is left behind.
class InputFile {
public:
    InputFile() : fd_(memfd_create("fuzz_pcap", 0)), path_("/proc/self/fd/" + std::to_string(fd_)) {
        require(fd_ >= 0, "memfd_create failed");
    }

    const std::string& write(const std::uint8_t* data, std::size_t size) {
        require(ftruncate(fd_, 0) == 0, "ftruncate failed");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            require(n > 0, "pwrite failed");
            done += static_cast<std::size_t>(n);
        }
        return path_;
    }

private:
    int fd_;
    std::string path_;
};

}  // namespace
}  // namespace sockfilter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sockfilter;
    static fuzz::InputFile file;
    auto reader = pcap::Reader::open(file.write(data, size));
    if (!reader) {
        return 0;
    }
    for (;;) {
        auto frame = reader->next();
        if (!frame || !frame->has_value()) {
            break;
        }
        const pcap::Frame& f = **frame;
        fuzz::require(f.orig_len >= f.bytes.size(), "a frame longer on capture than on the wire");
        for (const runtime::SocketKind kind : fuzz::kSocketKinds) {
            if (auto skb = runtime::make_skb(f.bytes, reader->linktype(), kind)) {
                fuzz::check_skb(*skb);
            }
        }
    }
    auto after = reader->next();
    fuzz::require(after.has_value() && !after->has_value(), "something other than nullopt after the end or an error");
    return 0;
}
