// Which token scopes may call a mutation, besides FULL (every mutation's default, set on the
// Mutation type in builder.ts). Spread one of these into a mutation field's options.

/** The worker protocol (claimTask, renewLease, completeTask, failTask, cancel…): WORKER or FULL tokens. */
export const workerMayCall = { authScopes: { worker: true }, skipTypeScopes: true } as const;

/**
 * Reporting on a task (appendMessages, recordTaskEvents, createCheckpoint, createSnapshot): a WORKER
 * token only with `workerId`, so that the service refuses the call unless that worker holds the task.
 */
export const workerMayReport = {
  authScopes: (_parent: unknown, args: { input: { workerId?: string | null } }) => (args.input.workerId == null ? { full: true } : { worker: true }),
  skipTypeScopes: true,
} as const;
