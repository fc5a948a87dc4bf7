// Runs every GraphQL operation on behalf of its token's user (db/actor.ts), so that each history
// event a change records says who caused it.
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { actingAs, type Actor } from '../db/actor.js';

function actorOf(ctx: Context): Actor | null {
  const viewer = ctx.viewer;
  return viewer ? { userId: viewer.id, userName: viewer.name, tokenId: viewer.tokenId, tokenName: viewer.tokenName } : null;
}

export function actorPlugin(): Plugin<Context> {
  return {
    onExecute: ({ executeFn, setExecuteFn }) => {
      setExecuteFn((args) => {
        const actor = actorOf(args.contextValue as Context);
        return actor ? actingAs(actor, () => executeFn(args)) : executeFn(args);
      });
    },
  };
}
