// California Housing loading: the real file (row and imputation counts, split sizes, training
// features standardised, one-hot columns, seeded splits) and one malformed file per check, each
// of whose errors must name the line.
#include "engine/data/housing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tests/test_util.h"

namespace pa::data {
namespace {

using ::pa::testing::runfile;
using ::pa::testing::temp_path;
using ::pa::testing::ThrowsPaError;

const char* kHeader =
    "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,"
    "median_income,median_house_value,ocean_proximity\n";
const char* kGoodRow = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY\n";

std::string real_file() { return runfile("data/california_housing.csv"); }

const HousingData& real_data() {
  static const HousingData data = load_housing(real_file(), {/*seed=*/7});
  return data;
}

// Writes `text` to a scratch file and returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(Housing, RealFileCounts) {
  const HousingData& data = real_data();
  EXPECT_EQ(data.rows, 20640);
  EXPECT_EQ(data.imputed_total_bedrooms, 207);
  EXPECT_EQ(data.test.rows(), 2064);
  EXPECT_EQ(data.val.rows(), 2064);
  EXPECT_EQ(data.train.rows(), 16512);
  EXPECT_EQ(data.train.rows() + data.val.rows() + data.test.rows(), data.rows);
  EXPECT_EQ(data.category_counts, (std::vector<int64_t>{9136, 6551, 5, 2290, 2658}));
  ASSERT_EQ(data.feature_names.size(), 13u);
  EXPECT_EQ(data.feature_names[0], "longitude");
  EXPECT_EQ(data.feature_names[7], "median_income");
  EXPECT_EQ(data.feature_names[8], "ocean_proximity_<1H OCEAN");
  EXPECT_EQ(data.feature_names[12], "ocean_proximity_NEAR OCEAN");
  EXPECT_GT(data.total_bedrooms_median, 300.0);  // about 435 in the full data
  EXPECT_LT(data.total_bedrooms_median, 600.0);
  for (const HousingSplit* split : {&data.train, &data.val, &data.test}) {
    EXPECT_EQ(split->features.shape(), (Shape{split->rows(), 13}));
    EXPECT_EQ(split->targets.shape(), (Shape{split->rows(), 1}));
  }
}

TEST(Housing, TrainingFeaturesAreStandardisedAndOneHot) {
  const HousingData& data = real_data();
  const int64_t rows = data.train.rows();
  const std::vector<float> features = data.train.features.to_vector();  // (N, 13)
  std::vector<int64_t> category_rows(5, 0);
  for (int64_t feature = 0; feature < 13; ++feature) {
    double sum = 0.0, squares = 0.0;
    for (int64_t row = 0; row < rows; ++row) {
      const double value = features[row * 13 + feature];
      sum += value;
      squares += value * value;
    }
    const double mean = sum / rows;
    if (feature < kHousingNumericFeatures) {
      EXPECT_NEAR(mean, 0.0, 1e-5) << data.feature_names[feature];
      EXPECT_NEAR(std::sqrt(squares / rows - mean * mean), 1.0, 1e-4)
          << data.feature_names[feature];
    }
  }
  for (int64_t row = 0; row < rows; ++row) {
    int ones = 0;
    for (int64_t category = 0; category < 5; ++category) {
      const float value = features[row * 13 + 8 + category];
      ASSERT_TRUE(value == 0.0f || value == 1.0f);
      ones += value == 1.0f;
    }
    EXPECT_EQ(ones, 1) << "row " << row;
  }
  // Targets in $100k: the file's values lie in [14999, 500001].
  for (float target : data.train.targets.to_vector()) {
    ASSERT_GE(target, 0.14f);
    ASSERT_LE(target, 5.0001f);
  }
}

TEST(Housing, SameSeedSameSplitOtherSeedOtherSplit) {
  const HousingData again = load_housing(real_file(), {/*seed=*/7});
  EXPECT_EQ(again.test.targets.to_vector(), real_data().test.targets.to_vector());
  EXPECT_EQ(again.train.features.to_vector(), real_data().train.features.to_vector());
  const HousingData other = load_housing(real_file(), {/*seed=*/8});
  EXPECT_NE(other.test.targets.to_vector(), real_data().test.targets.to_vector());
  EXPECT_EQ(other.imputed_total_bedrooms, 207);
}

TEST(Housing, FractionsSetSplitSizes) {
  const HousingData data = load_housing(real_file(), {/*seed=*/1, 0.25, 0.05});
  EXPECT_EQ(data.val.rows(), 5160);
  EXPECT_EQ(data.test.rows(), 1032);
  EXPECT_EQ(data.train.rows(), 20640 - 5160 - 1032);
  EXPECT_TRUE(ThrowsPaError(
      [] {
        load_housing(real_file(), {0, 0.5, 0.5});
      },
      {"pa::data::load_housing", "split fractions", "Hint:"}));
}

TEST(Housing, ImputesTheTrainingMedian) {
  // Rows 2..5 have total_bedrooms 10, 20, (empty), 40; with no validation or test rows the
  // training median is 20 and the empty one becomes 20, i.e. the mean (10+20+20+40)/4 = 22.5.
  std::string text = kHeader;
  for (const char* bedrooms : {"10", "20", "", "40"}) {
    text += std::string("-122,37,41,880,") + bedrooms + ",322,126,8.3,100000,INLAND\n";
  }
  const HousingData data = load_housing(write_file("impute.csv", text), {0, 0.0, 0.0});
  EXPECT_EQ(data.imputed_total_bedrooms, 1);
  EXPECT_EQ(data.total_bedrooms_median, 20.0);
  EXPECT_DOUBLE_EQ(data.numeric_means[4], 22.5);
  EXPECT_EQ(data.train.targets.to_vector(), (std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f}));
}

TEST(Housing, WrongHeaderNamesLineOneAndBothHeaders) {
  const std::string path = write_file(
      "header.csv",
      "longitude,latitude,age,total_rooms,total_bedrooms,population,households,median_income,"
      "median_house_value,ocean_proximity\n" +
          std::string(kGoodRow));
  EXPECT_TRUE(ThrowsPaError([&] { load_housing(path); },
                            {"pa::data::load_housing", "header.csv", "line 1", "column 3 is 'age'",
                             "expected 'longitude,latitude,housing_median_age",
                             "found 'longitude,latitude,age", "Hint:"}));
}

TEST(Housing, BadNumberNamesLineAndColumn) {
  const std::string path = write_file(
      "number.csv", std::string(kHeader) + kGoodRow + kGoodRow +
                        "-122.23,37.88,41.0,lots,129.0,322.0,126.0,8.3,452600.0,INLAND\n");
  EXPECT_TRUE(ThrowsPaError(
      [&] { load_housing(path); },
      {"number.csv", "line 4", "column 'total_rooms'", "'lots'", "not a finite number", "Hint:"}));
  const std::string infinite = write_file(
      "infinite.csv",
      std::string(kHeader) + "-122.23,37.88,41.0,880,129.0,inf,126.0,8.3,452600.0,INLAND\n");
  EXPECT_TRUE(
      ThrowsPaError([&] { load_housing(infinite); }, {"line 2", "column 'population'", "'inf'"}));
}

// A 50 MB field, or one with a NUL byte, is quoted as a short escaped excerpt and its size.
TEST(Housing, HugeOrBinaryFieldIsQuotedBounded) {
  const std::string huge = write_file("huge.csv", std::string(kHeader) + "-122.23,37.88,41.0," +
                                                      std::string(50'000'000, '9') +
                                                      "x,129.0,322.0,126.0,8.3,452600.0,INLAND\n");
  try {
    load_housing(huge);
    ADD_FAILURE() << "did not throw";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_LT(message.size(), 1000u) << message.substr(0, 1000);
    EXPECT_NE(message.find("'9999999999"), std::string::npos) << message;
    EXPECT_NE(message.find("... (50000001 bytes) is not a finite number"), std::string::npos)
        << message;
  }
  const std::string nul = write_file(
      "nul.csv", std::string(kHeader) + "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3,1.0," +
                     std::string("IN\0LAND", 7) + "\n");
  EXPECT_TRUE(ThrowsPaError([&] { load_housing(nul); },
                            {"unknown value 'IN\\x00LAND'", "Hint: ocean_proximity"}));
}

TEST(Housing, ShortRowNamesTheLine) {
  const std::string path = write_file(
      "short.csv", std::string(kHeader) + kGoodRow + "-122.23,37.88,41.0,880.0,129.0,322.0\n");
  EXPECT_TRUE(ThrowsPaError([&] { load_housing(path); }, {"pa::data::load_housing", "short.csv",
                                                          "line 3", "6 fields, expected 10"}));
}

TEST(Housing, UnknownCategoryNamesTheLine) {
  const std::string path =
      write_file("category.csv", std::string(kHeader) + kGoodRow +
                                     "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3,1.0,MOON\n");
  EXPECT_TRUE(ThrowsPaError([&] { load_housing(path); }, {"line 3", "column 'ocean_proximity'",
                                                          "unknown value 'MOON'", "'NEAR OCEAN'"}));
}

TEST(Housing, EmptyValueOutsideTotalBedroomsNamesTheLine) {
  const std::string path =
      write_file("empty.csv", std::string(kHeader) + kGoodRow +
                                  "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3,,INLAND\n");
  EXPECT_TRUE(ThrowsPaError([&] { load_housing(path); }, {"line 3", "column 'median_house_value'",
                                                          "empty value", "only total_bedrooms"}));
}

TEST(Housing, MissingFileIsNamed) {
  EXPECT_TRUE(ThrowsPaError([] { load_housing(temp_path("no_such_housing.csv")); },
                            {"pa::data::load_housing", "no_such_housing.csv", "cannot open"}));
}

}  // namespace
}  // namespace pa::data
