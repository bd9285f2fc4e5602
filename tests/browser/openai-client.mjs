// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

// The official OpenAI Node.js client (npm `openai`, from .tools/npm) against our server: list the models, then a
// streamed chat completion with an image (a data URL) and a question at temperature 0.
//
//   node tests/browser/openai-client.mjs <baseUrl> <image path> <question> [model]
//
// Prints one JSON line ({"ok":true,"text":...} with the concatenated streamed text, or {"ok":false,"error":...}) and
// exits non-zero on any failure. Environment: MULTIMODAL_NPM_DIR (default <repo>/.tools/npm),
// OPENAI_CLIENT_TIMEOUT_MS (the whole run, default 120000).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const npmDir = process.env.MULTIMODAL_NPM_DIR || path.join(repoRoot, '.tools', 'npm');
const totalTimeoutMs = Number(process.env.OPENAI_CLIENT_TIMEOUT_MS || 120000);

let finished = false;

function finish(result, code) {
  if (finished) {
    return;
  }

  finished = true;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exitCode = code;
  setTimeout(() => process.exit(code), 100).unref();
}

const [baseArg, imagePath, question, modelArg] = process.argv.slice(2);
if (!baseArg || !imagePath || !question) {
  finish({ ok: false, error: 'usage: node tests/browser/openai-client.mjs <baseUrl> <image path> <question> [model]' }, 1);
} else {
  const watchdog = setTimeout(() => finish({ ok: false, error: `timed out after ${totalTimeoutMs} ms` }, 1), totalTimeoutMs);
  watchdog.unref();
  run(baseArg.endsWith('/') ? baseArg : baseArg + '/')
    .then((result) => finish({ ok: true, ...result }, 0))
    .catch((err) => finish({ ok: false, error: String(err && err.message ? err.message : err), status: err && err.status }, 1))
    .finally(() => clearTimeout(watchdog));
}

function loadOpenAI() {
  const require = createRequire(path.join(npmDir, 'package.json'));
  let module;
  try {
    module = require('openai');
  } catch (err) {
    throw new Error(`the npm package openai is not installed in ${npmDir} (${err.code || err.message}): run eng/bootstrap.sh`);
  }

  const packageJson = path.join(npmDir, 'node_modules', 'openai', 'package.json');
  const version = fs.existsSync(packageJson) ? JSON.parse(fs.readFileSync(packageJson, 'utf8')).version : null;
  return { OpenAI: module.OpenAI || module.default || module, version };
}

function mimeOf(file) {
  const ext = path.extname(file).toLowerCase();
  return { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif' }[ext] || 'image/png';
}

async function run(baseUrl) {
  const { OpenAI, version } = loadOpenAI();
  const client = new OpenAI({ baseURL: baseUrl + 'v1', apiKey: 'x', timeout: 60000, maxRetries: 0 });

  const models = [];
  for await (const model of client.models.list()) {
    models.push(model.id);
  }

  const model = modelArg || models[0];
  if (!model) {
    throw new Error('GET /v1/models listed no model');
  }

  const url = `data:${mimeOf(imagePath)};base64,${fs.readFileSync(imagePath).toString('base64')}`;
  const stream = await client.chat.completions.create({
    model,
    messages: [{
      role: 'user',
      content: [
        { type: 'image_url', image_url: { url } },
        { type: 'text', text: question },
      ],
    }],
    stream: true,
    stream_options: { include_usage: true },
    temperature: 0,
  });

  let text = '';
  let chunks = 0;
  let contentChunks = 0;
  let finishReason = null;
  let usage = null;
  let id = null;
  for await (const chunk of stream) {
    chunks++;
    id = id || chunk.id;
    if (chunk.usage) {
      usage = chunk.usage;
    }

    const choice = chunk.choices && chunk.choices[0];
    if (choice && choice.delta && choice.delta.content) {
      text += choice.delta.content;
      contentChunks++;
    }

    if (choice && choice.finish_reason) {
      finishReason = choice.finish_reason;
    }
  }

  return { text, model, models, chunks, contentChunks, finishReason, usage, id, clientVersion: version };
}
