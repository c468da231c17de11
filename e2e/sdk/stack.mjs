// The rig each SDK test runs against: the SDK calls a tap, which records
// the request as the SDK put it on the wire and passes it on to
// `llmproxy-run proxy -mock`, which runs plugin.wasm and answers from the
// bundled mock provider (e2e/mockllm, replaying testdata/cases).
//
//   SDK -> tap (records) -> llmproxy-run proxy (plugin.wasm) -> mock provider
//
// The proxy runs the repository's envoy.yaml with two more access-log
// fields: request_id (the tap's x-request-id, to find a call's line) and
// upstream_accept_encoding (the request's Accept-Encoding after the plugin,
// as Envoy's %REQ()% shows it and as the mock receives it).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const outDir = path.join(repoRoot, 'build', 'e2e-sdk');
const runBin = process.env.LLMPROXY_RUN || path.join(repoRoot, 'build', 'llmproxy-run');
const wasm = process.env.LLMPROXY_WASM || path.join(repoRoot, 'plugin.wasm');

// expectOf is the case's expect block from testdata/cases/<name>/case.json.
export function expectOf(caseName) {
  const file = path.join(repoRoot, 'testdata', 'cases', caseName, 'case.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).expect;
}

// sdkVersion reads the installed package's own version.
export function sdkVersion(pkg) {
  const file = path.join(repoRoot, 'e2e', 'sdk', 'node_modules', pkg, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

const extraLogFields = {
  request_id: '%REQ(X-REQUEST-ID)%',
  upstream_accept_encoding: '%REQ(ACCEPT-ENCODING)%',
};

// envoyYaml is the repository's envoy.yaml with extraLogFields added to the
// json_format, so the rest cannot drift from it.
function envoyYaml() {
  const lines = fs.readFileSync(path.join(repoRoot, 'envoy.yaml'), 'utf8').split('\n');
  const at = lines.findIndex((l) => /^\s*json_format:\s*$/.test(l));
  if (at < 0) throw new Error('envoy.yaml: no json_format access log');
  const indent = ' '.repeat(lines[at].search(/\S/) + 2);
  const extra = Object.entries(extraLogFields).map(([k, v]) => `${indent}${k}: "${v}"`);
  lines.splice(at + 1, 0, ...extra);
  return lines.join('\n');
}

// Hop-by-hop headers are the connection's, not the request's.
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te']);

// Stack is one proxy with its tap; name keeps its files apart.
export class Stack {
  constructor(name) {
    this.name = name;
    this.calls = []; // what the tap saw, one entry per request
    this.logLines = []; // the proxy's access log, parsed
    this.stderr = '';
    this.seq = 0;
  }

  // start runs the proxy with the plugin configuration config (an object,
  // or undefined for envoy.yaml's) and the tap in front of it.
  async start(config) {
    fs.mkdirSync(outDir, { recursive: true });
    const envoy = path.join(outDir, `${this.name}.envoy.yaml`);
    fs.writeFileSync(envoy, envoyYaml());
    const args = ['proxy', '-mock', '-listen', '127.0.0.1:0', '-admin', '127.0.0.1:0', '-envoy', envoy, '-wasm', wasm];
    if (config !== undefined) {
      const file = path.join(outDir, `${this.name}.config.json`);
      fs.writeFileSync(file, JSON.stringify(config));
      args.push('-config', file);
      this.config = config;
    }
    this.proc = spawn(runBin, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    let out = '';
    this.proc.stdout.on('data', (d) => {
      out += d;
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('{')) this.logLines.push(JSON.parse(line));
      }
    });
    const addrs = await new Promise((resolve, reject) => {
      this.proc.on('exit', (code) => reject(new Error(`llmproxy-run proxy exited ${code} before listening:\n${this.stderr}`)));
      this.proc.on('error', reject);
      this.proc.stderr.on('data', (d) => {
        this.stderr += d;
        const listen = /listening on http:\/\/(\S+)/.exec(this.stderr);
        const admin = /admin on http:\/\/(\S+)/.exec(this.stderr);
        if (listen && admin) resolve({ proxy: listen[1], admin: admin[1] });
      });
    });
    this.proc.removeAllListeners('exit');
    this.proxyAddr = addrs.proxy;
    this.adminAddr = addrs.admin;
    this.tap = http.createServer((req, res) => this.forward(req, res));
    this.tap.listen(0, '127.0.0.1');
    await once(this.tap, 'listening');
    this.base = `http://127.0.0.1:${this.tap.address().port}`;
    return this;
  }

  // forward records the request and passes it on with an x-request-id,
  // as an edge proxy adds one; the response streams back as it comes.
  async forward(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const id = `${this.name}-${++this.seq}`;
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const call = { id, label: this.label, method: req.method, url: req.url, headers, body: body.toString('utf8') };
    this.calls.push(call);
    const out = [];
    for (const [k, v] of headers) {
      if (!hopByHop.has(k.toLowerCase()) && k.toLowerCase() !== 'content-length') out.push(k, v);
    }
    out.push('x-request-id', id, 'content-length', String(body.length));
    const [host, port] = this.proxyAddr.split(':');
    const up = http.request({ host, port, method: req.method, path: req.url, headers: out });
    up.on('error', (e) => {
      call.error = String(e);
      res.destroy(e);
    });
    up.on('response', (ur) => {
      call.status = ur.statusCode;
      call.responseHeaders = ur.headers;
      const resHeaders = [];
      for (let i = 0; i < ur.rawHeaders.length; i += 2) {
        const k = ur.rawHeaders[i];
        if (!hopByHop.has(k.toLowerCase())) resHeaders.push(k, ur.rawHeaders[i + 1]);
      }
      res.writeHead(ur.statusCode, resHeaders);
      const got = [];
      ur.on('data', (d) => got.push(d));
      ur.on('end', () => (call.responseBody = Buffer.concat(got).toString('utf8')));
      ur.pipe(res);
    });
    up.end(body);
  }

  // call runs fn (an SDK call through this.base) under a label and gives
  // back what the tap saw and the proxy's access-log line for it.
  async call(label, fn) {
    this.label = label;
    const from = this.calls.length;
    const result = await fn();
    const mine = this.calls.slice(from);
    if (mine.length !== 1) throw new Error(`${label}: the SDK made ${mine.length} requests, want 1`);
    const tap = mine[0];
    const log = await this.logLine(tap.id);
    tap.log = log;
    return { result, tap, log, caseName: tap.responseHeaders?.['x-mock-case'] };
  }

  async logLine(id) {
    for (let i = 0; i < 100; i++) {
      const line = this.logLines.find((l) => l.request_id === id);
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no access-log line for ${id}; proxy stderr:\n${this.stderr}`);
  }

  // metrics is the admin's /stats/prometheus, parsed.
  async metrics() {
    const res = await fetch(`http://${this.adminAddr}/stats/prometheus`);
    if (!res.ok) throw new Error(`/stats/prometheus: ${res.status}`);
    return parsePrometheus(await res.text());
  }

  async stop() {
    if (this.tap) this.tap.close();
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await once(this.proc, 'exit');
    }
  }
}

// parsePrometheus reads the text exposition format into samples; comments
// and TYPE lines are skipped.
export function parsePrometheus(text) {
  const samples = [];
  const re = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

// sum adds the samples of metric whose labels include match.
export function sum(samples, metric, match) {
  return samples
    .filter((s) => s.name === metric && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

// describeRequest is what the report keeps of a request: the headers the
// SDK sent (credentials masked), where the model is, the query string, and
// what the plugin left of Accept-Encoding.
export function describeRequest(sdk, version, label, got) {
  const { tap, log, caseName } = got;
  const headers = {};
  for (const [k, v] of tap.headers) {
    const name = k.toLowerCase();
    headers[name] = /authorization|api-key|x-goog-api-key/.test(name) ? v.replace(/^(Bearer )?.*/, '$1***') : v;
  }
  const url = new URL(tap.url, 'http://x');
  let model = 'not in the body';
  try {
    const keys = Object.keys(JSON.parse(tap.body));
    const i = keys.indexOf('model');
    if (i >= 0) model = `body key ${i + 1} of ${keys.length}`;
  } catch {
    model = 'body is not JSON';
  }
  if (/\/models\/[^/:]+:/.test(url.pathname)) model = 'path: /models/{model}:method';
  return {
    sdk,
    version,
    call: label,
    method: tap.method,
    path: url.pathname,
    query: url.search,
    model,
    case: caseName,
    headers,
    upstream_accept_encoding: log.upstream_accept_encoding,
    access_log: log,
  };
}

// Headers every call shows, kept out of the report's "also" column.
const common = new Set(['host', 'connection', 'accept', 'user-agent', 'authorization', 'x-api-key', 'x-goog-api-key',
  'content-type', 'content-length', 'accept-encoding', 'accept-language', 'sec-fetch-mode']);

// writeReport saves the stack's report and prints a short table of it.
export function writeReport(name, rows) {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(rows, null, 2) + '\n');
  const lines = [`request headers as the SDK sent them, and Accept-Encoding as the mock got it (${path.relative(repoRoot, file)}):`];
  for (const r of rows) {
    const h = r.headers;
    const auth = ['authorization', 'x-api-key', 'x-goog-api-key'].filter((k) => k in h).join('+') || 'none';
    const stainless = Object.keys(h).filter((k) => k.startsWith('x-stainless-')).length;
    const also = Object.keys(h).filter((k) => !common.has(k) && !k.startsWith('x-stainless-'));
    lines.push(
      `  ${r.sdk} ${r.version} | ${r.call} | ${r.method} ${r.path}${r.query} | model: ${r.model} | ` +
        `accept-encoding: ${h['accept-encoding'] ?? '-'} -> ${r.upstream_accept_encoding} | ` +
        `content-type: ${h['content-type'] ?? '-'} | accept: ${h.accept ?? '-'} | auth: ${auth} | ` +
        `user-agent: ${h['user-agent'] ?? '-'} | x-stainless-*: ${stainless} | also: ${also.join(', ') || '-'}`,
    );
  }
  process.stderr.write(lines.join('\n') + '\n');
}
