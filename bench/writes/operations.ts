// The writes bench:writes measures, as GraphQL requests of a task's owner (no worker lease) and as
// the rows the floor inserts: the same content, the same number of rows per write.

export interface Operation {
  /** Its name in BENCH_OPERATIONS. */
  key: string;
  name: string;
  kind: 'messages' | 'events';
  /** Rows per write. */
  count: number;
  /** The JSON of one row's content (a message's `content`, a task event's `data`). */
  payload: string;
  /** The request body of one write to `taskId`. */
  body(taskId: string): string;
}

// About what an agent's assistant turn or output line weighs: a few hundred bytes of text.
const TEXT = 'The tests pass after the change to the parser; next I will update the README and run the linter on the whole package. '.repeat(2);

const APPEND = 'mutation Append($input: AppendMessagesInput!) { appendMessages(input: $input) { messages { id } } }';
const RECORD = 'mutation Record($input: RecordTaskEventsInput!) { recordTaskEvents(input: $input) { events { seq } } }';

function appendMessages(count: number): Operation {
  const content = { text: TEXT };
  return {
    key: `append${count}`,
    name: `appendMessages ×${count}`,
    kind: 'messages',
    count,
    payload: JSON.stringify(content),
    body: (taskId) =>
      JSON.stringify({ query: APPEND, variables: { input: { taskId, messages: Array.from({ length: count }, () => ({ role: 'ASSISTANT', content })) } } }),
  };
}

function recordTaskEvents(count: number): Operation {
  const data = { text: TEXT };
  return {
    key: `events${count}`,
    name: `recordTaskEvents ×${count}`,
    kind: 'events',
    count,
    payload: JSON.stringify(data),
    body: (taskId) => JSON.stringify({ query: RECORD, variables: { input: { taskId, events: Array.from({ length: count }, () => ({ type: 'OUTPUT', data })) } } }),
  };
}

export const OPERATIONS: Operation[] = [appendMessages(1), appendMessages(10), recordTaskEvents(10)];
