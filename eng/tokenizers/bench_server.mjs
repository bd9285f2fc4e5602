// Benchmark peer: keeps the Hugging Face `tokenizers` library (Rust, npm binding) loaded with one tokenizer and the
// corpus, and encodes the whole corpus each time it reads a command on stdin, so that BenchmarkDotNet times only
// the encoding (no process start, no file loading).
// Usage: node bench_server.mjs <tokenizer.json> <corpus.jsonl>; commands: "single" | "batch" | "count"; reply: one line.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, '.tools', 'npm', 'package.json'));
const { Tokenizer } = require('tokenizers');

const [tokenizerPath, corpusPath] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokenizerPath);
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter(l => l.length > 0).map(l => JSON.parse(l));

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const command of rl) {
  let tokens = 0;
  if (command === 'single' || command === 'count') {
    for (const line of lines) {
      const e = await tok.encode(line, null, { addSpecialTokens: true });
      tokens += e.getIds().length;
    }
  } else if (command === 'batch') {
    const encodings = await tok.encodeBatch(lines, { addSpecialTokens: true });
    for (const e of encodings) tokens += e.getIds().length;
  }
  process.stdout.write(`${tokens}\n`);
}
