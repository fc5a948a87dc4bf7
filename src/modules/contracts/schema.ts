// GraphQL: Contract, its phases, and the contract queries and mutations.
import { NotFoundError } from '../../errors.js';
import { ContractPhase } from '../../generated/prisma/enums.js';
import { builder } from '../../schema/builder.js';
import { decodeId, nodeWhere } from '../../schema/ids.js';
import { requireViewer } from '../../schema/viewer.js';
import { advanceContractPhase, createContract } from './service.js';

export const ContractPhaseEnum = builder.enumType(ContractPhase, { name: 'ContractPhase' });

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
      resolve: (query, _root, _args, ctx) =>
        ctx.prisma.contract.findMany({ ...query, where: { ownerId: requireViewer(ctx).id }, orderBy: { createdAt: 'desc' } }),
    },
    { name: 'ContractConnection' },
  ),
  contract: t.prismaField({
    type: 'Contract',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = decodeId(String(args.id), 'Contract');
      const contract = await ctx.prisma.contract.findFirst({ ...query, where: { id, ownerId: requireViewer(ctx).id } });
      if (!contract) throw new NotFoundError('contract', String(args.id));
      return contract;
    },
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
    resolve: async (_root, { input }, ctx) => ({ contract: await createContract(ctx, requireViewer(ctx), input) }),
  }),
  advanceContractPhase: t.field({
    type: AdvanceContractPhasePayload,
    args: { input: t.arg({ type: AdvanceContractPhaseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      contract: await advanceContractPhase(ctx, requireViewer(ctx), decodeId(String(input.contractId), 'Contract', 'contractId'), input.phase),
    }),
  }),
}));
