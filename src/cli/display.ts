// What the CLI shows in place of what the API may send: the global IDs that its commands take
// instead of raw UUIDs (in event data, resume notes, error messages), and the CLI commands instead
// of the API mutations that messages name. Idempotent: a global ID or a CLI name passes unchanged,
// so it holds whether or not the server already sends global IDs.

import { dataWithGlobalIds, withGlobalIds } from '../global-id.js';

/** Mutations that messages may name, and the command that does the same. */
const COMMANDS_FOR_MUTATIONS: [RegExp, string][] = [
  [/\bcreateTask with continueFromTaskId\b/g, '`makima task create --continue-from <task>`'],
  [/\bforkTask\b/g, '`makima task fork`'],
  [/\bcreateTask\b/g, '`makima task create`'],
  [/\bresumeTaskFromCheckpoint\b/g, '`makima task resume-from`'],
  [/\bresumeTask\b/g, '`makima task resume`'],
  [/\bresumeSupervisor\b/g, '`makima contract resume`'],
  [/\brewindTask\b/g, '`makima task rewind`'],
  [/\brewindConversation\b/g, '`makima conversation rewind`'],
  [/\bcreateContract\b/g, '`makima contract create`'],
  [/\badvanceContractPhase\b/g, '`makima contract advance`'],
];

/** A sentence from the API as the CLI shows it: "task <uuid>" → "task <global ID>", mutations → commands. */
export function displayText(text: string): string {
  let out = withGlobalIds(text);
  for (const [pattern, command] of COMMANDS_FOR_MUTATIONS) out = out.replace(pattern, command);
  return out;
}

/**
 * A JSON value from the API (event data, a payload) as the CLI shows it: a UUID under a key that
 * says what it names becomes that node's global ID; every other string is read as a sentence.
 */
export function displayData(value: unknown): unknown {
  const withIds = dataWithGlobalIds(value);
  return rewriteStrings(withIds);
}

function rewriteStrings(value: unknown): unknown {
  if (typeof value === 'string') return displayText(value);
  if (Array.isArray(value)) return value.map(rewriteStrings);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteStrings(v)]));
  return value;
}

/** A payload holding a task whose resume note the CLI shows with global IDs. */
export function withDisplayedNote<P extends { task: { resumeNote?: string | null } }>(payload: P): P {
  const note = payload.task.resumeNote;
  return note ? { ...payload, task: { ...payload.task, resumeNote: displayText(note) } } : payload;
}
