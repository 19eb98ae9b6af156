'use strict';
// Hidden tests for the dijkstra task, run inside the sandbox.
// Usage: node dijkstra.js answer.ts meta.json
// meta.json: {"names": [...top-level names...], "typecheck": true}

const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { caseResult, loadModule, loadTypeScript, readJson, report, silenceConsole,
  toCommonJs } = require('./common.js');

const AMBIENT = `
declare const console: { log(...a: unknown[]): void; error(...a: unknown[]): void;
  warn(...a: unknown[]): void; info(...a: unknown[]): void; table(...a: unknown[]): void };
declare const process: { argv: string[]; exit(code?: number): never };
declare function require(name: string): any;
declare const module: { exports: any };
declare function setTimeout(f: () => void, ms?: number): unknown;
`;

function typecheck(ts, source) {
  const options = { strict: true, noEmit: true, target: ts.ScriptTarget.ES2020,
    lib: ['lib.es2020.d.ts'], types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const files = { '/sandbox/answer.ts': source, '/sandbox/ambient.d.ts': AMBIENT };
  const readSource = host.getSourceFile;
  host.getSourceFile = (name, language, ...rest) => (name in files
    ? ts.createSourceFile(name, files[name], language)
    : readSource(name, language, ...rest));
  const program = ts.createProgram(Object.keys(files), options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && d.file.fileName === '/sandbox/answer.ts');
  const messages = diagnostics.slice(0, 3)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
  caseResult('typecheck', diagnostics.length === 0, messages.join(' | '),
    { errors: diagnostics.length });
}

// Deterministic pseudo-random numbers so every grading sees the same graphs.
function lcg(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function randomGraph(random, nodes, edges, maxWeight) {
  const graph = new Map();
  for (let i = 0; i < nodes; i += 1) graph.set(`n${i}`, []);
  for (let i = 0; i < edges; i += 1) {
    const from = `n${Math.floor(random() * nodes)}`;
    const to = `n${Math.floor(random() * nodes)}`;
    graph.get(from).push({ to, weight: Math.floor(random() * maxWeight) });
  }
  return graph;
}

// Reference: Bellman-Ford, obviously right and plenty fast for small graphs.
function reference(graph, source) {
  const distance = new Map();
  for (const [node, edges] of graph) {
    distance.set(node, Infinity);
    for (const edge of edges) distance.set(edge.to, Infinity);
  }
  distance.set(source, 0);
  for (let round = 0; round < distance.size; round += 1) {
    let changed = false;
    for (const [node, edges] of graph) {
      for (const edge of edges) {
        const candidate = distance.get(node) + edge.weight;
        if (candidate < distance.get(edge.to)) {
          distance.set(edge.to, candidate);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return distance;
}

function distancesOf(result) {
  if (result instanceof Map) return result;
  if (result && result.distances !== undefined) return result.distances;
  if (result && result.dist !== undefined) return result.dist;
  return result;
}

function lookup(distances, node) {
  if (distances instanceof Map) return distances.get(node);
  if (distances && typeof distances === 'object') return distances[node];
  return undefined;
}

function sameDistances(got, want) {
  for (const [node, distance] of want) {
    if (lookup(got, node) !== distance) return `${node}: got ${lookup(got, node)}, want ${distance}`;
  }
  return '';
}

function pathCost(graph, path) {
  let cost = 0;
  for (let i = 0; i + 1 < path.length; i += 1) {
    const edges = (graph.get(path[i]) || []).filter((e) => e.to === path[i + 1]);
    if (edges.length === 0) return NaN;
    cost += Math.min(...edges.map((e) => e.weight));
  }
  return cost;
}

function attempt(name, body) {
  try {
    const detail = body();
    caseResult(name, detail === '', detail);
  } catch (error) {
    caseResult(name, false, `threw ${error && error.name}: ${error && error.message}`);
  }
}

function throws(fn) {
  try {
    fn();
    return 'did not throw';
  } catch (error) {
    return '';
  }
}

function sample() {
  return new Map([
    ['A', [{ to: 'B', weight: 1 }, { to: 'C', weight: 4 }]],
    ['B', [{ to: 'C', weight: 2 }, { to: 'D', weight: 5 }]],
    ['C', [{ to: 'D', weight: 1 }]],
    ['D', []],
  ]);
}

function graphCases(dijkstra) {
  attempt('example', () => sameDistances(distancesOf(dijkstra(sample(), 'A')),
    new Map([['A', 0], ['B', 1], ['C', 3], ['D', 4]])));
  attempt('random-graphs', () => {
    const random = lcg(20240601);
    for (let round = 0; round < 25; round += 1) {
      const graph = randomGraph(random, 3 + round, 4 + round * 3, 20);
      const problem = sameDistances(distancesOf(dijkstra(graph, 'n0')), reference(graph, 'n0'));
      if (problem) return `graph ${round}: ${problem}`;
    }
    return '';
  });
  attempt('previous-map', () => {
    const result = dijkstra(sample(), 'A');
    const previous = result && result.previous;
    if (!(previous instanceof Map)) return 'no previous map';
    return previous.get('D') === 'C' && previous.get('C') === 'B'
      && previous.get('A') == null ? '' : 'wrong predecessors';
  });
  attempt('unreachable', () => {
    const graph = sample();
    graph.set('E', [{ to: 'A', weight: 1 }]);
    const distance = lookup(distancesOf(dijkstra(graph, 'A')), 'E');
    return distance === Infinity ? '' : `got ${distance}`;
  });
  attempt('target-only-node', () => {
    const graph = new Map([['A', [{ to: 'Z', weight: 3 }]]]);
    const distance = lookup(distancesOf(dijkstra(graph, 'A')), 'Z');
    return distance === 3 ? '' : `got ${distance}`;
  });
  attempt('single-node', () => {
    const distance = lookup(distancesOf(dijkstra(new Map([['A', []]]), 'A')), 'A');
    return distance === 0 ? '' : `got ${distance}`;
  });
  attempt('zero-and-parallel-edges', () => {
    const graph = new Map([
      ['A', [{ to: 'B', weight: 5 }, { to: 'B', weight: 2 }, { to: 'C', weight: 0 }]],
      ['C', [{ to: 'B', weight: 0 }]], ['B', [{ to: 'A', weight: 1 }]],
    ]);
    return sameDistances(distancesOf(dijkstra(graph, 'A')),
      new Map([['A', 0], ['B', 0], ['C', 0]]));
  });
  attempt('missing-source-throws', () => throws(() => dijkstra(sample(), 'nowhere')));
  attempt('negative-weight-throws', () => throws(() => dijkstra(
    new Map([['A', [{ to: 'B', weight: -1 }]], ['B', []]]), 'A')));
}

function pathCases(shortestPath) {
  attempt('path', () => {
    const path = shortestPath(sample(), 'A', 'D');
    return JSON.stringify(path) === '["A","B","C","D"]' ? '' : `got ${JSON.stringify(path)}`;
  });
  attempt('random-paths', () => {
    const random = lcg(77);
    for (let round = 0; round < 10; round += 1) {
      const graph = randomGraph(random, 6 + round, 12 + round * 3, 9);
      const want = reference(graph, 'n0');
      for (const [node, distance] of want) {
        const path = shortestPath(graph, 'n0', node);
        if (distance === Infinity) {
          if (!Array.isArray(path) || path.length !== 0) return `${node} unreachable: got ${JSON.stringify(path)}`;
        } else if (!Array.isArray(path) || path[0] !== 'n0' || path[path.length - 1] !== node
          || pathCost(graph, path) !== distance) {
          return `${node}: got ${JSON.stringify(path)}`;
        }
      }
    }
    return '';
  });
  attempt('path-to-self', () => {
    const path = shortestPath(sample(), 'A', 'A');
    return JSON.stringify(path) === '["A"]' ? '' : `got ${JSON.stringify(path)}`;
  });
  attempt('path-missing-target', () => {
    const path = shortestPath(sample(), 'A', 'nowhere');
    return Array.isArray(path) && path.length === 0 ? '' : `got ${JSON.stringify(path)}`;
  });
}

function numberIn(value) {
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.find((v) => typeof v === 'number');
  if (value && typeof value === 'object') {
    for (const key of ['priority', 'distance', 'dist', 'key', 'value', 'cost', 'weight']) {
      if (typeof value[key] === 'number') return value[key];
    }
  }
  return undefined;
}

const PUSH = ['push', 'insert', 'add', 'enqueue', 'offer'];
const POP = ['pop', 'extractMin', 'poll', 'dequeue', 'extract', 'remove', 'popMin'];

function heapVariants(MinHeap) {
  const comparator = (a, b) => numberIn(a) - numberIn(b);
  return [
    () => [new MinHeap(), (heap, push, n) => heap[push](n, n)],
    () => [new MinHeap(comparator), (heap, push, n) => heap[push](n)],
    () => [new MinHeap(), (heap, push, n) => heap[push]({ node: `n${n}`, priority: n, distance: n })],
    () => [new MinHeap(), (heap, push, n) => heap[push](n)],
    () => [new MinHeap(), (heap, push, n) => heap[push](`n${n}`, n)],
    () => [new MinHeap(), (heap, push, n) => heap[push]([`n${n}`, n])],
  ];
}

function heapSorts(MinHeap) {
  const random = lcg(5);
  const values = Array.from({ length: 300 }, () => Math.floor(random() * 1000));
  const sorted = [...values].sort((a, b) => a - b);
  for (const variant of heapVariants(MinHeap)) {
    for (const push of PUSH) {
      for (const pop of POP) {
        try {
          const [heap, insert] = variant();
          if (typeof heap[push] !== 'function' || typeof heap[pop] !== 'function') continue;
          values.forEach((n) => insert(heap, push, n));
          const out = values.map(() => numberIn(heap[pop]()));
          if (JSON.stringify(out) === JSON.stringify(sorted)) return true;
        } catch (error) {
          // This calling convention is not the heap's; try the next.
        }
      }
    }
  }
  return false;
}

// The large graph runs in a worker thread: a quadratic answer is stopped
// at the deadline instead of holding the whole run to the wall timeout.
const SCALE_DEADLINE_MS = 3000;

function scaleWorker() {
  const { code, names, name } = workerData;
  silenceConsole();
  const { bindings } = loadModule(code, names);
  const dijkstra = bindings.dijkstra || bindings[name];
  const graph = randomGraph(lcg(9), 20000, 100000, 100);
  const started = Date.now();
  distancesOf(dijkstra(graph, 'n0'));
  parentPort.postMessage(Date.now() - started);
}

function scaleCase(code, meta) {
  return new Promise((resolve) => {
    const worker = new Worker(__filename, {
      workerData: { code, names: meta.names, name: meta.dijkstra },
    });
    const timer = setTimeout(() => {
      caseResult('scales', false, `no answer within ${SCALE_DEADLINE_MS} ms`);
      worker.terminate().then(resolve);
    }, SCALE_DEADLINE_MS);
    worker.on('message', (elapsed) => {
      clearTimeout(timer);
      caseResult('scales', true, `${elapsed} ms`);
      worker.terminate().then(resolve);
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      caseResult('scales', false, `threw ${error && error.message}`);
      resolve();
    });
  });
}

async function main() {
  const [answerPath, metaPath] = process.argv.slice(2);
  const meta = readJson(metaPath);
  const source = fs.readFileSync(answerPath, 'utf8');
  const ts = loadTypeScript();
  report({ case: 'typescript', ok: Boolean(ts) });
  if (ts && meta.typecheck) typecheck(ts, source);
  silenceConsole();
  const code = toCommonJs(source, ts);
  const { bindings, error } = loadModule(code, meta.names);
  const dijkstra = bindings.dijkstra || bindings[meta.dijkstra];
  caseResult('load', typeof dijkstra === 'function', error ? String(error) : '');
  if (typeof dijkstra !== 'function') return;
  if (typeof bindings.MinHeap === 'function') caseResult('min-heap', heapSorts(bindings.MinHeap));
  graphCases(dijkstra);
  const shortestPath = bindings.shortestPath || bindings[meta.shortestPath];
  if (typeof shortestPath === 'function') pathCases(shortestPath);
  await scaleCase(code, meta);
  process.exit(0);
}

if (isMainThread) {
  main();
} else {
  scaleWorker();
}
