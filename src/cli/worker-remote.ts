// `makima worker --workdir DIR`: a worker on another machine (docs/design.md §11). It never reads
// the server's disk: each claim is made with `remote: true`, the task's code is fetched from the
// contract's gitUrl into DIR (src/git/clone.ts) and checked out at the recorded head, and a
// checkpoint is a local commit, pushed under the task's refs, then recorded with
// createCheckpoint(commitSha). A kill between the push and the record loses nothing: the commit
// stays under refs/makima/tasks/<task>/pending/, and the next claimant starts from the last
// recorded commit. Before the run lets the task go, uncommitted work is saved as a backup checkpoint.
import { GitError } from '../errors.js';
import { graphql } from '../generated/gql/index.js';
import { checkoutTask, commitTask, hasUncommittedWork, keepLocally, prepareWorkdir, pushCommit, type Remote } from '../git/index.js';
import { ApiError } from './client.js';
import { UsageError } from './output.js';
import type { Assignment, OpenWorkspace, RunTools } from './worker-run.js';

const RecordCheckpoint = graphql(`
  mutation CliRecordCheckpoint($input: CreateCheckpointInput!) {
    createCheckpoint(input: $input) { checkpoint { id number commitSha } }
  }
`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Makes DIR a workdir, or refuses the command line with the one reason it cannot be one. */
export function openWorkdir(dir: string): string {
  const problem = prepareWorkdir(dir);
  if (problem) throw new UsageError(`--workdir: ${problem}`);
  return dir;
}

/** The UUID an API global ID holds (refs and directories are named by it). */
function uuidOf(id: string): string {
  const uuid = UUID.test(id) ? id : Buffer.from(id, 'base64').toString('utf8').split(':')[1];
  if (!uuid || !UUID.test(uuid)) throw new Error(`not an ID the API returns: ${id}`);
  return uuid.toLowerCase();
}

/** Remote mode's workspace: the task's worktree in `workdir`, at the head the claim recorded. */
export function remoteWorkspace(workdir: string, token: string, stallSeconds?: number): OpenWorkspace {
  return async (assignment: Assignment, tools: RunTools) => {
    const taskId = uuidOf(assignment.task.id);
    const contract = assignment.task.contract;
    if (!contract) throw new Error(`task ${assignment.task.id} has no contract to fetch its code from`);
    const remote: Remote = { url: assignment.gitUrl, token, workerId: tools.workerId, stallSeconds };
    const { path, rescued } = await checkoutTask(workdir, remote, {
      contractId: uuidOf(contract.id),
      taskId,
      branch: assignment.branch,
      sha: assignment.commitSha,
    });
    if (rescued) tools.report('leftovers_kept', { taskId: assignment.task.id, commitSha: rescued }, `  kept the work an earlier run left uncommitted here as ${rescued.slice(0, 10)} (refs/makima/tasks/${taskId}/leftover/)`);
    tools.report('checked_out', { taskId: assignment.task.id, path, branch: assignment.branch, commitSha: assignment.commitSha }, `  checked out ${assignment.commitSha.slice(0, 10)} on ${assignment.branch} in ${path}`);

    /** Commit, push under the task's refs, record: each step may be cut by a kill and nothing recorded is half done. */
    async function save(message: string, isBackup: boolean, call: RunTools['call']) {
      const { sha } = await commitTask(path, assignment.branch, message);
      await pushCommit(path, remote, sha, `refs/makima/tasks/${taskId}/pending/${sha}`);
      const input = { taskId: assignment.task.id, workerId: tools.workerId, message, commitSha: sha, isBackup };
      const result = await call(() => tools.client.request(RecordCheckpoint, { input }));
      return { sha, checkpoint: result?.createCheckpoint.checkpoint };
    }

    return {
      path,
      checkpoint: async (message) => (await save(message, false, tools.call)).checkpoint,
      async saveLeftovers(lost) {
        if (!(await hasUncommittedWork(path))) return;
        const message = lost ? 'uncommitted work when the task was lost' : 'uncommitted work when the worker let the task go';
        try {
          // Once, not retried: the lease may be gone (lost, cancelled), and then the server refuses.
          const { checkpoint } = await save(message, true, (request) => request());
          if (checkpoint) tools.report('backup', { taskId: assignment.task.id, ...checkpoint }, `  backup checkpoint #${checkpoint.number} ${checkpoint.commitSha.slice(0, 10)} ${message}`);
        } catch (err) {
          if (!(err instanceof ApiError) && !(err instanceof GitError)) throw err;
          const { sha } = await commitTask(path, assignment.branch, message);
          const ref = `refs/makima/unsaved/${taskId}/${sha}`;
          await keepLocally(path, sha, ref);
          process.stderr.write(`makima worker: the server did not take the uncommitted work of task ${assignment.task.id} (${err.message}); it is kept here as ${sha} (${ref} in ${path})\n`);
        }
      },
    };
  };
}
