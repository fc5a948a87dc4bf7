// The authenticated viewer of a request; every resolver that reads or writes data goes through it.
import type { Context, ServiceContext, Viewer } from '../context.js';
import { UnauthenticatedError } from '../errors.js';

export function requireViewer(ctx: Context): Viewer {
  if (!ctx.viewer) throw new UnauthenticatedError();
  return ctx.viewer;
}

/** The request's context as services take it: UNAUTHENTICATED without a viewer. */
export function serviceContext(ctx: Context): ServiceContext {
  requireViewer(ctx);
  return ctx as ServiceContext;
}
