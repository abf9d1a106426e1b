// California Housing (Pace & Barry 1997, the 1990 census; the CSV of Géron's "Hands-On Machine
// Learning"): 20,640 block groups, 8 numeric columns, the median house value to predict and the
// `ocean_proximity` category. load_housing turns the file into tensors ready for regression:
//
//   1. read the CSV; the header must be exactly kHousingColumns;
//   2. parse every value (a bad number, an empty value outside total_bedrooms or an unknown
//      category is a pa::Error naming the line and the column);
//   3. shuffle the rows with a seeded pa::Generator and cut test, validation and training
//      splits (same seed, same split on every machine);
//   4. fill the empty total_bedrooms (207 in the real file) with the training split's median;
//   5. one-hot encode ocean_proximity (columns in kHousingCategories order, left as 0/1) and
//      standardise the 8 numeric features with the training split's mean and standard
//      deviation (one-hot columns are not scaled: the 5-row ISLAND category would become
//      outliers of about +-60);
//   6. targets: median_house_value in units of $100,000.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace pa::data {

inline constexpr std::array<const char*, 10> kHousingColumns = {
    "longitude",  "latitude",   "housing_median_age", "total_rooms",        "total_bedrooms",
    "population", "households", "median_income",      "median_house_value", "ocean_proximity"};
// The ocean_proximity values, in the order of their one-hot columns (sorted, as pandas'
// get_dummies orders them).
inline constexpr std::array<const char*, 5> kHousingCategories = {"<1H OCEAN", "INLAND", "ISLAND",
                                                                  "NEAR BAY", "NEAR OCEAN"};
inline constexpr int64_t kHousingNumericFeatures = 8;
inline constexpr int64_t kHousingFeatures = 13;  // 8 numeric + 5 one-hot

struct HousingOptions {
  uint64_t seed = 0;           // the shuffle before the split
  double val_fraction = 0.1;   // of all rows, rounded to the nearest row
  double test_fraction = 0.1;  // of all rows, rounded to the nearest row
};

struct HousingSplit {
  Tensor features;  // (N, 13) float32: 8 standardised numeric features, then the 5 one-hot
  Tensor targets;   // (N, 1) float32: median house value / $100,000
  int64_t rows() const { return features.size(0); }
};

struct HousingData {
  HousingSplit train, val, test;
  std::vector<std::string> feature_names;  // 13: the numeric columns, "ocean_proximity_<value>"
  int64_t rows = 0;                        // all rows of the file
  int64_t imputed_total_bedrooms = 0;      // empty total_bedrooms filled in (all splits)
  double total_bedrooms_median = 0.0;      // the training split's median, used to fill them
  std::vector<int64_t> category_counts;    // rows per kHousingCategories entry (all splits)
  // The standardisation of the numeric features (training split; population std, ddof 0):
  // feature = (value - mean) / std.
  std::vector<double> numeric_means, numeric_stds;  // 8 each
};

// Loads and prepares the file at `path` (see the top of this file). Throws pa::Error (op
// "data::load_housing") for a missing file, a wrong header (line 1, expected vs found), a row
// with the wrong field count, a non-numeric or non-finite value, an empty value outside
// total_bedrooms, an unknown ocean_proximity (each naming the line and the column), and for
// split fractions that leave no training rows.
HousingData load_housing(const std::string& path, const HousingOptions& options = {});

}  // namespace pa::data
