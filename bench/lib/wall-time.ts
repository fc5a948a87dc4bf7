// The wall time of one whole process, as a shell or a hook runner sees it: the measure of the
// benchmarks of client commands (bench:cli, bench:capture).
import { spawn } from 'node:child_process';

/** Runs a command once (with `input` on stdin, else none); returns its wall time in ms, or throws when it exits non-zero. */
export function timed(command: string[], env: NodeJS.ProcessEnv, input?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command[0], command.slice(1), { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => {
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(elapsed);
      else reject(new Error(`${command.join(' ')} exited ${code}: ${err}`));
    });
    child.stdin?.end(input);
  });
}
