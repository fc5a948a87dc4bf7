// transcripts: import and export of sessions (Claude Code, Codex, makima JSONL, Markdown).
// Its surface (docs/design.md §8) is only how a conversation reads (reading.ts): the command line's
// bundle imports this file statically and must not load the importers and exporters, which need
// the server (§17); they are reached through GraphQL (schema.ts).
export { acpChunkOf, callsShown, chunkRole, mentionOf, onlyShownResults, resultsByCall, resultText, thinkingLine, thinkingOf, toolCallIdOf, type ToolResult } from './reading.js';
