// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

// Drives the server's web chat page in a real browser (Debian's chromium through playwright-core from .tools/npm):
// attach an image, ask, watch the answer stream in, screenshot, ask a follow-up (the whole history, image included,
// is sent again), clear, and check that the next request starts a new conversation.
//
//   node tests/browser/chat-page.mjs <baseUrl> <image path> <question> <screenshot out path>
//
// Prints one JSON line ({"ok":true,...} or {"ok":false,"error":...}) and exits non-zero on any failure.
// Environment: MULTIMODAL_NPM_DIR (default <repo>/.tools/npm), CHROMIUM_PATH (default /usr/bin/chromium),
// CHAT_PAGE_TIMEOUT_MS (the whole run, default 240000), CHAT_PAGE_FOLLOW_UP (the second question).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const npmDir = process.env.MULTIMODAL_NPM_DIR || path.join(repoRoot, '.tools', 'npm');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const totalTimeoutMs = Number(process.env.CHAT_PAGE_TIMEOUT_MS || 240000);
const followUp = process.env.CHAT_PAGE_FOLLOW_UP || 'What colour is it?';
const stepTimeoutMs = 60000;

// These flags are required on the build machines: without them Chromium's background connections fail.
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let finished = false;

function finish(result, code) {
  if (finished) {
    return;
  }

  finished = true;
  process.stdout.write(JSON.stringify(result) + '\n');
  // Exit explicitly: a browser that refuses to close must not keep the script alive.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 100).unref();
}

function fail(message, extra = {}) {
  finish({ ok: false, error: message, ...extra }, 1);
}

class StepError extends Error {}

function check(condition, message) {
  if (!condition) {
    throw new StepError(message);
  }
}

const [baseArg, imagePath, question, screenshotPath] = process.argv.slice(2);
if (!baseArg || !imagePath || !question || !screenshotPath) {
  fail('usage: node tests/browser/chat-page.mjs <baseUrl> <image path> <question> <screenshot out path>');
} else {
  const watchdog = setTimeout(() => fail(`timed out after ${totalTimeoutMs} ms`), totalTimeoutMs);
  watchdog.unref();
  run(baseArg.endsWith('/') ? baseArg : baseArg + '/')
    .then((result) => finish({ ok: true, ...result }, 0))
    .catch((err) => fail(err instanceof StepError ? err.message : String(err && err.stack ? err.stack : err), err && err.details ? err.details : {}))
    .finally(() => clearTimeout(watchdog));
}

function loadPlaywright() {
  const require = createRequire(path.join(npmDir, 'package.json'));
  try {
    return require('playwright-core');
  } catch (err) {
    throw new StepError(`playwright-core is not installed in ${npmDir} (${err.code || err.message}): run eng/bootstrap.sh`);
  }
}

/** Installed in the page before a turn: records the last assistant bubble's text length at every DOM change. */
function installRecorder() {
  const w = window;
  if (w.__mmObserver) {
    w.__mmObserver.disconnect();
  }

  w.__mmTurn = { samples: [], sendDisabledWhileStreaming: false, stopShownWhileStreaming: false };
  const record = () => {
    const bubbles = document.querySelectorAll('.message.assistant');
    const last = bubbles[bubbles.length - 1];
    if (!last || last.dataset.recorded === 'old') {
      return;
    }

    const content = last.querySelector('.content');
    const length = content ? content.textContent.length : 0;
    const samples = w.__mmTurn.samples;
    if (last.dataset.state === 'streaming') {
      if (document.getElementById('send').disabled) {
        w.__mmTurn.sendDisabledWhileStreaming = true;
      }

      if (!document.getElementById('stop').hidden) {
        w.__mmTurn.stopShownWhileStreaming = true;
      }
    }

    if (samples.length === 0 || samples[samples.length - 1].length !== length) {
      samples.push({ length, t: Math.round(performance.now()), state: last.dataset.state });
    }
  };
  document.querySelectorAll('.message.assistant').forEach((b) => { b.dataset.recorded = 'old'; });
  w.__mmObserver = new MutationObserver(record);
  w.__mmObserver.observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state'] });
}

async function run(baseUrl) {
  check(fs.existsSync(chromiumPath), `chromium is not installed at ${chromiumPath}: run eng/bootstrap.sh`);
  check(fs.existsSync(imagePath), `no image at ${imagePath}`);
  const { chromium } = loadPlaywright();

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-chat-page-'));
  let context;
  const pageErrors = [];
  const consoleErrors = [];
  const requests = [];
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 1200, height: 820 },
      deviceScaleFactor: 1,
      colorScheme: 'light',
      timeout: stepTimeoutMs,
    });
    context.setDefaultTimeout(stepTimeoutMs);
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(String(err && err.message ? err.message : err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') {
        consoleErrors.push(msg.text());
      }
    });
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname.endsWith('/v1/chat/completions')) {
        try {
          requests.push(JSON.parse(req.postData() || 'null'));
        } catch {
          requests.push(null);
        }
      }
    });

    const response = await page.goto(baseUrl, { waitUntil: 'load' });
    check(response && response.ok(), `GET ${baseUrl} answered ${response ? response.status() : 'nothing'}`);
    await page.waitForSelector('body[data-ready="true"]');
    const models = await page.$$eval('#model option', (options) => options.map((o) => o.value).filter(Boolean));
    check(models.length > 0, `the model list is empty (error shown: ${await errorText(page)})`);

    // Turn 1: the image and the question, sent with the Send button.
    await page.setInputFiles('#file', imagePath);
    await page.waitForSelector('#attachments [data-testid="attachment"]');
    const chip = await page.$eval('#attachments [data-testid="attachment"]', (el) => ({ kind: el.dataset.kind, name: el.querySelector('.chip-name').textContent, thumbnail: !!el.querySelector('img.thumb') }));
    check(chip.kind === 'image' && chip.thumbnail, `the attachment chip is wrong: ${JSON.stringify(chip)}`);
    await page.fill('#prompt', question);
    const turn1 = await ask(page, 1, () => page.click('#send'));
    await page.screenshot({ path: screenshotPath, fullPage: false });

    // Turn 2: a follow-up, sent with Enter; the whole history (with the image) goes again.
    await page.fill('#prompt', followUp);
    const turn2 = await ask(page, 2, () => page.press('#prompt', 'Enter'));
    const second = requests[1];
    check(second && Array.isArray(second.messages), 'the second request was not seen');
    const roles = second.messages.map((m) => m.role);
    const firstUser = second.messages.find((m) => m.role === 'user');
    const imageResent = !!(firstUser && Array.isArray(firstUser.content) && firstUser.content.some((p) => p.type === 'image_url' && String(p.image_url && p.image_url.url).startsWith('data:image/')));
    check(JSON.stringify(roles) === JSON.stringify(['user', 'assistant', 'user']), `the second request's roles are ${JSON.stringify(roles)}`);
    check(imageResent, 'the second request does not carry the first turn\'s image');
    check(second.messages[1].content === turn1.answer, 'the second request does not carry the first answer');
    check(second.stream === true, 'the page did not ask for a stream');
    const turn2Screenshot = screenshotPath.replace(/(\.png)?$/i, '-turn2.png');
    await page.screenshot({ path: turn2Screenshot, fullPage: false });

    // Clear: no bubbles, no attachments, and the next request is a new conversation.
    await page.click('#clear');
    const afterClear = await page.evaluate(() => ({
      messages: document.querySelectorAll('#messages .message').length,
      attachments: document.querySelectorAll('#attachments [data-testid="attachment"]').length,
      emptyShown: !document.getElementById('empty').hidden,
      status: document.getElementById('status').textContent,
    }));
    check(afterClear.messages === 0 && afterClear.attachments === 0 && afterClear.emptyShown, `Clear left ${JSON.stringify(afterClear)}`);
    await page.fill('#prompt', 'Hello');
    const turn3 = await ask(page, 1, () => page.click('#send'));
    const third = requests[2];
    check(third && third.messages.length === 1 && third.messages[0].content === 'Hello', `after Clear the request carried ${third ? third.messages.length : 'no'} messages`);

    check(pageErrors.length === 0, `the page threw: ${pageErrors.join(' | ')}`);
    const cspViolations = consoleErrors.filter((e) => /Content Security Policy/i.test(e));
    check(cspViolations.length === 0, `the page broke its Content-Security-Policy: ${cspViolations.join(' | ')}`);
    return {
      baseUrl,
      models,
      answers: [turn1.answer, turn2.answer],
      turns: [turn1, turn2],
      afterClear: { ...afterClear, nextRequestMessages: third.messages.length, nextAnswer: turn3.answer },
      requestParameters: { temperature: requests[0].temperature, top_p: requests[0].top_p, max_tokens: requests[0].max_tokens, stream_options: requests[0].stream_options },
      screenshots: [screenshotPath, turn2Screenshot],
      consoleErrors,
    };
  } catch (err) {
    if (err && !err.details) {
      err.details = { pageErrors, consoleErrors, requests: requests.length };
    }

    throw err;
  } finally {
    if (context) {
      await Promise.race([context.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10000).unref())]);
    }

    fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function errorText(page) {
  return page.evaluate(() => {
    const e = document.getElementById('error');
    return e && !e.hidden ? e.textContent.trim() : '';
  });
}

/** Sends one turn (with <paramref name="trigger"/>) and waits for the expected number of finished answers. */
async function ask(page, expectedAnswers, trigger) {
  await page.evaluate(installRecorder);
  const started = Date.now();
  await trigger();
  await page.waitForFunction((n) => {
    const error = document.getElementById('error');
    return (error && !error.hidden) || document.querySelectorAll('.message.assistant').length === n;
  }, expectedAnswers, { timeout: 15000, polling: 50 }).catch(() => {
    throw new StepError(`turn ${expectedAnswers}: sending started no answer within 15 s`);
  });
  const outcome = await page.waitForFunction((n) => {
    const error = document.getElementById('error');
    if (error && !error.hidden) {
      return { error: error.textContent.trim() };
    }

    const bubbles = document.querySelectorAll('.message.assistant');
    const last = bubbles[bubbles.length - 1];
    if (bubbles.length === n && last.dataset.state !== 'streaming' && document.getElementById('send').disabled === false) {
      return { state: last.dataset.state };
    }

    return null;
  }, expectedAnswers, { timeout: stepTimeoutMs, polling: 50 }).then((h) => h.jsonValue());
  check(!outcome.error, `the page showed an error: ${outcome.error}`);
  check(outcome.state === 'done', `the answer ended in state ${outcome.state}`);

  const result = await page.evaluate(() => {
    const bubbles = document.querySelectorAll('.message.assistant');
    const last = bubbles[bubbles.length - 1];
    return {
      answer: last.querySelector('.content').textContent,
      meta: last.querySelector('.meta').textContent,
      status: document.getElementById('status').textContent,
      turn: window.__mmTurn,
    };
  });
  const lengths = result.turn.samples.map((s) => s.length);
  const finalLength = result.answer.length;
  // Streaming is observed when the bubble showed some, but not all, of the answer before it finished.
  const partialLengths = [...new Set(result.turn.samples.filter((s) => s.state === 'streaming' && s.length > 0 && s.length < finalLength).map((s) => s.length))];
  return {
    answer: result.answer,
    status: result.status,
    meta: result.meta,
    elapsedMs: Date.now() - started,
    lengths,
    partialUpdates: partialLengths.length,
    streamingObserved: partialLengths.length > 0,
    sendDisabledWhileStreaming: result.turn.sendDisabledWhileStreaming,
    stopShownWhileStreaming: result.turn.stopShownWhileStreaming,
  };
}
