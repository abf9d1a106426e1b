"""pa_fuzz_target: one libFuzzer target and its replay test (fuzz/README.md).

pa_fuzz_target(name = "npy", srcs = ["npy_fuzz.cc"], deps = [...], seeds = [...]) defines
  :npy_lib     the target's LLVMFuzzerTestOneInput (srcs + deps),
  :npy_fuzzer  the binary: libFuzzer's main under --config=fuzz (-fsanitize=fuzzer), our replay
               main otherwise,
  :npy         `bazel run --config=fuzz //fuzz:npy -- [libFuzzer flags]`: launch.sh copies the
               seeds and regressions into .fuzz/npy/corpus and fuzzes with fuzz/npy.dict,
  :npy_replay  a cc_test (in `bazel test //...`) that feeds every seed and every committed
               regression input (fuzz/regressions/npy/) to LLVMFuzzerTestOneInput once.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_library", "cc_test")

def pa_fuzz_target(name, srcs, deps, seeds):
    cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps + [":fuzz_input"],
        alwayslink = True,
    )
    native.filegroup(
        name = name + "_inputs",
        testonly = True,
        srcs = seeds + native.glob(["regressions/%s/*" % name]),
    )
    cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        linkopts = select({
            "//tools:fuzz_enabled": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = [":" + name + "_lib"] + select({
            "//tools:fuzz_enabled": [],
            "//conditions:default": [":replay_main"],
        }),
    )
    native.sh_binary(
        name = name,
        testonly = True,
        srcs = ["launch.sh"],
        args = [
            "$(rootpath :%s_fuzzer)" % name,
            "$(rootpath :%s.dict)" % name,
            "$(rootpaths :%s_inputs)" % name,
            "--",
        ],
        data = [
            ":" + name + "_fuzzer",
            ":" + name + ".dict",
            ":" + name + "_inputs",
        ],
    )
    cc_test(
        name = name + "_replay",
        size = "small",
        args = ["$(rootpaths :%s_inputs)" % name],
        data = [":" + name + "_inputs"],
        deps = [
            ":" + name + "_lib",
            ":replay_main",
        ],
    )
