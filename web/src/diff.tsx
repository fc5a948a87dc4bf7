// A diff (a checkpoint's, or two tasks' heads'): the files with their +/− counts, and the unified patch coloured line by line
// (added, removed, hunk header, file header) — a patch needs no language grammar to be read.
export interface FileChange {
  path: string;
  status: string;
  additions: number;
  deletions: number;
  binary?: boolean;
}

export interface CheckpointDiff {
  files: FileChange[];
  patch: string;
  truncated: boolean;
  against: { number: number } | null;
}

function lineClass(line: string): string {
  if (line.startsWith('+++') || line.startsWith('---') || line.startsWith('diff ') || line.startsWith('index ')) return 'meta';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('-')) return 'del';
  return 'ctx';
}

export function FileList({ files }: { files: FileChange[] }) {
  return (
    <table class="files">
      <caption class="visually-hidden">Files changed</caption>
      <thead>
        <tr>
          <th scope="col">File</th>
          <th scope="col">Status</th>
          <th scope="col">Added</th>
          <th scope="col">Removed</th>
        </tr>
      </thead>
      <tbody>
        {files.map((f) => (
          <tr key={f.path}>
            <td>
              <code>{f.path}</code>
            </td>
            <td>{f.status.toLowerCase().replace('_', ' ')}</td>
            <td class="plus">{f.binary ? 'binary' : `+${f.additions}`}</td>
            <td class="minus">{f.binary ? '' : `−${f.deletions}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A unified patch, coloured line by line, and a note when the API cut it. */
export function Patch({ patch, truncated }: { patch: string; truncated: boolean }) {
  const lines = patch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return (
    <>
      <pre class="patch" aria-label="Patch" tabIndex={0}>
        {lines.map((line, i) => (
          <span key={i} class={`line ${lineClass(line)}`}>
            {line}
            {'\n'}
          </span>
        ))}
      </pre>
      {truncated && <p class="hint">The patch is cut after 256 KiB; the file list is complete.</p>}
    </>
  );
}

export function Diff({ diff }: { diff: CheckpointDiff }) {
  return (
    <div class="diff">
      <p>
        Against {diff.against ? `checkpoint #${diff.against.number}` : 'the task’s base commit'}: {diff.files.length} file(s)
      </p>
      <FileList files={diff.files} />
      <Patch patch={diff.patch} truncated={diff.truncated} />
    </div>
  );
}
