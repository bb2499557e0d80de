// Random corruption that gets past the CRC (the CRC is recomputed), so that the
// FlatBuffers verifier and the graph validation are what stand between a bad
// file and the kernels. Every outcome must be a clean status; a model that is
// accepted must also run.
#include <catch2/catch.hpp>
#include <random>

#include "graph/network.h"
#include "support/tiny_models.h"
#include "util/crc32.h"

namespace {

uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

void reseal(std::vector<uint8_t>& b) {
  const uint32_t crc = faceattr::crc32_update(0, b.data() + 64, b.size() - 64);
  for (int i = 0; i < 4; ++i) b[48 + i] = static_cast<uint8_t>(crc >> (8 * i));
}

}  // namespace

TEST_CASE("resealed random corruption never crashes the loader", "[model_file][fuzz]") {
  for (bool int8 : {false, true}) {
    faceattr::test::TinyModelSpec spec;
    spec.int8 = int8;
    const auto good = faceattr::test::tiny_anet_bytes(spec);
    const size_t meta_end = 64 + get_u64(good, 24);
    std::mt19937 rng(int8 ? 1234 : 99);
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 4000; ++iter) {
      auto b = good;
      const int n_mut = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n_mut; ++k) {
        // Mostly the metadata (graph structure); sometimes the weights.
        const size_t lo = 64, hi = (rng() % 4 == 0) ? b.size() : meta_end;
        const size_t pos = lo + rng() % (hi - lo);
        switch (rng() % 3) {
          case 0:
            b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            b[pos] = static_cast<uint8_t>(rng());
            break;
          default:
            b[pos] = (rng() % 2) ? 0xFF : 0x00;
            break;
        }
      }
      reseal(b);
      faceattr::kernels::ExecContext ctx;
      faceattr::Network net;
      const faceattr::Status st = net.load(b.data(), b.size(), faceattr::kernels::Family::Reference, ctx);
      if (st.is_ok()) {
        ++accepted;
        for (size_t i = 0; i < net.input_elements(); ++i) net.input_ptr()[i] = 0.5f;
        REQUIRE(net.run().is_ok());
      } else {
        ++refused;
        REQUIRE(!st.message().empty());
        REQUIRE((st.code() == FACEATTR_ERR_MODEL_FORMAT || st.code() == FACEATTR_ERR_UNSUPPORTED));
      }
    }
    // Both outcomes occur: harmless edits (e.g. a name byte) load, structural ones are refused.
    CHECK(accepted > 0);
    CHECK(refused > 0);
  }
}
