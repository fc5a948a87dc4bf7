// What the CLI shows in place of the API's raw UUIDs and mutation names, and the times --since takes.
import { describe, expect, it } from 'vitest';
import { displayData, displayText } from '../../src/cli/display.js';
import { globalId as toGlobalId } from '../../src/global-id.js';
import { parseTime } from '../../src/cli/since.js';

const U1 = '4e0b4d9a-2a50-4b5c-9a0e-8d1c2a7b9f10';
const U2 = '0d6f2c8e-9b1a-4c3d-8e7f-6a5b4c3d2e1f';

describe('displayText', () => {
  it('names a UUID by the global ID of the type the word before it says', () => {
    expect(displayText(`task ${U1} is RUNNING; the supervisor ${U2}`)).toBe(`task ${toGlobalId('Task', U1)} is RUNNING; the supervisor ${toGlobalId('Task', U2)}`);
    expect(displayText(`rewound to snapshot ${U1}; checkpoint ${U2}`)).toBe(`rewound to snapshot ${toGlobalId('ConversationSnapshot', U1)}; checkpoint ${toGlobalId('Checkpoint', U2)}`);
  });

  it('names CLI commands instead of mutations, and leaves global IDs and other text alone', () => {
    expect(displayText('Fork it (forkTask) or start a task that continues from it (createTask with continueFromTaskId).')).toBe(
      'Fork it (`makima task fork`) or start a task that continues from it (`makima task create --continue-from <task>`).',
    );
    const global = toGlobalId('Task', U1);
    expect(displayText(`task ${global} is done`)).toBe(`task ${global} is done`);
    expect(displayText(`worker ${U1}`)).toBe(`worker ${U1}`); // no type to name it by
  });
});

describe('displayData', () => {
  it('turns IDs under keys that name their type into global IDs, at any depth', () => {
    const data = { checkpointId: U1, backupSnapshotId: U2, headId: U1, fromTaskId: U2, workerId: U1, nested: [{ toMessageId: U2 }], note: `task ${U1} resumed` };
    expect(displayData(data)).toEqual({
      checkpointId: toGlobalId('Checkpoint', U1),
      backupSnapshotId: toGlobalId('ConversationSnapshot', U2),
      headId: toGlobalId('ConversationMessage', U1),
      fromTaskId: toGlobalId('Task', U2),
      workerId: U1, // a worker names itself; not a node
      nested: [{ toMessageId: toGlobalId('ConversationMessage', U2) }],
      note: `task ${toGlobalId('Task', U1)} resumed`,
    });
  });
});

describe('parseTime', () => {
  const now = Date.parse('2026-03-10T12:00:00.000Z');
  it('takes how long ago, and ISO 8601 dates and times with a zone', () => {
    expect(parseTime('2h', now)).toBe('2026-03-10T10:00:00.000Z');
    expect(parseTime('3d', now)).toBe('2026-03-07T12:00:00.000Z');
    expect(parseTime('90s', now)).toBe('2026-03-10T11:58:30.000Z');
    expect(parseTime('1w', now)).toBe('2026-03-03T12:00:00.000Z');
    expect(parseTime('2026-03-01', now)).toBe('2026-03-01T00:00:00.000Z');
    expect(parseTime('2026-03-01T08:30:00+02:00', now)).toBe('2026-03-01T06:30:00.000Z');
  });

  it('refuses anything else', () => {
    for (const bad of ['yesterday', '2 hours', '-3d', '2026-03-01T08:30', '2026-13-01', '']) expect(() => parseTime(bad, now), bad).toThrow(/ISO 8601/);
  });
});
