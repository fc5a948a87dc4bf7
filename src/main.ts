#!/usr/bin/env node
// The `makima` command line: the server, user administration, migrations and the API client commands.
import { runCli } from './cli/index.js';

process.exitCode = await runCli(process.argv.slice(2));
