#!/usr/bin/env bash
# Bazel's --workspace_status_command (.bazelrc): the commit the build is made from, for the
# stamped actions only (the thesis: its provenance appendix and its date). Outside a git
# checkout (an exported tarball) it reports "unknown" and the commit time 0.
set -uo pipefail
if commit=$(git rev-parse HEAD 2>/dev/null); then
  dirty=false
  [[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || dirty=true
  echo "STABLE_GIT_COMMIT $commit"
  echo "STABLE_GIT_DIRTY $dirty"
  echo "STABLE_GIT_COMMIT_TIME $(git log -1 --format=%ct HEAD)"
else
  echo "STABLE_GIT_COMMIT unknown"
  echo "STABLE_GIT_DIRTY false"
  echo "STABLE_GIT_COMMIT_TIME 0"
fi
