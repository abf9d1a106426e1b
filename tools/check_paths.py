#!/usr/bin/python3
"""check_paths: every repository path and Bazel label that the Markdown docs name must exist.

Reads Markdown files (default: every *.md of the repository; bazel-* and hidden folders left out)
and finds in them
  - repository paths: words with a slash whose first part is a top-level file or folder of the
    repository, or an entry of the Markdown file's own folder (`engine/ops/op_list.h`,
    cuda/gemm/README.md, `engine/ops/*.cc`, `regressions/cli/out_not_utf8` in fuzz/README.md),
    and the targets of relative links ([text](gemm.h), from the file's own folder);
  - source and Markdown file names in backticks, without a folder (`gemm_best.cu`, `timing.h`,
    `README.md`): some file of the repository must have that name;
  - Bazel labels of this workspace: //pkg:target, //pkg (the target named as its last part),
    //pkg/..., //pkg:all; labels of other repositories (@name//...) are not checked.
A path exists when the file or folder does, from the repository root or from the Markdown file's
folder (a glob `*` and each choice of a brace list {a,b} must match something; a trailing :LINE
or #anchor is ignored). A label exists when its package has a BUILD file that names the target
(name = "target", or the quoted name of a rule made in a loop or macro: "housing" with
name + "_thesis"), or the target is a file of the package.

Not checked: where runs write (a path git ignores: results/figures/, .gpu/...), what is not the
repository's (bazel-bin/..., DIR/...: the first part is no entry of it), words with a
placeholder (<name>, $OUT, ...), URLs, a path at a commit (REV:path, as git show takes it), and
a line that says "(planned)" (the design's mark for what an open issue builds) or ends with the
comment <!-- check_paths: ignore -->.

  /usr/bin/python3 tools/check_paths.py [--root DIR] [FILE.md ...]

Prints one line per missing one, "FILE:LINE: no such path 'engine/profile/' (not in the
repository)" or "no such label", and exits 1 when there is any, 0 when every one exists, 2 for
bad arguments.
"""

import argparse
import fnmatch
import glob
import os
import re
import sys

# A word that may be a label or a path: path characters, as the docs write them.
WORD = re.compile(r"(?:@[\w.-]*)?//[\w./:@+<>$-]*|[\w.*{},<>$@+-]+(?:/[\w.*{},<>$@+-]*)+")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
PLACEHOLDER = re.compile(r"[<>$]|\.\.")
IGNORE_MARK = "<!-- check_paths: ignore -->"
SOURCE_NAME = re.compile(r"`([\w.+-]+\.(?:h|cc|cu|cuh|py|sh|bzl|md))`")


def repository_files(root):
    """Every file of the repository (bazel-* and hidden folders left out), sorted."""
    found = []
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(
            name for name in folders if not name.startswith(".") and not name.startswith("bazel-")
        )
        found += [os.path.join(folder, name) for name in sorted(files)]
    return found


def expand_braces(text):
    """'a/{b,c}.h' -> ['a/b.h', 'a/c.h'] (nested lists too)."""
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    out = []
    for choice in match.group(1).split(","):
        out += expand_braces(text[: match.start()] + choice + text[match.end() :])
    return out


def path_exists(base, path):
    for candidate in expand_braces(path):
        full = os.path.join(base, candidate)
        if any(ch in candidate for ch in "*?["):
            if not glob.glob(full):
                return False
        elif not os.path.lexists(full):
            return False
    return True


def ignore_patterns(root):
    """The root .gitignore as (negated, anchored, folder_only, pattern), in order."""
    patterns = []
    path = os.path.join(root, ".gitignore")
    if not os.path.isfile(path):
        return patterns
    with open(path, encoding="utf-8") as file:
        for line in file.read().split("\n"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            line = line[1:] if negated else line
            folder_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line  # a leading or middle slash anchors it at the root
            patterns.append((negated, anchored, folder_only, line.lstrip("/")))
    return patterns


def ignored(patterns, path):
    """Whether git ignores `path` or a folder above it."""
    parts = [part for part in path.split("/") if part and part != "."]
    for depth in range(1, len(parts) + 1):
        is_folder = depth < len(parts) or path.endswith("/")
        verdict = False
        for negated, anchored, folder_only, pattern in patterns:
            if folder_only and not is_folder:
                continue
            subject = "/".join(parts[:depth]) if anchored else parts[depth - 1]
            if fnmatch.fnmatchcase(subject, pattern):
                verdict = not negated
        if verdict:
            return True
    return False


BUILD_TEXT = {}


def build_file(root, package):
    for name in ("BUILD", "BUILD.bazel"):
        path = os.path.join(root, package, name)
        if os.path.isfile(path):
            return path
    return None


def target_exists(root, package, target):
    """(True, "") when //package:target exists, else (False, why not)."""
    build = build_file(root, package)
    if build is None:
        return False, "no package //%s: no BUILD file in %s/" % (package, package or ".")
    if target in ("all", "*", "all-targets"):
        return True, ""
    if build not in BUILD_TEXT:
        with open(build, encoding="utf-8") as file:
            BUILD_TEXT[build] = file.read()
    text = BUILD_TEXT[build]
    if re.search(r"\bname\s*=\s*\"%s\"" % re.escape(target), text):
        return True, ""
    # A rule made in a loop or a macro: its name is a quoted word of the BUILD file
    # (FIGURES = ["housing", ...]), or one with a quoted suffix (name + "_thesis", "%s_run").
    quoted = set(re.findall(r"\"([\w.+-]+)\"", text))
    if target in quoted:
        return True, ""
    for suffix in re.findall(r"\"(?:%s)?(_[\w.+-]+)\"", text):
        if target.endswith(suffix) and target[: -len(suffix)] in quoted:
            return True, ""
    # A file of the package, or an output under a rule's name (//experiments:denoising_run/x).
    if os.path.lexists(os.path.join(root, package, target)):
        return True, ""
    head = target.split("/")[0]
    if head != target and target_exists(root, package, head)[0]:
        return True, ""
    return False, "no target %s in %s" % (target, os.path.relpath(build, root))


def check_label(root, label):
    """'' when the label names something that exists, else why not."""
    body = label[2:]
    if body.endswith("/...") or body.endswith(":..."):
        package = body[:-4]
        if os.path.isdir(os.path.join(root, package)):
            return ""
        return "no folder %s/" % package
    if body in ("", "..."):
        return ""
    body = body.rstrip("/.,;:")
    package, _, target = body.partition(":")
    if not target:
        target = package.rsplit("/", 1)[-1]
    return target_exists(root, package, target)[1]


def clean_path(word):
    word = word.split("#", 1)[0]
    word = re.sub(r":\d+(?:-\d+)?$", "", word)  # file.cc:123
    return word.rstrip(".,;:")


def check_file(root, path, top_level, patterns, file_names):
    """[(line number, word, why)] for each path or label of `path` that does not exist."""
    problems = []
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    folder = os.path.dirname(os.path.relpath(path, root))
    local = set(os.listdir(os.path.join(root, folder)))
    for number, line in enumerate(lines, 1):
        if "(planned)" in line or line.rstrip().endswith(IGNORE_MARK):
            continue
        text = URL.sub(" ", line)
        for match in SOURCE_NAME.finditer(text):
            if match.group(1) not in file_names:
                problems.append((number, match.group(1), "no file of that name"))
        linked = set()
        for match in LINK.finditer(text):
            target = clean_path(match.group(1))
            if not target or target.startswith(("/", "mailto:")) or re.search(r"[<>$]", target):
                continue
            linked.add(target)
            relative = os.path.normpath(os.path.join(folder, target))
            if relative.startswith("..") or not path_exists(root, relative):
                problems.append((number, target, "a link from %s/" % (folder or ".")))
        for match in WORD.finditer(text):
            word = match.group(0)
            if match.start() > 0 and text[match.start() - 1] == ":":
                continue  # REV:path
            if word.startswith("//"):
                label = word.rstrip(".,;:") if not word.endswith("...") else word
                if PLACEHOLDER.search(label[2:].replace("/...", "").replace(":...", "")):
                    continue
                why = check_label(root, label)
                if why:
                    problems.append((number, label, why))
                continue
            if "//" in word:
                continue  # @repository//label
            word = clean_path(word)
            if word in linked or PLACEHOLDER.search(word) or word.startswith("@"):
                continue
            first = word.split("/", 1)[0]
            if first not in top_level and first not in local:
                continue
            if path_exists(root, word) or path_exists(os.path.join(root, folder), word):
                continue
            if ignored(patterns, word):
                continue  # where a run writes its outputs
            problems.append((number, word, "not in the repository"))
    return problems


def main(argv):
    parser = argparse.ArgumentParser(
        prog="check_paths",
        description="Fails when a Markdown doc names a repository path or Bazel label that does "
        "not exist.",
    )
    parser.add_argument(
        "--root",
        default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="the repository root (default: the folder above tools/)",
    )
    parser.add_argument("files", nargs="*", help="Markdown files (default: every *.md)")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    if not os.path.isfile(os.path.join(root, "WORKSPACE")):
        parser.error("--root %s is no workspace (it has no WORKSPACE file)" % root)
    for name in args.files:
        if not os.path.isfile(name):
            parser.error("no such file: %s" % name)
        if not os.path.abspath(name).startswith(root + os.sep):
            parser.error("%s is not inside --root %s" % (name, root))
    everything = repository_files(root)
    files = [os.path.abspath(name) for name in args.files] or [
        path for path in everything if path.endswith(".md")
    ]
    file_names = {os.path.basename(path) for path in everything}
    top_level = {name for name in os.listdir(root) if not name.startswith("bazel-")} - {".git"}
    patterns = ignore_patterns(root)
    count = 0
    for path in files:
        for number, word, why in check_file(root, path, top_level, patterns, file_names):
            kind = "label" if word.startswith("//") else "path"
            shown = os.path.relpath(path, root)
            print("%s:%d: no such %s '%s' (%s)" % (shown, number, kind, word, why))
            count += 1
    if count:
        print("check_paths: %d missing path(s) or label(s) in %d file(s)" % (count, len(files)))
        return 1
    print("check_paths: every path and label in %d file(s) exists" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
