// Line-oriented tokenizer server over the reference Hugging Face `tokenizers` library (Rust, npm binding).
// Used by eng/train/*.py so that training ids come from the same tokenizer.json the C# tokenizer loads.
// Protocol: one JSON request per stdin line, one JSON reply per stdout line.
//   {"load": "<path/to/tokenizer.json>"}                       -> {"ok": true, "size": N}
//   {"encode": ["text", ...], "special": true|false}           -> {"ids": [[...], ...]}
//   {"decode": [[ids], ...], "skip": true|false}               -> {"texts": ["...", ...]}
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', '.tools', 'npm', 'package.json'));
const { Tokenizer } = require('tokenizers');

let tok = null;
const rl = readline.createInterface({ input: process.stdin, terminal: false });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  let reply;
  try {
    if (req.load) {
      tok = Tokenizer.fromFile(req.load);
      reply = { ok: true, size: tok.getVocabSize(true) };
    } else if (req.encode) {
      const ids = [];
      for (const t of req.encode) ids.push(Array.from((await tok.encode(t, null, { addSpecialTokens: !!req.special })).getIds()));
      reply = { ids };
    } else if (req.decode) {
      const texts = [];
      for (const ids of req.decode) texts.push(await tok.decode(ids, !!req.skip));
      reply = { texts };
    } else {
      reply = { error: 'unknown request' };
    }
  } catch (e) {
    reply = { error: String(e) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
