import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { renderStatements } from './statements.js';

// `npm run statements`: writes the hot statements' .sql files (see statements.ts); commit them with the change.
for (const [file, text] of await renderStatements()) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${file}`);
}
