'use strict';
// Hidden tests for the race-condition task, run inside the sandbox.
// Usage: node race.js answer.js meta.json
// The answer's code runs three times against a stubbed fetch: data that
// arrives after 20 ms, a network failure, and an HTTP 500. Each run is an
// async module body, so top-level await works too.

const fs = require('fs');
const { caseResult, loadModuleAsync, loadTypeScript, readJson, report, silenceConsole,
  toCommonJs } = require('./common.js');

const MARKER = 'prober-sentinel-7f3a';
const SENTINEL = { id: 42, marker: MARKER, items: ['a', 'b'] };
const ERROR_MARKER = 'prober-server-error-91c';

let unhandled = [];
process.on('unhandledRejection', (reason) => { unhandled.push(reason); });
process.on('uncaughtException', (error) => { unhandled.push(error); });

function sleep(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

function within(promise, ms) {
  return Promise.race([promise, sleep(ms).then(() => 'timed out')]);
}

function response(status, body) {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: status === 200 ? 'OK' : 'Internal Server Error',
    headers: new Map([['content-type', 'application/json']]),
    json: async () => body,
    text: async () => JSON.stringify(body),
  };
}

function stubFetch(kind, counter) {
  globalThis.fetch = () => {
    counter.calls += 1;
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if (kind === 'network') reject(new TypeError('Failed to fetch'));
        else if (kind === 'http') resolve(response(500, { error: ERROR_MARKER }));
        else resolve(response(200, SENTINEL));
      }, 20);
    });
  };
}

function mentions(value, marker) {
  try {
    if (value instanceof Error) return String(value.message).includes(marker);
    return JSON.stringify(value).includes(marker);
  } catch (error) {
    return false;
  }
}

async function callFetchers(bindings, source) {
  // The fix may only define a function; call those that fetch, as a user would.
  const outcomes = [];
  for (const [name, value] of Object.entries(bindings)) {
    if (typeof value !== 'function' || !/fetch/.test(String(value))) continue;
    if (/^class\s/.test(String(value))) continue;
    try {
      outcomes.push({ name, value: await within(Promise.resolve(value()), 1000) });
    } catch (error) {
      outcomes.push({ name, error });
    }
  }
  return outcomes;
}

async function scenario(kind, code, meta) {
  const counter = { calls: 0 };
  stubFetch(kind, counter);
  unhandled = [];
  const calls = silenceConsole();
  const loaded = await within(loadModuleAsync(code, meta.names), 1500);
  let outcomes = [];
  if (counter.calls === 0 && loaded !== 'timed out') {
    outcomes = await callFetchers(loaded.bindings, code);
  }
  await sleep(150);
  return { calls, counter, loaded, outcomes, unhandled: [...unhandled] };
}

function logged(result, levels, test) {
  return result.calls.some((call) => levels.includes(call.level) && call.args.some(test));
}

const DATA_LEVELS = ['log', 'info', 'debug', 'table', 'dir'];
const ERROR_LEVELS = ['error', 'warn', 'log', 'info'];

function judgeData(result) {
  const loadError = result.loaded === 'timed out' ? 'timed out' : result.loaded.error;
  caseResult('runs', !loadError, loadError ? String(loadError) : '');
  caseResult('fetch-called', result.counter.calls > 0);
  const delivered = logged(result, DATA_LEVELS, (arg) => mentions(arg, MARKER))
    || result.outcomes.some((o) => mentions(o.value, MARKER));
  caseResult('data-delivered', delivered);
  const premature = logged(result, ['log', 'info'], (arg) => arg === null || arg === undefined);
  caseResult('no-premature-log', delivered && !premature);
}

function judgeNetwork(result) {
  const reported = logged(result, ERROR_LEVELS, (arg) => arg instanceof Error
    || /fail|error/i.test(String(arg)))
    || result.outcomes.some((o) => o.error !== undefined);
  const ok = result.counter.calls > 0 && result.unhandled.length === 0 && reported;
  caseResult('handles-rejection', ok, result.unhandled.map(String).join('; '));
}

function judgeHttpError(result) {
  const asData = logged(result, DATA_LEVELS, (arg) => mentions(arg, ERROR_MARKER)
    && !/error|fail|status|500/i.test(String(arg)) && typeof arg === 'object')
    || result.outcomes.some((o) => mentions(o.value, ERROR_MARKER));
  const reported = logged(result, ERROR_LEVELS, (arg) => /500|status|error|fail/i.test(
    arg instanceof Error ? arg.message : String(arg)))
    || result.outcomes.some((o) => o.error !== undefined);
  const ok = result.counter.calls > 0 && !asData && reported
    && result.unhandled.length === 0;
  caseResult('checks-response-ok', ok);
}

async function main() {
  const [answerPath, metaPath] = process.argv.slice(2);
  const meta = readJson(metaPath);
  const ts = loadTypeScript();
  const code = toCommonJs(fs.readFileSync(answerPath, 'utf8'), ts);
  report({ case: 'transpiled', ok: Boolean(ts) });
  judgeData(await scenario('ok', code, meta));
  judgeNetwork(await scenario('network', code, meta));
  judgeHttpError(await scenario('http', code, meta));
  process.exit(0);
}

main();
