'use strict';
// Shared by the Node.js harnesses, inside the sandbox: reporting, loading an
// answer's code as a CommonJS module, and keeping its console output away
// from the report lines.

const fs = require('fs');

const MARK = '@@prober ';

function report(record) {
  const line = MARK + JSON.stringify(record) + '\n';
  fs.writeSync(1, line);
}

function caseResult(name, ok, detail, extra) {
  report({ case: name, ok: Boolean(ok), detail: String(detail || '').slice(0, 300),
    ...(extra || {}) });
}

function loadTypeScript() {
  try {
    return require('typescript');
  } catch (error) {
    return null;
  }
}

// TypeScript and ES-module syntax become CommonJS; without the typescript
// package only `export` keywords are stripped, which covers plain JS answers.
function toCommonJs(source, ts) {
  if (ts) {
    const output = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2020,
        esModuleInterop: true,
      },
      reportDiagnostics: false,
    });
    return output.outputText;
  }
  return source
    .replace(/^\s*export\s+default\s+/gm, '')
    .replace(/^\s*export\s+(?=(async\s+)?(function|class|const|let|var|interface|type)\b)/gm, '')
    .replace(/^\s*export\s*\{[^}]*\};?/gm, '');
}

// Reads every named binding after the module body ran (or threw), without
// tripping over bindings still in their temporal dead zone.
function captureCode(names) {
  const fields = names
    .filter((name) => /^[A-Za-z_$][\w$]*$/.test(name))
    .map((name) => `${JSON.stringify(name)}: (() => { try { return ${name}; } catch (e) { return undefined; } })()`);
  return `module.__capture = () => ({ ${fields.join(', ')} });\n`;
}

const AsyncFunction = (async () => {}).constructor;
const PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

function compile(code, names, asynchronous) {
  const body = captureCode(names) + code;
  return asynchronous ? new AsyncFunction(...PARAMETERS, body)
    : new Function(...PARAMETERS, body);
}

function loaded(module, error) {
  const bindings = module.__capture();
  const exported = module.exports && typeof module.exports === 'object'
    ? module.exports : {};
  if (typeof module.exports === 'function') exported.default = module.exports;
  return { module, error, bindings: { ...bindings, ...exported } };
}

// Runs the answer as a CommonJS module body; returns its bindings by name
// and the error that stopped it, if any.
function loadModule(code, names) {
  const module = { exports: {}, __capture: () => ({}) };
  let error = null;
  try {
    compile(code, names, false)(module.exports, require, module, '/sandbox/answer.js',
      '/sandbox');
  } catch (caught) {
    error = caught;
  }
  return loaded(module, error);
}

// The same as an async function body, so top-level await works; resolves
// once the body finished or threw.
async function loadModuleAsync(code, names) {
  const module = { exports: {}, __capture: () => ({}) };
  let error = null;
  try {
    await compile(code, names, true)(module.exports, require, module,
      '/sandbox/answer.js', '/sandbox');
  } catch (caught) {
    error = caught;
  }
  return loaded(module, error);
}

function silenceConsole() {
  const calls = [];
  for (const level of ['log', 'info', 'warn', 'error', 'debug', 'table', 'dir']) {
    console[level] = (...args) => { calls.push({ level, args }); };
  }
  return calls;
}

function readJson(path) {
  return JSON.parse(fs.readFileSync(path, 'utf8'));
}

module.exports = { caseResult, loadModule, loadModuleAsync, loadTypeScript, readJson, report,
  silenceConsole, toCommonJs };
