// export --from-model (quant/folded.h, folded_from_model_file): an fp32 ANet written by
// the exporter's own path (build_fp32_model + serialize) reads back as the same folded
// network (weights, strides, padding, ReLU, head metadata, logits), and anything that is
// not such a file is refused with a message naming it.
// (Catch REQUIRE only: LibTorch headers define their own CHECK macro.)
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "quant/folded.h"
#include "quant/to_modeldef.h"

namespace ft = faceattr::train;

namespace {

ft::FoldedNet tiny_anet() {
  torch::manual_seed(11);
  ft::FoldedNet f;
  const int ch[] = {3, 8, 16};
  for (int i = 0; i < 2; ++i) {
    ft::FoldedConv c;
    c.weight = torch::randn({ch[i + 1], ch[i], 3, 3}) * 0.3;
    c.bias = torch::randn({ch[i + 1]}) * 0.1;
    c.stride = 1 + i;  // 1, then 2
    c.pad = 1;
    f.convs.push_back(c);
  }
  f.fc_weight = torch::randn({5, 16}) * 0.2;
  f.fc_bias = torch::randn({5}) * 0.1;
  return f;
}

std::string write_temp(const std::vector<uint8_t>& bytes, const char* name) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace

TEST_CASE("export --from-model reads back the folded network of an fp32 ANet file", "[from_model]") {
  const ft::FoldedNet f = tiny_anet();
  ft::ModelInfo info;
  info.input.width = 16;
  info.input.height = 20;
  info.name = "tiny-fp32";
  for (int a = 0; a < 5; ++a) info.attribute_names.push_back("attr" + std::to_string(a));
  info.thresholds.assign(5, 0.5f);
  info.metadata = {{"head", "linear"}};
  const std::string path = write_temp(faceattr::modelfile::serialize(ft::build_fp32_model(f, info)),
                                      "faceattr_from_model_test.fam");
  std::string head;
  const ft::FoldedNet g = ft::folded_from_model_file(path, &head);
  REQUIRE(head == "linear");
  REQUIRE(g.convs.size() == f.convs.size());
  for (size_t i = 0; i < f.convs.size(); ++i) {
    REQUIRE(torch::equal(g.convs[i].weight, f.convs[i].weight));
    REQUIRE(torch::equal(g.convs[i].bias, f.convs[i].bias));
    REQUIRE(g.convs[i].stride == f.convs[i].stride);
    REQUIRE(g.convs[i].pad == f.convs[i].pad);
    REQUIRE(g.convs[i].groups == 1);
    REQUIRE(g.convs[i].relu);
  }
  REQUIRE(torch::equal(g.fc_weight, f.fc_weight));
  REQUIRE(torch::equal(g.fc_bias, f.fc_bias));
  const torch::Tensor x = torch::randn({2, 3, 20, 16});
  REQUIRE(torch::equal(g.logits(x), f.logits(x)));
  std::remove(path.c_str());

  SECTION("a missing file, a corrupt file and an LNet file are refused") {
    REQUIRE_THROWS_WITH(ft::folded_from_model_file("/nonexistent/anet.fam", &head),
                        Catch::Contains("cannot read model file /nonexistent/anet.fam"));
    const std::string bad =
        write_temp({'n', 'o', 't', ' ', 'a', ' ', 'm', 'o', 'd', 'e', 'l'}, "faceattr_from_model_bad.fam");
    REQUIRE_THROWS_WITH(ft::folded_from_model_file(bad, &head),
                        Catch::Contains("faceattr_from_model_bad.fam"));
    std::remove(bad.c_str());
    ft::ModelInfo li = info;
    li.kind = "lnet";
    li.attribute_names.clear();
    li.thresholds.clear();
    const std::string lnet = write_temp(faceattr::modelfile::serialize(ft::build_fp32_fcn_model(f.convs, li)),
                                        "faceattr_from_model_l.fam");
    REQUIRE_THROWS_WITH(ft::folded_from_model_file(lnet, &head), Catch::Contains("not an ANet model"));
    std::remove(lnet.c_str());
  }
}
