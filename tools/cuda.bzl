"""cuda_library: nvcc in a genrule, wrapped in a cc_library (alwayslink).

Each .cu file becomes one object compiled for sm_90a and sm_80 with PTX for compute_90 (so
newer GPUs JIT it). The nvcc /tmp race (its tmpxft_* files collide between concurrent actions
in the sandbox) is handled by giving every action its own TMPDIR under its output directory.
Targets built from this macro are only compatible with --config=cuda; without it they are
skipped by `bazel build //...` and `bazel test //...`.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

NVCC = "/usr/local/cuda/bin/nvcc"

NVCC_FLAGS = " ".join([
    "-std=c++17",
    "-O3",
    "--expt-relaxed-constexpr",
    "-Xcompiler -fPIC",
    # Warnings are errors: nvcc's own (device code) and the host compiler's.
    "-Werror all-warnings",
    "-Xcompiler -Wall,-Werror",
    "-gencode arch=compute_90a,code=sm_90a",
    "-gencode arch=compute_80,code=sm_80",
    "-gencode arch=compute_90,code=compute_90",
])

CUDA_ONLY = select({
    "//tools:cuda_enabled": [],
    "//conditions:default": ["//tools:incompatible"],
})

def cuda_library(name, srcs, hdrs = [], nvcc_hdrs = [], deps = [], **kwargs):
    """Compiles `srcs` (.cu) with nvcc and exposes them as a cc_library named `name`.

    `nvcc_hdrs` lists headers from other packages that the .cu files include. Every library
    may include engine/kernels/defs.h (what the CPU and CUDA kernels share): it comes with each.
    """
    nvcc_hdrs = nvcc_hdrs + ["//engine/kernels:defs.h"]
    deps = deps + ["//engine/kernels:defs"]
    objects = []
    for src in srcs:
        stem = src.replace("/", "_").rsplit(".", 1)[0]
        obj = "_objs/%s/%s.o" % (name, stem)
        native.genrule(
            name = "%s_%s_nvcc" % (name, stem),
            srcs = [src] + hdrs + nvcc_hdrs + ["@cuda//:cuda_headers"],
            outs = [obj],
            cmd = ("nvcc_tmp=$$(mktemp -d $(@D)/nvcc_tmp.XXXXXX) && " +
                   "TMPDIR=$$nvcc_tmp %s %s -I. -I$(GENDIR) -c $(location %s) -o $@; " +
                   "status=$$?; rm -rf $$nvcc_tmp; exit $$status") % (NVCC, NVCC_FLAGS, src),
            target_compatible_with = CUDA_ONLY,
            tags = ["no-sandbox"],
        )
        objects.append(obj)
    cc_library(
        name = name,
        srcs = objects,
        hdrs = hdrs,
        deps = deps + ["@cuda//:cudart_static"],
        alwayslink = 1,
        target_compatible_with = CUDA_ONLY,
        **kwargs
    )
