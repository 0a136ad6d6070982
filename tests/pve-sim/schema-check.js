#!/usr/bin/env node
'use strict';
// schema-check.js - checks the Proxmox VE API SIMULATOR against the
// official API schema, as shipped (generated from Proxmox's API viewer) in
// the npm package proxmox-api (src/model.ts), used at test time only.
//
//   node schema-check.js TRACE
//
// 1. Every route the simulator serves exists in the schema with that method.
// 2. Every parameter the simulator accepts on a route exists there, with the
//    same type (string / integer / number / boolean), and the parameters it
//    requires are the schema's required ones.
// 3. Every successful answer in TRACE (one JSON line per request, written by
//    server.js --trace) has the shape the schema gives: the declared return
//    type, and for objects no member the schema lacks (unless it allows
//    additional properties) and no required member missing.
// Prints "PASS ..." / "FAIL ..." lines and exits non-zero on any failure.

const fs = require('node:fs');
const path = require('node:path');
const { ROUTE_PARAMS } = require('./params');

const modelPath = path.join(__dirname, 'node_modules', 'proxmox-api', 'src', 'model.ts');
const model = fs.readFileSync(modelPath, 'utf8');

// type aliases: export type X = Y;
const aliases = new Map();
for (const m of model.matchAll(/export type (\w+) = ([^;]+);/g)) aliases.set(m[1], m[2].trim());

function baseType(t) {
    for (let i = 0; i < 10 && aliases.has(t); i++) t = aliases.get(t);
    if (/^'/.test(t)) return 'string'; // an enum of strings
    if (t === 'number') return 'number';
    if (t === 'boolean') return 'boolean';
    if (t === 'string') return 'string';
    return t;
}

// interfaces: name -> { fields: {name: {type, optional}}, additional }
const interfaces = new Map();
for (const m of model.matchAll(/export interface (\w+) \{([\s\S]*?)\n    \}/g)) {
    const fields = {};
    let additional = false;
    for (const f of m[2].matchAll(/^\s+('?[\w-]+'?)(\?)?: ([^;]+);/gm)) {
        const name = f[1].replace(/'/g, '');
        fields[name] = { type: f[3].trim(), optional: !!f[2] };
    }
    if (/\[additionalProperties: string\]/.test(m[2])) additional = true;
    interfaces.set(m[1], { fields, additional });
}

// routes: "METHOD /path" -> { params: {name: {type, optional}}, ret }
const routes = new Map();
const re = /\* (GET|POST|PUT|DELETE) (\/[^\s]*)\n[\s\S]*?\$(get|post|put|delete)\((?:param\??: \{ ([^}]*) \})?\): Promise<([^>]+)>;/g;
for (const m of model.matchAll(re)) {
    const key = `${m[1]} ${m[2].replace(/\\/g, '')}`;
    if (m[3].toUpperCase() !== m[1] || routes.has(key)) continue;
    const params = {};
    for (const p of (m[4] || '').split(/, (?=['\w-]+\??: )/)) {
        const pm = /^'?([\w-]+)'?(\?)?: (.+)$/.exec(p.trim());
        if (pm) params[pm[1]] = { type: baseType(pm[3].trim()), optional: !!pm[2] };
    }
    routes.set(key, { params, ret: m[5].trim() });
}

let passed = 0;
let failed = 0;
const pass = (n) => { passed++; console.log(`PASS ${n}`); };
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };

if (routes.size < 300) fail('schema-parsed', `only ${routes.size} routes read from ${modelPath}`);
else pass(`schema-parsed (${routes.size} routes)`);

// The simulator's route table, read from server.js without running it.
const serverSrc = fs.readFileSync(path.join(__dirname, 'server.js'), 'utf8');
const simRoutes = [...serverSrc.matchAll(/\['(GET|POST|PUT|DELETE)', '([^']+)', '(\w+)'/g)]
    .map((m) => ({ method: m[1], path: m[2], decl: m[3] }));

const simType = (t) => (t === 'integer' ? 'number' : t);

for (const r of simRoutes) {
    const name = `route ${r.method} ${r.path}`;
    const s = routes.get(`${r.method} ${r.path}`);
    if (!s) { fail(name, 'not in the PVE API schema'); continue; }
    const problems = [];
    for (const [p, spec] of Object.entries(ROUTE_PARAMS[r.decl] || {})) {
        const sp = s.params[p];
        if (!sp) { problems.push(`parameter "${p}" is not in the schema`); continue; }
        if (sp.type !== simType(spec.type) && !(sp.type !== 'number' && sp.type !== 'boolean' && spec.type === 'string'))
            problems.push(`parameter "${p}" is ${spec.type} here but ${sp.type} in the schema`);
        if (!!spec.required !== !sp.optional)
            problems.push(`parameter "${p}" is ${spec.required ? 'required' : 'optional'} here but ${sp.optional ? 'optional' : 'required'} in the schema`);
    }
    for (const [p, sp] of Object.entries(s.params))
        if (!sp.optional && !(ROUTE_PARAMS[r.decl] || {})[p])
            problems.push(`required parameter "${p}" of the schema is not accepted`);
    if (problems.length) fail(name, problems.join('; '));
    else pass(name);
}

// PVE's JSON encoder sends some integers as strings (e.g. /cluster/nextid),
// so a numeric string counts as a number.
function checkValue(v, type, where, problems) {
    type = type.trim();
    if (type === 'any' || v === null && type === 'null') return;
    if (type.endsWith('[]')) {
        if (!Array.isArray(v)) { problems.push(`${where} is not an array`); return; }
        v.forEach((x, i) => checkValue(x, type.slice(0, -2), `${where}[${i}]`, problems));
        return;
    }
    const bt = baseType(type);
    if (bt === 'number') {
        if (typeof v !== 'number' && !(typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)))
            problems.push(`${where} should be a number, got ${JSON.stringify(v)}`);
        return;
    }
    if (bt === 'string') { if (typeof v !== 'string') problems.push(`${where} should be a string`); return; }
    if (bt === 'boolean') {
        if (typeof v !== 'boolean' && v !== 0 && v !== 1) problems.push(`${where} should be a boolean`);
        return;
    }
    const itf = interfaces.get(bt);
    if (!itf) return; // a type the schema leaves open
    if (typeof v !== 'object' || v === null || Array.isArray(v)) { problems.push(`${where} should be an object`); return; }
    for (const [k, x] of Object.entries(v)) {
        const f = itf.fields[k];
        if (!f) { if (!itf.additional) problems.push(`${where}.${k} is not in ${bt}`); continue; }
        checkValue(x, f.type, `${where}.${k}`, problems);
    }
    for (const [k, f] of Object.entries(itf.fields))
        if (!f.optional && v[k] === undefined && k !== 'additionalProperties')
            problems.push(`${where}.${k} (required by ${bt}) is missing`);
}

const traceFile = process.argv[2];
const seen = new Set();
if (traceFile) {
    const lines = fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const byRoute = new Map();
    for (const rec of lines) {
        if (!rec.route || rec.status !== 200) continue;
        const key = `${rec.method} ${rec.route}`;
        seen.add(key);
        const s = routes.get(key);
        if (!s) continue;
        const problems = [];
        checkValue(rec.data, s.ret, 'data', problems);
        const acc = byRoute.get(key) || { n: 0, problems: new Set() };
        acc.n++;
        problems.forEach((p) => acc.problems.add(p));
        byRoute.set(key, acc);
    }
    for (const [key, acc] of byRoute) {
        if (acc.problems.size) fail(`answers ${key}`, [...acc.problems].slice(0, 5).join('; '));
        else pass(`answers ${key} (${acc.n} checked)`);
    }
    for (const r of simRoutes)
        if (!seen.has(`${r.method} ${r.path}`) && r.path !== '/access/ticket')
            fail(`answers ${r.method} ${r.path}`, 'no successful answer in the trace, so its shape was not checked');
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
