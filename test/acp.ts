// The command line of the scripted ACP agent (test/fixtures/acp-agent.ts), for `makima worker --acp`:
// Node running the TypeScript file through tsx, quoted for the worker's shell.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const AGENT = fileURLToPath(new URL('./fixtures/acp-agent.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
export const ACP_AGENT_COMMAND = `'${process.execPath}' --import '${TSX}' '${AGENT}'`;
