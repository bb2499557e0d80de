// UTKFace file names (data/utkface.h): labels parsed from the name, other names
// refused, and the held-out split by the DATETIME's last digit (the rule
// `faceattr eval --utkface --split dev` shares).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "data/utkface.h"

namespace ft = faceattr::train;

TEST_CASE("parse_utk_name: age, sex, race and split from the file name") {
  auto c = ft::parse_utk_name("26_1_3_20170119193624320.jpg.chip.jpg");
  REQUIRE(c);
  CHECK(c->age == 26);
  CHECK_FALSE(c->male);
  CHECK(c->race == 3);
  CHECK(c->dev);  // ...320: last digit 0
  auto d = ft::parse_utk_name("103_0_2_20170112213001988.jpg");
  REQUIRE(d);
  CHECK(d->age == 103);
  CHECK(d->male);
  CHECK(d->race == 2);
  CHECK_FALSE(d->dev);  // last digit 8
  for (char last = '0'; last <= '9'; ++last) {
    auto e = ft::parse_utk_name(std::string("5_0_0_2017010420") + last + ".jpg.chip.jpg");
    REQUIRE(e);
    CHECK(e->dev == (last <= '2'));
  }
}

TEST_CASE("parse_utk_name: names outside the pattern are refused") {
  for (const char* bad :
       {"", "x.jpg", "1234_0_0_2017.jpg", "26_2_0_2017.jpg", "26_0_5_2017.jpg", "26_0_0_.jpg",
        "26_0_0_2017.png", "26_0_0_2017.jpg.chip.jpgx", "26-0-0-2017.jpg", "_0_0_2017.jpg"})
    CHECK_FALSE(ft::parse_utk_name(bad));
}

TEST_CASE("list_utk_chips: sorted chips, other files skipped, an empty folder refused") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "faceattr_test_utk";
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* n :
       {"30_0_1_20170101000009.jpg.chip.jpg", "2_1_4_20170101000001.jpg.chip.jpg", "notes.txt"})
    std::ofstream(dir / n) << "x";
  size_t skipped = 0;
  const auto chips = ft::list_utk_chips(dir.string(), &skipped);
  REQUIRE(chips.size() == 2);
  CHECK(skipped == 1);
  CHECK(chips[0].age == 2);
  CHECK(chips[0].dev);
  CHECK(chips[1].age == 30);
  CHECK_FALSE(chips[1].dev);
  CHECK(chips[0].path == (dir / "2_1_4_20170101000001.jpg.chip.jpg").string());
  fs::remove(dir / "30_0_1_20170101000009.jpg.chip.jpg");
  fs::remove(dir / "2_1_4_20170101000001.jpg.chip.jpg");
  CHECK_THROWS(ft::list_utk_chips(dir.string()));
  fs::remove_all(dir);
  CHECK_THROWS(ft::list_utk_chips(dir.string()));
}

TEST_CASE("utk_labels: Male from the name, 0.5 under child_age; Young from the age band") {
  auto chip = [](int age, bool male) {
    ft::UtkChip c;
    c.age = age;
    c.male = male;
    return c;
  };
  CHECK(ft::utk_labels(chip(5, true), 0).male == 1.0f);
  CHECK(ft::utk_labels(chip(5, false), 0).male == 0.0f);
  CHECK(ft::utk_labels(chip(5, true), 13).male == 0.5f);
  CHECK(ft::utk_labels(chip(12, false), 13).male == 0.5f);
  CHECK(ft::utk_labels(chip(13, false), 13).male == 0.0f);  // the bound itself keeps its sex
  CHECK(ft::utk_labels(chip(40, true), 13).male == 1.0f);
  const ft::UtkLabels y = ft::utk_labels(chip(29, true), 0), band = ft::utk_labels(chip(35, true), 0),
                      old = ft::utk_labels(chip(40, true), 0);
  CHECK(y.young_known);
  CHECK(y.young == 1.0f);
  CHECK_FALSE(band.young_known);
  CHECK(old.young_known);
  CHECK(old.young == 0.0f);
}
