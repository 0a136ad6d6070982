#!/usr/bin/env node
// gen.mjs - writes crds/*.yaml and the generated field tables of
// docs/kinds/*.md from the schema sources in this directory.
//
//   node crds/src/gen.mjs           write the files
//   node crds/src/gen.mjs --check   exit 1 (listing them) when a file is
//                                   not what the sources produce
//
// Needs only Node.js (no npm packages), so that anyone can regenerate.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { P } from './dsl.mjs';
import virtualmachine from './virtualmachine.mjs';
import vmclass from './vmclass.mjs';
import vmimage from './vmimage.mjs';
import vmnetworkattachment from './vmnetworkattachment.mjs';
import provider from './provider.mjs';
import vmsnapshot from './vmsnapshot.mjs';
import vmclone from './vmclone.mjs';
import vmset from './vmset.mjs';
import vmmigration from './vmmigration.mjs';
import vmplacementpolicy from './vmplacementpolicy.mjs';

const GROUP = 'infra.virtrigaud.io';
const VERSION = 'v1beta1';
const KINDS = [virtualmachine, vmclass, vmimage, vmnetworkattachment,
                      provider, vmsnapshot, vmclone, vmset, vmmigration,
                      vmplacementpolicy];

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

// ---- schema finishing: drop the $ hints, fix the key order --------------

const KEY_ORDER = [
    'description', 'type', 'format', 'anyOf', 'x-kubernetes-int-or-string',
    'enum', 'default', 'minimum', 'maximum', 'minLength', 'maxLength',
    'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
    'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields',
    'required', 'not', 'properties', 'additionalProperties', 'items',
];

function finish(schema) {
    const out = {};
    for (const k of Object.keys(schema)) {
        if (!k.startsWith('$') && !KEY_ORDER.includes(k))
            throw new Error(`unknown schema keyword "${k}"`);
    }
    for (const k of KEY_ORDER) {
        if (!(k in schema))
            continue;
        const v = schema[k];
        if (k === 'properties') {
            out[k] = {};
            for (const [name, sub] of Object.entries(v))
                out[k][name] = finish(sub);
        } else if ((k === 'items' || k === 'additionalProperties') &&
                   typeof v === 'object') {
            out[k] = finish(v);
        } else if (k === 'anyOf') {
            out[k] = v.map(finish);
        } else if (k === 'not') {
            out[k] = finish(v);
        } else {
            out[k] = v;
        }
    }
    return out;
}

function buildCRD(k) {
    const root = {
        description: k.description,
        type: 'object',
        properties: {
            apiVersion: { type: 'string', description:
                'Versioned schema of this object: infra.virtrigaud.io/v1beta1.' },
            kind: { type: 'string', description:
                `Kind of this object: ${k.kind}.` },
            metadata: { type: 'object' },
            spec: k.spec,
            status: k.status,
        },
    };
    const subresources = { status: {} };
    if (k.scale)
        subresources.scale = { ...k.scale };
    return {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: {
            name: `${k.plural}.${GROUP}`,
            labels: { 'app.kubernetes.io/part-of': 'virtrigaud' },
        },
        spec: {
            group: GROUP,
            names: {
                kind: k.kind,
                listKind: `${k.kind}List`,
                plural: k.plural,
                singular: k.kind.toLowerCase(),
                shortNames: k.shortNames,
                categories: ['virtrigaud'],
            },
            scope: 'Namespaced',
            versions: [{
                name: VERSION,
                served: true,
                storage: true,
                subresources,
                additionalPrinterColumns: k.columns.map((c) => ({ ...c })),
                schema: { openAPIV3Schema: finish(root) },
            }],
        },
    };
}

// ---- a small YAML writer (block style, JSON-compatible values) ----------

// Words a YAML 1.1 reader (go-yaml, PyYAML) takes for booleans or null,
// and exponent-only numbers some YAML 1.1 readers accept ("e1000").
const YAML11_WORDS = /^(y|n|yes|no|true|false|on|off|null)$/i;
const YAML11_FLOAT = /^[eE][-+]?[0-9]+$/;

function plainOk(s) {
    return /^[A-Za-z][A-Za-z0-9 _.,;()'\/+=<>*%-]*$/.test(s) &&
        !s.endsWith(' ') && !YAML11_WORDS.test(s) && !YAML11_FLOAT.test(s);
}

function scalar(v) {
    if (v === null)
        return 'null';
    if (typeof v === 'boolean' || typeof v === 'number')
        return String(v);
    if (typeof v === 'string')
        return plainOk(v) ? v : JSON.stringify(v);
    throw new Error(`cannot write ${typeof v} as a YAML scalar`);
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function emitValue(lines, pad, prefix, v) {
    if (Array.isArray(v)) {
        if (!v.length) {
            lines.push(`${pad}${prefix} []`);
            return;
        }
        lines.push(`${pad}${prefix}`);
        emitArray(lines, pad + '  ', v);
    } else if (isObj(v)) {
        if (!Object.keys(v).length) {
            lines.push(`${pad}${prefix} {}`);
            return;
        }
        lines.push(`${pad}${prefix}`);
        emitObject(lines, pad + '  ', v);
    } else {
        lines.push(`${pad}${prefix} ${scalar(v)}`);
    }
}

function emitObject(lines, pad, o) {
    for (const [k, v] of Object.entries(o))
        emitValue(lines, pad, `${scalar(k)}:`, v);
}

function emitArray(lines, pad, a) {
    for (const v of a) {
        if (isObj(v) && Object.keys(v).length) {
            // First key on the dash line, the others under it.
            const sub = [];
            emitObject(sub, pad + '  ', v);
            sub[0] = `${pad}- ${sub[0].slice(pad.length + 2)}`;
            lines.push(...sub);
        } else if (Array.isArray(v) && v.length) {
            throw new Error('nested arrays are not used in the CRDs');
        } else {
            lines.push(`${pad}- ${isObj(v) ? '{}' : Array.isArray(v) ? '[]'
                                              : scalar(v)}`);
        }
    }
}

function toYAML(o) {
    const lines = [];
    emitObject(lines, '', o);
    return lines.join('\n') + '\n';
}

const crdFile = (k) => `crds/${GROUP}_${k.plural}.yaml`;

function crdText(k) {
    return `# ${k.kind} (${GROUP}/${VERSION}).\n` +
        `# Generated from crds/src/${k.doc}.mjs by crds/src/gen.mjs; edit ` +
        'the source\n# and run `node crds/src/gen.mjs`, not this file.\n' +
        toYAML(buildCRD(k));
}

// ---- field tables for docs/kinds/<kind>.md -------------------------------

const PATTERN_NAMES = new Map([
    [P.dnsLabel, 'DNS-1123 label'],
    [P.ipv4, 'IPv4 address'],
    [P.cidr4, 'IPv4 CIDR, e.g. 192.0.2.10/24'],
    [P.mac, 'MAC address'],
    [P.quantity, null],
    [P.duration, null],
]);

function typeName(s) {
    if (s.$docType)
        return s.$docType;
    if (s.type === 'array') {
        const it = s.items;
        return `array of ${it.$docType || (it.format === 'date-time' ? 'time'
                                           : it.type)}`;
    }
    if (s.type === 'object' && isObj(s.additionalProperties))
        return `map of ${s.additionalProperties.type}`;
    return s.type;
}

const code = (v) => '`' + String(v).replace(/\|/g, '\\|') + '`';

function constraints(s, required) {
    const c = [];
    if (required)
        c.push('**required**');
    if (s.enum)
        c.push('one of ' + s.enum.map(code).join(', '));
    if (s.minimum !== undefined && s.maximum !== undefined)
        c.push(`${s.minimum}–${s.maximum}`);
    else if (s.minimum !== undefined)
        c.push(`≥ ${s.minimum}`);
    else if (s.maximum !== undefined)
        c.push(`≤ ${s.maximum}`);
    if (s.minLength !== undefined && s.minLength > 0)
        c.push(`length ≥ ${s.minLength}`);
    if (s.maxLength !== undefined)
        c.push(`length ≤ ${s.maxLength}`);
    if (s.pattern !== undefined) {
        const name = PATTERN_NAMES.get(s.pattern);
        if (name === undefined)
            c.push(`pattern ${code(s.pattern)}`);
        else if (name)
            c.push(name);
    }
    if (s.minItems !== undefined)
        c.push(`≥ ${s.minItems} items`);
    if (s.maxItems !== undefined)
        c.push(`≤ ${s.maxItems} items`);
    if (s.maxProperties !== undefined)
        c.push(`≤ ${s.maxProperties} entries`);
    return c.join('; ');
}

function rows(out, s, at, required, nyhAbove) {
    const nyh = nyhAbove || !!s.$nyh;
    const def = s.default === undefined ? ''
        : code(typeof s.default === 'string' && s.default !== ''
               ? s.default : JSON.stringify(s.default));
    const desc = (nyh ? '**Not yet honoured.** ' : '') +
        (s.description || '').replace(/\|/g, '\\|');
    out.push(`| ${code(at)} | ${typeName(s)} | ${def} | ` +
             `${constraints(s, required)} | ${desc} |`);
    if (s.$docStop)
        return;
    children(out, s, at, nyh);
}

function children(out, s, at, nyh) {
    if (s.type === 'object' && s.properties) {
        const req = new Set(s.required || []);
        for (const [name, sub] of Object.entries(s.properties))
            rows(out, sub, at ? `${at}.${name}` : name, req.has(name), nyh);
    } else if (s.type === 'array' && s.items.type === 'object' &&
               s.items.properties && !s.items.$docStop) {
        children(out, s.items, `${at}[]`, nyh);
    } else if (s.type === 'object' && isObj(s.additionalProperties) &&
               s.additionalProperties.properties) {
        children(out, s.additionalProperties, `${at}.<key>`, nyh);
    }
}

function table(s, at) {
    const out = ['| Field | Type | Default | Constraints | Description |',
                 '|---|---|---|---|---|'];
    children(out, s, at, false);
    return out.join('\n');
}

const docFile = (k) => `docs/kinds/${k.doc}.md`;
const BEGIN = '<!-- BEGIN GENERATED REFERENCE (crds/src/gen.mjs); ' +
    'do not edit by hand -->';
const END = '<!-- END GENERATED REFERENCE -->';

function reference(k) {
    const cols = k.columns.map((c) => c.priority ? `${c.name} (wide)`
                                                 : c.name).join(', ');
    const sub = ['status'].concat(k.scale ? [
        `scale (${code(k.scale.specReplicasPath)}, ` +
        `${code(k.scale.statusReplicasPath)}, selector ` +
        `${code(k.scale.labelSelectorPath)})`] : []).join(', ');
    return [
        BEGIN,
        '',
        '| | |',
        '|---|---|',
        `| API version | \`${GROUP}/${VERSION}\` |`,
        `| Kind | \`${k.kind}\` (namespaced) |`,
        `| Plural, short name | \`${k.plural}\`, \`${k.shortNames.join(', ')}\` |`,
        '| Category | `virtrigaud` (`kubectl get virtrigaud`) |',
        `| Subresources | ${sub} |`,
        `| Columns | ${cols} |`,
        ...(k.nyh ? ['| Implemented | **Not yet honoured**: declared for ' +
                     'compatibility; objects are stored, nothing acts on ' +
                     'them |'] : []),
        `| CRD | [\`${crdFile(k)}\`](../../${crdFile(k)}) |`,
        '',
        '### Spec fields',
        '',
        table(k.spec, 'spec'),
        '',
        '### Status fields',
        '',
        table(k.status, 'status'),
        '',
        END,
    ].join('\n');
}

function docText(k, current) {
    const a = current.indexOf(BEGIN);
    const b = current.indexOf(END);
    if (a < 0 || b < a)
        throw new Error(`${docFile(k)} lacks the generated-reference markers`);
    return current.slice(0, a) + reference(k) + current.slice(b + END.length);
}

// ---- main -----------------------------------------------------------------

function main(argv) {
    const check = argv.includes('--check');
    const stale = [];
    const put = (rel, text) => {
        const file = path.join(ROOT, rel);
        const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
        if (old === text)
            return;
        if (check)
            stale.push(rel);
        else
            fs.writeFileSync(file, text);
    };
    for (const k of KINDS) {
        put(crdFile(k), crdText(k));
        const doc = path.join(ROOT, docFile(k));
        if (!fs.existsSync(doc)) {
            stale.push(`${docFile(k)} (missing)`);
            continue;
        }
        put(docFile(k), docText(k, fs.readFileSync(doc, 'utf8')));
    }
    if (stale.length) {
        console.error(`gen.mjs: ${check ? 'out of date' : 'not written'}: ` +
                      stale.join(', '));
        console.error('gen.mjs: run `node crds/src/gen.mjs` and commit the ' +
                      'result.');
        return 1;
    }
    if (!check) {
        // deploy/ ships copies (kustomize and Helm read only their own
        // folders); tests/deploy fails when they drift.
        const sync = path.join(ROOT, 'deploy', 'sync-crds.sh');
        if (fs.existsSync(sync))
            execFileSync('sh', [sync], { stdio: 'inherit' });
        console.log(`gen.mjs: ${KINDS.length} CRDs and their docs are up to ` +
                    'date.');
    }
    return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) ===
    path.resolve(process.argv[1]))
    process.exitCode = main(process.argv.slice(2));
