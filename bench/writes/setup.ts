// The data bench:writes writes into: users (through createUser, so their tokens work), one contract
// each, and tasks — each writer appends to a task of its own. Rows are inserted directly (no git
// repository is needed to append messages or record task events to a task).
import type { Database } from '../../src/db/database.js';
import { createUser } from '../../src/modules/auth/service.js';

export interface SeededTask {
  id: string;
  contractId: string;
  ownerId: string;
}

export interface SeededUser {
  id: string;
  token: string;
  tasks: SeededTask[];
}

/** One user per entry of `tasksPerUser`, with that many PENDING tasks on one contract of theirs. */
export async function seed(db: Database, tasksPerUser: number[], label: string): Promise<SeededUser[]> {
  const users: SeededUser[] = [];
  for (const [u, count] of tasksPerUser.entries()) {
    const user = await createUser(db.prisma, `${label}-${u + 1}`, 'bench');
    const [contract] = await db.query<{ id: string }>(
      `INSERT INTO contracts (id, owner_id, name, short_name, description, phase, repository_path, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $2, 'bench:writes', 'execute', '/srv/repos/bench-writes', now()) RETURNING id`,
      [user.id, `${label}-${u + 1}`],
    );
    const tasks = await db.query<{ id: string }>(
      `INSERT INTO tasks (id, owner_id, contract_id, number, name, prompt, status, is_supervisor, worktree_path, branch, base_commit, head_commit, updated_at)
       SELECT gen_random_uuid(), $1, $2, i, 'writer-' || i, 'bench:writes writer ' || i, 'pending', false,
              '/srv/worktrees/bench-writes-' || i, 'makima/bench-writes-' || $3 || '-' || i, repeat('a', 40), repeat('a', 40), now()
         FROM generate_series(1, $4::int) i
        ORDER BY i
       RETURNING id`,
      [user.id, contract.id, `${u + 1}`, count],
    );
    await db.query('UPDATE users SET last_task_number = $2 WHERE id = $1', [user.id, count]);
    users.push({ id: user.id, token: user.token, tasks: tasks.map((t) => ({ id: t.id, contractId: contract.id, ownerId: user.id })) });
  }
  return users;
}
