// Who may push what over git (docs/design.md §11): a worker, into the refs of the tasks whose live
// lease it holds — the branch of each such task whose code lives in the repository (a remote
// claim), and new refs under refs/makima/tasks/<task>/. Decided when the push arrives, by the
// database's clock; git's receive-pack then enforces it ref by ref (git/push-hook.ts).
import type { ServiceContext } from '../../context.js';
import type { PushRights } from '../../git/index.js';
import { assertWorkerId } from '../../change/access.js';

export async function pushRights(ctx: ServiceContext, input: { contractId: string; workerId: string }): Promise<PushRights> {
  const workerId = assertWorkerId(input.workerId);
  const held = await ctx.prisma.$queryRaw<{ id: string; branch: string | null; code_in_refs: boolean }[]>`
    SELECT id, branch, code_in_refs FROM tasks
     WHERE owner_id = ${ctx.viewer.id}::uuid AND contract_id = ${input.contractId}::uuid
       AND makima_lease_held(tasks, ${workerId}) AND cancel_requested_at IS NULL AND archived_at IS NULL
     ORDER BY id`;
  return {
    workerId,
    // A branch checked out in a server worktree is not pushable (git would refuse it anyway).
    branches: held.filter((t) => t.code_in_refs && t.branch).map((t) => t.branch as string),
    taskIds: held.map((t) => t.id),
  };
}
