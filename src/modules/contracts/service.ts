// Contracts: creation (with the supervisor task and its worktree), moving through phases, the
// contract's supervisor, and the tasks a contract is given (createTask, with worktree inheritance).
import type { ServiceContext, Viewer } from '../../context.js';
import { change, type Tx } from '../../db/change.js';
import { BadInputError, ConflictError, NotFoundError } from '../../errors.js';
import { ContractPhase, type Contract, type Prisma, type PrismaClient, type Task } from '../../generated/prisma/client.js';
import { historyEvent } from '../../change/catalogue.js';
import { assertContractOpen, findOwnTask } from '../../change/access.js';
import { changeWithGit } from '../../change/with-git.js';
import { assertName, assertPrompt, currentHead, provisionTask, repositoryHead } from '../tasks/index.js';
import { assertShortName, chooseShortName, lockOwner } from './short-name.js';

/** The phases in order: the order of the enum in prisma/schema.prisma, their one source. */
export const PHASE_ORDER: ContractPhase[] = Object.values(ContractPhase);
const MAX_DESCRIPTION_LENGTH = 20_000;

type Db = Tx | PrismaClient;

/** The viewer's contract, or NOT_FOUND (another user's contract is indistinguishable from a missing one). */
export async function findOwnContract(db: Db, viewer: Viewer, contractId: string, query: Omit<Prisma.ContractFindFirstArgs, 'where'> = {}): Promise<Contract> {
  const contract = await db.contract.findFirst({ ...query, where: { id: contractId, ownerId: viewer.id } });
  if (!contract) throw new NotFoundError('contract', contractId);
  return contract;
}

/** The supervisor task of one of the viewer's contracts; NOT_FOUND for a contract that is not theirs. */
export async function findSupervisor(db: Db, viewer: Viewer, contractId: string, query: Omit<Prisma.TaskFindFirstArgs, 'where'> = {}): Promise<Task> {
  const supervisor = await db.task.findFirst({ ...query, where: { contractId, ownerId: viewer.id, isSupervisor: true } });
  if (!supervisor) throw new NotFoundError('contract', contractId);
  return supervisor;
}

/** CONFLICT: an archived contract takes no new work. */
/**
 * Inside a change that adds a task to a contract: locks the contract's row FOR SHARE until the
 * change commits, and CONFLICT if it is archived. archiveContract takes the row FOR UPDATE first, so
 * the two are ordered: the archive waits for the new task (and archives it too), or the new task
 * waits for the archive (and is refused) — a task never lands in an archived contract (docs/design.md §9).
 */
export async function lockOpenContract(tx: Tx, contractId: string): Promise<void> {
  const [row] = await tx.$queryRaw<{ id: string; archived_at: Date | null }[]>`SELECT id, archived_at FROM contracts WHERE id = ${contractId}::uuid FOR SHARE`;
  if (row) assertContractOpen({ id: row.id, archivedAt: row.archived_at }, 'create a task in it');
}

export interface CreateContractInput {
  name: string;
  /** Unique among the owner's contracts; derived from the name when not given (short-name.ts). */
  shortName?: string | null;
  description?: string | null;
  repositoryPath: string;
  /** The supervisor takes no worktree or branch until its first claim (docs/design.md §12). */
  branchlessSupervisor?: boolean | null;
}

export async function createContract(ctx: ServiceContext, input: CreateContractInput): Promise<Contract> {
  const name = assertName(input.name);
  if (input.description && input.description.length > MAX_DESCRIPTION_LENGTH) {
    throw new BadInputError(`description is longer than ${MAX_DESCRIPTION_LENGTH} characters`, 'description');
  }
  if (input.shortName != null) assertShortName(input.shortName);
  const repo = await ctx.git.resolveRepository(input.repositoryPath, ctx.config.reposRoot);
  return changeWithGit(ctx, 'create contract', async (change) => {
    await lockOwner(change.tx, ctx.viewer.id);
    const shortName = await chooseShortName(change.tx, ctx.viewer.id, name, input.shortName);
    const contract = await change.tx.contract.create({
      data: { ownerId: ctx.viewer.id, name, shortName, description: input.description ?? null, repositoryPath: repo.path },
    });
    change.record(historyEvent({ ownerId: ctx.viewer.id, contractId: contract.id }, 'PHASE', 'created', { name, to: contract.phase, repositoryPath: repo.path }));
    await provisionTask(ctx, change, { contract, name: `${name} supervisor`, isSupervisor: true, startCommit: repo.head, branchless: input.branchlessSupervisor ?? false });
    return contract;
  });
}

export async function advanceContractPhase(ctx: ServiceContext, input: { contractId: string; phase: ContractPhase }): Promise<Contract> {
  const contract = await findOwnContract(ctx.prisma, ctx.viewer, input.contractId);
  assertContractOpen(contract, 'advance its phase');
  const { phase } = input;
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
    const { count } = await tx.contract.updateMany({ where: { id: contract.id, phase: contract.phase, archivedAt: null }, data: { phase } });
    if (count === 0) {
      const now = await tx.contract.findUniqueOrThrow({ where: { id: contract.id } });
      assertContractOpen(now, 'advance its phase');
      throw new ConflictError(`contract ${contract.id} changed phase concurrently; read it again and retry`);
    }
    record(historyEvent({ ownerId: ctx.viewer.id, contractId: contract.id }, 'PHASE', 'changed', { from: contract.phase, to: phase }));
    return tx.contract.findUniqueOrThrow({ where: { id: contract.id } });
  });
}

export interface CreateTaskInput {
  contractId: string;
  name: string;
  prompt?: string | null;
  continueFromTaskId?: string;
}

/** A new task of a contract; with continueFromTaskId its worktree starts at that task's current commit. */
export async function createTask(ctx: ServiceContext, input: CreateTaskInput): Promise<Task> {
  const name = assertName(input.name);
  const prompt = assertPrompt(input.prompt);
  const contract = await findOwnContract(ctx.prisma, ctx.viewer, input.contractId);
  // An archived contract takes no new work (checked again under the contract's lock below).
  assertContractOpen(contract, 'create a task in it');
  let startCommit = await repositoryHead(ctx, contract);
  let previous: Task | undefined;
  if (input.continueFromTaskId) {
    previous = await findOwnTask(ctx.prisma, ctx.viewer, input.continueFromTaskId);
    if (previous.contractId !== contract.id) {
      throw new BadInputError('continueFromTaskId must be a task of the same contract', 'continueFromTaskId');
    }
    startCommit = await currentHead(ctx, previous);
  }
  return changeWithGit(ctx, 'create task', async (change) => {
    await lockOpenContract(change.tx, contract.id);
    return provisionTask(ctx, change, {
      contract,
      name,
      prompt,
      startCommit,
      data: previous ? { continuedFromTaskId: previous.id } : {},
      continuedFrom: previous ? { fromTaskId: previous.id, commit: startCommit } : undefined,
    });
  });
}
