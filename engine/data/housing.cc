// California Housing: parse, split, impute, encode, standardise (see housing.h for the steps).
#include "engine/data/housing.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "engine/core/error.h"
#include "engine/core/rng.h"
#include "engine/data/batching.h"
#include "engine/io/csv.h"

namespace pa::data {

namespace {

constexpr const char* kOp = "data::load_housing";
constexpr size_t kTotalBedroomsColumn = 4;
constexpr size_t kTargetColumn = 8;
constexpr size_t kCategoryColumn = 9;
constexpr size_t kNumericColumns = 9;  // the 8 features and the target
constexpr double kDollarsPerUnit = 100000.0;

// One parsed line: the 9 numeric columns (total_bedrooms NaN when empty) and the category index.
struct HousingRow {
  std::array<double, kNumericColumns> values{};
  int64_t category = 0;
};

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size(); ++i) text += (i > 0 ? "," : "") + names[i];
  return text;
}

std::string trimmed(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

void check_header(const io::CsvTable& table) {
  const std::vector<std::string> expected(kHousingColumns.begin(), kHousingColumns.end());
  if (table.header == expected) return;
  // The first column that differs.
  size_t column = 0;
  while (column < expected.size() && column < table.header.size() &&
         table.header[column] == expected[column]) {
    ++column;
  }
  const std::string found =
      column < table.header.size() ? quote_input(table.header[column]) : "missing";
  const std::string wanted =
      column < expected.size() ? "'" + expected[column] + "'" : "no column there";
  const std::string difference =
      "column " + std::to_string(column + 1) + " is " + found + ", expected " + wanted;
  throw Error(kOp,
              "file '" + table.source + "', line " + std::to_string(table.header_line) +
                  ": the header does not match California Housing (" + difference +
                  "): expected '" + joined(expected) + "', found " +
                  quote_input(joined(table.header), 200),
              "pass the California Housing CSV with the ocean_proximity column (housing.csv "
              "of the book Hands-On Machine Learning)");
}

std::string where(const io::CsvTable& table, const io::CsvRow& row, size_t column) {
  return "file '" + table.source + "', line " + std::to_string(row.line) + ", column '" +
         kHousingColumns[column] + "'";
}

// The value of a numeric field; NaN for an empty total_bedrooms (filled in later).
double parse_number(const io::CsvTable& table, const io::CsvRow& row, size_t column) {
  const std::string field = trimmed(row.fields[column]);
  if (field.empty()) {
    PA_CHECK(column == kTotalBedroomsColumn, kOp, where(table, row, column) << ": empty value",
             "only total_bedrooms may be empty (it is filled with the training median)");
    return std::numeric_limits<double>::quiet_NaN();
  }
  double value = 0.0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  PA_CHECK(
      error == std::errc() && end == field.data() + field.size() && std::isfinite(value), kOp,
      where(table, row, column) << ": " << quote_input(row.fields[column])
                                << " is not a finite number",
      "every column but ocean_proximity holds plain decimal numbers such as -122.23 or 8.3252");
  return value;
}

int64_t parse_category(const io::CsvTable& table, const io::CsvRow& row) {
  const std::string& field = row.fields[kCategoryColumn];
  for (size_t i = 0; i < kHousingCategories.size(); ++i) {
    if (field == kHousingCategories[i]) return static_cast<int64_t>(i);
  }
  std::ostringstream known;
  for (size_t i = 0; i < kHousingCategories.size(); ++i) {
    known << (i > 0 ? ", " : "") << "'" << kHousingCategories[i] << "'";
  }
  throw Error(kOp,
              where(table, row, kCategoryColumn) + ": unknown value " + quote_input(field) +
                  (field.empty() ? " (empty)" : ""),
              "ocean_proximity must be one of " + known.str());
}

// The median of `values` (the mean of the middle two for an even count), as pandas computes it.
double median(std::vector<double> values) {
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + middle, values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + middle);
  return 0.5 * (lower + upper);
}

// The rows `indices` of `rows` as tensors, with the numeric features standardised.
HousingSplit make_split(const std::vector<HousingRow>& rows, const std::vector<int64_t>& indices,
                        const HousingData& data) {
  const int64_t count = static_cast<int64_t>(indices.size());
  std::vector<float> features(count * kHousingFeatures, 0.0f);  // (N, 13)
  std::vector<float> targets(count);                            // (N, 1)
  for (int64_t i = 0; i < count; ++i) {
    const HousingRow& row = rows[indices[i]];
    float* out = features.data() + i * kHousingFeatures;
    for (int64_t feature = 0; feature < kHousingNumericFeatures; ++feature) {
      out[feature] = static_cast<float>((row.values[feature] - data.numeric_means[feature]) /
                                        data.numeric_stds[feature]);
    }
    out[kHousingNumericFeatures + row.category] = 1.0f;
    targets[i] = static_cast<float>(row.values[kTargetColumn] / kDollarsPerUnit);
  }
  return {from_vector(features, {count, kHousingFeatures}),  // (N, 13)
          from_vector(targets, {count, 1})};                 // (N, 1)
}

}  // namespace

HousingData load_housing(const std::string& path, const HousingOptions& options) {
  const double val_fraction = options.val_fraction, test_fraction = options.test_fraction;
  PA_CHECK(val_fraction >= 0.0 && test_fraction >= 0.0 && val_fraction + test_fraction < 1.0, kOp,
           "split fractions val " << val_fraction << ", test " << test_fraction,
           "use fractions >= 0 whose sum is below 1 (e.g. 0.1 and 0.1), so rows remain to train");

  const io::CsvTable table = io::read_csv(path, kOp);
  check_header(table);
  std::vector<HousingRow> rows(table.rows.size());
  HousingData data;
  data.category_counts.assign(kHousingCategories.size(), 0);
  for (size_t i = 0; i < table.rows.size(); ++i) {
    for (size_t column = 0; column < kNumericColumns; ++column) {
      rows[i].values[column] = parse_number(table, table.rows[i], column);
    }
    rows[i].category = parse_category(table, table.rows[i]);
    ++data.category_counts[rows[i].category];
  }
  data.rows = static_cast<int64_t>(rows.size());

  // The split: a seeded Fisher-Yates shuffle, then test, validation and training rows in turn.
  const int64_t test_rows = std::llround(data.rows * test_fraction);
  const int64_t val_rows = std::llround(data.rows * val_fraction);
  const int64_t train_rows = data.rows - test_rows - val_rows;
  PA_CHECK(train_rows > 0, kOp,
           "file '" << path << "': " << data.rows << " rows leave no training rows after "
                    << test_rows << " test and " << val_rows << " validation rows",
           "the file needs more data rows, or use smaller split fractions");
  std::vector<int64_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  Generator generator(options.seed);
  shuffle(order, generator);
  const std::vector<int64_t> test_indices(order.begin(), order.begin() + test_rows);
  const std::vector<int64_t> val_indices(order.begin() + test_rows,
                                         order.begin() + test_rows + val_rows);
  const std::vector<int64_t> train_indices(order.begin() + test_rows + val_rows, order.end());

  // Impute total_bedrooms with the training median (training rows only: no test leakage).
  std::vector<double> train_bedrooms;
  for (int64_t index : train_indices) {
    const double value = rows[index].values[kTotalBedroomsColumn];
    if (!std::isnan(value)) train_bedrooms.push_back(value);
  }
  PA_CHECK(!train_bedrooms.empty(), kOp,
           "file '" << path << "': no training row has a total_bedrooms value",
           "total_bedrooms may be empty in some rows, not in all of them");
  data.total_bedrooms_median = median(train_bedrooms);
  for (HousingRow& row : rows) {
    double& value = row.values[kTotalBedroomsColumn];
    if (std::isnan(value)) {
      value = data.total_bedrooms_median;
      ++data.imputed_total_bedrooms;
    }
  }

  // Standardisation statistics of the training split (in double).
  data.numeric_means.assign(kHousingNumericFeatures, 0.0);
  data.numeric_stds.assign(kHousingNumericFeatures, 0.0);
  for (int64_t feature = 0; feature < kHousingNumericFeatures; ++feature) {
    double sum = 0.0;
    for (int64_t index : train_indices) sum += rows[index].values[feature];
    const double mean = sum / static_cast<double>(train_rows);
    double squares = 0.0;
    for (int64_t index : train_indices) {
      const double deviation = rows[index].values[feature] - mean;
      squares += deviation * deviation;
    }
    const double standard_deviation = std::sqrt(squares / static_cast<double>(train_rows));
    data.numeric_means[feature] = mean;
    // A constant column is only centred.
    data.numeric_stds[feature] = standard_deviation > 0.0 ? standard_deviation : 1.0;
  }

  for (int64_t feature = 0; feature < kHousingNumericFeatures; ++feature) {
    data.feature_names.push_back(kHousingColumns[feature]);
  }
  for (const char* category : kHousingCategories) {
    data.feature_names.push_back(std::string("ocean_proximity_") + category);
  }
  data.train = make_split(rows, train_indices, data);
  data.val = make_split(rows, val_indices, data);
  data.test = make_split(rows, test_indices, data);
  return data;
}

}  // namespace pa::data
