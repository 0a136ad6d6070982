#!/usr/bin/env node
// tests/crds/validate.mjs - offline checks of crds/*.yaml, examples/ and
// the deliberately wrong manifests in tests/crds/bad/.  Run it through
// tests/crds/run.sh, which installs the npm packages it needs.
//
// Prints "PASS name" or "FAIL name: reason" per check (and "SKIP name:
// reason" for an optional check whose tool is missing), then the closing
// line "N passed, N failed" (", N skipped" appended only when something was
// skipped).  Exit status 0 only when nothing failed.
//
// What is checked:
//  - crds/*.yaml are what crds/src/gen.mjs produces (no hand edits);
//  - each CRD is a valid apiextensions.k8s.io/v1 CRD (kubernetes-models),
//    follows our conventions (group, one served+storage version v1beta1,
//    namespaced, status subresource, category), has a structural schema
//    using only the keywords the standalone API server implements, valid
//    defaults, portable patterns (JavaScript and POSIX ERE, checked with
//    grep -E, agree), printer columns and scale paths that point at real
//    fields;
//  - every example document validates: our kinds against their CRD's
//    openAPIV3Schema (unknown fields rejected, as kubectl's strict field
//    validation does), other kinds with kubernetes-models; YAML 1.1 and 1.2
//    readers see the same thing; references between examples resolve;
//  - every manifest in bad/ is rejected, and only at the field it names;
//  - when $BUILD/bin/virtrigaud-manager and kubectl exist: the standalone
//    API server, started on a free port with --crd-dir crds/, serves the
//    kinds; `kubectl apply` takes every example and refuses every bad/
//    manifest, naming the field; printer columns and `kubectl scale` work.
//    (Skipped, not passed, when either is missing.)
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

import { CustomResourceDefinition } from
    'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';

import {
    GROUP, HERE, KINDS, OUR_API, ROOT, VERSION, check, fail, firstDiff,
    listYAML, pass, readDocs, rel, skip, summary,
} from './lib/common.mjs';
import { columnProblems, lintSchema, scaleProblems } from './lib/lint.mjs';
import { makeAjv, strictCopy, validateWith } from './lib/ajv.mjs';
import { unresolved } from './lib/refs.mjs';
import { checkStandalone } from './lib/standalone.mjs';

// ---- the CRDs --------------------------------------------------------------

const ajv = makeAjv();
const crds = new Map(); // kind -> { file, doc, schema, validate }
const allPatterns = new Map(); // pattern -> CRD file using it

function checkGenerated() {
    const gen = path.join(ROOT, 'crds', 'src', 'gen.mjs');
    check('crds/*.yaml and docs/kinds/*.md match crds/src (gen.mjs --check)',
          () => {
              const r = spawnSync(process.execPath, [gen, '--check'],
                                  { encoding: 'utf8' });
              if (r.status === 0)
                  return [];
              return [`gen.mjs --check exited ${r.status}`,
                      ...(r.stderr || '').trim().split('\n')];
          });
}

function lintCRD(kind, doc) {
    const problems = [];
    const names = doc.spec && doc.spec.names;
    const v = doc.spec && doc.spec.versions;
    if (doc.apiVersion !== 'apiextensions.k8s.io/v1' ||
        doc.kind !== 'CustomResourceDefinition')
        problems.push('not an apiextensions.k8s.io/v1 CustomResourceDefinition');
    if (!names || !v)
        return problems.concat('spec.names or spec.versions missing');
    if (doc.spec.group !== GROUP)
        problems.push(`group is ${doc.spec.group}, not ${GROUP}`);
    if (doc.metadata.name !== `${names.plural}.${GROUP}`)
        problems.push(`metadata.name must be ${names.plural}.${GROUP}`);
    if (doc.spec.scope !== 'Namespaced')
        problems.push('scope must be Namespaced');
    if (names.listKind !== `${names.kind}List` ||
        names.singular !== names.kind.toLowerCase())
        problems.push('listKind or singular is not derived from kind');
    if (!names.shortNames || !names.shortNames.length)
        problems.push('no shortNames');
    if (!(names.categories || []).includes('virtrigaud'))
        problems.push('not in category virtrigaud');
    if (v.length !== 1 || v[0].name !== VERSION || v[0].served !== true ||
        v[0].storage !== true)
        problems.push(`must have exactly one version, ${VERSION}, served ` +
                      'and storage');
    const ver = v[0] || {};
    if (!ver.subresources || !ver.subresources.status)
        problems.push('no status subresource');
    const root = ver.schema && ver.schema.openAPIV3Schema;
    if (!root)
        return problems.concat('no openAPIV3Schema');
    const rp = root.properties || {};
    if (root.type !== 'object' || !rp.spec || !rp.status || !rp.metadata ||
        rp.apiVersion?.type !== 'string' || rp.kind?.type !== 'string')
        problems.push('root schema must be an object with apiVersion, kind, ' +
                      'metadata, spec and status');
    if (rp.metadata && JSON.stringify(rp.metadata) !== '{"type":"object"}')
        problems.push('metadata may only be {type: object}');
    const patterns = new Set();
    const defaults = [];
    lintSchema(kind, root, '', problems, patterns, defaults);
    for (const p of patterns)
        allPatterns.set(p, kind);
    // A default must be valid against its own schema (kube-apiserver
    // refuses such a CRD).
    for (const { at, schema } of defaults) {
        const { default: def, ...rest } = schema;
        const errs = validateWith(ajv.compile(strictCopy(rest)), def);
        if (errs.length)
            problems.push(`${at}: default ${JSON.stringify(def)} is invalid: ` +
                          errs[0].text);
    }
    // kubectl apply (client side) stores the object in an annotation,
    // which may not exceed 256 KiB.
    const size = JSON.stringify(doc).length;
    if (size > 200 * 1024)
        problems.push(`the CRD is ${size} bytes as JSON; kubectl apply ` +
                      'refuses more than 256 KiB');
    problems.push(...columnProblems(root, ver.additionalPrinterColumns));
    if (ver.subresources && ver.subresources.scale)
        problems.push(...scaleProblems(root, ver.subresources.scale));
    return problems;
}

function checkCRDs() {
    const files = fs.readdirSync(path.join(ROOT, 'crds'))
        .filter((f) => f.endsWith('.yaml')).sort()
        .map((f) => path.join(ROOT, 'crds', f));
    const seenShort = new Map();
    for (const file of files) {
        let doc = null;
        check(`${rel(file)}: one YAML document, read alike by YAML 1.1 and 1.2`,
              () => {
                  const { docs } = readDocs(file);
                  if (docs.length !== 1)
                      return [`${docs.length} documents`];
                  doc = docs[0].value;
                  const d = firstDiff(docs[0].value, docs[0].yaml11);
                  return d ? [`YAML 1.1 reads ${d} differently`] : [];
              });
        if (!doc)
            continue;
        const kind = doc.spec && doc.spec.names && doc.spec.names.kind;
        check(`${rel(file)}: valid apiextensions.k8s.io/v1 CRD ` +
              '(kubernetes-models)', () => {
            new CustomResourceDefinition(doc).validate();
            return [];
        });
        check(`${rel(file)}: conventions, structural schema, defaults, ` +
              'patterns, columns', () => lintCRD(kind, doc));
        check(`${rel(file)}: short names unique`, () => {
            const out = [];
            for (const s of doc.spec.names.shortNames || []) {
                if (seenShort.has(s))
                    out.push(`short name ${s} also used by ${seenShort.get(s)}`);
                seenShort.set(s, kind);
            }
            return out;
        });
        check(`${rel(file)}: schema compiles for validation (ajv, strict)`,
              () => {
                  const schema = doc.spec.versions[0].schema.openAPIV3Schema;
                  crds.set(kind, { file, doc, schema,
                                   validate: ajv.compile(strictCopy(schema)) });
                  return [];
              });
    }
    check('crds/: one CRD for each of the ten kinds', () =>
        KINDS.filter((k) => !crds.has(k)).map((k) => `no CRD for ${k}`)
            .concat([...crds.keys()].filter((k) => !KINDS.includes(k))
                .map((k) => `unexpected kind ${k}`)));
}

// The checks above must be able to fail: break a copy of a CRD in known
// ways and make sure each break is reported.
function selfTests() {
    const vm = crds.get('VirtualMachine');
    if (!vm) {
        fail('self-test: lint catches broken CRDs', 'no VirtualMachine CRD');
        return;
    }
    const cases = [
        ['an untyped field', (d, s) => {
            delete s.properties.spec.properties.powerState.type;
        }, /powerState: no valid type/],
        ['an unknown keyword', (d, s) => {
            s.properties.spec.properties.tags.maxitems = 3;
        }, /keyword "maxitems"/],
        ['preserve-unknown-fields outside status.provider', (d, s) => {
            s.properties.spec['x-kubernetes-preserve-unknown-fields'] = true;
        }, /spec: x-kubernetes-preserve-unknown-fields/],
        ['a default outside its enum', (d, s) => {
            s.properties.spec.properties.powerState.default = 'Sleeping';
        }, /powerState: default "Sleeping" is invalid/],
        ['a pattern with \\d', (d, s) => {
            s.properties.spec.properties.placement.properties.host.pattern =
                '^\\d+$';
        }, /\\d/],
        ['a column on a missing field', (d) => {
            d.spec.versions[0].additionalPrinterColumns.push(
                { name: 'X', type: 'string', jsonPath: '.status.nope' });
        }, /\.status\.nope is not a field/],
        ['a scale path to a missing field', (d) => {
            d.spec.versions[0].subresources.scale = {
                specReplicasPath: '.spec.replicas',
                statusReplicasPath: '.status.replicas' };
        }, /specReplicasPath \.spec\.replicas/],
        ['a required field that is not declared', (d, s) => {
            s.properties.spec.required.push('cpus');
        }, /required "cpus"/],
        ['a "not" requiring an undeclared field', (d, s) => {
            s.properties.spec.not.required = ['imageRefs'];
        }, /not requires "imageRefs"/],
    ];
    for (const [what, mutate, expect] of cases) {
        check(`self-test: lint reports ${what}`, () => {
            const d = structuredClone(vm.doc);
            mutate(d, d.spec.versions[0].schema.openAPIV3Schema);
            const probs = lintCRD('VirtualMachine', d);
            return probs.some((p) => expect.test(p)) ? []
                : [`not reported (got: ${probs.join('; ') || 'nothing'})`];
        });
    }
    check('self-test: kubernetes-models rejects scope: 42', () => {
        const d = structuredClone(vm.doc);
        d.spec.scope = 42;
        try {
            new CustomResourceDefinition(d).validate();
        } catch (e) {
            return [];
        }
        return ['accepted'];
    });
}

// ---- portability of patterns: JavaScript vs POSIX ERE (grep -E) ----------

const patternSamples = new Map(); // pattern -> Set of strings

function collectSamples(schema, value) {
    if (!schema || value === undefined || value === null)
        return;
    if (typeof value === 'string' && schema.pattern !== undefined) {
        if (!patternSamples.has(schema.pattern))
            patternSamples.set(schema.pattern, new Set());
        patternSamples.get(schema.pattern).add(value);
    }
    if (Array.isArray(value) && schema.items) {
        for (const v of value)
            collectSamples(schema.items, v);
    } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
            if (schema.properties && schema.properties[k])
                collectSamples(schema.properties[k], v);
            else if (schema.additionalProperties &&
                     typeof schema.additionalProperties === 'object')
                collectSamples(schema.additionalProperties, v);
        }
    }
}

function checkPatternsWithGrep() {
    const grep = spawnSync('grep', ['-E', '-x', '-e', 'a'], { input: 'a\n' });
    if (grep.error || grep.status !== 0) {
        skip('patterns: POSIX ERE (grep -E) agrees with JavaScript',
             'grep -E is not available');
        return;
    }
    check('patterns: every CRD pattern compiles as POSIX ERE (grep -E)', () => {
        const out = [];
        for (const [p, kind] of allPatterns) {
            const r = spawnSync('grep', ['-E', '-e', p], {
                input: '', env: { ...process.env, LC_ALL: 'C' },
                encoding: 'utf8' });
            if (r.status === 2)
                out.push(`${kind}: ${p}: ${r.stderr.trim()}`);
        }
        return out;
    });
    check('patterns: POSIX ERE (grep -E) and JavaScript match the same ' +
          'example and bad values', () => {
        const out = [];
        let n = 0;
        for (const [p, values] of patternSamples) {
            const list = [...values].filter((v) => !/[\n\r]/.test(v));
            if (!list.length)
                continue;
            const r = spawnSync('grep', ['-E', '-e', p], {
                input: list.join('\n') + '\n',
                env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' });
            const ere = new Set(r.stdout.split('\n'));
            const re = new RegExp(p, 'u');
            for (const v of list) {
                n++;
                if (re.test(v) !== ere.has(v))
                    out.push(`${p} on ${JSON.stringify(v)}: JavaScript ` +
                             `${re.test(v)}, ERE ${ere.has(v)}`);
            }
        }
        return n ? out : ['no pattern values were compared'];
    });
}

// ---- examples ------------------------------------------------------------

async function validateOther(obj) {
    const [group, version] = obj.apiVersion.includes('/')
        ? obj.apiVersion.split('/') : [null, obj.apiVersion];
    const mod = group ? `kubernetes-models/${group}/${version}/${obj.kind}`
        : `kubernetes-models/${version}/${obj.kind}`;
    let Model;
    try {
        Model = (await import(mod))[obj.kind];
    } catch (e) {
        return [`${obj.apiVersion} ${obj.kind} is not a known Kubernetes kind`];
    }
    try {
        new Model(obj).validate();
    } catch (e) {
        return [e.message.split('\n')[0]];
    }
    return [];
}

async function checkExamples() {
    const dir = path.join(ROOT, 'examples');
    const files = listYAML(dir);
    if (!files.length) {
        fail('examples/', 'no example manifests');
        return;
    }
    const byFile = new Map();
    const everything = [];
    for (const file of files) {
        let parsed;
        try {
            parsed = readDocs(file);
        } catch (e) {
            fail(`${rel(file)}: parses`, e.message);
            continue;
        }
        check(`${rel(file)}: header names the provider(s)`, () =>
            /^# Provider: [a-z]/m.test(parsed.text.split('\n').slice(0, 12)
                .join('\n')) ? [] : ['no "# Provider: ..." line in the header']);
        const objs = [];
        for (const d of parsed.docs) {
            const o = d.value;
            const name = `${rel(file)}#${d.index} ${o.kind}/${o.metadata?.name}`;
            objs.push(o);
            const diff = firstDiff(o, d.yaml11);
            let problems;
            if (diff) {
                problems = [`YAML 1.1 (kubectl) reads ${diff} differently ` +
                            'than YAML 1.2; quote the value'];
            } else if (!o.metadata || !o.metadata.name) {
                problems = ['no metadata.name'];
            } else if (o.apiVersion === OUR_API && crds.has(o.kind)) {
                const c = crds.get(o.kind);
                problems = validateWith(c.validate, o).map((e) => e.text);
                collectSamples(c.schema, o);
            } else if (typeof o.apiVersion === 'string' &&
                       o.apiVersion.startsWith(`${GROUP}/`)) {
                problems = [`${o.apiVersion} ${o.kind} is not one of our kinds`];
            } else {
                problems = await validateOther(o);
            }
            if (problems.length)
                fail(name, problems[0], problems.slice(1));
            else
                pass(name);
        }
        byFile.set(file, objs);
        everything.push(...objs);
    }
    for (const [file, objs] of byFile) {
        check(`${rel(file)}: references resolve within examples/`, () =>
            unresolved(objs, everything));
    }
    for (const k of KINDS) {
        check(`examples/: at least one ${k}`, () =>
            everything.some((o) => o.apiVersion === OUR_API && o.kind === k)
                ? [] : [`no example of ${k}`]);
    }
    const qs = files.find((f) => /quickstart/.test(path.basename(f)));
    check('examples/: the quickstart is complete and self-contained', () => {
        if (!qs)
            return ['no examples/*quickstart*.yaml'];
        const objs = byFile.get(qs) || [];
        const kinds = objs.map((o) => o.kind);
        const out = ['Secret', 'Provider', 'VMClass', 'VMImage',
                     'VMNetworkAttachment', 'VirtualMachine']
            .filter((k) => !kinds.includes(k)).map((k) => `no ${k}`);
        const prov = objs.find((o) => o.kind === 'Provider');
        if (prov && (prov.spec.type !== 'libvirt' ||
                     !['qemu:///system', 'test:///default']
                         .includes(prov.spec.endpoint)))
            out.push('the Provider must be libvirt at qemu:///system or ' +
                     'test:///default');
        return out.concat(unresolved(objs, objs));
    });
}

// ---- deliberately wrong manifests ------------------------------------------

function checkBad() {
    const files = listYAML(path.join(HERE, 'bad'));
    if (files.length < 4) {
        fail('bad/', `only ${files.length} negative cases`);
        return;
    }
    for (const file of files) {
        const name = `${rel(file)} is rejected`;
        let parsed;
        try {
            parsed = readDocs(file);
        } catch (e) {
            fail(name, `does not parse: ${e.message}`);
            continue;
        }
        const m = /^# expect: (\S+) (\S+)\s*$/m.exec(parsed.text);
        if (!m || parsed.docs.length !== 1) {
            fail(name, 'needs one document and a "# expect: <field> ' +
                 '<keyword>" line');
            continue;
        }
        const [, wantPath, wantKeyword] = m;
        // "# yaml: 1.1" validates what a YAML 1.1 reader (kubectl) sends.
        const o = /^# yaml: 1\.1\s*$/m.test(parsed.text)
            ? parsed.docs[0].yaml11 : parsed.docs[0].value;
        const c = o && o.apiVersion === OUR_API && crds.get(o.kind);
        if (!c) {
            fail(name, `${o && o.kind} is not one of our kinds`);
            continue;
        }
        collectSamples(c.schema, o);
        const errs = validateWith(c.validate, o);
        const text = errs.map((e) => e.text);
        if (!errs.length)
            fail(name, 'the schema accepts it');
        else if (errs.some((e) => e.path !== wantPath))
            fail(name, `errors other than at ${wantPath}`, text);
        else if (!errs.some((e) => e.keyword === wantKeyword))
            fail(name, `no ${wantKeyword} error at ${wantPath}`, text);
        else
            pass(`${name}: ${text.join('; ')}`);
    }
}

// ---- optional: PyYAML reads the files the same way -------------------------

function checkPyYAML() {
    const name = 'crds/ and examples/: PyYAML (python3-yaml) reads the same ' +
        'values';
    const files = [
        ...fs.readdirSync(path.join(ROOT, 'crds'))
            .filter((f) => f.endsWith('.yaml'))
            .map((f) => path.join(ROOT, 'crds', f)),
        ...listYAML(path.join(ROOT, 'examples')),
    ];
    const script = 'import sys, json, yaml\n' +
        'print(json.dumps([[d for d in yaml.safe_load_all(open(f)) ' +
        'if d is not None] for f in sys.argv[1:]], default=str))';
    const r = spawnSync('python3', ['-c', script, ...files],
                        { encoding: 'utf8', maxBuffer: 256 << 20 });
    if (r.error || (r.status !== 0 && /No module named/.test(r.stderr || ''))) {
        skip(name, 'python3 with the yaml module is not installed');
        return;
    }
    check(name, () => {
        if (r.status !== 0)
            return [`python3 failed: ${(r.stderr || '').trim().split('\n').pop()}`];
        const py = JSON.parse(r.stdout);
        const out = [];
        files.forEach((f, i) => {
            const js = readDocs(f).docs.map((d) => d.value);
            const d = firstDiff(js, py[i]);
            if (d)
                out.push(`${rel(f)}: ${d} differs`);
        });
        return out;
    });
}

// ---- main -------------------------------------------------------------------

async function main() {
    checkGenerated();
    checkCRDs();
    selfTests();
    await checkExamples();
    checkBad();
    checkPatternsWithGrep();
    checkPyYAML();
    await checkStandalone(crds);
    const { passed, failed, skipped } = summary();
    console.log(`${passed} passed, ${failed} failed` +
                (skipped ? `, ${skipped} skipped` : ''));
    process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href)
    await main();
