// Two tasks of one contract side by side (#/compare?a=<id>&b=<id>, Query.compareTasks): where their
// conversations part, each side's messages after that, and the diff between their head commits.
import { FileList, Patch } from './diff';
import { shortSha } from './format';
import { graphql } from './generated';
import type { CompareMessageFragment, CompareTasksQuery } from './generated/graphql';
import { useQuery } from './hooks';
import { ApiErrorText } from './steer';
import { Content } from './task';

/** How many of each side's own messages the page shows (the rest are on the task's page). */
const SIDE_MESSAGES = 20;

type Comparison = CompareTasksQuery['compareTasks'];
type Message = CompareMessageFragment;
type Side = Comparison['conversation']['onlyInA'];

graphql(`
  fragment CompareMessage on ConversationMessage { id index role content }
`);
graphql(`
  fragment CompareSide on ConversationSide { count task { id name } messages(first: $sideMessages) { ...CompareMessage } }
`);
const COMPARE_QUERY = graphql(`
  query CompareTasks($a: String!, $b: String!, $sideMessages: Int!) {
    compareTasks(a: $a, b: $b) {
      a { id name contract { id name } } b { id name }
      conversation { commonPrefixLength sharedMessageCount lastCommonMessage { ...CompareMessage } onlyInA { ...CompareSide } onlyInB { ...CompareSide } }
      code { available unavailableReason fromCommit toCommit additions deletions files { path status additions deletions binary } patch truncated }
    }
  }
`);

function MessageItem({ message }: { message: Message }) {
  return (
    <li class={`message role-${message.role.toLowerCase()}`} aria-label={`Message ${message.index + 1}, ${message.role}`}>
      <div class="message-head">
        <span class="role">{message.role}</span>
        <span class="index">#{message.index + 1}</span>
      </div>
      <Content content={message.content} />
    </li>
  );
}

function SideColumn({ label, side }: { label: string; side: Side }) {
  const more = side.count - side.messages.length;
  return (
    <section class="compare-side" aria-label={`Only in ${side.task.name}`}>
      <h3>
        {label}: <a href={`#/task/${side.task.id}`}>{side.task.name}</a> — {side.count} message{side.count === 1 ? '' : 's'} of its own
      </h3>
      {side.count === 0 ? (
        <p class="empty">Nothing after the common part.</p>
      ) : (
        <ol class="messages">
          {side.messages.map((m) => (
            <MessageItem key={m.id} message={m} />
          ))}
        </ol>
      )}
      {more > 0 && (
        <p class="hint">
          And {more} more on <a href={`#/task/${side.task.id}`}>its page</a>.
        </p>
      )}
    </section>
  );
}

export function ComparePage({ a, b }: { a: string; b: string }) {
  const { data, error, loading } = useQuery(COMPARE_QUERY, { a, b, sideMessages: SIDE_MESSAGES });
  if (loading && !data) return <main><p role="status">Comparing the tasks…</p></main>;
  if (error) return <main><ApiErrorText error={error} /></main>;
  const c = data!.compareTasks;
  const { conversation: conv, code } = c;
  return (
    <main class="compare-page">
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/">Timeline</a> ›{' '}
        {c.a.contract && (
          <>
            <a href={`#/contract/${c.a.contract.id}`}>{c.a.contract.name}</a> ›{' '}
          </>
        )}
        <span aria-current="page">Compare</span>
      </nav>
      <h1>
        <a href={`#/task/${c.a.id}`}>{c.a.name}</a> and <a href={`#/task/${c.b.id}`}>{c.b.name}</a>
      </h1>
      <section aria-labelledby="compare-conversation">
        <h2 id="compare-conversation">Conversation</h2>
        <p class="compare-summary">
          {conv.commonPrefixLength} message{conv.commonPrefixLength === 1 ? '' : 's'} in common
          {conv.sharedMessageCount > 0 && ` (${conv.sharedMessageCount} of them the same messages, shared by a fork)`}
          {conv.lastCommonMessage ? ', then they part after:' : '; they differ from the first message.'}
        </p>
        {conv.lastCommonMessage && (
          <ol class="messages" aria-label="The last message in common">
            <MessageItem message={conv.lastCommonMessage} />
          </ol>
        )}
        <div class="compare-columns">
          <SideColumn label="A" side={conv.onlyInA} />
          <SideColumn label="B" side={conv.onlyInB} />
        </div>
      </section>
      <section aria-labelledby="compare-code">
        <h2 id="compare-code">Code</h2>
        {!code.available ? (
          <p class="empty">{code.unavailableReason}</p>
        ) : code.files.length === 0 ? (
          <p class="empty">
            No differences: both heads hold the same files (<code>{shortSha(code.fromCommit)}</code> and <code>{shortSha(code.toCommit)}</code>).
          </p>
        ) : (
          <div class="diff">
            <p>
              From A’s head <code>{shortSha(code.fromCommit)}</code> to B’s head <code>{shortSha(code.toCommit)}</code>: {code.files.length} file(s),{' '}
              <span class="plus">+{code.additions}</span> <span class="minus">−{code.deletions}</span>
            </p>
            <FileList files={code.files} />
            <Patch patch={code.patch ?? ''} truncated={code.truncated} />
          </div>
        )}
      </section>
    </main>
  );
}
