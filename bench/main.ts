// `npm run bench`: runs `migbench bench` (src/cli/commands/bench.ts) with the arguments given after
// `--`, for example `npm run bench -- --matrix quick`. Without arguments it runs bench/default.yaml and
// writes reports/<timestamp>/ (reports/latest points to it).

import { run } from '../src/cli/main.js';

process.exitCode = await run([process.argv[0]!, 'migbench', 'bench', ...process.argv.slice(2)]);
