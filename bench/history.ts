// `node dist/bench/history.js`: append a night's rows (written by nightly-check) to the history CSV and
// draw its trend chart, history.html (src/report/history.ts). The history file may be missing (the first
// night). Both files are written to a temp file, then renamed.
//
//   node dist/bench/history.js --history history.csv --add night.csv [--add ...] [--html history.html]

import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/report/files.js';
import { appendHistory, historyCsv, historyHtml, readHistory } from '../src/report/history.js';

const argv = process.argv.slice(2);
const many = (name: string): string[] => argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
const file = many('--history')[0] ?? 'history.csv';
const html = many('--html')[0] ?? file.replace(/\.csv$/, '') + '.html';

let rows = existsSync(file) ? readHistory(readFileSync(file, 'utf8'), file) : [];
const before = rows.length;
for (const add of many('--add')) rows = appendHistory(rows, readHistory(readFileSync(add, 'utf8'), add));
writeFileAtomic(file, historyCsv(rows));
const chart = historyHtml(rows);
writeFileAtomic(html, chart.html);
process.stdout.write(`history: ${before} rows before, ${rows.length} now; ${chart.charts} trend charts in ${html}\n`);
