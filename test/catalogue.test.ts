// The history event catalogue (src/change/catalogue.ts): the table in docs/api.md is generated
// from it, every event a real flow writes matches its schema, and HistoryEvent.details serves the
// same data typed, with global IDs.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withEventTable } from '../scripts/event-table.js';
import { eventSchema } from '../src/change/catalogue.js';
import { rawId, startTestServer, type TestServer } from './harness.js';
import { checkpoint, RewindTask, say, taskOnRepo } from './fixtures.js';
import { write } from './worktrees.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

const Details = `query($id: ID!) { task(id: $id) { history(first: 100) { edges { node { eventType eventSubtype data details {
  __typename
  ... on CheckpointRewoundDetails { checkpointId number mode backupCheckpointId backupCheckpointNumber commitSha }
  ... on ChatMessageDetails { count headId messageCount roles }
  ... on FileChangedDetails { number files { path status } truncated }
  ... on TaskCreatedDetails { name branch isSupervisor }
} } } } } }`;

describe('the history event catalogue', () => {
  it("is the source of the manual's event table in docs/api.md (run `npm run docs:events` after changing it)", () => {
    const page = fs.readFileSync(path.join(import.meta.dirname, '..', 'docs', 'api.md'), 'utf8');
    expect(page).toBe(withEventTable(page));
  });

  it('describes every event a flow of appends, checkpoints and a rewind writes, and serves them typed as details', async () => {
    const user = await t.createUser();
    const f = await taskOnRepo(t, user);
    await say(user, f.taskId, 'one', 'two');
    write(f.worktree, { 'a.txt': 'a\n' });
    const first = await checkpoint(user, f.taskId, 'first');
    write(f.worktree, { 'b.txt': 'b\n' });
    await checkpoint(user, f.taskId, 'second');
    await user.ok(RewindTask, { input: { taskId: f.taskId, checkpointId: first.id, mode: 'BOTH' } });

    const rows = await t.db.prisma.historyEvent.findMany({ where: { ownerId: user.id } });
    expect(rows.length).toBeGreaterThan(6);
    for (const row of rows) {
      const schema = eventSchema(row.eventType, row.eventSubtype);
      expect(schema, `${row.eventType}/${row.eventSubtype} is in the catalogue`).toBeDefined();
      expect(schema!.safeParse(row.eventData).error?.issues ?? [], `${row.eventType}/${row.eventSubtype}`).toEqual([]);
    }

    const history = (await user.ok(Details, { id: f.taskId })).task.history.edges.map((e: { node: unknown }) => e.node);
    for (const event of history) expect(event.details.__typename).toMatch(/Details$/);
    const rewound = history.find((e: { eventSubtype: string; eventType: string }) => e.eventType === 'CHECKPOINT' && e.eventSubtype === 'rewound');
    expect(rewound.details).toMatchObject({ __typename: 'CheckpointRewoundDetails', number: 1, mode: 'BOTH', checkpointId: first.id, backupCheckpointNumber: 3 });
    // data serves the same global IDs as details (it is stored with raw UUIDs).
    expect(rewound.data.backupCheckpointId).toBe(rewound.details.backupCheckpointId);
    expect(rewound.data.checkpointId).toBe(first.id);
    const message = history.find((e: { details: { __typename: string } }) => e.details.__typename === 'ChatMessageDetails');
    expect(message.details).toMatchObject({ count: 2, messageCount: 2, roles: ['USER', 'ASSISTANT'] });
    const files = history.find((e: { eventType: string }) => e.eventType === 'FILE');
    expect(files.details.files).toEqual(expect.arrayContaining([{ path: expect.any(String), status: 'ADDED' }]));
  });
});
