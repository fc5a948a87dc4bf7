// GraphQL: a minimal TaskEvent (API.md) so that Subscription.taskEvents can be served before the
// events module exists. When src/modules/events/schema.ts defines TaskEvent, this file goes and
// timeline/schema.ts imports the type from there (keeping `seq` and `cursor` for resuming).
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import { TaskEventType } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { nodeWhere } from '../../schema/ids.js';

export const TaskEventTypeEnum = builder.enumType(TaskEventType, { name: 'TaskEventType' });

/** The opaque cursor of a task event: pass it as `after` to resume its task's stream after it. */
export function taskEventCursor(seq: number): string {
  return formatPrismaCursor({ seq }, 'seq');
}

export const TaskEventRef = builder.prismaNode('TaskEvent', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'TaskEvent', { task: { ownerId: ctx.viewer?.id ?? '' } }),
  fields: (t) => ({
    type: t.expose('type', { type: TaskEventTypeEnum }),
    data: t.expose('data', { type: 'JSON' }),
    task: t.relation('task'),
    seq: t.exposeInt('seq', { description: "Position in its task's stream: 1, 2, …" }),
    cursor: t.string({ description: 'Pass as `after` to Subscription.taskEvents', resolve: (e) => taskEventCursor(e.seq) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
