// Known-value tests of the reference kernels and the shared int8 arithmetic:
// every expected number below is worked out by hand in the comments.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "kernels/kernels.h"
#include "unit/test_kernels_util.h"

using namespace faceattr::kernels;
using faceattr::kernels::test::bind_and_run;

TEST_CASE("quantize_value rounds half away from zero and clamps", "[kernels][reference]") {
  const QParam unit{1.0f, 0};
  CHECK(quantize_value(0.5f, unit) == 1);
  CHECK(quantize_value(-0.5f, unit) == -1);
  CHECK(quantize_value(1.5f, unit) == 2);
  CHECK(quantize_value(2.5f, unit) == 3);  // not banker's rounding
  CHECK(quantize_value(-2.5f, unit) == -3);
  CHECK(quantize_value(0.49f, unit) == 0);
  CHECK(quantize_value(200.0f, unit) == 127);
  CHECK(quantize_value(-200.0f, unit) == -128);
  CHECK(quantize_value(1e30f, unit) == 127);
  const QParam q{0.25f, 10};
  CHECK(quantize_value(0.125f, q) == 11);  // 0.5 steps -> 1, + zp
  CHECK(quantize_value(-0.125f, q) == 9);
  CHECK(quantize_value(-40.0f, q) == -128);
  CHECK(dequantize_value(11, q) == 0.25f);
  CHECK(dequantize_value(-128, q) == -34.5f);
}

TEST_CASE("act_qrange and act_frange", "[kernels][reference]") {
  int32_t lo = 0, hi = 0;
  act_qrange(Act::None, {0.1f, 5}, &lo, &hi);
  CHECK((lo == -128 && hi == 127));
  act_qrange(Act::LeakyRelu, {0.1f, 5}, &lo, &hi);
  CHECK((lo == -128 && hi == 127));
  act_qrange(Act::Relu, {0.1f, -5}, &lo, &hi);
  CHECK((lo == -5 && hi == 127));
  act_qrange(Act::Relu6, {0.05f, -128}, &lo, &hi);  // 6 / 0.05 = 120 steps above zp
  CHECK((lo == -128 && hi == -8));
  act_qrange(Act::Relu6, {0.01f, 0}, &lo, &hi);  // 600 steps: clamps to 127
  CHECK((lo == 0 && hi == 127));
  float flo = 0, fhi = 0;
  act_frange(Act::None, &flo, &fhi);
  CHECK((std::isinf(flo) && flo < 0 && std::isinf(fhi) && fhi > 0));
  act_frange(Act::Relu, &flo, &fhi);
  CHECK((flo == 0.0f && std::isinf(fhi)));
  act_frange(Act::Relu6, &flo, &fhi);
  CHECK((flo == 0.0f && fhi == 6.0f));
  act_frange(Act::LeakyRelu, &flo, &fhi);
  CHECK((std::isinf(flo) && std::isinf(fhi)));
}

TEST_CASE("family names and availability", "[kernels]") {
  CHECK(std::string(family_name(Family::Reference)) == "reference");
  CHECK(std::string(family_name(Family::Xnnpack)) == "xnnpack");
  CHECK(std::string(family_name(Family::Simd)) == "simd");
  CHECK(family_available(Family::Reference));
#ifndef FACEATTR_HAVE_XNNPACK
  CHECK_FALSE(family_available(Family::Xnnpack));
#endif
#ifndef FACEATTR_HAVE_SIMD
  CHECK_FALSE(family_available(Family::Simd));
#endif
}

// x = 3x3x1 [[1,2,3],[4,5,6],[7,8,9]], w = 2x2 [[1,2],[3,4]].
TEST_CASE("reference conv2d fp32 by hand", "[kernels][reference]") {
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 2, 3, 4};
  const float bias[1] = {0.5f};
  ExecContext ctx;
  Conv2dDesc d;
  d.in_h = d.in_w = 3;
  d.in_c = d.out_c = 1;
  d.kernel_h = d.kernel_w = 2;
  d.out_h = d.out_w = 2;
  SECTION("valid padding, stride 1") {
    auto k = reference::make_conv2d(d, {w, nullptr, bias});
    REQUIRE(k);
    float y[4] = {};
    REQUIRE(bind_and_run(*k, {x}, y, ctx));
    // 1*1+2*2+3*4+4*5 = 37; shifting right adds 10, down adds 30.
    CHECK(y[0] == 37.5f);
    CHECK(y[1] == 47.5f);
    CHECK(y[2] == 67.5f);
    CHECK(y[3] == 77.5f);
  }
  SECTION("asymmetric padding, stride 2, relu") {
    d.stride_h = d.stride_w = 2;
    d.pad_top = 1;
    d.pad_right = 1;
    d.act = Act::Relu;
    const float b10[1] = {-10.0f};
    auto k = reference::make_conv2d(d, {w, nullptr, b10});
    REQUIRE(k);
    float y[4] = {};
    REQUIRE(bind_and_run(*k, {x}, y, ctx));
    CHECK(y[0] == 1.0f);   // rows -1..0, cols 0..1: 3*1 + 4*2 - 10
    CHECK(y[1] == 0.0f);   // rows -1..0, cols 2..3: 3*3 - 10 = -1 -> relu
    CHECK(y[2] == 57.0f);  // rows 1..2, cols 0..1: 67 - 10
    CHECK(y[3] == 23.0f);  // rows 1..2, cols 2..3: 1*6 + 3*9 - 10
  }
}

TEST_CASE("reference conv2d grouped and depthwise by hand", "[kernels][reference]") {
  ExecContext ctx;
  Conv2dDesc d;
  d.in_h = d.in_w = d.out_h = d.out_w = 1;
  d.in_c = 2;
  d.out_c = 4;
  d.groups = 2;  // group 0: in ch 0 -> out 0,1; group 1: in ch 1 -> out 2,3
  const float x[2] = {1, 10};
  const float w[4] = {2, -1, 3, 0.5f};
  auto k = reference::make_conv2d(d, {w, nullptr, nullptr});
  REQUIRE(k);
  float y[4] = {};
  REQUIRE(bind_and_run(*k, {x}, y, ctx));
  CHECK(y[0] == 2.0f);
  CHECK(y[1] == -1.0f);
  CHECK(y[2] == 30.0f);
  CHECK(y[3] == 5.0f);
}

// x = [5, 1] with zp 3 -> [2, -2]; w scale 0.25, in scale 0.5, out scale 0.25: multiplier 0.5.
TEST_CASE("reference conv2d int8 by hand", "[kernels][reference]") {
  ExecContext ctx;
  Conv2dDesc d;
  d.dtype = DType::I8;
  d.in_h = d.in_w = d.out_h = d.out_w = 1;
  d.in_c = 2;
  d.out_c = 2;
  d.in_q = {0.5f, 3};
  d.out_q = {0.25f, -2};
  const int8_t x[2] = {5, 1};
  const int8_t w[4] = {10, 4, -10, 4};
  const float ws[2] = {0.25f, 0.25f};
  const int32_t bias[2] = {7, 7};
  int8_t y[2] = {};
  SECTION("no activation") {
    auto k = reference::make_conv2d(d, {w, ws, bias});
    REQUIRE(k);
    REQUIRE(bind_and_run(*k, {x}, y, ctx));
    CHECK(y[0] == 8);    // acc 20 - 8 + 7 = 19 -> 9.5 -> 10 - 2
    CHECK(y[1] == -13);  // acc -20 - 8 + 7 = -21 -> -10.5 -> -11 - 2
  }
  SECTION("relu clamps at the zero point") {
    d.act = Act::Relu;
    auto k = reference::make_conv2d(d, {w, ws, bias});
    REQUIRE(k);
    REQUIRE(bind_and_run(*k, {x}, y, ctx));
    CHECK(y[0] == 8);
    CHECK(y[1] == -2);
  }
  SECTION("leaky relu scales negatives before rounding") {
    d.act = Act::LeakyRelu;
    d.leaky_alpha = 0.25f;
    auto k = reference::make_conv2d(d, {w, ws, bias});
    REQUIRE(k);
    REQUIRE(bind_and_run(*k, {x}, y, ctx));
    CHECK(y[1] == -5);  // -10.5 * 0.25 = -2.625 -> -3, - 2
  }
}

TEST_CASE("reference fully connected by hand", "[kernels][reference]") {
  ExecContext ctx;
  FullyConnectedDesc d;
  d.batch = 2;
  d.in_features = 3;
  d.out_features = 2;
  const float x[6] = {1, 2, 3, -1, 0, 1};
  const float w[6] = {1, 1, 1, 0, -1, 2};
  const float b[2] = {0, 1};
  auto k = reference::make_fully_connected(d, {w, nullptr, b});
  REQUIRE(k);
  float y[4] = {};
  REQUIRE(bind_and_run(*k, {x}, y, ctx));
  CHECK(y[0] == 6.0f);
  CHECK(y[1] == 5.0f);  // -2 + 6 + 1
  CHECK(y[2] == 0.0f);
  CHECK(y[3] == 3.0f);  // 0 + 2 + 1
}

// 3x3 input 1..9, 2x2 window, stride 2, bottom/right padding 1.
TEST_CASE("reference pooling by hand; average excludes padding", "[kernels][reference]") {
  ExecContext ctx;
  Pool2dDesc d;
  d.in_h = d.in_w = 3;
  d.channels = 1;
  d.kernel_h = d.kernel_w = 2;
  d.stride_h = d.stride_w = 2;
  d.pad_bottom = d.pad_right = 1;
  d.out_h = d.out_w = 2;
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float y[4] = {};
  d.kind = PoolKind::Average;
  auto avg = reference::make_pool2d(d);
  REQUIRE(avg);
  REQUIRE(bind_and_run(*avg, {x}, y, ctx));
  CHECK(y[0] == 3.0f);  // (1+2+4+5)/4
  CHECK(y[1] == 4.5f);  // (3+6)/2
  CHECK(y[2] == 7.5f);  // (7+8)/2
  CHECK(y[3] == 9.0f);
  d.kind = PoolKind::Max;
  auto mx = reference::make_pool2d(d);
  REQUIRE(mx);
  REQUIRE(bind_and_run(*mx, {x}, y, ctx));
  CHECK(y[0] == 5.0f);
  CHECK(y[1] == 6.0f);
  CHECK(y[2] == 8.0f);
  CHECK(y[3] == 9.0f);
  // int8 average: in scale 1 zp 0, out scale 0.5 -> (3+6)/2 / 0.5 = 9 steps.
  d.kind = PoolKind::Average;
  d.dtype = DType::I8;
  d.in_q = {1.0f, 0};
  d.out_q = {0.5f, 1};
  const int8_t xq[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int8_t yq[4] = {};
  auto avgq = reference::make_pool2d(d);
  REQUIRE(avgq);
  REQUIRE(bind_and_run(*avgq, {xq}, yq, ctx));
  CHECK(yq[0] == 7);   // 3 / 0.5 + 1
  CHECK(yq[1] == 10);  // 4.5 / 0.5 + 1
  CHECK(yq[2] == 16);
  CHECK(yq[3] == 19);
}

TEST_CASE("reference global average pool, add, concat, sigmoid by hand", "[kernels][reference]") {
  ExecContext ctx;
  GlobalAvgPoolDesc g;
  g.in_h = 1;
  g.in_w = 2;
  g.channels = 2;
  const float gx[4] = {1, 10, 3, 20};  // NHWC: pixel0 (1,10), pixel1 (3,20)
  float gy[2] = {};
  auto gap = reference::make_global_avg_pool(g);
  REQUIRE(gap);
  REQUIRE(bind_and_run(*gap, {gx}, gy, ctx));
  CHECK(gy[0] == 2.0f);
  CHECK(gy[1] == 15.0f);

  AddDesc a;
  a.size = 3;
  a.act = Act::Relu6;
  const float ax[3] = {1, -5, 4}, bx[3] = {2, 1, 4};
  float ay[3] = {};
  auto add = reference::make_add(a);
  REQUIRE(add);
  REQUIRE(bind_and_run(*add, {ax, bx}, ay, ctx));
  CHECK(ay[0] == 3.0f);
  CHECK(ay[1] == 0.0f);
  CHECK(ay[2] == 6.0f);

  // int8 add: a scale 0.5 zp 0, b scale 0.25 zp 4, out scale 1 zp -1.
  a.dtype = DType::I8;
  a.act = Act::None;
  a.a_q = {0.5f, 0};
  a.b_q = {0.25f, 4};
  a.out_q = {1.0f, -1};
  const int8_t aq[3] = {3, -3, 100}, bq[3] = {6, 2, 127};
  int8_t yq[3] = {};
  auto addq = reference::make_add(a);
  REQUIRE(addq);
  REQUIRE(bind_and_run(*addq, {aq, bq}, yq, ctx));
  CHECK(yq[0] == 1);   // 1.5 + 0.5 = 2 -> 2 - 1
  CHECK(yq[1] == -3);  // -1.5 - 0.5 = -2 -> -2 - 1
  CHECK(yq[2] == 80);  // 100 * 0.5 + (127 - 4) * 0.25 = 80.75 -> 81 - 1

  ConcatDesc c;
  c.outer = 2;
  c.channels = {1, 2};
  const float c0[2] = {1, 2}, c1[4] = {10, 11, 20, 21};
  float cy[6] = {};
  auto cat = reference::make_concat(c);
  REQUIRE(cat);
  REQUIRE(bind_and_run(*cat, {c0, c1}, cy, ctx));
  const float expect[6] = {1, 10, 11, 2, 20, 21};
  for (int i = 0; i < 6; ++i) CHECK(cy[i] == expect[i]);

  UnaryDesc u;
  u.size = 3;
  const float sx[3] = {0.0f, 100.0f, -100.0f};
  float sy[3] = {};
  auto sig = reference::make_sigmoid(u);
  REQUIRE(sig);
  REQUIRE(bind_and_run(*sig, {sx}, sy, ctx));
  CHECK(sy[0] == 0.5f);
  CHECK(sy[1] == Approx(1.0f));
  CHECK(sy[2] == Approx(0.0f).margin(1e-30));
}

TEST_CASE("reference int8 unary ops by hand", "[kernels][reference]") {
  ExecContext ctx;
  UnaryDesc u;
  u.size = 4;
  u.dtype = DType::I8;
  u.in_q = {0.5f, 2};
  u.out_q = {1.0f / 256.0f, -128};
  const int8_t x[4] = {2, -128, 127, 4};
  int8_t y[4] = {};
  auto sig = reference::make_sigmoid(u);
  REQUIRE(sig);
  REQUIRE(bind_and_run(*sig, {x}, y, ctx));
  CHECK(y[0] == 0);     // sigmoid(0) = 0.5 -> 128 steps - 128
  CHECK(y[1] == -128);  // sigmoid(-65) ~ 0
  CHECK(y[2] == 127);   // sigmoid(62.5) ~ 1 -> 256 steps, clamped
  CHECK(y[3] == quantize_value(1.0f / (1.0f + std::exp(-1.0f)), u.out_q));

  u.act = Act::Relu;
  u.out_q = u.in_q;
  auto relu = reference::make_activation(u);
  REQUIRE(relu);
  const int8_t rx[4] = {-5, 2, 3, 100};
  REQUIRE(bind_and_run(*relu, {rx}, y, ctx));
  CHECK(y[0] == 2);
  CHECK(y[1] == 2);
  CHECK(y[2] == 3);
  CHECK(y[3] == 100);

  UnaryDesc qd;
  qd.size = 4;
  qd.out_q = {0.5f, 1};
  const float qx[4] = {0.25f, -0.25f, 0.75f, 1000.0f};
  auto quant = reference::make_quantize(qd);
  REQUIRE(quant);
  REQUIRE(bind_and_run(*quant, {qx}, y, ctx));
  CHECK(y[0] == 2);  // 0.5 steps -> 1, + 1
  CHECK(y[1] == 0);
  CHECK(y[2] == 3);  // 1.5 -> 2, + 1
  CHECK(y[3] == 127);

  UnaryDesc dq;
  dq.size = 2;
  dq.in_q = {0.5f, 1};
  const int8_t dx[2] = {3, -1};
  float dy[2] = {};
  auto deq = reference::make_dequantize(dq);
  REQUIRE(deq);
  REQUIRE(bind_and_run(*deq, {dx}, dy, ctx));
  CHECK(dy[0] == 1.0f);
  CHECK(dy[1] == -1.0f);
}

TEST_CASE("reference factories reject invalid descriptors with nullptr", "[kernels][reference]") {
  const float w[64] = {};
  const float ws[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  Conv2dDesc c;
  c.in_h = c.in_w = 4;
  c.in_c = 4;
  c.out_c = 4;
  c.kernel_h = c.kernel_w = 1;
  c.out_h = c.out_w = 4;
  REQUIRE(reference::make_conv2d(c, {w, nullptr, nullptr}));
  CHECK_FALSE(reference::make_conv2d(c, {nullptr, nullptr, nullptr}));
  Conv2dDesc bad = c;
  bad.out_h = 3;
  CHECK_FALSE(reference::make_conv2d(bad, {w, nullptr, nullptr}));
  bad = c;
  bad.groups = 3;
  CHECK_FALSE(reference::make_conv2d(bad, {w, nullptr, nullptr}));
  bad = c;
  bad.kernel_h = 7;  // larger than input + padding
  bad.out_h = 0;
  CHECK_FALSE(reference::make_conv2d(bad, {w, nullptr, nullptr}));
  bad = c;
  bad.stride_w = 0;
  CHECK_FALSE(reference::make_conv2d(bad, {w, nullptr, nullptr}));
  bad = c;
  bad.dtype = DType::I8;
  CHECK_FALSE(reference::make_conv2d(bad, {w, nullptr, nullptr}));  // no weight scales
  CHECK(reference::make_conv2d(bad, {w, ws, nullptr}));
  bad.out_q.scale = 0.0f;
  CHECK_FALSE(reference::make_conv2d(bad, {w, ws, nullptr}));

  FullyConnectedDesc f;
  f.in_features = 0;
  f.out_features = 2;
  CHECK_FALSE(reference::make_fully_connected(f, {w, nullptr, nullptr}));

  Pool2dDesc p;
  p.in_h = p.in_w = 4;
  p.channels = 2;
  p.kernel_h = p.kernel_w = 2;
  p.out_h = p.out_w = 3;
  REQUIRE(reference::make_pool2d(p));
  p.pad_top = 2;  // padding as large as the window
  p.out_h = 5;
  CHECK_FALSE(reference::make_pool2d(p));
  p.pad_top = 0;
  p.out_h = 3;
  p.dtype = DType::I8;
  p.out_q = {0.5f, 0};  // int8 max pool needs in_q == out_q
  CHECK_FALSE(reference::make_pool2d(p));

  CHECK_FALSE(reference::make_add(AddDesc{}));
  CHECK_FALSE(reference::make_concat(ConcatDesc{}));
  CHECK_FALSE(reference::make_sigmoid(UnaryDesc{}));
  UnaryDesc u;
  u.size = 4;
  u.out_q.scale = -1.0f;
  CHECK_FALSE(reference::make_quantize(u));
  u.out_q.zero_point = 300;
  u.out_q.scale = 1.0f;
  CHECK_FALSE(reference::make_quantize(u));

  // bind() refuses a wrong input count or null buffers.
  auto k = reference::make_conv2d(c, {w, nullptr, nullptr});
  float x[64] = {}, y[64] = {};
  const void* two[2] = {x, x};
  ExecContext ctx;
  CHECK_FALSE(k->bind(two, 2, y, ctx));
  const void* one_null[1] = {nullptr};
  CHECK_FALSE(k->bind(one_null, 1, y, ctx));
  CHECK_FALSE(k->bind(two, 1, nullptr, ctx));
  CHECK(k->bind(two, 1, y, ctx));
}
