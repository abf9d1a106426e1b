// The stream-K schedule of the warp-specialised GEMM (gemm_warp_specialized.cuh, v18): which
// block computes which k tiles of which output tile, and when a launch splits at all. Plain
// C++17 that nvcc and g++ both compile (host and device functions under nvcc), so that
// stream_k_schedule_test checks the schedule's invariants on the CPU, in CI, over thousands of
// shapes: every k tile of every tile computed exactly once, one partial sum per block at most,
// handed on before its block waits, and each tile's last block waiting for exactly the blocks
// that hold its other pieces.
#pragma once

#include <cstdint>

#include "engine/kernels/defs.h"

namespace pa::cuda::warp_specialized {

// Stream-K (v18): the last `units` units of a launch (the partial last wave, which would leave
// SMs idle) are not handed out whole: their k tiles, laid end to end, are cut into `workers`
// equal ranges, one per block. A block whose range does not reach the end of its tile leaves
// its fp32 partial sums in its slot of `partials` (a kBlockM x kBlockN tile, in the accumulator
// registers' order) and raises its consumers' flags; the block whose range ends the tile waits
// for those flags, adds the slots and writes C. Each block takes its later piece first, so a
// block hands its partial sums on before it waits for anyone's: no wait depends on another.
struct StreamK {
  int units = 0;              // trailing units split along k (0: none, every unit whole)
  int workers = 0;            // blocks 0 .. workers - 1 share them
  float* partials = nullptr;  // workers slots of kBlockM x kBlockN
  unsigned* flags = nullptr;  // workers x kConsumers: `epoch` once a slot is written
  unsigned epoch = 0;         // this launch's number on its workspace, never 0
};

// A piece of a block's work: unit `unit`, k tiles [k_begin, k_end).
struct Work {
  int unit, k_begin, k_end;
};

// Block `block`'s stream-K range of k tiles (over the units units - sk.units .. units - 1 laid
// end to end): [begin, end).
PA_HOST_DEVICE void stream_k_range(int block, int k_tiles, const StreamK& sk, int64_t& begin,
                                   int64_t& end) {
  const int64_t iterations = int64_t(sk.units) * k_tiles;
  begin = block < sk.workers ? iterations * block / sk.workers : 0;
  end = block < sk.workers ? iterations * (block + 1) / sk.workers : 0;
}

// The j-th piece of work of block `block` of `blocks`: first its stream-K pieces (its later unit
// first), then units block, block + blocks, ... of the units - sk.units whole ones (a kernel
// that does not split: units block, block + blocks, ...). False when the block has no more.
template <bool kSplit>
PA_HOST_DEVICE bool work_item(int j, int block, int blocks, int units, int k_tiles,
                              const StreamK& sk, Work& work) {
  if constexpr (!kSplit) {  // every unit whole: v15-v17's loop
    const int unit = block + j * blocks;
    work = {unit, 0, k_tiles};
    return unit < units;
  }
  int64_t begin, end;
  stream_k_range(block, k_tiles, sk, begin, end);
  const int whole = units - sk.units;
  const int pieces = end > begin ? int((end - 1) / k_tiles - begin / k_tiles) + 1 : 0;
  if (j < pieces) {
    const int64_t unit = (end - 1) / k_tiles - j, first = unit * k_tiles;
    const int64_t piece_begin = begin > first ? begin : first;
    const int64_t piece_end = end < first + k_tiles ? end : first + k_tiles;
    work = {whole + int(unit), int(piece_begin - first), int(piece_end - first)};
    return true;
  }
  const int64_t unit = block + int64_t(j - pieces) * blocks;
  if (unit >= whole) return false;
  work = {int(unit), 0, k_tiles};
  return true;
}

// The blocks whose partial sums the block ending a split tile adds: those before it whose ranges
// end after the tile's first k tile `first` (in the stream-K range's numbering), i.e. block - 1,
// block - 2, ... while this holds for them.
PA_HOST_DEVICE bool stream_k_contributes(int block, int k_tiles, const StreamK& sk, int64_t first) {
  int64_t begin, end;
  stream_k_range(block, k_tiles, sk, begin, end);
  return block >= 0 && end > first;
}

// How a launch hands out its units: each whole to one block (DataParallel: v15-v17), or the last
// partial wave split along k (StreamKTail: v18, gemm_bf16).
enum class Schedule { DataParallel, StreamKTail };

// The stream-K split for `units` units of `k_tiles` k tiles on `resident` blocks: the units past
// the last full wave (all of them when there are fewer than the blocks) shared by as many
// blocks as give each at least kMinPiece k tiles, so that the partial sums a piece writes and
// its owner reads (a tile of fp32 each) stay small against the products. None (units 0) when
// the tail would not finish at least kMinGain k tiles sooner than whole tiles do: a slot written
// and read costs about as much as a few k tiles' copies (a 128 x 256 fp32 slot is 128 KB, a
// k tile's operands 48 KB).
struct StreamKPlan {
  int units = 0, workers = 0;
};
constexpr int kMinPiece = 8, kMinGain = 4;
inline StreamKPlan plan_stream_k(int64_t units, int k_tiles, int64_t resident) {
  const int64_t tail = units % resident;
  const int64_t split = tail * k_tiles / kMinPiece;
  const int64_t workers = resident < split ? resident : split;
  if (tail == 0 || workers <= tail) return {};
  const int64_t longest = (tail * k_tiles + workers - 1) / workers;  // k tiles of a block's range
  if (k_tiles - longest < kMinGain) return {};
  return {int(tail), int(workers)};
}

}  // namespace pa::cuda::warp_specialized
