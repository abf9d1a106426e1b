#!/usr/bin/python3
"""check_paths: every repository path and Bazel label that the Markdown docs and the source
files' comments name must exist.

Reads Markdown files and source files (default: every *.md of the repository and every source
file of the kinds below that git does not ignore; bazel-* and hidden folders left out, but for
.ci/run). In Markdown it reads the whole text, in a source file only its comments:
  - C, C++ and CUDA (*.h, *.cc, *.cu, *.cuh): // and /* */ comments, outside string literals
    (raw strings too) and character literals;
  - Python and Starlark (*.py, BUILD, *.bzl, *.BUILD, WORKSPACE): # comments, outside string
    literals (docstrings are strings: not read);
  - shell (*.sh, .ci/run): a # that starts a word, outside quotes and here-documents;
  - YAML (*.yml), docker/Dockerfile*, .bazelrc: lines that are a # comment;
  - LaTeX (*.tex): % comments (not \%, nor in verbatim, lstlisting or \verb).
In them it finds
  - repository paths: words with a slash whose first part is a top-level file or folder of the
    repository, or an entry of the file's own folder (`engine/ops/op_list.h`,
    cuda/gemm/README.md, `engine/ops/*.cc`, `regressions/cli/out_not_utf8` in fuzz/README.md),
    and, in Markdown, the targets of relative links ([text](gemm.h), from the file's own folder);
  - source and Markdown file names without a folder (`gemm_best.cu`, `timing.h`, `README.md`;
    in Markdown only in backticks, in a comment also without; not a glob or a placeholder,
    *_test.cc, <name>.h): some file of the repository must have that name;
  - Bazel labels of this workspace: //pkg:target, //pkg (the target named as its last part),
    //pkg/..., //pkg:all; labels of other repositories (@name//..., and any label in a
    third_party/*.BUILD file or a nested workspace such as third_party/rules_cc/) and Bazel's
    own (//visibility:public, //conditions:default) are not checked.
A path exists when the file or folder does, from the repository root or from the file's
folder (a glob `*` and each choice of a brace list {a,b} must match something; a trailing :LINE
or #anchor is ignored). A label exists when its package has a BUILD file that names the target
(name = "target", or the quoted name of a rule made in a loop or macro: "housing" with
name + "_thesis"), or the target is a file of the package (or __pkg__, __subpackages__).

Not checked: where runs write (a path git ignores: results/figures/, .gpu/...), what is not the
repository's (bazel-bin/..., DIR/...: the first part is no entry of it), words with a
placeholder (<name>, $OUT, ...), URLs, a path at a commit (REV:path, as git show takes it), a
line that says "(planned)" (the design's mark for what an open issue builds), a Markdown line
that ends with the comment <!-- check_paths: ignore -->, and a comment line that says
"check_paths: ignore" (// lib/later.h is named on purpose, check_paths: ignore).

  /usr/bin/python3 tools/check_paths.py [--root DIR] [FILE ...]

Prints one line per missing one, "FILE:LINE: no such path 'engine/profile/' (not in the
repository)" or "no such label", and exits 1 when there is any, 0 when every one exists, 2 for
bad arguments (a FILE that is neither Markdown nor a source file it reads, too).
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
COMMENT_IGNORE_MARK = "check_paths: ignore"
SOURCE_NAME = re.compile(r"`([\w.+-]+\.(?:h|cc|cu|cuh|py|sh|bzl|md))`")
# In a comment, such a name need not be in backticks; none that is part of a path, a glob or a
# placeholder (engine/ops/op_list.h, *_test.cc, <name>_test.cc, <script.py>).
COMMENT_SOURCE_NAME = re.compile(
    r"(?<![\w/.<>{}*$@%+-])([\w+-]+\.(?:h|cc|cu|cuh|py|sh|bzl|md))(?![\w/<>{}*]|\.\w)"
)


# The comments of source files, by language: (line number, the comment text on that line).
C_SOURCE = (".h", ".cc", ".cu", ".cuh")
PYTHON_SOURCE = (".py", ".bzl", ".BUILD")
PYTHON_NAMES = ("BUILD", "BUILD.bazel", "WORKSPACE")
SHELL_SOURCE = (".sh",)
SHELL_NAMES = (".ci/run",)
LINE_COMMENT_SOURCE = (".yml", ".yaml")
LINE_COMMENT_NAMES = (".bazelrc", "docker/Dockerfile", "docker/Dockerfile.cuda")
TEX_SOURCE = (".tex",)


def language(relative):
    """'markdown', 'c', 'python', 'shell', 'line' (whole-line # comments), 'tex' or None."""
    name = os.path.basename(relative)
    if relative.endswith(".md"):
        return "markdown"
    if relative.endswith(C_SOURCE):
        return "c"
    if relative.endswith(PYTHON_SOURCE) or name in PYTHON_NAMES:
        return "python"
    if relative.endswith(SHELL_SOURCE) or relative in SHELL_NAMES:
        return "shell"
    if relative.endswith(LINE_COMMENT_SOURCE) or relative in LINE_COMMENT_NAMES:
        return "line"
    if relative.endswith(TEX_SOURCE):
        return "tex"
    return None


def c_comments(lines):
    """// and /* */ comments of C, C++ and CUDA, outside string and character literals."""
    out = []
    state = None  # None (code), "block", '"', "'" or the end of a raw string: )delim"
    for number, line in enumerate(lines, 1):
        pieces = []
        i = 0
        if state in ('"', "'"):
            state = None  # an unterminated literal ends with its line
        while i < len(line):
            if state == "block":
                end = line.find("*/", i)
                pieces.append(line[i : end if end >= 0 else len(line)])
                if end < 0:
                    break
                state, i = None, end + 2
            elif state in ('"', "'"):
                ch = line[i]
                if ch == "\\":
                    i += 2
                    continue
                if ch == state:
                    state = None
                i += 1
            elif state is not None:  # a raw string, up to )delim"
                end = line.find(state, i)
                if end < 0:
                    break
                i, state = end + len(state), None
            elif line.startswith("//", i):
                pieces.append(line[i + 2 :])
                break
            elif line.startswith("/*", i):
                state, i = "block", i + 2
            elif line[i] == '"':
                raw = re.search(r"(?:^|[^\w])(?:u8|u|U|L)?R$", line[:i])
                delim = re.match(r"([^\s()\\]{0,16})\(", line[i + 1 :]) if raw else None
                if delim:
                    state, i = ")" + delim.group(1) + '"', i + 2 + len(delim.group(1))
                else:
                    state, i = '"', i + 1
            elif line[i] == "'":
                word = re.search(r"\w*$", line[:i]).group(0)
                if word and word[0].isdigit():
                    i += 1  # a digit separator: 1'000'000
                else:
                    state, i = "'", i + 1
            else:
                i += 1
        if pieces:
            out.append((number, " ".join(pieces)))
    return out


def python_comments(lines):
    """# comments of Python and Starlark (BUILD, .bzl, WORKSPACE), outside string literals
    (docstrings included: they are strings)."""
    out = []
    quote = None  # the open string's quote: ', ", ''' or """
    raw = False
    for number, line in enumerate(lines, 1):
        if quote is not None and len(quote) == 1:
            quote = None  # a one-line string ends with its line
        i = 0
        while i < len(line):
            if quote is not None:
                if line[i] == "\\" and not raw:
                    i += 2
                elif line.startswith(quote, i):
                    i += len(quote)
                    quote = None
                else:
                    i += 1
            elif line[i] == "#":
                out.append((number, line[i + 1 :]))
                break
            elif line[i] in "'\"":
                quote = line[i] * 3 if line.startswith(line[i] * 3, i) else line[i]
                prefix = re.search(r"(?:^|[^\w])([rRbBuUfF]{1,2})$", line[:i])
                raw = bool(prefix) and "r" in prefix.group(1).lower()
                i += len(quote)
            else:
                i += 1
    return out


HEREDOC = re.compile(r"<<(-?)\s*(?:'([^']+)'|\"([^\"]+)\"|\\?([\w.-]+))")


def shell_comments(lines):
    """# comments of shell scripts: a # that starts a word, outside quotes and here-documents."""
    out = []
    quote = None  # ', $' or " while a quoted string spans lines
    heredocs = []  # [(delimiter, strip leading tabs)] of here-documents still to read
    for number, line in enumerate(lines, 1):
        if heredocs and quote is None:
            delimiter, dash = heredocs[0]
            if (line.lstrip("\t") if dash else line) == delimiter:
                heredocs.pop(0)
            continue
        pending = []
        i = 0
        while i < len(line):
            ch = line[i]
            if quote == "'":
                if ch == "'":
                    quote = None
                i += 1
            elif quote in ('"', "$'"):  # a backslash escapes the next character
                if ch == "\\":
                    i += 1
                elif ch == quote[-1]:
                    quote = None
                i += 1
            elif ch == "\\":
                i += 2
            elif ch in "'\"":
                quote = "$'" if ch == "'" and i > 0 and line[i - 1] == "$" else ch
                i += 1
            elif ch == "#" and (i == 0 or line[i - 1] in " \t;|&()"):
                out.append((number, line[i + 1 :]))
                break
            elif line.startswith("<<<", i):
                i += 3  # a here-string
            elif line.startswith("<<", i):
                match = HEREDOC.match(line, i) if "((" not in line[:i] else None  # $((1 << n))
                if match:
                    word = match.group(2) or match.group(3) or match.group(4)
                    pending.append((word, match.group(1) == "-"))
                    i = match.end()
                else:
                    i += 2
            else:
                i += 1
        heredocs += pending
    return out


def line_comments(lines):
    """Whole-line # comments (YAML, Dockerfiles, .bazelrc): a line whose first character that is
    not blank is #."""
    return [
        (number, line.lstrip()[1:])
        for number, line in enumerate(lines, 1)
        if line.lstrip().startswith("#")
    ]


def tex_comments(lines):
    """% comments of LaTeX: a % not escaped by a backslash, outside verbatim and lstlisting
    environments (whose % is text) and \\verb or \\lstinline."""
    out = []
    verbatim = None
    for number, line in enumerate(lines, 1):
        if verbatim:
            if "\\end{%s}" % verbatim in line:
                verbatim = None
            continue
        begin = re.search(r"\\begin\{(verbatim\*?|lstlisting|minted)\}", line)
        if begin:
            verbatim = begin.group(1)
            line = line[: begin.start()]
        line = re.sub(r"\\(?:verb|lstinline)\*?([^\w\s{\[])(.*?)\1", " ", line)
        match = re.search(r"(?<!\\)(?:\\\\)*%", line)
        if match:
            out.append((number, line[match.end() :]))
    return out


COMMENTS = {
    "c": c_comments,
    "python": python_comments,
    "shell": shell_comments,
    "line": line_comments,
    "tex": tex_comments,
}


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


def ignored(patterns, path, is_file=False):
    """Whether git ignores `path` or a folder above it. Unless `is_file`, `path` may name a
    folder (a path that does not exist: results/figures is ignored by /results/*/)."""
    parts = [part for part in path.split("/") if part and part != "."]
    for depth in range(1, len(parts) + 1):
        is_folder = depth < len(parts) or not is_file
        verdict = False
        for negated, anchored, folder_only, pattern in patterns:
            if folder_only and not is_folder:
                continue
            if anchored:  # component by component: a * matches no slash
                steps = pattern.split("/")
                matches = len(steps) == depth and all(
                    fnmatch.fnmatchcase(part, step) for part, step in zip(parts, steps)
                )
            else:
                matches = fnmatch.fnmatchcase(parts[depth - 1], pattern)
            if matches:
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
    if package in ("visibility", "conditions"):
        return ""  # Bazel's own: //visibility:public, //conditions:default
    if not target:
        target = package.rsplit("/", 1)[-1]
    if target in ("__pkg__", "__subpackages__"):
        return "" if build_file(root, package) else "no package //%s" % package
    return target_exists(root, package, target)[1]


def clean_path(word):
    word = word.split("#", 1)[0]
    word = re.sub(r":\d+(?:-\d+)?$", "", word)  # file.cc:123
    return word.rstrip(".,;:")


def check_file(root, path, top_level, patterns, file_names):
    """[(line number, word, why)] for each path or label of `path` that does not exist: in the
    whole text of a Markdown file, in the comments of a source file."""
    relative = os.path.relpath(path, root)
    kind = language(relative)
    with open(path, encoding="utf-8", errors="replace") as file:
        lines = file.read().split("\n")
    folder = os.path.dirname(relative)
    local = set(os.listdir(os.path.join(root, folder)))
    if kind == "markdown":
        texts = [
            (number, line)
            for number, line in enumerate(lines, 1)
            if not line.rstrip().endswith(IGNORE_MARK)
        ]
    else:
        texts = [
            (number, text)
            for number, text in COMMENTS[kind](lines)
            if COMMENT_IGNORE_MARK not in text and not (number == 1 and text.startswith("!"))
        ]
    # Labels in the BUILD file of another repository (third_party/eigen.BUILD) or in a nested
    # workspace (third_party/rules_cc/) are that repository's: not checked.
    labels = not relative.endswith(".BUILD") and not nested_workspace(root, folder)
    problems = []
    for number, line in texts:
        if "(planned)" in line:
            continue
        text = URL.sub(" ", line)
        linked = set()
        for match in (SOURCE_NAME if kind == "markdown" else COMMENT_SOURCE_NAME).finditer(text):
            if match.group(1) not in file_names:
                problems.append((number, match.group(1), "no file of that name"))
        if kind == "markdown":
            for match in LINK.finditer(text):
                target = clean_path(match.group(1))
                if (
                    not target
                    or target.startswith(("/", "mailto:"))
                    or re.search(r"[<>$]", target)
                ):
                    continue
                linked.add(target)
                resolved = os.path.normpath(os.path.join(folder, target))
                if resolved.startswith("..") or not path_exists(root, resolved):
                    problems.append((number, target, "a link from %s/" % (folder or ".")))
        for match in WORD.finditer(text):
            word = match.group(0)
            if match.start() > 0 and text[match.start() - 1] == ":":
                continue  # REV:path
            if word.startswith("//"):
                label = word.rstrip(".,;:") if not word.endswith("...") else word
                if not labels or not re.match(r"//(?:[\w.]|$)", label):
                    continue  # another repository's, or a rule of slashes (//////)
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


def nested_workspace(root, folder):
    """Whether `folder` (relative to root) is inside a workspace of its own."""
    while folder:
        if os.path.isfile(os.path.join(root, folder, "WORKSPACE")):
            return True
        folder = os.path.dirname(folder)
    return False


def main(argv):
    parser = argparse.ArgumentParser(
        prog="check_paths",
        description="Fails when a Markdown doc or a source file's comment names a repository path "
        "or Bazel label that does not exist.",
    )
    parser.add_argument(
        "--root",
        default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        help="the repository root (default: the folder above tools/)",
    )
    parser.add_argument(
        "files",
        nargs="*",
        help="Markdown or source files (default: every *.md and every source file git does not "
        "ignore)",
    )
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    if not os.path.isfile(os.path.join(root, "WORKSPACE")):
        parser.error("--root %s is no workspace (it has no WORKSPACE file)" % root)
    for name in args.files:
        if not os.path.isfile(name):
            parser.error("no such file: %s" % name)
        if not os.path.abspath(name).startswith(root + os.sep):
            parser.error("%s is not inside --root %s" % (name, root))
        if language(os.path.relpath(os.path.abspath(name), root)) is None:
            parser.error("%s is neither Markdown nor a source file whose comments it reads" % name)
    everything = repository_files(root)
    patterns = ignore_patterns(root)
    files = [os.path.abspath(name) for name in args.files]
    if not files:
        for path in everything + [os.path.join(root, name) for name in SHELL_NAMES]:
            relative = os.path.relpath(path, root)
            kind = language(relative)
            if kind == "markdown" or (
                kind and os.path.isfile(path) and not ignored(patterns, relative, is_file=True)
            ):
                files.append(path)
    file_names = {os.path.basename(path) for path in everything}
    top_level = {name for name in os.listdir(root) if not name.startswith("bazel-")} - {".git"}
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
