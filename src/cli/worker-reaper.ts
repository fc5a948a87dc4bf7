// The reaper: a small process the reference worker starts beside each agent, so that the agent does
// not outlive its worker, however the worker ends (SIGKILL, a crash, the OOM killer).
//
// It holds the read end of a pipe whose only writer is the worker. The kernel closes the write end
// when the worker dies, for any reason, so end-of-file here means the worker is gone — unless the
// worker wrote "disarm" first (its run ended and it no longer needs watching). On an unannounced
// end it stops the agent's process group (SIGTERM, then SIGKILL after the grace), if the group is
// still the recorded one, removes the record from the worktree's git dir, and exits.
//
// It runs in its own session (spawned detached), so Ctrl-C in the worker's terminal or a signal to
// the worker's process group does not reach it; a supervisor that kills a whole cgroup ends it too,
// along with the agent. Usage: node worker-reaper.js '<{"record":…,"recordFile":…,"graceMs":…}>'.
import { removeRecord, stopRecordedGroup, type AgentRecord } from './worker-agents.js';

interface ReaperArguments {
  record: AgentRecord;
  recordFile?: string;
  graceMs: number;
}

const { record, recordFile, graceMs } = JSON.parse(process.argv[2] ?? '{}') as ReaperArguments;
let disarmed = false;

process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.stderr.on('error', () => {}); // the worker's stderr may be gone with it: the agent is stopped all the same
process.stdin.on('data', (chunk: Buffer) => {
  if (chunk.toString().includes('disarm')) disarmed = true;
});
process.stdin.on('error', () => {}); // a reset pipe is a closed pipe
process.stdin.once('close', () => {
  if (disarmed) return process.exit(0);
  void stopRecordedGroup(record, graceMs).then((outcome) => {
    if (outcome === 'none') return process.exit(0);
    if (recordFile && outcome === 'stopped') removeRecord(recordFile, record);
    const what = `the agent of task ${record.taskId} (process group ${record.pgid})`;
    process.stderr.write(
      outcome === 'stopped'
        ? `makima worker: worker ${record.workerId} (pid ${record.workerPid}) is gone; stopped ${what}\n`
        : `makima worker: worker ${record.workerId} (pid ${record.workerPid}) is gone; could not stop ${what}\n`,
    );
    process.exit(outcome === 'stopped' ? 0 : 1);
  });
});
