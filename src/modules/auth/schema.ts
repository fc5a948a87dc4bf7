// GraphQL: the User type and `viewer`.
import { builder } from '../../schema/builder.js';
import { nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';

export const UserRef = builder.prismaNode('User', {
  description: 'A person (or team) with API tokens; everything they create is theirs alone',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'User', { AND: [{ id: ctx.viewer?.id ?? '' }] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The name given at `makima user create`' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    description: 'The user whose token made this request',
    resolve: (query, _root, _args, ctx) => ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: requireViewer(ctx).id } }),
  }),
);
