// How commands read the objects people name: IDs (opaque global IDs or raw UUIDs), checkpoint
// numbers (`#3`, or just `3`), and rewind targets that may be a message or a snapshot.
import { graphql } from '../generated/gql/index.js';
import { ApiError, type ApiClient } from './client.js';
import { CliError, UsageError } from './output.js';
import { taskCheckpoints } from './task-checkpoints.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A checkpoint number: `#3` or a bare `3` (no ID is all digits). */
const CHECKPOINT_NUMBER = /^#?(\d+)$/;

/** The typename inside a global ID ("Checkpoint" for base64 "Checkpoint:<uuid>"), if it is one. */
export function globalIdType(id: string): string | undefined {
  if (UUID.test(id) || !/^[A-Za-z0-9+/]+=*$/.test(id)) return undefined;
  const [typename, uuid] = Buffer.from(id, 'base64').toString('utf8').split(':');
  return uuid && UUID.test(uuid) ? typename : undefined;
}

/** The global ID the API gives the object `typename` with this UUID. */
export function globalId(typename: string, uuid: string): string {
  return Buffer.from(`${typename}:${uuid}`).toString('base64');
}

/** A checkpoint argument: `#3` or `3` (the task's checkpoint number 3) or a checkpoint ID, passed as is. */
export async function resolveCheckpoint(client: ApiClient, task: string, arg: string): Promise<string> {
  const number = CHECKPOINT_NUMBER.exec(arg);
  if (!number) return arg;
  return (await checkpointByNumber(client, task, Number(number[1]))).id;
}

async function checkpointByNumber(client: ApiClient, task: string, number: number) {
  const { task: found, checkpoints } = await taskCheckpoints(client, task);
  const checkpoint = checkpoints.find((c) => c.number === number);
  if (checkpoint) return checkpoint;
  const range = checkpoints.length ? `it has #1–#${checkpoints[checkpoints.length - 1].number}` : 'it has no checkpoints';
  throw new CliError(`task ${found.name} (${found.id}) has no checkpoint #${number}; ${range}`, 'NOT_FOUND');
}

/** A snapshot argument: `#3` (the snapshot taken with the task's checkpoint 3) or a snapshot ID, passed as is. */
export async function resolveSnapshot(client: ApiClient, task: () => Promise<string>, arg: string): Promise<string> {
  const number = CHECKPOINT_NUMBER.exec(arg);
  if (!number) return arg;
  const target = snapshotOf(await checkpointByNumber(client, await task(), Number(number[1])), arg);
  return target.toSnapshotId;
}

const Supervisor = graphql(`
  query CliContractSupervisor($contract: ID!) {
    contract(id: $contract) { id supervisor { id } }
  }
`);

/** The ID of a contract's supervisor task. */
export async function supervisorOf(client: ApiClient, contract: string): Promise<string> {
  const data = await client.request(Supervisor, { contract });
  if (!data.contract) throw new CliError(`contract ${contract} was not found`, 'NOT_FOUND');
  return data.contract.supervisor.id;
}

export type RewindTarget = { toMessageId: string } | { toSnapshotId: string };

const NodeExists = graphql(`
  query CliNodeExists($id: ID!) { node(id: $id) { id } }
`);

const CheckpointSnapshot = graphql(`
  query CliCheckpointSnapshot($checkpoint: ID!) {
    node(id: $checkpoint) { __typename ... on Checkpoint { id number snapshot { id } } }
  }
`);

/**
 * Where `rewind-conversation --to` points: a message or snapshot global ID is used as its type
 * says; a checkpoint (`#3` of `task`, or a checkpoint ID) means the snapshot taken with it; a raw
 * UUID is looked up as a message first, then as a snapshot.
 */
export async function resolveRewindTarget(client: ApiClient, task: () => Promise<string>, arg: string): Promise<RewindTarget> {
  const number = CHECKPOINT_NUMBER.exec(arg);
  if (number) return snapshotOf(await checkpointByNumber(client, await task(), Number(number[1])), arg);
  switch (globalIdType(arg)) {
    case 'ConversationMessage':
      return { toMessageId: arg };
    case 'ConversationSnapshot':
      return { toSnapshotId: arg };
    case 'Checkpoint': {
      const { node } = await client.request(CheckpointSnapshot, { checkpoint: arg });
      if (node?.__typename !== 'Checkpoint') throw new CliError(`checkpoint ${arg} was not found`, 'NOT_FOUND');
      return snapshotOf(node, arg);
    }
    case undefined:
      break;
    default:
      throw new UsageError(`--to: ${arg} is a ${globalIdType(arg)} ID; give a message or snapshot ID, or a checkpoint number like #3`);
  }
  if (!UUID.test(arg)) throw new UsageError(`--to: "${arg}" is neither a message or snapshot ID nor a checkpoint number like #3`);
  if (await exists(client, globalId('ConversationMessage', arg))) return { toMessageId: arg };
  if (await exists(client, globalId('ConversationSnapshot', arg))) return { toSnapshotId: arg };
  throw new CliError(`--to: no message or snapshot ${arg} was found`, 'NOT_FOUND');
}

/** Whether the viewer can see the node: Query.node answers NOT_FOUND for anything else. */
async function exists(client: ApiClient, id: string): Promise<boolean> {
  try {
    return Boolean((await client.request(NodeExists, { id })).node);
  } catch (err) {
    if (err instanceof ApiError && err.codes.includes('NOT_FOUND')) return false;
    throw err;
  }
}

function snapshotOf(checkpoint: { number: number; snapshot?: { id: string } | null }, arg: string): { toSnapshotId: string } {
  if (!checkpoint.snapshot) throw new CliError(`checkpoint #${checkpoint.number} (${arg}) has no conversation snapshot to rewind to`, 'NOT_FOUND');
  return { toSnapshotId: checkpoint.snapshot.id };
}
