// `makima contract create|list|show|advance`: contracts — a piece of work on one repository, its
// phase, its supervisor and its tasks.
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { graphql } from '../generated/gql/index.js';
import type { ContractPhase } from '../generated/gql/graphql.js';
import { ContractPhase as Phases } from '../generated/prisma/enums.js';
import type { CliCommand } from './command.js';
import { allNodes, clientCommand, clientFrom, type ClientOptions } from './client.js';
import { CliError, color, printJson, printTable, println, when } from './output.js';
import { leaseText } from './task.js';

const PHASES: ContractPhase[] = Object.values(Phases);

const CreateContract = graphql(`
  mutation CliCreateContract($input: CreateContractInput!) {
    createContract(input: $input) {
      contract { id shortName name description phase repositoryPath createdAt supervisor { id number name status branch worktreePath } }
    }
  }
`);

const Contracts = graphql(`
  query CliContracts($after: String) {
    contracts(first: 100, after: $after) {
      edges { node { id shortName name phase repositoryPath createdAt updatedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const ContractDetails = graphql(`
  query CliContract($id: ID!) {
    contract(id: $id) {
      id shortName name description phase repositoryPath createdAt updatedAt
      supervisor { id number name status }
    }
  }
`);

const ContractTasks = graphql(`
  query CliContractTasks($id: ID!, $after: String) {
    contract(id: $id) {
      tasks(first: 100, after: $after) {
        edges { node { id number name status isSupervisor workerId leaseExpiresAt updatedAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

const AdvancePhase = graphql(`
  mutation CliAdvanceContractPhase($input: AdvanceContractPhaseInput!) {
    advanceContractPhase(input: $input) { contract { id shortName name phase updatedAt } }
  }
`);

function phase(value: string): ContractPhase {
  const upper = value.toUpperCase() as ContractPhase;
  if (!PHASES.includes(upper)) throw new InvalidArgumentError(`expected one of ${PHASES.join(', ')}`);
  return upper;
}

type JsonOption = ClientOptions & { json?: boolean };

/** The top level of the git repository the current directory is in: the nearest folder up with a `.git` (a folder, or a worktree's file). */
function repositoryOfHere(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) throw new CliError(`${process.cwd()} is not in a git repository: run this in one, or name it with --repo <path>`, 'USAGE');
  }
}

export const contractCreate: CliCommand = {
  name: 'contract create',
  define: (cmd: Command) =>
    clientCommand(cmd)
      .description('create a contract on a git repository; its supervisor task is created with it, pending')
      .argument('[name]', "the contract's name (or --name)")
      .option('--name <name>', "the contract's name")
      .option('--repo <path>', "the git repository (inside the server's MAKIMA_REPOS_ROOT); a relative path is taken from here; default: the repository of this directory")
      .option('--description <text>', 'what the contract is about')
      .option('--short-name <short-name>', 'how commands name it (lower-case letters, digits, dashes); default: the slug of the name, made unique')
      .action(async (named: string | undefined, opts: JsonOption & { name?: string; repo?: string; description?: string; shortName?: string }) => {
        if (named !== undefined && opts.name !== undefined && named !== opts.name) throw new CliError(`two names given, "${named}" and --name "${opts.name}": give one`, 'USAGE');
        const name = named ?? opts.name;
        if (name === undefined) throw new CliError('give the contract a name: makima contract create "<name>" [--repo <path>] (the repository is this directory\'s unless --repo says otherwise)', 'USAGE');
        const repositoryPath = opts.repo === undefined ? repositoryOfHere() : path.resolve(opts.repo);
        const input = { name, shortName: opts.shortName, description: opts.description, repositoryPath };
        const { createContract } = await clientFrom(opts).request(CreateContract, { input });
        if (opts.json) return printJson(createContract);
        const { contract } = createContract;
        println(`created contract ${color.bold(contract.shortName)} (${contract.name}) on ${contract.repositoryPath}, phase ${contract.phase}`);
        println(`  supervisor #${contract.supervisor.number} ${contract.supervisor.name}: ${contract.supervisor.status}, branch ${contract.supervisor.branch}`);
        println(color.dim(`  add a task: makima task create ${contract.shortName} --name "<name>" --prompt "<what to do>"`));
      }),
};

export const contractList: CliCommand = {
  name: 'contract list',
  aliases: ['contracts'],
  define: (cmd: Command) =>
    clientCommand(cmd)
      .description('list your contracts, newest first')
      .action(async (opts: JsonOption) => {
        const client = clientFrom(opts);
        const contracts = await allNodes(async (after) => (await client.request(Contracts, { after })).contracts);
        if (opts.json) return printJson({ contracts });
        if (!contracts.length) return println(color.dim('no contracts yet; create one in a repository with makima contract create "<name>"'));
        await printTable(
          ['contract', 'name', 'phase', 'repository', 'updated'],
          contracts.map((c) => [c.shortName, c.name, c.phase, c.repositoryPath, when(c.updatedAt)]),
        );
      }),
};

export const contractShow: CliCommand = {
  name: 'contract show',
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<contract>', 'the contract: short name, name, id prefix or ID'))
      .description('show a contract: phase, repository, supervisor and every task with its worker and lease')
      .action(async (id: string, opts: JsonOption) => {
        const client = clientFrom(opts);
        const { contract } = await client.request(ContractDetails, { id });
        if (!contract) throw new CliError(`contract ${id} was not found`, 'NOT_FOUND');
        const tasks = await allNodes(async (after) => (await client.request(ContractTasks, { id, after })).contract!.tasks);
        if (opts.json) return printJson({ contract: { ...contract, tasks } });
        println(`${color.bold(contract.shortName)} ${contract.name} ${color.dim(`· ${contract.phase} · ${contract.id}`)}`);
        if (contract.description) println(`  ${contract.description}`);
        println(`  repository ${contract.repositoryPath}`);
        println(`  created ${when(contract.createdAt)}, updated ${when(contract.updatedAt)}`);
        println();
        await printTable(
          ['#', 'task', 'status', 'worker', 'lease', 'updated'],
          tasks.map((t) => [t.number, t.isSupervisor ? `${t.name} (supervisor)` : t.name, t.status, t.workerId, leaseText(t), when(t.updatedAt)]),
        );
      }),
};

export const contractAdvance: CliCommand = {
  name: 'contract advance',
  define: (cmd: Command) =>
    clientCommand(cmd.argument('<contract>', 'the contract: short name, name, id prefix or ID').argument('<phase>', `the next phase: ${PHASES.join(', ')} (any case)`, phase))
      .description("move a contract to another phase (recorded in its history)")
      .action(async (contractId: string, to: ContractPhase, opts: JsonOption) => {
        const { advanceContractPhase } = await clientFrom(opts).request(AdvancePhase, { input: { contractId, phase: to } });
        if (opts.json) return printJson(advanceContractPhase);
        const { contract } = advanceContractPhase;
        println(`contract ${color.bold(contract.shortName)} (${contract.name}) is now in phase ${contract.phase}`);
      }),
};
