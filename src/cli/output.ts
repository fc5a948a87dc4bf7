// How commands speak: one-line errors, JSON for scripts, colour only on a terminal.
import pc from 'picocolors';

export class CliError extends Error {}

export const color = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(line = ''): void {
  process.stdout.write(`${line}\n`);
}
