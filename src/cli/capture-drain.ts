// The drainer of `makima capture` (docs/claude-code.md): sends the spool's events to the server in
// the order they happened, one drainer at a time (a lock file naming its pid). An event leaves the
// spool only once the server has answered it, so nothing is lost when the server is down or the
// drainer is killed; one sent twice (killed between the answer and the removal) changes nothing,
// since an import adds only records it has not seen and a checkpoint of the task's head commit is
// the same checkpoint. Run detached by the hook, or in the foreground by `makima capture --flush`.
import fs from 'node:fs';
import path from 'node:path';
import { graphql } from '../generated/gql/index.js';
import { allNodes, ApiError, clientFrom, type ApiClient } from './client.js';
import { logProblem, spoolDir, writeDurably, type SpoolEntry } from './capture.js';
import { CliError } from './output.js';

const Contracts = graphql(`
  query CaptureContracts($after: String) {
    contracts(first: 100, after: $after) { edges { node { id repositoryPath archivedAt } } pageInfo { hasNextPage endCursor } }
  }
`);
const CreateContract = graphql(`
  mutation CaptureCreateContract($input: CreateContractInput!) { createContract(input: $input) { contract { id } } }
`);
const Import = graphql(`
  mutation CaptureImport($input: ImportTranscriptInput!) { importTranscript(input: $input) { task { id } messageCount } }
`);
const Checkpoint = graphql(`
  mutation CaptureCheckpoint($input: CreateCheckpointInput!) { createCheckpoint(input: $input) { checkpoint { id number } } }
`);

/** What the drainer remembers between runs: each repository's contract, each session's task and the contract it is in. */
interface Known {
  contracts: Record<string, string>;
  tasks: Record<string, string>;
  sessionContracts: Record<string, string>;
}

export interface DrainResult {
  sent: number;
  dropped: number;
  /** Events left in the spool (the server could not be reached, or refused the token). */
  left: number;
  /** Why the drain stopped early, if it did. */
  stopped?: string;
}

/** Errors that will not go away by sending again: the event is dropped (and logged). */
const PERMANENT = new Set(['BAD_USER_INPUT', 'CONFLICT', 'NOT_FOUND']);

function isPermanent(err: unknown): err is ApiError {
  return err instanceof ApiError && err.codes.some((c) => PERMANENT.has(c));
}

function readKnown(file: string): Known {
  try {
    const known = JSON.parse(fs.readFileSync(file, 'utf8')) as Known;
    return { contracts: known.contracts ?? {}, tasks: known.tasks ?? {}, sessionContracts: known.sessionContracts ?? {} };
  } catch {
    return { contracts: {}, tasks: {}, sessionContracts: {} };
  }
}

/** The contract whose repository is `repo`, found among the viewer's, else created (named after the directory, its supervisor with no branch until claimed). */
async function contractFor(client: ApiClient, known: Known, repo: string): Promise<string> {
  if (known.contracts[repo]) return known.contracts[repo];
  const real = fs.realpathSync(repo);
  const contracts = await allNodes(async (after) => (await client.request(Contracts, { after })).contracts);
  const found = contracts.find((c) => !c.archivedAt && (c.repositoryPath === repo || c.repositoryPath === real));
  const id = found?.id ?? (await client.request(CreateContract, { input: { name: path.basename(repo), repositoryPath: repo, branchlessSupervisor: true } })).createContract.contract.id;
  known.contracts[repo] = id;
  return id;
}

/** Sends one spooled event; throws on what should stop the drain (the entry then stays). */
async function send(client: ApiClient, known: Known, entry: SpoolEntry, dir: string): Promise<void> {
  if (entry.lines) {
    // A session stays in the contract it started in, wherever its later events' cwd is (a session lives in one task).
    const contractId = known.sessionContracts[entry.session] ?? (await contractFor(client, known, entry.repo));
    try {
      const { importTranscript } = await client.request(Import, { input: { contractId, source: 'CLAUDE_CODE_JSONL', content: entry.lines } });
      known.tasks[entry.session] = importTranscript.task.id;
      known.sessionContracts[entry.session] = contractId;
    } catch (err) {
      if (!isPermanent(err)) throw err;
      // Lines with no message yet (a snapshot record, say) are not an import; anything else is worth a line in the log.
      if (!/holds no message/.test(err.message)) logProblem(dir, `session ${entry.session}: lines not imported: ${err.message}`);
    }
  }
  if (!entry.checkpoint) return;
  const taskId = known.tasks[entry.session];
  if (!taskId) return logProblem(dir, `session ${entry.session}: checkpoint ${entry.checkpoint.sha} not recorded: the session has no task yet`);
  try {
    await client.request(Checkpoint, { input: { taskId, message: entry.checkpoint.message, commitSha: entry.checkpoint.sha } });
  } catch (err) {
    if (!isPermanent(err)) throw err;
    logProblem(dir, `session ${entry.session}: checkpoint ${entry.checkpoint.sha} not recorded: ${err.message}`);
  }
}

/** Takes the drainer lock (a file naming this pid); false when a live drainer holds it. */
function lock(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const pid = Number(fs.readFileSync(file, 'utf8') || 0);
      try {
        if (pid) process.kill(pid, 0);
        if (pid) return false;
      } catch {
        // Its drainer is dead (killed mid-send): take the lock over.
      }
      fs.rmSync(file, { force: true });
    }
  }
  return false;
}

function pending(spool: string): string[] {
  try {
    return fs.readdirSync(spool).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

/** Sends every spooled event in order; stops at the first that cannot be sent now and leaves it (and those after it). */
export async function drain(dir: string): Promise<DrainResult> {
  const spool = spoolDir(dir);
  const lockFile = path.join(dir, 'drain.lock');
  const knownFile = path.join(dir, 'known.json');
  const result: DrainResult = { sent: 0, dropped: 0, left: 0 };
  fs.mkdirSync(dir, { recursive: true });
  if (!lock(lockFile)) return { ...result, left: pending(spool).length, stopped: 'another drainer is sending' };
  try {
    const known = readKnown(knownFile);
    let client: ApiClient;
    try {
      client = clientFrom({});
    } catch (err) {
      return { ...result, left: pending(spool).length, stopped: err instanceof Error ? err.message : String(err) };
    }
    // Again after an empty look: an event spooled while this drainer was finishing (its hook saw the lock) is sent too.
    for (let names = pending(spool); names.length; names = pending(spool)) {
      for (const name of names) {
        const file = path.join(spool, name);
        let entry: SpoolEntry;
        try {
          entry = JSON.parse(fs.readFileSync(file, 'utf8')) as SpoolEntry;
        } catch (err) {
          logProblem(dir, `spool entry ${name} unreadable, dropped: ${err instanceof Error ? err.message : err}`);
          fs.rmSync(file, { force: true });
          result.dropped++;
          continue;
        }
        try {
          await send(client, known, entry, dir);
        } catch (err) {
          if (isPermanent(err)) {
            // The repository cannot be a contract (outside MAKIMA_REPOS_ROOT, say): sending again would not help.
            logProblem(dir, `session ${entry.session}: event dropped: ${err.message}`);
            fs.rmSync(file, { force: true });
            result.dropped++;
            continue;
          }
          const why = err instanceof CliError ? err.message : String(err);
          logProblem(dir, `sending stopped, ${pending(spool).length} events left in the spool: ${why}`);
          return { ...result, left: pending(spool).length, stopped: why };
        } finally {
          writeDurably(knownFile, JSON.stringify(known));
        }
        fs.rmSync(file, { force: true });
        result.sent++;
      }
    }
    return result;
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}
