// The authenticated viewer of a request; every resolver that reads or writes data goes through it.
import type { Context, Viewer } from '../context.js';
import { UnauthenticatedError } from '../errors.js';

export function requireViewer(ctx: Context): Viewer {
  if (!ctx.viewer) throw new UnauthenticatedError();
  return ctx.viewer;
}
