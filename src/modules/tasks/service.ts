// Tasks: the rules for what a task is given — a name and a prompt — whichever way it is made
// (createTask and createContract, forkTask, importTranscript all ask these). Who may change a task
// is in src/change/access.ts (with when a lease lapses, docs/design.md §9), its workspace in
// workspace.ts, and changes that move git in src/change/with-git.ts.
import { BadInputError } from '../../errors.js';

export const MAX_NAME_LENGTH = 200;
export const MAX_PROMPT_LENGTH = 100_000;

export function assertName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  if (!trimmed) throw new BadInputError(`${field} must not be empty`, field);
  if (trimmed.length > MAX_NAME_LENGTH) throw new BadInputError(`${field} is longer than ${MAX_NAME_LENGTH} characters`, field);
  return trimmed;
}

export function assertPrompt(prompt: string | null | undefined): string | null {
  if (prompt && prompt.length > MAX_PROMPT_LENGTH) throw new BadInputError(`prompt is longer than ${MAX_PROMPT_LENGTH} characters`, 'prompt');
  return prompt ?? null;
}
