// Contracts: creation (with the supervisor task and its worktree) and moving through phases.
import type { AppContext, Viewer } from '../../context.js';
import { change } from '../../db/change.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors.js';
import { ContractPhase, type Contract } from '../../generated/prisma/client.js';
import { resolveRepository } from '../../git/repo.js';
import { assertName, changeWithWorktrees } from '../tasks/service.js';

export const PHASE_ORDER: ContractPhase[] = ['RESEARCH', 'SPECIFY', 'PLAN', 'EXECUTE', 'REVIEW', 'DONE'];
const MAX_DESCRIPTION_LENGTH = 20_000;

export interface CreateContractInput {
  name: string;
  description?: string | null;
  repositoryPath: string;
}

export async function createContract(ctx: AppContext, viewer: Viewer, input: CreateContractInput): Promise<Contract> {
  const name = assertName(input.name);
  if (input.description && input.description.length > MAX_DESCRIPTION_LENGTH) {
    throw new BadInputError(`description is longer than ${MAX_DESCRIPTION_LENGTH} characters`, 'description');
  }
  const repo = await resolveRepository(input.repositoryPath, ctx.config.reposRoot);
  return changeWithWorktrees(ctx, async (tx, record, provision) => {
    const contract = await tx.contract.create({
      data: { ownerId: viewer.id, name, description: input.description ?? null, repositoryPath: repo.path },
    });
    record({
      ownerId: viewer.id,
      contractId: contract.id,
      eventType: 'PHASE',
      eventSubtype: 'created',
      data: { name, to: contract.phase, repositoryPath: repo.path },
    });
    await provision({ owner: viewer, contract, name: `${name} supervisor`, isSupervisor: true, startCommit: repo.head });
    return contract;
  });
}

export async function findOwnContract(ctx: AppContext, viewer: Viewer, contractId: string): Promise<Contract> {
  const contract = await ctx.prisma.contract.findFirst({ where: { id: contractId, ownerId: viewer.id } });
  if (!contract) throw new NotFoundError('contract', contractId);
  return contract;
}

export async function advanceContractPhase(ctx: AppContext, viewer: Viewer, contractId: string, phase: ContractPhase): Promise<Contract> {
  const contract = await findOwnContract(ctx, viewer, contractId);
  const from = PHASE_ORDER.indexOf(contract.phase);
  const to = PHASE_ORDER.indexOf(phase);
  if (to <= from) {
    const later = PHASE_ORDER.slice(from + 1);
    throw new BadInputError(
      `contract is in ${contract.phase}; phases only move forward` +
        (later.length ? ` (to ${later.join(', ')})` : ' and DONE is the last one'),
      'phase',
    );
  }
  return change(ctx.prisma, async (tx, record) => {
    // Conditional on the phase we read: a concurrent advance makes this one a clear CONFLICT.
    const { count } = await tx.contract.updateMany({ where: { id: contract.id, phase: contract.phase }, data: { phase } });
    if (count === 0) throw new ConflictError(`contract ${contract.id} changed phase concurrently; read it again and retry`);
    record({
      ownerId: viewer.id,
      contractId: contract.id,
      eventType: 'PHASE',
      eventSubtype: 'changed',
      data: { from: contract.phase, to: phase },
    });
    return tx.contract.findUniqueOrThrow({ where: { id: contract.id } });
  });
}
