// The reaper: a small process the reference worker starts beside each agent, so that the agent does
// not outlive its worker, however the worker ends (SIGKILL, a crash, the OOM killer).
//
// It holds the read end of a pipe whose only writer is the worker. The kernel closes the write end
// when the worker dies, for any reason, so end-of-file here means the worker is gone — unless the
// worker wrote "disarm" first (its run ended and it no longer needs watching). On an unannounced
// end it stops the agent's process group (SIGTERM, then SIGKILL after the grace), if the group is
// still the recorded one, removes the record from the worktree's git dir, and exits. The worker may
// name more groups on the pipe, one JSON line `{"watch":<record>}` each: the terminals an ACP agent
// had the worker start (docs/design.md §15), each its own group, which are stopped the same way.
//
// It runs in its own session (spawned detached), so Ctrl-C in the worker's terminal or a signal to
// the worker's process group does not reach it; a supervisor that kills a whole cgroup ends it too,
// along with the agent. Usage: node worker-reaper.js '<{"record":…,"recordFile":…,"graceMs":…}>'.
import { removeRecord, stopRecordedGroup, type AgentRecord, type StopOutcome } from './worker-agents.js';

interface ReaperArguments {
  record: AgentRecord;
  recordFile?: string;
  graceMs: number;
}

const { record, recordFile, graceMs } = JSON.parse(process.argv[2] ?? '{}') as ReaperArguments;
const terminals: AgentRecord[] = [];
let disarmed = false;
let pending = '';

process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.stderr.on('error', () => {}); // the worker's stderr may be gone with it: the agent is stopped all the same
process.stdin.on('data', (chunk: Buffer) => {
  const lines = (pending + chunk.toString()).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (line === 'disarm') disarmed = true;
    else if (line.startsWith('{')) terminals.push((JSON.parse(line) as { watch: AgentRecord }).watch);
  }
});
process.stdin.on('error', () => {}); // a reset pipe is a closed pipe
process.stdin.once('close', () => {
  if (disarmed || pending === 'disarm') return process.exit(0);
  const who = `worker ${record.workerId} (pid ${record.workerPid}) is gone`;
  const say = (outcome: StopOutcome, what: string) => {
    if (outcome !== 'none') process.stderr.write(`makima worker: ${who}; ${outcome === 'stopped' ? 'stopped' : 'could not stop'} ${what}\n`);
  };
  const agent = stopRecordedGroup(record, graceMs).then((outcome) => {
    if (recordFile && outcome === 'stopped') removeRecord(recordFile, record);
    say(outcome, `the agent of task ${record.taskId} (process group ${record.pgid})`);
    return outcome;
  });
  const started = terminals.map((t) =>
    stopRecordedGroup(t, graceMs).then((outcome) => {
      say(outcome, `a terminal the agent of task ${t.taskId} started (process group ${t.pgid})`);
      return outcome;
    }),
  );
  void Promise.all([agent, ...started]).then((outcomes) => process.exit(outcomes.includes('stuck') ? 1 : 0));
});
