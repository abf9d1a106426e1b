// engine/core: views sharing storage (reshape, transpose, permute, slice, expand), their
// strides/offsets and contiguity, copies (reshape of a non-contiguous view, contiguous()),
// storage alignment, the factories and their seeded generators, value accessors, printing,
// 0-d tensors, dtype/device helpers and the CUDA error of a CPU-only build.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "engine/pa.h"

namespace pa {
namespace {

// A (2, 3) tensor holding 0..5.
Tensor range_2x3() { return from_vector({0, 1, 2, 3, 4, 5}, {2, 3}); }

// ---- views share storage ----

TEST(TensorViews, ReshapeOfContiguousIsAView) {
  Tensor base = range_2x3();
  Tensor view = reshape(base, {3, 2});
  EXPECT_EQ(view.storage(), base.storage());
  EXPECT_EQ(view.shape(), (Shape{3, 2}));
  EXPECT_EQ(view.strides(), (Shape{2, 1}));
  EXPECT_TRUE(view.is_contiguous());
  base.data<float>()[4] = 40.0f;
  EXPECT_EQ(view.to_vector(), (std::vector<float>{0, 1, 2, 3, 40, 5}));
}

TEST(TensorViews, ReshapeInfersMinusOne) {
  Tensor view = reshape(range_2x3(), {-1, 2});
  EXPECT_EQ(view.shape(), (Shape{3, 2}));
}

TEST(TensorViews, TransposeIsAStridedView) {
  Tensor base = range_2x3();
  Tensor view = transpose(base, 0, 1);
  EXPECT_EQ(view.storage(), base.storage());
  EXPECT_EQ(view.shape(), (Shape{3, 2}));
  EXPECT_EQ(view.strides(), (Shape{1, 3}));
  EXPECT_EQ(view.offset(), 0);
  EXPECT_FALSE(view.is_contiguous());
  EXPECT_EQ(view.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  base.data<float>()[1] = 42.0f;  // base[0][1] is view[1][0]
  EXPECT_EQ(view.to_vector(), (std::vector<float>{0, 3, 42, 4, 2, 5}));
}

TEST(TensorViews, NegativeDimsTranspose) {
  Tensor view = transpose(range_2x3(), -1, -2);
  EXPECT_EQ(view.shape(), (Shape{3, 2}));
  EXPECT_EQ(view.strides(), (Shape{1, 3}));
}

TEST(TensorViews, PermuteIsAStridedView) {
  Tensor base = arange(0, 24).reshape({2, 3, 4});
  Tensor view = permute(base, {2, 0, 1});
  EXPECT_EQ(view.storage(), base.storage());
  EXPECT_EQ(view.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(view.strides(), (Shape{1, 12, 4}));
  EXPECT_FALSE(view.is_contiguous());
  // view[i][j][k] = base[j][k][i] = 12 j + 4 k + i; check the first row and one inner element.
  const std::vector<float> values = view.to_vector();
  EXPECT_EQ(std::vector<float>(values.begin(), values.begin() + 6),
            (std::vector<float>{0, 4, 8, 12, 16, 20}));
  EXPECT_EQ(values[3 * 6 + 1 * 3 + 2], 12 * 1 + 4 * 2 + 3);
  base.data<float>()[12 + 4 + 3] = -1.0f;  // base[1][1][3] is view[3][1][1]
  EXPECT_EQ(view.to_vector()[3 * 6 + 1 * 3 + 1], -1.0f);
}

TEST(TensorViews, SliceIsAnOffsetView) {
  Tensor base = range_2x3();
  Tensor columns = slice(base, 1, 1, 3);
  EXPECT_EQ(columns.storage(), base.storage());
  EXPECT_EQ(columns.shape(), (Shape{2, 2}));
  EXPECT_EQ(columns.strides(), (Shape{3, 1}));
  EXPECT_EQ(columns.offset(), 1);
  EXPECT_FALSE(columns.is_contiguous());
  EXPECT_EQ(columns.to_vector(), (std::vector<float>{1, 2, 4, 5}));

  Tensor row = slice(base, 0, 1, 2);
  EXPECT_EQ(row.shape(), (Shape{1, 3}));
  EXPECT_EQ(row.offset(), 3);
  EXPECT_TRUE(row.is_contiguous());

  base.data<float>()[5] = 50.0f;
  EXPECT_EQ(columns.to_vector(), (std::vector<float>{1, 2, 4, 50}));
  EXPECT_EQ(row.to_vector(), (std::vector<float>{3, 4, 50}));
}

TEST(TensorViews, SliceClampsAndCountsFromTheEnd) {
  Tensor base = arange(0, 6);
  EXPECT_EQ(slice(base, 0, -2, 100).to_vector(), (std::vector<float>{4, 5}));
  EXPECT_EQ(slice(base, 0, 4, 2).numel(), 0);
}

TEST(TensorViews, ExpandHasStrideZero) {
  Tensor base = from_vector({1, 2, 3}, {1, 3});
  Tensor view = expand(base, {4, 3});
  EXPECT_EQ(view.storage(), base.storage());
  EXPECT_EQ(view.shape(), (Shape{4, 3}));
  EXPECT_EQ(view.strides(), (Shape{0, 1}));
  EXPECT_FALSE(view.is_contiguous());
  EXPECT_EQ(view.to_vector(), (std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
  base.data<float>()[0] = 9.0f;
  EXPECT_EQ(view.to_vector()[9], 9.0f);

  Tensor column = from_vector({1, 2}, {2, 1});
  Tensor wide = expand(column, {3, -1, 4});
  EXPECT_EQ(wide.shape(), (Shape{3, 2, 4}));
  EXPECT_EQ(wide.strides(), (Shape{0, 1, 0}));
}

// ---- copies ----

TEST(TensorCopies, ReshapeOfNonContiguousCopies) {
  Tensor base = range_2x3();
  Tensor transposed = transpose(base, 0, 1);
  Tensor flat = reshape(transposed, {6});
  EXPECT_NE(flat.storage(), base.storage());
  EXPECT_TRUE(flat.is_contiguous());
  EXPECT_EQ(flat.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  base.data<float>()[0] = 100.0f;
  EXPECT_EQ(flat.to_vector()[0], 0.0f);
}

TEST(TensorCopies, ContiguousPacksAStridedView) {
  Tensor base = range_2x3();
  Tensor packed = transpose(base, 0, 1).contiguous();
  EXPECT_NE(packed.storage(), base.storage());
  EXPECT_TRUE(packed.is_contiguous());
  EXPECT_EQ(packed.strides(), (Shape{2, 1}));
  EXPECT_EQ(packed.offset(), 0);
  EXPECT_EQ(packed.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  // In memory too, not only through to_vector's strided gather.
  EXPECT_EQ(std::vector<float>(packed.data<float>(), packed.data<float>() + 6),
            (std::vector<float>{0, 3, 1, 4, 2, 5}));

  Tensor sliced = slice(base, 1, 1, 3).contiguous();
  EXPECT_EQ(std::vector<float>(sliced.data<float>(), sliced.data<float>() + 4),
            (std::vector<float>{1, 2, 4, 5}));

  EXPECT_EQ(base.contiguous().storage(), base.storage());  // already contiguous: no copy
}

// copy_strided against an element-by-element walk, over permutations, slices, broadcast
// (stride 0) sources and size-1 dims: layouts that merge into one run, into a few, or not at all.
TEST(TensorCopies, CopyStridedMatchesAnElementWalk) {
  Generator generator(11);
  const Tensor base = rand({3, 1, 4, 5}, generator);  // (3, 1, 4, 5)
  const std::vector<Tensor> sources = {
      base,
      permute(base, {3, 1, 0, 2}),
      transpose(base, 0, 2),
      slice(slice(base, 3, 1, 4), 0, 1, 3),
      expand(slice(base, 0, 0, 1), {3, 1, 4, 5}),
      slice(base, 2, 2, 3),
  };
  for (const Tensor& source : sources) {
    const Shape& shape = source.shape();
    const int64_t count = source.numel();
    // Expected: walk the index space in row-major order and read each element by its strides.
    std::vector<float> expected;
    std::vector<int64_t> index(shape.size(), 0);
    const float* data = source.data<const float>();
    for (int64_t i = 0; i < count; ++i) {
      int64_t position = 0;
      for (size_t d = 0; d < shape.size(); ++d) position += index[d] * source.strides()[d];
      expected.push_back(data[position]);
      for (size_t d = shape.size(); d-- > 0;) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
    EXPECT_EQ(contiguous_copy(source).to_vector(), expected) << shape_str(shape);
    // And into a strided destination: a transposed view of a fresh buffer.
    Tensor target = zeros({shape[3], shape[2], shape[1], shape[0]});
    const Tensor window = permute(target, {3, 2, 1, 0});  // shape of `source`, strided
    copy_strided(shape, reinterpret_cast<const char*>(data), source.strides(),
                 reinterpret_cast<char*>(target.data<float>()), window.strides(), sizeof(float));
    EXPECT_EQ(contiguous_copy(window).to_vector(), expected) << shape_str(shape);
  }
}

TEST(TensorCopies, EmptyTensorsAreContiguous) {
  EXPECT_TRUE(empty({3, 0}).is_contiguous());
  EXPECT_TRUE(empty({0, 5}).is_contiguous());
  EXPECT_TRUE(transpose(zeros({0, 4}), 0, 1).is_contiguous());
}

TEST(TensorStorage, DataIs64ByteAligned) {
  for (int64_t n : {0, 1, 3, 17, 1000}) {
    Tensor t = zeros({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.storage()->data()) % 64, 0u) << "numel " << n;
  }
  Tensor indices = from_indices({1, 2, 3}, {3});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(indices.storage()->data()) % 64, 0u);
}

// ---- factories ----

// ---- the host caching allocator ----

TEST(HostAllocator, SizeClassesAreQuarterSteps) {
  EXPECT_EQ(CachingAllocator::size_class(0), 64u);
  EXPECT_EQ(CachingAllocator::size_class(64), 64u);
  EXPECT_EQ(CachingAllocator::size_class(65), 80u);
  EXPECT_EQ(CachingAllocator::size_class(129), 160u);
  EXPECT_EQ(CachingAllocator::size_class(1000), 1024u);
  EXPECT_EQ(CachingAllocator::size_class(1025), 1280u);
  for (size_t bytes : {1ul, 100ul, 4097ul, 1ul << 20, (1ul << 20) + 1, 123456789ul}) {
    const size_t rounded = CachingAllocator::size_class(bytes);
    EXPECT_GE(rounded, bytes);
    EXPECT_LE(rounded, std::max<size_t>(64, bytes + bytes / 4 + 1)) << bytes;
    EXPECT_EQ(rounded % 16, 0u);
  }
}

// A private allocator over counting raw functions: freed blocks are reused for the same class,
// the cache limit is respected, and running out of memory is a pa::Error with the sizes.
namespace counting {
int raw_allocations = 0, raw_frees = 0;
bool fail = false;
void* allocate(size_t bytes, int) {
  if (fail) return nullptr;
  ++raw_allocations;
  return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
}
void release(void* pointer, int) {
  ++raw_frees;
  std::free(pointer);
}
}  // namespace counting

// Stream order (what the CUDA allocators do, with a stand-in for the thread's current stream):
// a block freed by one stream goes back to that stream's free list only; a block allocated on a
// stream returns to that stream's list even when another stream is current at the free.
namespace fake_stream {
int current = 0;  // -1: the default stream (nullptr)
int streams[2];
void* get() { return current < 0 ? nullptr : &streams[current]; }
void* allocate(size_t bytes, int) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }
void release(void* pointer, int) { std::free(pointer); }
}  // namespace fake_stream

TEST(StreamOrderedAllocator, KeepsEachStreamsBlocksApart) {
  CachingAllocator allocator("test_allocator", fake_stream::allocate, fake_stream::release,
                             SIZE_MAX, 0, nullptr, fake_stream::get);
  fake_stream::current = 0;
  void* on_first = allocator.allocate(500);
  allocator.release(on_first, 500);  // cached for stream 0
  fake_stream::current = 1;
  void* on_second = allocator.allocate(500);
  EXPECT_NE(on_second, on_first) << "stream 1 got stream 0's block";
  EXPECT_EQ(allocator.stats().misses, 2);
  fake_stream::current = 0;
  allocator.release(on_second, 500);  // freed while stream 0 is current: still stream 1's block
  EXPECT_EQ(allocator.allocate(500), on_first);
  fake_stream::current = 1;
  EXPECT_EQ(allocator.allocate(500), on_second);
  EXPECT_EQ(allocator.stats().hits, 2);
  allocator.release(on_first, 500);
  allocator.release(on_second, 500);

  // Stream 1 is destroyed: its free block and its live one (freed later) go to the default
  // stream, not to whichever stream gets its handle next.
  void* live = allocator.allocate(900);  // stream 1, still in use
  allocator.retire_stream(&fake_stream::streams[1]);
  allocator.release(live, 900);
  fake_stream::current = -1;
  const int64_t hits = allocator.stats().hits;
  void* again = allocator.allocate(500);
  void* again_live = allocator.allocate(900);
  EXPECT_EQ(again, on_second);
  EXPECT_EQ(again_live, live);
  EXPECT_EQ(allocator.stats().hits, hits + 2);
  allocator.release(again, 500);
  allocator.release(again_live, 900);
  fake_stream::current = 0;
}

TEST(HostAllocator, ReusesFreedBlocksWithinTheLimit) {
  CachingAllocator allocator("test_allocator", counting::allocate, counting::release, 4096);
  void* first = allocator.allocate(1000);  // class 1024
  allocator.release(first, 1000);
  void* again = allocator.allocate(1020);  // same class: the cached block
  EXPECT_EQ(again, first);
  EXPECT_EQ(counting::raw_allocations, 1);
  EXPECT_EQ(allocator.stats().hits, 1);
  EXPECT_EQ(allocator.stats().allocated, 1024u);
  void* big = allocator.allocate(8000);  // over the cache limit when freed: goes back at once
  allocator.release(big, 8000);
  EXPECT_EQ(counting::raw_frees, 1);
  EXPECT_EQ(allocator.stats().peak_allocated, 1024u + CachingAllocator::size_class(8000));
  allocator.reset_peak();  // the peak starts again from the live 1024 bytes
  EXPECT_EQ(allocator.stats().peak_allocated, 1024u);
  allocator.release(again, 1020);
  EXPECT_EQ(allocator.stats().cached, 1024u);
  counting::fail = true;
  try {
    allocator.allocate(5000);
    ADD_FAILURE() << "expected an out-of-memory error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("5000 bytes"), std::string::npos) << error.what();
  }
  EXPECT_EQ(allocator.stats().cached, 0u);  // the cache was given back before giving up
  counting::fail = false;
}

TEST(HostAllocator, TensorsReuseStorage) {
  const AllocatorStats before = host_allocator().stats();
  for (int i = 0; i < 10; ++i) {
    const Tensor t = zeros({123, 457});
    EXPECT_EQ(t.to_vector()[0], 0.0f);
  }
  const AllocatorStats after = host_allocator().stats();
  if (host_allocator().cache_limit() > 0) {
    EXPECT_GE(after.hits - before.hits, 9);  // caching on: only the first round may miss
  }
  EXPECT_EQ(after.allocated, before.allocated);  // nothing leaked
}

TEST(TensorFactories, ZerosOnesFull) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_TRUE(z.device().is_cpu());
  EXPECT_FALSE(z.requires_grad());
  EXPECT_EQ(z.to_vector(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ones({4}).to_vector(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(full({3, 1}, -2.5f).to_vector(), std::vector<float>(3, -2.5f));
  EXPECT_TRUE(ones({2}, TensorOptions().with_requires_grad(true)).requires_grad());
}

TEST(TensorFactories, Arange) {
  EXPECT_EQ(arange(0, 5).to_vector(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(0, 1, 0.25f).to_vector(), (std::vector<float>{0, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(arange(3, 0, -1).to_vector(), (std::vector<float>{3, 2, 1}));

  Tensor fractional = arange(1, 2, 0.3f);  // 1, 1.3, 1.6, 1.9: the end is exclusive
  ASSERT_EQ(fractional.shape(), (Shape{4}));
  const std::vector<float> values = fractional.to_vector();
  const std::vector<float> expected = {1.0f, 1.3f, 1.6f, 1.9f};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(values[i], expected[i], 1e-6f);

  EXPECT_EQ(arange(5, 5).shape(), (Shape{0}));
  EXPECT_EQ(arange(5, 0).shape(), (Shape{0}));  // positive step, end before start
  EXPECT_THROW(arange(0, 5, 0), Error);
}

TEST(TensorFactories, RandIsInUnitInterval) {
  Generator generator(7);
  const std::vector<float> values = rand({10000}, generator).to_vector();
  double total = 0.0;
  for (float v : values) {
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    total += v;
  }
  EXPECT_NEAR(total / values.size(), 0.5, 0.02);
}

TEST(TensorFactories, RandnIsStandardNormal) {
  Generator generator(11);
  const std::vector<float> values = randn({10000}, generator).to_vector();
  double total = 0.0, squares = 0.0;
  for (float v : values) {
    ASSERT_TRUE(std::isfinite(v));
    total += v;
    squares += static_cast<double>(v) * v;
  }
  const double mean = total / values.size();
  const double std = std::sqrt(squares / values.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.05);
  EXPECT_NEAR(std, 1.0, 0.05);
}

TEST(TensorFactories, SameSeedSameStream) {
  Generator a(123), b(123), c(124);
  EXPECT_EQ(rand({64}, a).to_vector(), rand({64}, b).to_vector());
  EXPECT_EQ(randn({64}, a).to_vector(), randn({64}, b).to_vector());
  Generator d(123);
  EXPECT_NE(rand({64}, d).to_vector(), rand({64}, c).to_vector());
  EXPECT_NE(randn({64}, d).to_vector(), randn({64}, c).to_vector());
}

TEST(TensorFactories, GlobalSeedRepeats) {
  manual_seed(5);
  const std::vector<float> first = rand({16}).to_vector();
  manual_seed(5);
  EXPECT_EQ(rand({16}).to_vector(), first);
  manual_seed(6);
  EXPECT_NE(rand({16}).to_vector(), first);
}

TEST(TensorFactories, GeneratorStateResumesTheStream) {
  Generator generator(99);
  rand({10}, generator);  // advance past the seed
  const std::array<uint64_t, 4> saved = generator.state();
  const std::vector<float> uniform = rand({32}, generator).to_vector();
  const std::vector<float> normal = randn({32}, generator).to_vector();
  EXPECT_NE(generator.state(), saved);

  Generator restored(1);  // another seed, then the saved state
  restored.set_state(saved);
  EXPECT_EQ(rand({32}, restored).to_vector(), uniform);
  EXPECT_EQ(randn({32}, restored).to_vector(), normal);
  EXPECT_EQ(restored.state(), generator.state());
}

TEST(TensorFactories, FromVectorAndIndices) {
  Tensor values = from_vector({1.5f, -2, 3, 4}, {2, 2});
  EXPECT_EQ(values.shape(), (Shape{2, 2}));
  EXPECT_EQ(values.dtype(), DType::Float32);
  EXPECT_EQ(values.to_vector(), (std::vector<float>{1.5f, -2, 3, 4}));

  Tensor indices = from_indices({4, 0, 7}, {3, 1});
  EXPECT_EQ(indices.dtype(), DType::Int64);
  EXPECT_EQ(indices.shape(), (Shape{3, 1}));
  EXPECT_EQ(indices.to_int_vector(), (std::vector<int64_t>{4, 0, 7}));
  EXPECT_THROW(indices.to_vector(), Error);  // float accessor on int64 data
  EXPECT_THROW(indices.data<float>(), Error);
}

// ---- values and printing ----

TEST(TensorValues, ItemAndToVector) {
  EXPECT_EQ(full({1, 1}, 7.25f).item(), 7.25f);
  EXPECT_EQ(slice(range_2x3(), 1, 2, 3).to_vector(), (std::vector<float>{2, 5}));
  EXPECT_EQ(range_2x3().size(-1), 3);
  EXPECT_EQ(range_2x3().numel(), 6);
}

TEST(TensorValues, PrintShowsShapeAndValues) {
  const std::string text = from_vector({1.5f, -2, 3, 4}, {2, 2}).str();
  EXPECT_NE(text.find("shape=(2, 2)"), std::string::npos) << text;
  EXPECT_NE(text.find("1.5000"), std::string::npos) << text;
  EXPECT_NE(text.find("-2.0000"), std::string::npos) << text;
  EXPECT_NE(text.find("float32"), std::string::npos) << text;
  EXPECT_EQ(text.find("..."), std::string::npos) << text;

  std::ostringstream stream;
  stream << from_indices({3, 8}, {2});
  EXPECT_NE(stream.str().find("[3, 8]"), std::string::npos) << stream.str();
  EXPECT_NE(stream.str().find("int64"), std::string::npos) << stream.str();
}

TEST(TensorValues, PrintElidesLongDims) {
  const std::string text = arange(0, 100).str();
  EXPECT_NE(text.find("shape=(100)"), std::string::npos) << text;
  EXPECT_NE(text.find("2.0000, ..., 97.0000"), std::string::npos) << text;
  EXPECT_NE(text.find("99.0000"), std::string::npos) << text;
  EXPECT_EQ(text.find("50.0000"), std::string::npos) << text;
}

TEST(TensorValues, ZeroDimTensor) {
  Tensor scalar = full({}, 3.5f);
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_TRUE(scalar.strides().empty());
  EXPECT_TRUE(scalar.is_contiguous());
  EXPECT_EQ(scalar.item(), 3.5f);
  EXPECT_EQ(scalar.to_vector(), (std::vector<float>{3.5f}));
  const std::string text = scalar.str();
  EXPECT_NE(text.find("tensor(3.5000, shape=()"), std::string::npos) << text;
  EXPECT_EQ(add(scalar, from_vector({1, 2}, {2})).to_vector(), (std::vector<float>{4.5f, 5.5f}));
  EXPECT_EQ(reshape(scalar, {1, 1}).shape(), (Shape{1, 1}));
  EXPECT_EQ(reshape(from_vector({2}, {1}), {}).dim(), 0);
}

// ---- dtype and device helpers ----

TEST(DTypes, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::Float32), 4u);
  EXPECT_EQ(dtype_size(DType::Float64), 8u);
  EXPECT_EQ(dtype_size(DType::BFloat16), 2u);
  EXPECT_EQ(dtype_size(DType::Int64), 8u);
  EXPECT_EQ(dtype_name(DType::Float32), "float32");
  EXPECT_EQ(dtype_name(DType::Float64), "float64");
  EXPECT_EQ(dtype_name(DType::BFloat16), "bfloat16");
  EXPECT_EQ(dtype_name(DType::Int64), "int64");
}

TEST(Devices, Parse) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  const Device second = parse_device("cuda:1");
  EXPECT_TRUE(second.is_cuda());
  EXPECT_EQ(second.index, 1);
  EXPECT_EQ(second.str(), "cuda:1");
  EXPECT_EQ(Device::cpu().str(), "cpu");
  for (const char* bad : {"gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", ""}) {
    EXPECT_THROW(parse_device(bad), Error) << "'" << bad << "'";
  }
}

TEST(Devices, CudaTensorInCpuOnlyBuildExplains) {
  if (cuda_available()) GTEST_SKIP() << "this build has a GPU";
  try {
    zeros({2}, TensorOptions().with_device(Device::cuda()));
    FAIL() << "creating a CUDA tensor did not throw";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("--config=cuda"), std::string::npos) << error.what();
  }
  EXPECT_THROW(range_2x3().to(Device::cuda()), Error);
}

}  // namespace
}  // namespace pa
