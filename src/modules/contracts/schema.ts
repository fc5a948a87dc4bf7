// GraphQL: Contract, the contract queries and mutations, a contract's supervisor and tasks, and
// createTask (a task is created within a contract).
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { ContractPhaseEnum, TaskStatusEnum } from '../../schema/enums.js';
import { decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { TaskConnection, TaskRef } from '../tasks/schema.js';
import { advanceContractPhase, createContract, createTask, findOwnContract, findSupervisor } from './service.js';

export const ContractRef = builder.prismaNode('Contract', {
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Contract', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    phase: t.expose('phase', { type: ContractPhaseEnum }),
    repositoryPath: t.exposeString('repositoryPath'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  contracts: t.prismaConnection(
    {
      type: 'Contract',
      cursor: 'id',
      totalCount: (_root, _args, ctx) => ctx.prisma.contract.count({ where: { ownerId: requireViewer(ctx).id } }),
      resolve: (query, _root, _args, ctx) =>
        ctx.prisma.contract.findMany({ ...query, where: { ownerId: requireViewer(ctx).id }, orderBy: { createdAt: 'desc' } }),
    },
    {
      name: 'ContractConnection',
      extensions: { cursor: ID_CURSOR },
      // Pothos adds totalCount for a counting field; this declares it again with its description.
      fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, extensions: { pothosPrismaTotalCount: true }, resolve: resolveTotalCount }) }),
    },
  ),
  contract: t.prismaField({
    type: 'Contract',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => findOwnContract(ctx.prisma, requireViewer(ctx), decodeId(String(args.id), 'Contract'), query),
  }),
}));

const CreateContractInput = builder.inputType('CreateContractInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    repositoryPath: t.string({ required: true, description: 'A git repository inside MAKIMA_REPOS_ROOT' }),
  }),
});

const ContractPayload = (name: string) =>
  builder.simpleObject(name, {
    fields: (t) => ({ contract: t.field({ type: ContractRef, nullable: false }) }),
  });

const CreateContractPayload = ContractPayload('CreateContractPayload');
const AdvanceContractPhasePayload = ContractPayload('AdvanceContractPhasePayload');

const AdvanceContractPhaseInput = builder.inputType('AdvanceContractPhaseInput', {
  fields: (t) => ({
    contractId: t.id({ required: true }),
    phase: t.field({ type: ContractPhaseEnum, required: true }),
  }),
});

builder.mutationFields((t) => ({
  createContract: t.field({
    type: CreateContractPayload,
    args: { input: t.arg({ type: CreateContractInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ contract: await createContract(serviceContext(ctx), input) }),
  }),
  advanceContractPhase: t.field({
    type: AdvanceContractPhasePayload,
    args: { input: t.arg({ type: AdvanceContractPhaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      contract: await advanceContractPhase(serviceContext(ctx), { contractId: decodeId(String(input.contractId), 'Contract', 'contractId'), phase: input.phase }),
    }),
  }),
}));

builder.prismaObjectFields(ContractRef, (t) => ({
  supervisor: t.prismaField({
    type: 'Task',
    resolve: (query, contract, _args, ctx) => findSupervisor(ctx.prisma, requireViewer(ctx), contract.id, query),
  }),
  tasks: t.relatedConnection('tasks', {
    cursor: 'id',
    totalCount: true,
    args: { status: t.arg({ type: [TaskStatusEnum] }) },
    query: (args) => ({
      where: args.status?.length ? { status: { in: args.status } } : {},
      orderBy: { createdAt: 'asc' },
    }),
  }, TaskConnection),
}));

const CreateTaskInput = builder.inputType('CreateTaskInput', {
  fields: (t) => ({
    contractId: t.id({ required: true }),
    name: t.string({ required: true }),
    prompt: t.string(),
    continueFromTaskId: t.id({ description: "Start the new worktree at this task's head commit" }),
  }),
});

const CreateTaskPayload = builder.simpleObject('CreateTaskPayload', {
  fields: (t) => ({ task: t.field({ type: TaskRef, nullable: false }) }),
});

builder.mutationField('createTask', (t) =>
  t.field({
    type: CreateTaskPayload,
    args: { input: t.arg({ type: CreateTaskInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      task: await createTask(serviceContext(ctx), {
        contractId: decodeId(String(input.contractId), 'Contract', 'contractId'),
        name: input.name,
        prompt: input.prompt,
        continueFromTaskId: decodeOptionalId(input.continueFromTaskId as string | null | undefined, 'Task', 'continueFromTaskId'),
      }),
    }),
  }),
);
