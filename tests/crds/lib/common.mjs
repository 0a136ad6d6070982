// common.mjs - constants, reporting and YAML reading shared by the checks.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import YAML from 'yaml';

// tests/crds/
export const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
                                 '..');
export const ROOT = path.resolve(process.env.VRT_SRC_DIR ||
                                 path.join(HERE, '..', '..'));
export const GROUP = 'infra.virtrigaud.io';
export const VERSION = 'v1beta1';
export const OUR_API = `${GROUP}/${VERSION}`;
export const KINDS = [
    'VirtualMachine', 'VMClass', 'VMImage', 'VMNetworkAttachment', 'Provider',
    'VMSnapshot', 'VMClone', 'VMSet', 'VMMigration', 'VMPlacementPolicy',
];
// The only places a schema may keep unknown fields (as the reference does).
export const PRESERVE_OK = new Set(['VirtualMachine:status.provider']);

// ---- reporting -----------------------------------------------------------

let passed = 0;
let failed = 0;
let skipped = 0;

export function pass(name) {
    passed++;
    console.log(`PASS ${name}`);
}

export function fail(name, why, details) {
    failed++;
    console.log(`FAIL ${name}: ${why}`);
    for (const d of (details || []).slice(0, 30))
        console.log(`    | ${d}`);
}

export function skip(name, why) {
    skipped++;
    console.log(`SKIP ${name}: ${why}`);
}

// Runs fn; it returns nothing (pass), or a list of problems (fail).
export function check(name, fn) {
    let problems;
    try {
        problems = fn();
    } catch (e) {
        problems = [`exception: ${e.stack || e}`];
    }
    if (problems && problems.length)
        fail(name, problems[0], problems.slice(1));
    else
        pass(name);
}

export const rel = (p) => path.relative(ROOT, p);

export function listYAML(dir) {
    if (!fs.existsSync(dir))
        return [];
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory())
            out.push(...listYAML(p));
        else if (/\.ya?ml$/.test(e.name))
            out.push(p);
    }
    return out.sort();
}

// Parses every document of a file with a YAML 1.2 and a YAML 1.1 reader
// (kubectl reads YAML 1.1: a bare On is true there, "On" in YAML 1.2).
export function readDocs(file) {
    const text = fs.readFileSync(file, 'utf8');
    const docs12 = YAML.parseAllDocuments(text);
    const docs11 = YAML.parseAllDocuments(text, { version: '1.1' });
    const out = [];
    docs12.forEach((d, i) => {
        if (d.errors.length)
            throw new Error(`document ${i + 1}: ${d.errors[0].message}`);
        const v12 = d.toJS();
        if (v12 === null || v12 === undefined)
            return; // an empty document (e.g. a trailing ---)
        const v11 = docs11[i].toJS();
        out.push({ index: i + 1, value: v12, yaml11: v11 });
    });
    return { text, docs: out };
}

// First path at which two JSON values differ, or null.
export function firstDiff(a, b, at = '') {
    if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) ||
        (a === null) !== (b === null))
        return at || '(root)';
    if (a && typeof a === 'object') {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        for (const k of keys) {
            const d = firstDiff(a[k], b[k], Array.isArray(a) ? `${at}[${k}]`
                                                              : at ? `${at}.${k}` : k);
            if (d)
                return d;
        }
        return null;
    }
    return a === b ? null : at || '(root)';
}


export function summary() {
    return { passed, failed, skipped };
}
