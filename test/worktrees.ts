// Fixtures for the checkpoint, rewind and fork tests: a contract with a task on a real repository,
// the worktree read as a map of files, the GraphQL operations they share, and a recorder of every
// git command the server runs.
import fs from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { tempDir, type TestServer, type TestUser } from './harness.js';

export const REPO_FILES = {
  'README.md': '# project\n',
  'src/a.txt': 'alpha\nbeta\ngamma\n',
  'src/b.txt': 'one\ntwo\n',
  '.gitignore': '*.log\nbuild/\n',
};

export interface TaskFixture {
  repo: string;
  contractId: string;
  taskId: string;
  worktree: string;
  branch: string;
}

const CreateContract = `mutation($r: String!) { createContract(input: { name: "c", repositoryPath: $r }) { contract { id } } }`;
const CreateTask = `mutation($c: ID!, $n: String!) { createTask(input: { contractId: $c, name: $n, prompt: "do it" }) { task { id worktreePath branch } } }`;

export async function taskOnRepo(t: TestServer, user: TestUser, files: Record<string, string> = REPO_FILES): Promise<TaskFixture> {
  const repo = await t.makeRepo(files);
  const contract = (await user.ok(CreateContract, { r: repo })).createContract.contract;
  const task = (await user.ok(CreateTask, { c: contract.id, n: 'worker task' })).createTask.task;
  return { repo, contractId: contract.id, taskId: task.id, worktree: task.worktreePath, branch: task.branch };
}

/** Every file under `dir` except git's own, path → bytes (latin1 keeps them exact and readable). */
export function fileMap(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${entry.name}` : entry.name;
      if (p === '.git') continue;
      if (entry.isDirectory()) walk(p);
      else out[p] = fs.readFileSync(path.join(dir, p)).toString('latin1');
    }
  };
  walk('');
  return out;
}

export function write(dir: string, files: Record<string, string | Buffer | null>): void {
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(dir, name);
    if (content === null) {
      fs.rmSync(p);
      continue;
    }
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** `git status --porcelain` without ignored files: what git considers changed, staged or untracked. */
export async function status(dir: string): Promise<string> {
  return simpleGit(dir).raw(['status', '--porcelain', '--untracked-files=all']);
}

export async function head(dir: string): Promise<string> {
  return simpleGit(dir).revparse(['HEAD']);
}

export const CHECKPOINT_FIELDS = `id number commitSha message branch isBackup createdAt filesChanged { path status additions deletions binary }
  snapshot { id snapshotType messageCount checkpoint { id } }`;

export const CreateCheckpoint = `mutation($taskId: ID!, $message: String!) { createCheckpoint(input: { taskId: $taskId, message: $message }) { checkpoint { ${CHECKPOINT_FIELDS} } } }`;

export const RewindTask = `mutation($input: RewindTaskInput!) { rewindTask(input: $input) {
  task { id headCommit messageCount headMessage { id } }
  backupCheckpoint { ${CHECKPOINT_FIELDS} }
  backupSnapshot { id snapshotType messageCount }
} }`;

export const RewindConversation = `mutation($input: RewindConversationInput!) { rewindConversation(input: $input) {
  task { id messageCount headMessage { id } }
  backupSnapshot { id snapshotType messageCount }
} }`;

export const Append = `mutation($taskId: ID!, $messages: [MessageInput!]!) { appendMessages(input: { taskId: $taskId, messages: $messages }) { messages { id index } task { messageCount } } }`;

export const Conversation = `query($id: ID!) { task(id: $id) { messageCount conversation(first: 100) { edges { node { id index content } } } } }`;

export async function say(user: TestUser, taskId: string, ...texts: string[]): Promise<string[]> {
  const messages = texts.map((text, i) => ({ role: i % 2 ? 'ASSISTANT' : 'USER', content: { text } }));
  const data = await user.ok(Append, { taskId, messages });
  return data.appendMessages.messages.map((m: { id: string }) => m.id);
}

export async function conversationTexts(user: TestUser, taskId: string): Promise<string[]> {
  const data = await user.ok(Conversation, { id: taskId });
  return data.task.conversation.edges.map((e: { node: { content: { text: string } } }) => e.node.content.text);
}

export async function checkpoint(user: TestUser, taskId: string, message: string) {
  return (await user.ok(CreateCheckpoint, { taskId, message })).createCheckpoint.checkpoint;
}

/**
 * Records the arguments of every git command this process runs from now on: a `git` first on PATH
 * that appends its arguments to a log and runs the real git. The server reads PATH per command.
 */
export function recordGitCommands(): { commands(): string; stop(): void } {
  const dir = tempDir('makima-git-log-');
  const log = path.join(dir, 'commands.log');
  const realGit = findOnPath('git');
  fs.writeFileSync(log, '');
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done\nprintf -- '----\\n' >> '${log}'\nexec '${realGit}' "$@"\n`, { mode: 0o755 });
  const original = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${original}`;
  return {
    commands: () => fs.readFileSync(log, 'utf8'),
    stop: () => {
      process.env.PATH = original;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function findOnPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} is not on PATH`);
}

/** Runs `body` while inserts into `table` matching `condition` fail: a real database failure, injected by a trigger. */
export async function failInserts(t: TestServer, table: string, condition: string, body: () => Promise<void>): Promise<void> {
  const name = `fail_${table}`;
  await t.db.prisma.$executeRawUnsafe(
    `CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF ${condition} THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$`,
  );
  await t.db.prisma.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  try {
    await body();
  } finally {
    await t.db.prisma.$executeRawUnsafe(`DROP TRIGGER ${name} ON ${table}`);
    await t.db.prisma.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  }
}
