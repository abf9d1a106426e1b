// bad_input_probe: the library side of the bad-input table (experiments/bad_input.py).
//
//   bad_input_probe ops              one JSON row per bad call of an op family, made through the
//                                    C++ API inside try/catch: {"family", "input", "outcome",
//                                    "message"}; outcome is "pa::Error", another exception's
//                                    kind, or "no error"
//   bad_input_probe read KIND FILE   calls one reader (npy, safetensors, csv, weights,
//                                    checkpoint, housing) on FILE and prints one such row
//
// Exit codes: 0 when the rows were written (whatever they say), 2 for a bad command line.
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <new>
#include <string>

#include "cli/main.h"
#include "engine/core/error.h"
#include "engine/data/housing.h"
#include "engine/io/csv.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "engine/nn/layers.h"
#include "engine/nn/transformer.h"
#include "engine/optim/optimizer.h"
#include "engine/pa.h"
#include "engine/train/checkpoint.h"
#include "engine/train/weights.h"
#include "nlohmann/json.hpp"

namespace {

// Runs `call` and prints what the user gets: the exception's kind and its message (all of it;
// the table's script keeps the first line), or "no error" and what `call` returned. `expect` is
// the outcome the engine promises: "pa::Error", or "no error" where the input is legal (an empty
// result, NaN propagating as in PyTorch).
const std::string kError = "pa::Error";
const std::string kNoError = "no error";

void row(const std::string& family, const std::string& input, const std::string& expect,
         const std::function<std::string()>& call) {
  std::string outcome = "no error", message;
  try {
    message = call();
  } catch (const pa::Error& error) {
    outcome = "pa::Error";
    message = error.what();
  } catch (const std::bad_alloc& error) {
    outcome = "std::bad_alloc";
    message = error.what();
  } catch (const std::exception& error) {
    outcome = "std::exception";
    message = error.what();
  } catch (...) {
    outcome = "unknown exception";
  }
  nlohmann::json line = {{"family", family},
                         {"input", input},
                         {"outcome", outcome},
                         {"expect", expect},
                         {"message", message}};
  std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// What a NaN in the input gives in the output's first row: PyTorch propagates it.
std::string nan_result(const pa::Tensor& out) {
  const pa::Tensor flat = pa::reshape(out.contiguous(), {-1});
  const int64_t row_size = out.dim() == 0 ? 1 : out.shape().back();
  for (int64_t i = 0; i < row_size && i < flat.numel(); ++i) {
    if (std::isnan(flat.data<float>()[i])) return "NaN in the output (propagated)";
  }
  return "no NaN in the output's first row: the NaN was dropped";
}

void ops_rows() {
  pa::Generator generator(1);
  const auto randn = [&generator](const pa::Shape& shape) { return pa::randn(shape, generator); };
  const auto with_nan = [&randn](const pa::Shape& shape) {
    pa::Tensor x = randn(shape);
    x.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    return x;
  };
  const int64_t huge = int64_t{1} << 40;
  // float64 and int64 tensors cannot be filled by the float32 factories: empty() makes them.
  const auto float64 = [](const pa::Shape& shape) {
    return pa::empty(shape, pa::TensorOptions().with_dtype(pa::DType::Float64));
  };
  const auto ids = [](const std::vector<int64_t>& values) {
    return pa::from_indices(values, {static_cast<int64_t>(values.size())});
  };
  const auto error = [](const std::function<void()>& call) {
    return [call] {
      call();
      return std::string();
    };
  };

  const std::string elementwise = "op: elementwise / broadcast";
  row(elementwise, "add (2, 3) + (4, 5): shapes that do not broadcast", kError, error([&] {
        pa::add(randn({2, 3}), randn({4, 5}));
      }));
  row(elementwise, "mul (2^40, 1) * (1, 2^40) (expanded views): a result beyond int64 elements",
      kError, error([&] {
        pa::mul(pa::expand(randn({1, 1}), {huge, 1}), pa::expand(randn({1, 1}), {1, huge}));
      }));
  row(elementwise, "add float32 + float64", kError,
      error([&] { pa::add(randn({3}), float64({3})); }));
  row(elementwise, "relu of an int64 tensor", kError, error([&] { pa::relu(ids({1, 2})); }));
  row(elementwise, "zeros (2, 3) of dtype float64 (a storage-only dtype)", kError, error([&] {
        pa::zeros({2, 3}, pa::TensorOptions().with_dtype(pa::DType::Float64));
      }));
  row(elementwise, "zeros with a negative size (-1, 3)", kError, error([&] {
        pa::zeros({-1, 3});
      }));
  row(elementwise, "zeros (2^40, 2^40): an element count beyond int64", kError, error([&] {
        pa::zeros({huge, huge});
      }));
  row(elementwise, "zeros (2^20, 2^20, 2^10): 2^50 floats, more memory than any machine", kError,
      error([&] {
        pa::zeros({int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 10});
      }));
  row(elementwise, "add with an undefined (default-constructed) tensor", kError,
      error([&] { pa::add(randn({3}), pa::Tensor()); }));
  row(elementwise, "to(cuda) in a build without CUDA", kError,
      error([&] { pa::to_device(randn({3}), pa::Device::cuda()); }));
  row(elementwise, "add of two empty (0, 3) tensors", kNoError, [&] {
    return "shape " + pa::shape_str(pa::add(pa::zeros({0, 3}), pa::zeros({0, 3})).shape());
  });
  row(elementwise, "exp with NaN in the input", kNoError, [&] {
    return nan_result(pa::exp(with_nan({2, 3})));
  });

  const std::string matmul = "op: matmul / linear";
  row(matmul, "matmul (3, 4) @ (5, 2): inner dims differ", kError, error([&] {
        pa::matmul(randn({3, 4}), randn({5, 2}));
      }));
  row(matmul, "matmul of a 1-d tensor (4) @ (4, 2)", kError, error([&] {
        pa::matmul(randn({4}), randn({4, 2}));
      }));
  row(matmul, "matmul float32 @ float64", kError, error([&] {
        pa::matmul(randn({3, 4}), float64({4, 2}));
      }));
  row(matmul, "matmul batch dims (2, 3, 4) @ (5, 4, 2) that do not broadcast", kError, error([&] {
        pa::matmul(randn({2, 3, 4}), randn({5, 4, 2}));
      }));
  row(matmul, "matmul (2^40, 0) @ (0, 2^40): an output beyond int64 elements", kError, error([&] {
        pa::matmul(pa::zeros({huge, 0}), pa::zeros({0, huge}));
      }));
  row(matmul, "matmul (3, 0) @ (0, 2): empty inner dim", kNoError, [&] {
    const pa::Tensor out = pa::matmul(pa::zeros({3, 0}), pa::zeros({0, 2}));
    return "shape " + pa::shape_str(out.shape()) + ", sum " +
           std::to_string(pa::sum(out).data<float>()[0]);
  });
  row(matmul, "matmul with NaN in a", kNoError, [&] {
    return nan_result(pa::matmul(with_nan({2, 3}), randn({3, 2})));
  });
  row(matmul, "linear x (2, 4), weight (3, 5)", kError, error([&] {
        pa::linear(randn({2, 4}), randn({3, 5}));
      }));
  row(matmul, "linear bias (4) for 3 outputs", kError, error([&] {
        pa::linear(randn({2, 4}), randn({3, 4}), randn({4}));
      }));

  const std::string reductions = "op: reductions / losses";
  row(reductions, "sum over dim 5 of a 2-d tensor", kError, error([&] {
        pa::sum(randn({2, 3}), {5});
      }));
  row(reductions, "sum over dim 0 twice", kError, error([&] { pa::sum(randn({2, 3}), {0, 0}); }));
  row(reductions, "max over dim 0 of an empty (0, 3) tensor", kError, error([&] {
        pa::max(pa::zeros({0, 3}), 0);
      }));
  row(reductions, "mean of an int64 tensor", kError, error([&] { pa::mean(ids({1, 2})); }));
  row(reductions, "sum of a float64 tensor", kError, error([&] { pa::sum(float64({3})); }));
  row(reductions, "sum with NaN in the input", kNoError, [&] {
    return nan_result(pa::sum(with_nan({2, 3}), {1}));
  });
  row(reductions, "mse_loss (2, 3) vs (3, 2)", kError, error([&] {
        pa::mse_loss(randn({2, 3}), randn({3, 2}));
      }));

  const std::string softmax = "op: softmax / attention";
  row(softmax, "softmax over dim 2 of a 2-d tensor", kError, error([&] {
        pa::softmax(randn({2, 3}), 2);
      }));
  row(softmax, "softmax of a float64 tensor", kError, error([&] {
        pa::softmax(float64({2, 3}), 1);
      }));
  row(softmax, "softmax with NaN in the input", kNoError, [&] {
    return nan_result(pa::softmax(with_nan({2, 3}), 1));
  });
  row(softmax, "cross_entropy with a class id 7 of 5", kError, error([&] {
        pa::cross_entropy(randn({2, 5}), ids({1, 7}));
      }));
  row(softmax, "cross_entropy with float targets", kError, error([&] {
        pa::cross_entropy(randn({2, 5}), randn({2}));
      }));
  row(softmax, "attention with a 3-d q (B, N, D)", kError, error([&] {
        pa::scaled_dot_product_attention(randn({2, 4, 8}), randn({2, 4, 8}), randn({2, 4, 8}));
      }));
  row(softmax, "attention q head dim 8, k head dim 6", kError, error([&] {
        pa::scaled_dot_product_attention(randn({1, 2, 4, 8}), randn({1, 2, 4, 6}),
                                         randn({1, 2, 4, 8}));
      }));
  row(softmax, "attention key padding mask (1, 3) for 4 keys", kError, error([&] {
        pa::scaled_dot_product_attention(randn({1, 2, 4, 8}), randn({1, 2, 4, 8}),
                                         randn({1, 2, 4, 8}), false, pa::zeros({1, 3}));
      }));
  row(softmax, "attention of float64 q, k, v", kError, error([&] {
        pa::scaled_dot_product_attention(float64({1, 1, 2, 4}), float64({1, 1, 2, 4}),
                                         float64({1, 1, 2, 4}));
      }));
  row(softmax, "attention with NaN in q", kNoError, [&] {
    return nan_result(pa::scaled_dot_product_attention(with_nan({1, 1, 2, 4}), randn({1, 1, 2, 4}),
                                                       randn({1, 1, 2, 4})));
  });

  const std::string embedding = "op: embedding";
  row(embedding, "embedding id 10 in a table of 10 rows", kError, error([&] {
        pa::embedding(randn({10, 4}), ids({3, 10}));
      }));
  row(embedding, "embedding id -1", kError, error([&] {
        pa::embedding(randn({10, 4}), ids({-1}));
      }));
  row(embedding, "embedding ids given as float32", kError, error([&] {
        pa::embedding(randn({10, 4}), pa::from_vector({1.0f, 2.0f}, {2}));
      }));
  row(embedding, "embedding weight 1-d (10)", kError,
      error([&] { pa::embedding(randn({10}), ids({1})); }));
  row(embedding, "embedding of no ids (0)", kNoError, [&] {
    return "shape " + pa::shape_str(pa::embedding(randn({10, 4}), ids({})).shape());
  });

  const std::string layernorm = "op: layer_norm";
  row(layernorm, "layer_norm weight (5) for a last dim of 4", kError, error([&] {
        pa::layer_norm(randn({2, 4}), randn({5}), randn({4}));
      }));
  row(layernorm, "layer_norm of a float64 input", kError, error([&] {
        pa::layer_norm(float64({2, 4}), randn({4}), randn({4}));
      }));
  row(layernorm, "layer_norm with eps = -1 (accepted, as PyTorch does)", kNoError, [&] {
    return nan_result(pa::layer_norm(randn({1, 4}), randn({4}), randn({4}), -1.0f));
  });
  row(layernorm, "layer_norm with NaN in the input", kNoError, [&] {
    return nan_result(pa::layer_norm(with_nan({1, 4}), randn({4}), randn({4})));
  });

  const std::string reshape = "op: reshape / views";
  row(reshape, "reshape 6 elements to (4, 2)", kError, error([&] {
        pa::reshape(randn({2, 3}), {4, 2});
      }));
  row(reshape, "reshape with two -1 dims", kError, error([&] {
        pa::reshape(randn({2, 3}), {-1, -1});
      }));
  row(reshape, "reshape to (-2, -3)", kError, error([&] { pa::reshape(randn({2, 3}), {-2, -3}); }));
  row(reshape, "reshape an empty (0, 3) to (-1, 0): -1 is ambiguous", kError, error([&] {
        pa::reshape(pa::zeros({0, 3}), {-1, 0});
      }));
  row(reshape, "reshape (2, 3) to (2^40, 2^40, 0)", kError, error([&] {
        pa::reshape(randn({2, 3}), {huge, huge, 0});
      }));
  row(reshape, "permute with a repeated dim", kError, error([&] {
        pa::permute(randn({2, 3}), {0, 0});
      }));
  row(reshape, "slice dim 1 from 2 to 1 (an empty slice, as in PyTorch)", kNoError, [&] {
    return "shape " + pa::shape_str(pa::slice(randn({2, 3}), 1, 2, 1).shape());
  });
  row(reshape, "concat (2, 3) and (2, 4) on dim 0", kError, error([&] {
        pa::concat({randn({2, 3}), randn({2, 4})}, 0);
      }));
  row(reshape, "expand (2, 3) to (4, 3)", kError, error([&] {
        pa::expand(randn({2, 3}), {4, 3});
      }));
}

// `read KIND FILE`: the row's input is the file; bad_input.py names what was tried and decides
// what is expected (a file holding NaN, say, loads without error).
void read_row(const std::string& kind, const std::string& path) {
  const std::string family = "reader: " + kind;
  const auto loaded = [](const pa::Tensor& tensor) {
    return "loaded " + pa::shape_str(tensor.shape()) + " " + pa::dtype_name(tensor.dtype()) +
           (tensor.dtype() == pa::DType::Float32 && tensor.numel() > 0 &&
                    std::isnan(tensor.contiguous().data<float>()[0])
                ? ", NaN kept"
                : "");
  };
  if (kind == "npy") {
    row(family, path, kError, [&] { return loaded(pa::io::load_npy(path)); });
  } else if (kind == "safetensors") {
    row(family, path, kError, [&] {
      const pa::io::NamedTensors tensors = pa::io::load_safetensors(path);
      return tensors.tensors.empty() ? std::string("loaded, no tensors")
                                     : loaded(tensors.tensors.begin()->second);
    });
  } else if (kind == "csv") {
    row(family, path, kError, [&] {
      pa::io::read_csv(path);
      return std::string("loaded");
    });
  } else if (kind == "housing") {
    row(family, path, kError, [&] {
      pa::data::load_housing(path);
      return std::string("loaded");
    });
  } else if (kind == "weights") {
    // The fuzz target's model (fuzz/weights_fuzz.cc): one encoder layer of width 12.
    pa::Generator generator(7);
    pa::nn::TransformerConfig config;
    config.d_model = 12;
    config.nhead = 2;
    config.dim_feedforward = 24;
    pa::nn::TransformerEncoderLayer model(config, generator);
    row(family, path, kError, [&] {
      pa::train::load_weights(path, model);
      return std::string("loaded");
    });
  } else if (kind == "checkpoint") {
    // The fuzz target's model (fuzz/checkpoint_fuzz.cc): Linear(4, 3) with Adam.
    pa::Generator generator(7);
    pa::nn::Linear model(4, 3, true, generator);
    pa::optim::Adam optimizer(model.parameters(), pa::optim::AdamOptions{});
    row(family, path, kError, [&] {
      pa::train::load_checkpoint(path, model, optimizer, {{"default", &generator}});
      return std::string("loaded");
    });
  } else {
    throw pa::cli::UsageError("unknown reader '" + kind +
                              "' (npy, safetensors, csv, housing, weights, checkpoint)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: bad_input_probe ops | bad_input_probe read KIND FILE\n"
      "Prints one JSON row per bad input given to the engine's API (see "
      "experiments/bad_input.py).\n";
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--help" || mode == "-h") {
    std::cout << usage;
    return 0;
  }
  return pa::cli::run_main("bad_input_probe", [&] {
    if (mode == "ops" && argc == 2) {
      ops_rows();
    } else if (mode == "read" && argc == 4) {
      read_row(argv[2], argv[3]);
    } else {
      throw pa::cli::UsageError("expected 'ops' or 'read KIND FILE'\n" + usage);
    }
    return 0;
  });
}
