// `npm run bench:schema`: writes bench/matrix.schema.json, the JSON Schema of matrix files (for editors;
// the matrix files point at it). A test checks that the committed file matches the schema in the code.

import { join } from 'node:path';
import { matrixJsonSchema } from '../src/bench/matrix.js';
import { packageRoot } from '../src/bench/paths.js';
import { writeFileAtomic } from '../src/report/files.js';

const file = join(packageRoot(), 'bench', 'matrix.schema.json');
writeFileAtomic(file, JSON.stringify(matrixJsonSchema(), null, 2) + '\n');
process.stdout.write(`wrote ${file}\n`);
