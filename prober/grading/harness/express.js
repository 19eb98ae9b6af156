'use strict';
// Hidden tests for the express-endpoint task, run inside the sandbox.
// Usage: node express.js answer.js meta.json
// Whatever port the answer listens on, it gets an ephemeral loopback one;
// an app or router that never listens is started here. The endpoint is then
// called over HTTP: the listing, its pagination metadata, paging through
// every user, filters by status and role, and invalid queries.

const fs = require('fs');
const http = require('http');
const { caseResult, loadModule, loadTypeScript, readJson, report, silenceConsole,
  toCommonJs } = require('./common.js');

const servers = [];
const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function patchedListen(...args) {
  servers.push(this);
  const callback = args.find((arg) => typeof arg === 'function');
  return listen.call(this, 0, '127.0.0.1', callback);
};

let port = 0;

function get(path) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, timeout: 2000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { if (text.length < 1e6) text += chunk; });
      response.on('end', () => {
        let body;
        try { body = JSON.parse(text); } catch (error) { body = undefined; }
        resolve({ status: response.statusCode, type: String(response.headers['content-type'] || ''), body });
      });
    });
    request.on('timeout', () => { request.destroy(new Error('timeout')); });
    request.on('error', (error) => resolve({ status: 0, type: '', body: undefined, error: String(error) }));
  });
}

const LIST_KEYS = ['data', 'users', 'items', 'results', 'records', 'rows', 'docs'];

function findList(body, depth = 0) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object' || depth > 2) return null;
  for (const key of LIST_KEYS) if (Array.isArray(body[key])) return body[key];
  for (const value of Object.values(body)) {
    const list = findList(value, depth + 1);
    if (list) return list;
  }
  return null;
}

const META = {
  page: /^(page|currentpage|current_page|pagenumber|page_number)$/i,
  limit: /^(limit|pagesize|page_size|perpage|per_page|size)$/i,
  total: /^(total|totalitems|total_items|totalcount|total_count|count|totalusers|total_users|totalrecords|total_records|totalresults|total_results)$/i,
  pages: /^(totalpages|total_pages|pages|pagecount|page_count|lastpage|last_page)$/i,
};

function findMeta(body, pattern, depth = 0) {
  if (!body || typeof body !== 'object' || Array.isArray(body) || depth > 3) return undefined;
  for (const [key, value] of Object.entries(body)) {
    if (pattern.test(key) && value !== '' && value !== null && !Number.isNaN(Number(value))) {
      return Number(value);
    }
  }
  for (const value of Object.values(body)) {
    const found = findMeta(value, pattern, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function field(item, name) {
  if (!item || typeof item !== 'object') return undefined;
  const key = Object.keys(item).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : item[key];
}

function key(item) {
  return JSON.stringify(item);
}

async function pageThrough(query, expectedTotal) {
  const seen = [];
  for (let page = 1; page <= 60; page += 1) {
    const response = await get(`/users?${query}${query ? '&' : ''}page=${page}&limit=2`);
    const list = findList(response.body);
    if (response.status !== 200 || !list) return { seen, problem: `page ${page}: status ${response.status}` };
    if (list.length > 2) return { seen, problem: `page ${page} has ${list.length} items for limit 2` };
    if (list.length === 0) break;
    seen.push(...list);
    if (expectedTotal !== undefined && seen.length >= expectedTotal) break;
  }
  const distinct = new Set(seen.map(key)).size;
  if (distinct !== seen.length) return { seen, problem: 'pages overlap' };
  return { seen, problem: '' };
}

async function filterCase(name, everyone, filters) {
  const wanted = everyone.filter((user) => Object.entries(filters).every(
    ([field_, value]) => String(field(user, field_)).toLowerCase() === String(value).toLowerCase()));
  if (Object.values(filters).some((value) => value === undefined) || wanted.length === 0) {
    caseResult(name, false, 'users carry no such field');
    return null;
  }
  const query = Object.entries(filters).map(([f, v]) => `${f}=${encodeURIComponent(v)}`).join('&');
  const { seen, problem } = await pageThrough(query, wanted.length);
  const got = new Set(seen.map(key));
  const same = got.size === wanted.length && wanted.every((user) => got.has(key(user)));
  caseResult(name, !problem && same, problem || (same ? '' : `got ${got.size} of ${wanted.length}`));
  return { query, count: wanted.length };
}

function mostCommon(users, name) {
  const counts = new Map();
  for (const user of users) {
    const value = field(user, name);
    if (typeof value === 'string' || typeof value === 'number') {
      counts.set(value, (counts.get(value) || 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([value]) => value)[0];
}

async function invalid(name, query, first) {
  const response = await get(`/users?${query}`);
  const clamped = response.status === 200 && JSON.stringify(findList(response.body)) === first;
  caseResult(name, response.status === 400 || response.status === 422,
    `status ${response.status}`, { status: response.status, clamped });
}

async function listingCases() {
  const listing = await get('/users');
  const list = findList(listing.body);
  caseResult('lists-users', listing.status === 200 && Array.isArray(list) && list.length > 0,
    `status ${listing.status}`);
  caseResult('json-content-type', /application\/json/.test(listing.type), listing.type);
  const page = await get('/users?page=1&limit=2');
  const total = findMeta(page.body, META.total);
  caseResult('pagination-metadata', findMeta(page.body, META.page) === 1
    && findMeta(page.body, META.limit) === 2 && total !== undefined,
  JSON.stringify(page.body).slice(0, 200));
  caseResult('total-pages', findMeta(page.body, META.pages) !== undefined);
  return { total, first: JSON.stringify(findList(page.body)) };
}

async function run() {
  const { total, first } = await listingCases();
  const { seen, problem } = await pageThrough('', total);
  const complete = total === undefined || seen.length === total;
  caseResult('paginates', !problem && seen.length > 0 && complete,
    problem || `saw ${seen.length} of ${total}`);
  const status = mostCommon(seen, 'status');
  const role = mostCommon(seen, 'role');
  const byStatus = await filterCase('filters-status', seen, { status });
  await filterCase('filters-role', seen, { role });
  await filterCase('filters-combined', seen, { status, role });
  if (byStatus) {
    const response = await get(`/users?${byStatus.query}&page=1&limit=1`);
    caseResult('filtered-total', findMeta(response.body, META.total) === byStatus.count);
  } else {
    caseResult('filtered-total', false, 'no status filter');
  }
  await invalid('rejects-bad-page', 'page=0&limit=2', first);
  await invalid('rejects-non-numeric', 'page=abc&limit=2', first);
  await invalid('rejects-bad-limit', 'page=1&limit=-5', first);
  const huge = await get('/users?page=1&limit=100000');
  const cappedLimit = findMeta(huge.body, META.limit);
  caseResult('caps-limit', huge.status === 400 || huge.status === 422
    || (huge.status === 200 && cappedLimit !== undefined && cappedLimit <= 1000),
  `status ${huge.status}, limit ${cappedLimit}`);
  const beyond = await get('/users?page=9999&limit=2');
  const empty = findList(beyond.body);
  caseResult('page-beyond-range', (beyond.status === 200 && Array.isArray(empty) && empty.length === 0)
    || beyond.status === 404, `status ${beyond.status}`);
  const unknown = await get('/users?status=prober-no-such-status');
  const none = findList(unknown.body);
  caseResult('unknown-filter-value', (unknown.status === 200 && Array.isArray(none) && none.length === 0)
    || unknown.status === 400 || unknown.status === 422, `status ${unknown.status}`);
}

function isApp(value) {
  return typeof value === 'function' && typeof value.handle === 'function'
    && typeof value.listen === 'function';
}

function isRouter(value) {
  return typeof value === 'function' && Array.isArray(value.stack) && typeof value.get === 'function';
}

// An answer that only exports its app or router gets started here.
function startExported(bindings) {
  const values = Object.values(bindings);
  const app = values.find(isApp);
  if (app) {
    app.listen(0);
    return true;
  }
  const router = values.find(isRouter);
  if (!router) return false;
  const express = require('express');
  const host = express();
  const paths = router.stack.map((layer) => layer.route && layer.route.path);
  host.use(paths.includes('/users') ? '/' : '/users', router);
  host.listen(0);
  return true;
}

function waitListening(server) {
  return new Promise((resolve) => {
    const started = Date.now();
    const poll = () => {
      if (server.address()) resolve(server.address().port);
      else if (Date.now() - started > 2000) resolve(0);
      else setTimeout(poll, 10);
    };
    poll();
  });
}

async function main() {
  const [answerPath, metaPath] = process.argv.slice(2);
  const meta = readJson(metaPath);
  const ts = loadTypeScript();
  silenceConsole();
  const { bindings, error } = loadModule(toCommonJs(fs.readFileSync(answerPath, 'utf8'), ts),
    meta.names);
  if (servers.length === 0 && !startExported(bindings)) {
    caseResult('load', false, error ? String(error) : 'no server started and no app exported',
      { missing: error && error.code === 'MODULE_NOT_FOUND' ? String(error.message) : '' });
    process.exit(0);
  }
  port = await waitListening(servers[0]);
  caseResult('load', port > 0, error ? String(error) : '');
  if (port > 0) await run();
  process.exit(0);
}

main().catch((error) => {
  report({ case: 'harness-error', ok: false, detail: String(error) });
  process.exit(0);
});
