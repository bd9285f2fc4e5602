// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

// The web chat page of Multimodal.Server: attach images, PDFs and videos, pick a model, ask, and read the answer as it
// streams in. It speaks the server's OpenAI-compatible API only (GET v1/models, POST v1/chat/completions with
// stream: true), keeps the whole conversation (attachments included) and sends it again on every turn.
// Plain script, no build step and no dependencies, so the page works offline.
(() => {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const els = {
    model: $('model'),
    health: $('health'),
    messages: $('messages'),
    empty: $('empty'),
    error: $('error'),
    errorText: $('error-text'),
    errorClose: $('error-close'),
    composer: $('composer'),
    attachments: $('attachments'),
    file: $('file'),
    prompt: $('prompt'),
    send: $('send'),
    stop: $('stop'),
    clear: $('clear'),
    status: $('status'),
    temperature: $('temperature'),
    topP: $('top-p'),
    maxTokens: $('max-tokens'),
    seed: $('seed'),
    numFrames: $('num-frames'),
    system: $('system'),
    dropOverlay: $('drop-overlay'),
  };

  const state = {
    /** The user and assistant messages of the conversation so far, in the OpenAI chat schema (media included). */
    history: [],
    /** The files attached to the next message: { kind: 'image'|'pdf'|'video', name, size, dataUrl }. */
    attachments: [],
    /** The AbortController of the request in flight, or null. */
    controller: null,
    /** Bumped by Clear, so that a request that finishes after it leaves the new conversation alone. */
    epoch: 0,
  };

  // ---- Errors ---------------------------------------------------------------------------------------------------

  class ChatError extends Error {}

  function showError(message) {
    els.errorText.textContent = message;
    els.error.hidden = false;
  }

  function hideError() {
    els.error.hidden = true;
    els.errorText.textContent = '';
  }

  /** Turns a non-2xx response (an OpenAI-style error body, ideally) into a readable message. */
  async function httpError(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: fall back to the status line.
    }

    const detail = body && body.error ? body.error : null;
    const message = detail && detail.message ? detail.message : `${response.status} ${response.statusText || 'error'}`.trim();
    if (response.status === 429) {
      const retry = parseRetryAfter(response.headers.get('Retry-After'));
      return new ChatError(retry !== null ? `Server busy, retry in ${retry} s. (${message})` : `Server busy, retry shortly. (${message})`);
    }

    const code = detail && (detail.code || detail.type);
    return new ChatError(code ? `${message} [${code}, HTTP ${response.status}]` : `${message} [HTTP ${response.status}]`);
  }

  function parseRetryAfter(value) {
    if (!value) {
      return null;
    }

    const seconds = Number(value);
    if (Number.isFinite(seconds)) {
      return Math.max(0, Math.ceil(seconds));
    }

    const date = Date.parse(value);
    return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }

  // ---- Models and health ----------------------------------------------------------------------------------------

  async function loadModels() {
    try {
      const response = await fetch('v1/models', { headers: { Accept: 'application/json' } });
      if (!response.ok) {
        throw await httpError(response);
      }

      const body = await response.json();
      const ids = (body.data || []).map((m) => m.id).filter(Boolean);
      els.model.replaceChildren(...ids.map((id) => new Option(id, id)));
      if (ids.length === 0) {
        els.model.append(new Option('No models', ''));
        showError('The server has no models loaded.');
      }

      els.model.disabled = ids.length === 0;
    } catch (err) {
      els.model.replaceChildren(new Option('Unavailable', ''));
      showError(`Cannot list the models: ${err.message}`);
    } finally {
      document.body.dataset.ready = 'true';
    }
  }

  async function checkHealth() {
    let ok = false;
    try {
      const response = await fetch('health', { cache: 'no-store' });
      ok = response.ok;
    } catch {
      ok = false;
    }

    els.health.classList.toggle('ok', ok);
    els.health.classList.toggle('down', !ok);
    const label = ok ? 'Server status: healthy' : 'Server status: unreachable';
    els.health.setAttribute('aria-label', label);
    els.health.title = label;
  }

  // ---- Attachments ----------------------------------------------------------------------------------------------

  const videoExtensions = /\.(mp4|m4v|webm|mov|mkv|avi)$/i;
  const imageExtensions = /\.(png|jpe?g|gif|webp|bmp)$/i;

  function kindOf(file) {
    const type = file.type || '';
    if (type.startsWith('image/') || (!type && imageExtensions.test(file.name))) {
      return 'image';
    }

    if (type === 'application/pdf' || /\.pdf$/i.test(file.name)) {
      return 'pdf';
    }

    if (type.startsWith('video/') || videoExtensions.test(file.name)) {
      return 'video';
    }

    return null;
  }

  function defaultMime(kind, name) {
    if (kind === 'pdf') {
      return 'application/pdf';
    }

    if (kind === 'video') {
      const ext = (name.match(/\.([a-z0-9]+)$/i) || [])[1] || 'mp4';
      return { webm: 'video/webm', mov: 'video/quicktime', mkv: 'video/x-matroska', avi: 'video/x-msvideo' }[ext.toLowerCase()] || 'video/mp4';
    }

    return 'image/png';
  }

  function readAsDataUrl(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error || new Error('Cannot read the file.'));
      reader.readAsDataURL(file);
    });
  }

  async function addFiles(files) {
    const rejected = [];
    for (const file of files) {
      const kind = kindOf(file);
      if (!kind) {
        rejected.push(file.name);
        continue;
      }

      let dataUrl = await readAsDataUrl(file);
      // Files without a (known) type read as application/octet-stream or an empty type; name the real one.
      const comma = dataUrl.indexOf(',');
      const header = dataUrl.slice(0, comma);
      if (!header.startsWith(`data:${kind === 'pdf' ? 'application/pdf' : kind + '/'}`)) {
        dataUrl = `data:${defaultMime(kind, file.name)};base64,${dataUrl.slice(comma + 1)}`;
      }

      state.attachments.push({ kind, name: file.name, size: file.size, dataUrl });
    }

    renderAttachments();
    if (rejected.length > 0) {
      showError(`Not an image, a PDF or a video: ${rejected.join(', ')}`);
    }

    els.prompt.focus();
  }

  function formatSize(bytes) {
    if (bytes < 1024) {
      return `${bytes} B`;
    }

    if (bytes < 1024 * 1024) {
      return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
    }

    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  /** A thumbnail (images, videos) or an icon (PDFs) for a piece of media. */
  function mediaPreview(kind, dataUrl, name) {
    if (kind === 'image') {
      const img = document.createElement('img');
      img.src = dataUrl;
      img.alt = name || 'Attached image';
      img.className = 'thumb';
      return img;
    }

    if (kind === 'video') {
      const video = document.createElement('video');
      video.src = dataUrl;
      video.muted = true;
      video.preload = 'metadata';
      video.className = 'thumb';
      video.setAttribute('aria-label', name || 'Attached video');
      return video;
    }

    const icon = document.createElement('span');
    icon.className = 'thumb file-icon';
    icon.textContent = 'PDF';
    icon.setAttribute('aria-hidden', 'true');
    return icon;
  }

  function renderAttachments() {
    const items = state.attachments.map((a, index) => {
      const li = document.createElement('li');
      li.className = `chip ${a.kind}`;
      li.dataset.testid = 'attachment';
      li.dataset.kind = a.kind;
      li.append(mediaPreview(a.kind, a.dataUrl, a.name));
      const label = document.createElement('span');
      label.className = 'chip-label';
      const name = document.createElement('span');
      name.className = 'chip-name';
      name.textContent = a.name;
      name.title = a.name;
      const size = document.createElement('span');
      size.className = 'chip-size';
      size.textContent = formatSize(a.size);
      label.append(name, size);
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'icon-button chip-remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${a.name}`);
      remove.addEventListener('click', () => {
        state.attachments.splice(index, 1);
        renderAttachments();
      });
      li.append(label, remove);
      return li;
    });

    els.attachments.replaceChildren(...items);
    els.attachments.hidden = items.length === 0;
  }

  function toPart(a) {
    switch (a.kind) {
      case 'image':
        return { type: 'image_url', image_url: { url: a.dataUrl } };
      case 'pdf':
        return { type: 'file', file: { file_data: a.dataUrl, filename: a.name } };
      default: {
        const video = { url: a.dataUrl };
        const frames = parseInt(els.numFrames.value, 10);
        if (Number.isFinite(frames) && frames > 0) {
          video.num_frames = frames;
        }

        return { type: 'video_url', video_url: video };
      }
    }
  }

  // ---- Messages -------------------------------------------------------------------------------------------------

  function nearBottom() {
    const m = els.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
  }

  function scrollToBottom(force) {
    if (force || nearBottom()) {
      els.messages.scrollTop = els.messages.scrollHeight;
    }
  }

  function updateEmpty() {
    els.empty.hidden = els.messages.querySelector('.message') !== null;
  }

  /** Shows a user message (the OpenAI message object) as a bubble with its media and text. */
  function appendUserMessage(message) {
    const el = document.createElement('article');
    el.className = 'message user';
    el.dataset.testid = 'message-user';
    el.setAttribute('aria-label', 'You');
    const parts = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    const media = document.createElement('div');
    media.className = 'media';
    const texts = [];
    for (const part of parts) {
      if (part.type === 'text') {
        texts.push(part.text);
      } else if (part.type === 'image_url') {
        media.append(mediaPreview('image', part.image_url.url, 'Attached image'));
      } else if (part.type === 'video_url') {
        const preview = mediaPreview('video', part.video_url.url, 'Attached video');
        preview.controls = true;
        media.append(preview);
      } else if (part.type === 'file') {
        const chip = document.createElement('span');
        chip.className = 'file-chip';
        chip.append(mediaPreview('pdf'));
        const name = document.createElement('span');
        name.textContent = part.file.filename || 'document.pdf';
        chip.append(name);
        media.append(chip);
      }
    }

    if (media.childElementCount > 0) {
      el.append(media);
    }

    if (texts.length > 0) {
      const body = document.createElement('div');
      body.className = 'content';
      body.textContent = texts.join('\n');
      el.append(body);
    }

    els.messages.append(el);
    updateEmpty();
    scrollToBottom(true);
    return el;
  }

  /** Adds an empty assistant bubble; the answer streams into its content element. */
  function appendAssistantMessage(model) {
    const el = document.createElement('article');
    el.className = 'message assistant';
    el.dataset.testid = 'message-assistant';
    el.dataset.state = 'streaming';
    el.setAttribute('aria-label', 'Assistant');
    el.setAttribute('aria-busy', 'true');
    const body = document.createElement('div');
    body.className = 'content';
    const text = document.createTextNode('');
    body.append(text);
    const cursor = document.createElement('span');
    cursor.className = 'cursor';
    cursor.setAttribute('aria-hidden', 'true');
    body.append(cursor);
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = model;
    el.append(body, meta);
    els.messages.append(el);
    updateEmpty();
    scrollToBottom(true);
    return {
      el,
      setText(value) {
        text.data = value;
        scrollToBottom(false);
      },
      finish(finalState, metaText) {
        cursor.remove();
        el.dataset.state = finalState;
        el.removeAttribute('aria-busy');
        meta.textContent = metaText ? `${model} · ${metaText}` : model;
      },
    };
  }

  // ---- Server-sent events ---------------------------------------------------------------------------------------

  /** Yields the data of each server-sent event in a fetch response body (multi-line data joined with \n). */
  async function* readEvents(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = [];
    try {
      for (;;) {
        const { value, done } = await reader.read();
        buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
        let newline;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
          if (buffer[newline] === '\r' && newline === buffer.length - 1 && !done) {
            break;
          }

          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (data.length > 0) {
              yield data.join('\n');
              data = [];
            }
          } else if (line.startsWith('data:')) {
            data.push(line.slice(line[5] === ' ' ? 6 : 5));
          }
          // Comments (":") and other fields (event, id, retry) are not used by the chat completions stream.
        }

        if (done) {
          if (buffer.startsWith('data:')) {
            data.push(buffer.slice(buffer[5] === ' ' ? 6 : 5));
          }

          if (data.length > 0) {
            yield data.join('\n');
          }

          return;
        }
      }
    } finally {
      reader.releaseLock();
    }
  }

  // ---- Sending --------------------------------------------------------------------------------------------------

  /** Reads and validates the parameter controls; returns null (and reports) when one is invalid. */
  function readParameters() {
    for (const input of [els.temperature, els.topP, els.maxTokens, els.seed, els.numFrames]) {
      if (!input.checkValidity()) {
        input.reportValidity();
        return null;
      }
    }

    const params = {};
    const temperature = parseFloat(els.temperature.value);
    if (Number.isFinite(temperature)) {
      params.temperature = temperature;
    }

    const topP = parseFloat(els.topP.value);
    if (Number.isFinite(topP)) {
      params.top_p = topP;
    }

    const maxTokens = parseInt(els.maxTokens.value, 10);
    if (Number.isFinite(maxTokens)) {
      params.max_tokens = maxTokens;
    }

    const seed = parseInt(els.seed.value, 10);
    if (Number.isFinite(seed)) {
      params.seed = seed;
    }

    return params;
  }

  function setBusy(busy) {
    els.send.disabled = busy;
    els.stop.hidden = !busy;
    els.stop.disabled = !busy;
    els.composer.setAttribute('aria-busy', String(busy));
    document.body.dataset.busy = String(busy);
  }

  function setStatus(text) {
    els.status.textContent = text;
  }

  function describeRun(tokens, elapsedMs, firstTokenMs, finishReason) {
    const seconds = elapsedMs / 1000;
    const parts = [`${tokens} token${tokens === 1 ? '' : 's'}`, `${seconds.toFixed(2)} s`];
    if (tokens > 0 && seconds > 0) {
      parts.push(`${(tokens / seconds).toFixed(1)} tok/s`);
    }

    if (firstTokenMs !== null) {
      parts.push(`first token ${Math.round(firstTokenMs)} ms`);
    }

    if (finishReason && finishReason !== 'stop') {
      parts.push(`finish: ${finishReason}`);
    }

    return parts.join(' · ');
  }

  async function send() {
    if (state.controller) {
      return;
    }

    const promptText = els.prompt.value;
    const text = promptText.trim();
    if (!text && state.attachments.length === 0) {
      els.prompt.focus();
      return;
    }

    const model = els.model.value;
    if (!model) {
      showError('No model is available on the server.');
      return;
    }

    const params = readParameters();
    if (!params) {
      return;
    }

    hideError();
    const attachments = state.attachments;
    const content = attachments.map(toPart);
    if (text) {
      content.push({ type: 'text', text });
    }

    const userMessage = { role: 'user', content: attachments.length === 0 ? text : content };
    const messages = [];
    const system = els.system.value.trim();
    if (system) {
      messages.push({ role: 'system', content: system });
    }

    messages.push(...state.history, userMessage);

    state.attachments = [];
    renderAttachments();
    els.prompt.value = '';
    autosize();

    const userEl = appendUserMessage(userMessage);
    const assistant = appendAssistantMessage(model);
    const controller = new AbortController();
    const epoch = state.epoch;
    state.controller = controller;
    setBusy(true);
    setStatus('Generating…');

    const started = performance.now();
    let answer = '';
    let deltas = 0;
    let firstTokenMs = null;
    let usage = null;
    let finishReason = null;

    // Puts the question back into the composer when nothing came of it, so that it can be sent again.
    const restore = () => {
      userEl.remove();
      assistant.el.remove();
      updateEmpty();
      if (!els.prompt.value) {
        els.prompt.value = promptText;
        autosize();
      }

      state.attachments = attachments.concat(state.attachments);
      renderAttachments();
    };

    try {
      const response = await fetch('v1/chat/completions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({
          model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          ...params,
        }),
        signal: controller.signal,
      });
      if (!response.ok) {
        throw await httpError(response);
      }

      if (!response.body) {
        throw new ChatError('The browser cannot read streamed responses.');
      }

      for await (const data of readEvents(response.body)) {
        if (data === '[DONE]') {
          break;
        }

        let chunk;
        try {
          chunk = JSON.parse(data);
        } catch {
          throw new ChatError(`The server sent an event that is not JSON: ${data.slice(0, 80)}`);
        }

        if (chunk.error) {
          throw new ChatError(chunk.error.message || 'The server reported an error while generating.');
        }

        if (chunk.usage) {
          usage = chunk.usage;
        }

        const choice = chunk.choices && chunk.choices[0];
        if (!choice) {
          continue;
        }

        const piece = choice.delta && choice.delta.content;
        if (piece) {
          if (firstTokenMs === null) {
            firstTokenMs = performance.now() - started;
          }

          answer += piece;
          deltas++;
          assistant.setText(answer);
        }

        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
        }
      }

      if (epoch !== state.epoch) {
        return;
      }

      const tokens = usage && Number.isFinite(usage.completion_tokens) ? usage.completion_tokens : deltas;
      const summary = describeRun(tokens, performance.now() - started, firstTokenMs, finishReason);
      state.history.push(userMessage, { role: 'assistant', content: answer });
      assistant.finish('done', summary);
      els.status.dataset.tokens = String(tokens);
      setStatus(`Done: ${summary}`);
    } catch (err) {
      if (epoch !== state.epoch) {
        return;
      }

      const stopped = controller.signal.aborted;
      if (answer) {
        // Keep what was generated; the conversation goes on from it.
        state.history.push(userMessage, { role: 'assistant', content: answer });
        const summary = describeRun(deltas, performance.now() - started, firstTokenMs, null);
        assistant.finish(stopped ? 'stopped' : 'error', `${stopped ? 'stopped' : 'cut short'} · ${summary}`);
        setStatus(stopped ? `Stopped: ${summary}` : `Cut short: ${summary}`);
      } else {
        restore();
        setStatus(stopped ? 'Stopped.' : '');
      }

      if (!stopped) {
        showError(err instanceof ChatError ? err.message : `Cannot reach the server: ${err.message}`);
      }
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  function stop() {
    if (state.controller) {
      state.controller.abort();
    }
  }

  function clear() {
    stop();
    state.epoch++;
    state.controller = null;
    setBusy(false);
    state.history = [];
    state.attachments = [];
    renderAttachments();
    els.messages.querySelectorAll('.message').forEach((m) => m.remove());
    updateEmpty();
    hideError();
    setStatus('');
    delete els.status.dataset.tokens;
    els.prompt.value = '';
    autosize();
    els.prompt.focus();
  }

  // ---- Composer behaviour ---------------------------------------------------------------------------------------

  function autosize() {
    els.prompt.style.height = 'auto';
    els.prompt.style.height = `${Math.min(els.prompt.scrollHeight, 200)}px`;
  }

  els.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  els.prompt.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!els.send.disabled) {
        send();
      }
    }
  });
  els.prompt.addEventListener('input', autosize);
  els.prompt.addEventListener('paste', (e) => {
    const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
    if (files.length > 0) {
      e.preventDefault();
      addFiles(files);
    }
  });
  els.file.addEventListener('change', async () => {
    const files = Array.from(els.file.files || []);
    await addFiles(files);
    els.file.value = '';
  });
  els.stop.addEventListener('click', stop);
  els.clear.addEventListener('click', clear);
  els.errorClose.addEventListener('click', hideError);

  // Drag and drop anywhere on the page.
  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (hasFiles(e)) {
      e.preventDefault();
      dragDepth++;
      els.dropOverlay.hidden = false;
    }
  });
  window.addEventListener('dragover', (e) => {
    if (hasFiles(e)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  });
  window.addEventListener('dragleave', (e) => {
    if (hasFiles(e) && --dragDepth <= 0) {
      dragDepth = 0;
      els.dropOverlay.hidden = true;
    }
  });
  window.addEventListener('drop', (e) => {
    if (!hasFiles(e)) {
      return;
    }

    e.preventDefault();
    dragDepth = 0;
    els.dropOverlay.hidden = true;
    addFiles(Array.from(e.dataTransfer.files));
  });

  setBusy(false);
  updateEmpty();
  loadModels();
  checkHealth();
  setInterval(checkHealth, 30000);
  els.prompt.focus();
})();
