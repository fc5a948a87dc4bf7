// References people type for tasks and contracts (docs/design.md §16): every argument and option
// named `task`, `contract` or `continue-from` of a client command takes a number (42, #42), a name
// or short name, a unique prefix of an id or branch, or an ID. Before the command runs, each is
// turned into its global ID by the API (Query.task(ref:), Query.contract(ref:)) — one request,
// skipped when an ID was given — so the commands themselves only ever see IDs.
import type { Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import { globalIdType } from './arguments.js';
import { clientFrom, type ApiClient } from './client.js';
import { CliError } from './output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Kind = 'Task' | 'Contract';
/** Positional arguments, by their name in the command's usage (`<task>`). */
const ARGUMENTS: Record<string, Kind> = { task: 'Task', contract: 'Contract' };
/** Options, by commander's attribute name (`--continue-from` is continueFrom). */
const OPTIONS: Record<string, Kind> = { task: 'Task', contract: 'Contract', continueFrom: 'Task' };

const TaskByRef = graphql(`
  query CliTaskByRef($ref: String!) { task(ref: $ref) { id } }
`);
const ContractByRef = graphql(`
  query CliContractByRef($ref: String!) { contract(ref: $ref) { id } }
`);

/** The global ID (or UUID) that `ref` names; an ID of the right type is returned without asking. */
export async function resolveRef(client: ApiClient, kind: Kind, ref: string): Promise<string> {
  if (globalIdType(ref) === kind || UUID.test(ref)) return ref;
  const found = kind === 'Task' ? (await client.request(TaskByRef, { ref })).task : (await client.request(ContractByRef, { ref })).contract;
  if (!found) throw new CliError(`no ${kind.toLowerCase()} matches "${ref}"`, 'NOT_FOUND');
  return found.id;
}

/** Replaces the references among `command`'s arguments and options with IDs (a commander preAction hook). */
export async function resolveReferences(command: Command): Promise<void> {
  if (!command.options.some((o) => o.attributeName() === 'url')) return; // not an API client command
  const jobs: Promise<void>[] = [];
  let client: ApiClient | undefined;
  const api = () => (client ??= clientFrom(command.opts()));
  command.registeredArguments.forEach((argument, i) => {
    const kind = ARGUMENTS[argument.name()];
    const value: unknown = command.processedArgs[i];
    if (!kind || typeof value !== 'string') return;
    jobs.push(resolveRef(api(), kind, value).then((id) => void (command.processedArgs[i] = id)));
  });
  for (const [name, kind] of Object.entries(OPTIONS)) {
    const value: unknown = command.getOptionValue(name);
    if (typeof value === 'string') jobs.push(resolveRef(api(), kind, value).then((id) => void command.setOptionValue(name, id)));
    // A repeatable option (`worker --contract A B`): each of its values is a reference.
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      jobs.push(Promise.all(value.map((v: string) => resolveRef(api(), kind, v))).then((ids) => void command.setOptionValue(name, ids)));
    }
  }
  await Promise.all(jobs);
}
