// Guarantees no other test reached (docs/design.md §5, §7, §9): a change that records no history
// event is refused and leaves nothing behind; a scope refusal names the scopes it needs in
// `extensions.requiredScopes`; a document costing more than MAX_COST (50,000) is refused before it
// runs; a bad argument names itself in `extensions.field` on an ordinary (not persisted) request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { change, NoHistoryEventError } from '../src/db/change.js';
import { MAX_COST } from '../src/schema/limits.js';
import { codes, postGraphql, startTestServer, type TestServer, type TestUser } from './harness.js';

let t: TestServer;
let user: TestUser;
beforeAll(async () => {
  t = await startTestServer();
  user = await t.createUser('guarded');
});
afterAll(async () => t?.stop());

async function newToken(scope: 'READ' | 'WORKER'): Promise<string> {
  const r = await user.ok(`mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`, { input: { name: `${scope}-${Math.random()}`, scope } });
  return r.createApiToken.token;
}

describe('a change without a history event', () => {
  it('is refused, and what it wrote is rolled back', async () => {
    const name = `no-event-${Date.now()}`;
    await expect(change(t.db.prisma, async (tx) => tx.user.create({ data: { name } }))).rejects.toBeInstanceOf(NoHistoryEventError);
    expect(await t.db.prisma.user.count({ where: { name } })).toBe(0);
  });
});

describe('extensions.requiredScopes', () => {
  it('names the scopes a refused field needs, and the token’s own scope', async () => {
    const read = await newToken('READ');
    const refused = await postGraphql<any>(t.url, `mutation { createContract(input: { name: "x", repositoryPath: "/nope" }) { contract { id } } }`, {}, read);
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.errors![0].extensions).toMatchObject({ requiredScopes: ['FULL'], tokenScope: 'READ' });
    const worker = await postGraphql<any>(t.url, `mutation { claimTask(input: { workerId: "w" }) { assignment { task { id } } } }`, {}, read);
    expect(codes(worker)).toEqual(['FORBIDDEN']);
    expect(worker.errors![0].extensions!.requiredScopes).toEqual(expect.arrayContaining(['WORKER']));
    expect(worker.errors![0].extensions!.tokenScope).toBe('READ');
  });
});

describe('the cost limit', () => {
  /** `aliases` copies of one page of contracts with a page of tasks each: the costs of siblings add up. */
  const pages = (aliases: number) => `{ ${Array.from({ length: aliases }, (_, i) => `c${i}: contracts(first: 100) { edges { node { tasks(first: 5) { edges { node { id } } } } } }`).join(' ')} }`;
  const found = (message: string) => Number(/found (\d+(?:\.\d+)?)/.exec(message)?.[1]);

  it(`refuses a document costing more than ${MAX_COST} with BAD_USER_INPUT before running it, and runs one at or under it`, async () => {
    expect(MAX_COST).toBe(50_000);
    // The most aliases there may be, to learn what one copy costs from the refusal.
    const probe = await user.gql(pages(30));
    expect(codes(probe)).toEqual(['BAD_USER_INPUT']);
    expect(probe.errors![0].message).toMatch(new RegExp(`Cost limit of ${MAX_COST} exceeded`));
    expect(probe.data ?? null).toBeNull();
    const each = found(probe.errors![0].message) / 30;
    const fits = Math.floor(MAX_COST / each);
    expect(fits).toBeGreaterThan(0);
    expect(fits).toBeLessThan(30);
    // Just under the limit: answered. One more copy: refused.
    const under = await user.gql(pages(fits));
    expect(under.errors).toBeUndefined();
    const over = await user.gql(pages(fits + 1));
    expect(codes(over)).toEqual(['BAD_USER_INPUT']);
    expect(found(over.errors![0].message)).toBeGreaterThan(MAX_COST);
  });
});

describe('extensions.field', () => {
  it('names the bad argument of an ordinary request, in variables and in the document', async () => {
    const contract = await user.ok(`mutation($r: String!) { createContract(input: { name: "fielded", repositoryPath: $r }) { contract { id } } }`, { r: await t.makeRepo() });
    const contractId = contract.createContract.contract.id;
    const inVariables = await user.gql(`mutation($input: CreateTaskInput!) { createTask(input: $input) { task { id } } }`, { input: { contractId, name: 'a\u0000b' } });
    expect(codes(inVariables)).toEqual(['BAD_USER_INPUT']);
    expect(inVariables.errors![0].extensions!.field).toBe('input.name');
    const inDocument = await user.gql(`{ task(id: "not an id") { id } }`);
    expect(codes(inDocument)).toEqual(['BAD_USER_INPUT']);
    expect(inDocument.errors![0].extensions!.field).toBe('id');
  });
});
