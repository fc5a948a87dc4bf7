// The push rules of git over HTTP (docs/design.md §11), as the `update` hook git's own receive-pack
// runs once per pushed ref — so a refused ref is refused by git, with git's own "[remote rejected]"
// line and the reason on a "remote:" line, and the others go on. The server decides who may push
// what before the push starts and hands it to the hook in the environment: the branches and task
// ids of the tasks whose live lease the pushing worker holds. The repository's own hooks never run
// (core.hooksPath points here).
import fs from 'node:fs';
import path from 'node:path';

/** Names the hook reads from its environment. */
export const PUSH_ENV = { branches: 'MAKIMA_PUSH_BRANCHES', tasks: 'MAKIMA_PUSH_TASKS', worker: 'MAKIMA_PUSH_WORKER' } as const;

// $1 the ref, $2 its old value, $3 its new value (all zeros: none). Branch names and task ids are
// checked by makima (git's ref rules, UUIDs): no spaces or glob characters, safe to split and match.
const UPDATE_HOOK = `#!/bin/sh
# makima: the push rules (docs/design.md section 11); written by the server, do not edit.
ref=$1
old=$2
new=$3
refuse() {
  echo "makima: $ref refused: $*" >&2
  exit 1
}
case $new in *[!0]*) ;; *) refuse "refs are never deleted through makima" ;; esac
for branch in $${PUSH_ENV.branches}; do
  if [ "$ref" = "refs/heads/$branch" ]; then
    case $old in *[!0]*) ;; *) refuse "the task's branch does not exist here; push under refs/makima/tasks/<task>/ instead" ;; esac
    git merge-base --is-ancestor "$old" "$new" || refuse "only fast-forwards of the task's branch are accepted (it is at $old): fetch, rebase onto it and push again"
    exit 0
  fi
done
for task in $${PUSH_ENV.tasks}; do
  case $ref in
    refs/makima/tasks/$task/?*)
      case $old in *[!0]*) refuse "refs under refs/makima/tasks/ are create-only: push under a new name" ;; esac
      exit 0
      ;;
  esac
done
case $ref in
  refs/makima/checkpoints/*) refuse "checkpoint refs are written by the server only: push the commit to the task's branch, then call createCheckpoint with its commitSha" ;;
esac
refuse "worker $${PUSH_ENV.worker} may push only the branch of a task whose live lease it holds (\${${PUSH_ENV.branches}:-none}) and new refs under refs/makima/tasks/<that task>/"
`;

/** Writes the hooks into `dir` (once per content: an up-to-date hook is left alone) and returns `dir`. */
export function installPushHooks(dir: string): string {
  const file = path.join(dir, 'update');
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === UPDATE_HOOK) return dir;
  fs.mkdirSync(dir, { recursive: true });
  // Written aside and renamed, so a receive-pack never runs a half-written hook.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, UPDATE_HOOK, { mode: 0o755 });
  fs.renameSync(tmp, file);
  return dir;
}
