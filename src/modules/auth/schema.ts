// GraphQL: the User type and `viewer`.
import { builder } from '../../schema/builder.js';
import { nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'User', { AND: [{ id: ctx.viewer?.id ?? '' }] }),
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.prismaField({
    type: 'User',
    resolve: (query, _root, _args, ctx) => ctx.prisma.user.findUniqueOrThrow({ ...query, where: { id: requireViewer(ctx).id } }),
  }),
);
