// GraphQL: Contract, the contract queries and mutations, a contract's supervisor and tasks, and
// createTask (a task is created within a contract).
import type { Context } from '../../context.js';
import { gitUrl, publicBase } from '../../http/git-url.js';
import { builder } from '../../schema/builder.js';
import { ID_CURSOR } from '../../schema/cursors.js';
import { ContractPhaseEnum, TaskStatusEnum } from '../../schema/enums.js';
import { byIdOrRef, decodeId, decodeOptionalId, nodeWhere } from '../../schema/ids.js';
import { requireViewer, serviceContext } from '../../schema/viewer.js';
import { resolveTotalCount, TOTAL_COUNT_DESCRIPTION } from '../../schema/total-count.js';
import { TaskConnection, TaskRef } from '../tasks/schema.js';
import { resolveContractRef } from './refs.js';
import { advanceContractPhase, createContract, createTask, findOwnContract, findSupervisor } from './service.js';

export const ContractRef = builder.prismaNode('Contract', {
  description: 'A unit of work on one git repository, moving through phases RESEARCH → … → DONE, with a supervisor task and the tasks it runs',
  id: { field: 'id' },
  findUnique: (id, ctx) => nodeWhere(id, 'Contract', { ownerId: ctx.viewer?.id ?? '' }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'A name for people (at most 200 characters)' }),
    shortName: t.exposeString('shortName', {
      description: "Unique among your contracts: lower-case letters, digits and dashes, at most 40 characters; the slug of the name unless given at creation. Query.contract(ref:) finds it",
    }),
    description: t.exposeString('description', { nullable: true, description: 'What the contract is for (at most 20,000 characters)' }),
    phase: t.expose('phase', { type: ContractPhaseEnum, description: 'The current phase' }),
    repositoryPath: t.exposeString('repositoryPath', { description: 'The git repository, as given at creation (inside MAKIMA_REPOS_ROOT); if it moves, operations that need it are GIT_ERROR until it is back' }),
    gitUrl: t.string({
      description:
        "The repository's clone URL over git's smart HTTP protocol, on the API's own host (MAKIMA_PUBLIC_URL when set): fetch with any of your tokens " +
        '(git -c http.extraHeader="Authorization: Bearer <token>"); a worker pushes the task it holds with a WORKER or FULL token and a Makima-Worker header',
      resolve: (contract, _args, ctx) => gitUrl(publicBase(ctx.config, (ctx as Context & { request?: Request }).request), contract.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the contract was created' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the contract last changed (its phase)' }),
  }),
});

builder.queryFields((t) => ({
  contracts: t.prismaConnection(
    {
      type: 'Contract',
      cursor: 'id',
      description: 'Your contracts, newest first',
      totalCount: (_root, _args, ctx) => ctx.prisma.contract.count({ where: { ownerId: requireViewer(ctx).id } }),
      resolve: (query, _root, _args, ctx) =>
        ctx.prisma.contract.findMany({ ...query, where: { ownerId: requireViewer(ctx).id }, orderBy: { createdAt: 'desc' } }),
    },
    {
      name: 'ContractConnection',
      description: 'A page of contracts',
      extensions: { cursor: ID_CURSOR },
      // Pothos adds totalCount for a counting field; this declares it again with its description.
      fields: (t) => ({ totalCount: t.int({ description: TOTAL_COUNT_DESCRIPTION, extensions: { pothosPrismaTotalCount: true }, resolve: resolveTotalCount }) }),
    },
    { description: 'A contract and its cursor' },
  ),
  contract: t.prismaField({
    type: 'Contract',
    nullable: true,
    description:
      'One of your contracts, by `id` or by `ref` (exactly one of them); NOT_FOUND when it is not yours or does not exist. ' +
      'A ref that names several of your contracts is BAD_USER_INPUT, with each in extensions.candidates ({ id, shortName, name })',
    args: {
      id: t.arg.id({ description: 'A Contract ID (or its UUID)' }),
      ref: t.arg.string({
        description:
          'What a person types: the short name, the name (any case), a unique prefix of the short name or (at least 4 characters) of the UUID, ' +
          'or an ID; the first of these ways that matches decides',
        extensions: { maxLength: 200 },
      }),
    },
    resolve: async (query, _root, args, ctx) => {
      const viewer = requireViewer(ctx);
      const id = await byIdOrRef(args, 'Contract', (ref) => resolveContractRef(ctx.prisma, viewer, ref));
      return findOwnContract(ctx.prisma, viewer, id, query);
    },
  }),
}));

const CreateContractInput = builder.inputType('CreateContractInput', {
  description: 'A new contract on a repository',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Not empty, at most 200 characters' }),
    shortName: t.string({
      description:
        'Unique among your contracts (CONFLICT when taken): lower-case letters, digits and single dashes, at most 40 characters (BAD_USER_INPUT otherwise). ' +
        'Default: the slug of the name, with -2, -3… when taken',
      extensions: { maxLength: 40 },
    }),
    description: t.string({ description: 'At most 20,000 characters' }),
    repositoryPath: t.string({
      required: true,
      description: 'A git repository inside MAKIMA_REPOS_ROOT, its git directory too (BAD_USER_INPUT otherwise; nothing is written to it)',
    }),
    branchlessSupervisor: t.boolean({
      defaultValue: false,
      description:
        'The supervisor gets no worktree and no makima/* branch until its first claim, like an imported session: for a contract that holds ' +
        "sessions captured or imported from the repository's own working tree (makima capture creates its contracts so), which leaves the branch list as it was",
    }),
  }),
});

const ContractPayload = (name: string, description: string) =>
  builder.simpleObject(name, {
    description,
    fields: (t) => ({ contract: t.field({ type: ContractRef, nullable: false, description: 'The contract, as it is now' }) }),
  });

const CreateContractPayload = ContractPayload('CreateContractPayload', 'What createContract made');
const AdvanceContractPhasePayload = ContractPayload('AdvanceContractPhasePayload', 'What advanceContractPhase changed');

const AdvanceContractPhaseInput = builder.inputType('AdvanceContractPhaseInput', {
  description: 'A contract and the phase it moves to',
  fields: (t) => ({
    contractId: t.id({ required: true, description: 'A Contract ID (or its UUID)' }),
    phase: t.field({ type: ContractPhaseEnum, required: true, description: 'A later phase than the current one (phases never go back: BAD_USER_INPUT)' }),
  }),
});

builder.mutationFields((t) => ({
  createContract: t.field({
    type: CreateContractPayload,
    description:
      'Creates a contract in phase RESEARCH and its supervisor task (PENDING, with its own worktree and branch); writes PHASE/created and TASK/created. ' +
      'BAD_USER_INPUT for a name, description or repository that is not acceptable; GIT_ERROR when git cannot make the worktree',
    args: { input: t.arg({ type: CreateContractInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({ contract: await createContract(serviceContext(ctx), input) }),
  }),
  advanceContractPhase: t.field({
    type: AdvanceContractPhasePayload,
    description:
      'Moves a contract forward to a later phase; writes PHASE/changed. BAD_USER_INPUT for a phase that is not later, NOT_FOUND for a contract not yours, ' +
      'CONFLICT when it changed phase concurrently (read it again and retry)',
    args: { input: t.arg({ type: AdvanceContractPhaseInput, required: true, description: 'The arguments, as one object' }) },
    resolve: async (_root, { input }, ctx) => ({
      contract: await advanceContractPhase(serviceContext(ctx), { contractId: decodeId(String(input.contractId), 'Contract', 'contractId'), phase: input.phase }),
    }),
  }),
}));

builder.prismaObjectFields(ContractRef, (t) => ({
  supervisor: t.prismaField({
    type: 'Task',
    description: "The contract's supervisor task, created with it",
    resolve: (query, contract, _args, ctx) => findSupervisor(ctx.prisma, requireViewer(ctx), contract.id, query),
  }),
  tasks: t.relatedConnection('tasks', {
    cursor: 'id',
    totalCount: true,
    description: 'The tasks of this contract (the supervisor included), oldest first',
    args: { status: t.arg({ type: [TaskStatusEnum], description: 'Only tasks in one of these statuses (at most 100)' }) },
    query: (args) => ({
      where: args.status?.length ? { status: { in: args.status } } : {},
      orderBy: { createdAt: 'asc' },
    }),
  }, TaskConnection),
}));

const CreateTaskInput = builder.inputType('CreateTaskInput', {
  description: 'A new task in a contract',
  fields: (t) => ({
    contractId: t.id({ required: true, description: 'A Contract ID (or its UUID)' }),
    name: t.string({ required: true, description: 'Not empty, at most 200 characters' }),
    prompt: t.string({ description: 'What the agent is to do, at most 100,000 characters' }),
    continueFromTaskId: t.id({ description: "Start the new worktree at this task's current commit (a task of the same contract, else BAD_USER_INPUT)" }),
  }),
});

const CreateTaskPayload = builder.simpleObject('CreateTaskPayload', {
  description: 'What createTask made',
  fields: (t) => ({ task: t.field({ type: TaskRef, nullable: false, description: 'The new task, PENDING (reason NEW)' }) }),
});

builder.mutationField('createTask', (t) =>
  t.field({
    type: CreateTaskPayload,
    description:
      'Creates a PENDING task with its own worktree and branch, at the repository head or at the commit of continueFromTaskId; writes TASK/created ' +
      '(TASK/continued for a continuation). BAD_USER_INPUT for a bad name or prompt, NOT_FOUND for a contract or task not yours, GIT_ERROR when git cannot make the worktree',
    args: { input: t.arg({ type: CreateTaskInput, required: true, description: 'The arguments, as one object' }) },
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
