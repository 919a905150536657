/**
 * Writes test/fixtures/trust/vectors.json. Run once, and only when a format change is intended:
 *   npx tsx test/trust/support/write-vectors.ts
 * vectors.test.ts then asserts that the code still produces these bytes exactly.
 */
import { writeFile } from 'node:fs/promises';
import { buildVectors, vectorsPath, vectorsText } from './vectors.js';

await writeFile(vectorsPath, vectorsText(buildVectors()), 'utf8');
console.log(`wrote ${vectorsPath.pathname}`);
