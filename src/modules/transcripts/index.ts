// The surface of this module (docs/design.md §8): what other modules, the server and the CLI may
// import from it. Only how a conversation reads (reading.ts): the command line's bundle imports this
// file statically and must not load the importers and exporters, which need the server (§17); they
// are reached through GraphQL (schema.ts).
export { acpChunkOf, callsShown, chunkRole, mentionOf, onlyShownResults, resultsByCall, resultText, thinkingLine, thinkingOf, toolCallIdOf, type ToolResult } from './reading.js';
