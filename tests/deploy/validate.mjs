#!/usr/bin/env node
// tests/deploy/validate.mjs - offline checks of deploy/ (run through
// tests/deploy/run.sh, which installs the npm packages and does the checks
// that need the manager binary).
//
//   node validate.mjs OUTDIR            the checks below; writes renders and
//                                       the Deployments' args into OUTDIR
//   node validate.mjs rbac LOG RENDER   every request in LOG (the standalone
//                                       API server's "METHOD URL -> CODE"
//                                       debug lines) is allowed by the RBAC
//                                       objects in RENDER
//
// Checks: `kubectl kustomize` renders each overlay; every object of every
// render (overlays, and the Helm chart with default, all-on and all-off
// values) validates against its Kubernetes schema (kubernetes-models,
// prometheus-operator models for ServiceMonitor); CRDs in the renders equal
// crds/*.yaml; the objects refer to each other correctly (service account,
// roles, selectors, ports); the Deployment keeps leader election, probes,
// resources and a restricted security context; RBAC has no wildcard; the
// chart's default render agrees with kustomize's; and every value in the
// chart's values.yaml changes the render.
//
// Prints "PASS name" / "FAIL name: reason" and "N passed, N failed, N skipped".
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

import { makeRenderer } from './lib/gotemplate.mjs';
import { chartValues, deepMerge, renderChart } from './lib/helm.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CHART = path.join(ROOT, 'deploy', 'helm', 'virtrigaud');
const NS = 'virtrigaud-system';

let passed = 0, failed = 0;
function pass(name) { passed++; console.log(`PASS ${name}`); }
function fail(name, why, detail = []) {
    failed++;
    console.log(`FAIL ${name}: ${why}`);
    for (const l of detail.slice(0, 30)) console.log(`    | ${l}`);
}
function check(name, fn) {
    let problems;
    try { problems = fn(); } catch (e) { problems = [String(e.stack || e)]; }
    if (!problems || problems.length === 0) pass(name);
    else fail(name, problems[0], problems.slice(1));
}
function done() {
    console.log(`${passed} passed, ${failed} failed, 0 skipped`);
    process.exit(failed ? 1 : 0);
}

const id = o => `${o.kind}/${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name}`;
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
// JSON with sorted keys, to compare objects whatever their key order.
function canon(v) {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object')
        return Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])]));
    return v;
}
const equal = (a, b) => same(canon(a), canon(b));

// ---- schema validation ------------------------------------------------------

const modelCache = new Map();
async function modelFor(apiVersion, kind) {
    const key = `${apiVersion}/${kind}`;
    if (modelCache.has(key)) return modelCache.get(key);
    let spec;
    if (apiVersion === 'monitoring.coreos.com/v1')
        spec = `@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/${kind}`;
    else if (!apiVersion.includes('/'))
        spec = `kubernetes-models/${apiVersion}/${kind}`;
    else
        spec = `kubernetes-models/${apiVersion}/${kind}`;
    let cls = null;
    try { cls = (await import(spec))[kind] ?? null; } catch { cls = null; }
    modelCache.set(key, cls);
    return cls;
}

async function schemaProblems(objs) {
    const problems = [];
    for (const o of objs) {
        if (!o || typeof o !== 'object' || !o.apiVersion || !o.kind) {
            problems.push(`a document without apiVersion/kind: ${JSON.stringify(o).slice(0, 80)}`);
            continue;
        }
        const cls = await modelFor(o.apiVersion, o.kind);
        if (!cls) { problems.push(`${id(o)}: no schema known for ${o.apiVersion} ${o.kind}`); continue; }
        try { new cls(o).validate(); } catch (e) { problems.push(`${id(o)}: ${e.message.split('\n')[0]}`); }
    }
    return problems;
}

// ---- what every render must get right ------------------------------------

function crdProblems(objs) {
    const src = new Map();
    for (const f of fs.readdirSync(path.join(ROOT, 'crds')).filter(f => f.endsWith('.yaml'))) {
        const d = YAML.parse(fs.readFileSync(path.join(ROOT, 'crds', f), 'utf8'));
        src.set(d.metadata.name, d);
    }
    const got = new Map(objs.filter(o => o.kind === 'CustomResourceDefinition').map(o => [o.metadata.name, o]));
    const problems = [];
    for (const n of src.keys()) if (!got.has(n)) problems.push(`CRD ${n} is missing from the render`);
    for (const [n, o] of got) {
        if (!src.has(n)) problems.push(`CRD ${n} is in the render but not in crds/`);
        else if (!equal(o, src.get(n))) problems.push(`CRD ${n} differs from crds/ (run deploy/sync-crds.sh)`);
    }
    return problems;
}

function find(objs, kind, pred = () => true) { return objs.filter(o => o.kind === kind && pred(o)); }
const matches = (sel, labels) => Object.entries(sel || {}).every(([k, v]) => labels?.[k] === v);

function wiringProblems(objs, opts = {}) {
    const p = [];
    const deps = find(objs, 'Deployment');
    if (deps.length !== 1) return [`expected one Deployment, found ${deps.length}`];
    const dep = deps[0];
    const pod = dep.spec.template;
    if (!matches(dep.spec.selector.matchLabels, pod.metadata.labels))
        p.push('the Deployment selector does not match its pod labels');
    for (const o of objs) {
        const clusterScoped = ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind);
        if (!clusterScoped && o.metadata.namespace !== NS)
            p.push(`${id(o)} is not in namespace ${NS}`);
    }
    const saName = pod.spec.serviceAccountName;
    if (opts.expectServiceAccount !== false && !find(objs, 'ServiceAccount', o => o.metadata.name === saName).length)
        p.push(`the Deployment's service account "${saName}" is not in the render`);
    for (const b of [...find(objs, 'ClusterRoleBinding'), ...find(objs, 'RoleBinding')]) {
        const kind = b.roleRef.kind;
        if (!find(objs, kind, r => r.metadata.name === b.roleRef.name && (kind === 'ClusterRole' || r.metadata.namespace === b.metadata.namespace)).length)
            p.push(`${id(b)} refers to a missing ${kind} "${b.roleRef.name}"`);
        if (!b.subjects.some(s => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === NS))
            p.push(`${id(b)} does not bind the Deployment's service account ${NS}/${saName}`);
    }
    for (const r of [...find(objs, 'ClusterRole'), ...find(objs, 'Role')])
        for (const rule of r.rules) {
            for (const f of ['apiGroups', 'resources', 'verbs'])
                if ((rule[f] || []).includes('*')) p.push(`${id(r)} grants a wildcard in ${f}`);
            if ((rule.resources || []).includes('secrets') && !same(rule.verbs, ['get']))
                p.push(`${id(r)} grants ${rule.verbs.join(',')} on secrets; only get is needed`);
        }
    for (const np of find(objs, 'NetworkPolicy'))
        if (!matches(np.spec.podSelector.matchLabels, pod.metadata.labels))
            p.push(`${id(np)} does not select the manager's pods`);
    const ports = new Map();
    for (const c of pod.spec.containers) for (const port of c.ports || []) ports.set(port.name, port.containerPort);
    for (const svc of find(objs, 'Service')) {
        if (!matches(svc.spec.selector, pod.metadata.labels)) p.push(`${id(svc)} does not select the manager's pods`);
        for (const sp of svc.spec.ports)
            if (typeof sp.targetPort === 'string' && !ports.has(sp.targetPort))
                p.push(`${id(svc)} targets a port "${sp.targetPort}" the container does not name`);
    }
    for (const sm of find(objs, 'ServiceMonitor')) {
        const svcs = find(objs, 'Service', s => matches(sm.spec.selector.matchLabels, s.metadata.labels));
        if (svcs.length !== 1) p.push(`${id(sm)} selects ${svcs.length} Services, not 1`);
        for (const ep of sm.spec.endpoints)
            if (svcs.length === 1 && !svcs[0].spec.ports.some(sp => sp.name === ep.port))
                p.push(`${id(sm)} scrapes port "${ep.port}" that the Service does not name`);
    }
    return p;
}

function deploymentProblems(objs) {
    const dep = find(objs, 'Deployment')[0];
    if (!dep) return ['no Deployment'];
    const p = [];
    const c = dep.spec.template.spec.containers[0];
    const psc = dep.spec.template.spec.securityContext || {};
    const args = c.args || [];
    if (!args.includes('--leader-elect=true')) p.push('args lack --leader-elect=true');
    if (!args.some(a => a.startsWith('--metrics-addr='))) p.push('args lack --metrics-addr (the probes need it)');
    const metricsPort = Number((args.find(a => a.startsWith('--metrics-addr=')) || '').split(':').pop());
    const named = new Map((c.ports || []).map(x => [x.name, x.containerPort]));
    for (const [probe, wantPath] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']]) {
        const g = c[probe]?.httpGet;
        if (!g) { p.push(`${probe} is missing`); continue; }
        if (g.path !== wantPath) p.push(`${probe} path is ${g.path}, not ${wantPath}`);
        const port = typeof g.port === 'string' ? named.get(g.port) : g.port;
        if (port !== metricsPort) p.push(`${probe} port ${g.port} is not the --metrics-addr port ${metricsPort}`);
    }
    for (const k of ['requests', 'limits'])
        for (const r of ['cpu', 'memory'])
            if (!c.resources?.[k]?.[r]) p.push(`resources.${k}.${r} is missing`);
    const sc = c.securityContext || {};
    if (sc.allowPrivilegeEscalation !== false) p.push('allowPrivilegeEscalation is not false');
    if (sc.readOnlyRootFilesystem !== true) p.push('readOnlyRootFilesystem is not true');
    if (!same(sc.capabilities?.drop, ['ALL'])) p.push('capabilities do not drop ALL');
    if (psc.runAsNonRoot !== true || !(psc.runAsUser > 0)) p.push('the pod does not run as a non-root uid');
    if (psc.seccompProfile?.type !== 'RuntimeDefault') p.push('no RuntimeDefault seccomp profile');
    return p;
}

function renderKustomize(dir) {
    const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    if (r.error) throw new Error(`kubectl: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`kubectl kustomize ${path.relative(ROOT, dir)}: ${r.stderr.trim()}`);
    return r.stdout;
}

function argsOf(objs) {
    return find(objs, 'Deployment')[0]?.spec.template.spec.containers[0].args ?? [];
}

// ---- every value in values.yaml renders something ------------------------

function leaves(v, prefix = []) {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length)
        return Object.entries(v).flatMap(([k, x]) => leaves(x, [...prefix, k]));
    return [[prefix, v]];
}
function setAt(obj, keys, val) {
    const out = structuredClone(obj);
    let o = out;
    for (const k of keys.slice(0, -1)) o = o[k];
    o[keys[keys.length - 1]] = val;
    return out;
}
function mutate(v) {
    if (typeof v === 'boolean') return !v;
    if (typeof v === 'number') return v + 7;
    if (typeof v === 'string') return v === '' ? 'changed-value' : `${v}x`.replace(/^(\d+)(m|Mi|s)x$/, (m, n, u) => `${Number(n) + 7}${u}`);
    if (Array.isArray(v)) return v.length && typeof v[0] === 'number' ? [...v, 9999] : [...v, 'changed-item'];
    if (v && typeof v === 'object') return { 'example.com/changed': 'value' };
    return 'changed-value';
}

const ALL_ON = {
    metrics: { service: { enabled: true }, serviceMonitor: { enabled: true } },
};

// ---- main --------------------------------------------------------------------

// The renderer behaves like Go's text/template on the subset, and refuses
// what is outside it.
function rendererProblems() {
    const p = [];
    const ctx = { Values: { a: 1, s: 'x', l: ['p', 'q'], m: { k: 'v' }, e: '' } };
    const cases = [
        ['a {{- 1 -}} b', 'a1b'],
        ['{{ if .Values.e }}x{{ else if .Values.a }}y{{ else }}z{{ end }}', 'y'],
        ['{{ range $i, $v := .Values.l }}{{ $i }}={{ $v }};{{ end }}', '0=p;1=q;'],
        ['{{ with .Values.m }}{{ .k }}{{ end }}', 'v'],
        ['{{ default "d" .Values.e }}|{{ .Values.s | quote }}', 'd|"x"'],
        ['{{- define "t" }}[{{ .Values.s }}]{{ end -}}{{ include "t" . | indent 2 }}', '  [x]'],
        ['{{ toYaml .Values.m | nindent 2 }}', '\n  k: v'],
        ['{{ printf "%s-%d" .Values.s .Values.a }}', 'x-1'],
        ['{{ $x := list 1 2 }}{{ range $x }}{{ . }}{{ end }}', '12'],
        ['{{ if and .Values.a (not .Values.e) }}ok{{ end }}', 'ok'],
    ];
    for (const [src, want] of cases) {
        const r = makeRenderer();
        let got;
        try { got = r.render(r.load(src, 'case'), ctx); } catch (e) { got = `error: ${e.message}`; }
        if (got !== want) p.push(`${JSON.stringify(src)} gave ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
    for (const src of ['{{ upper .Values.s }}', '{{ template "t" . }}', '{{ .Values.nope }}', '{{ .Values.m }}', '{{ if .Values.a }}x']) {
        const r = makeRenderer();
        try { r.render(r.load(src, 'case'), ctx); p.push(`${JSON.stringify(src)} was accepted`); } catch { /* refused: good */ }
    }
    return p;
}

async function main(outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    check('the chart renderer follows text/template on its subset and refuses the rest', rendererProblems);
    const renders = []; // { name, objs }

    const overlaysDir = path.join(ROOT, 'deploy', 'kustomize', 'overlays');
    const overlays = fs.readdirSync(overlaysDir).filter(d => fs.existsSync(path.join(overlaysDir, d, 'kustomization.yaml'))).sort();
    check('deploy/kustomize has overlays default and with-metrics', () =>
        ['default', 'with-metrics'].filter(o => !overlays.includes(o)).map(o => `overlay ${o} is missing`));
    for (const o of overlays) {
        let text = null;
        check(`kubectl kustomize deploy/kustomize/overlays/${o}`, () => {
            text = renderKustomize(path.join(overlaysDir, o));
            return [];
        });
        if (text === null) continue;
        fs.writeFileSync(path.join(outDir, `kustomize-${o}.yaml`), text);
        renders.push({ name: `overlay ${o}`, slug: `overlay-${o}`, objs: YAML.parseAllDocuments(text).map(d => d.toJS()).filter(Boolean) });
    }

    const helmCases = [
        ['chart-default', 'chart (default values)', {}],
        ['chart-metrics', 'chart (metrics Service and ServiceMonitor on)', ALL_ON],
        ['chart-minimal', 'chart (rbac, service account, network policy, leader election off)',
         { rbac: { create: false }, serviceAccount: { create: false, name: 'existing-sa' },
           networkPolicy: { enabled: false }, leaderElection: { enabled: false } }],
    ];
    for (const [slug, name, vals] of helmCases) {
        let r = null;
        check(`${name} renders`, () => { r = renderChart(CHART, vals); return []; });
        if (!r) continue;
        const crds = fs.readdirSync(path.join(CHART, 'crds')).filter(f => f.endsWith('.yaml')).sort()
            .map(f => YAML.parse(fs.readFileSync(path.join(CHART, 'crds', f), 'utf8')));
        fs.writeFileSync(path.join(outDir, `helm-${slug}.yaml`), r.text);
        renders.push({ name, slug, objs: [...crds, ...r.docs.map(d => d.doc)] });
    }

    for (const { name, objs } of renders) {
        const probs = await schemaProblems(objs);
        if (probs.length) fail(`${name}: every object validates against its schema`, probs[0], probs.slice(1));
        else pass(`${name}: all ${objs.length} objects validate against their schemas`);
        check(`${name}: its CRDs equal crds/*.yaml`, () => crdProblems(objs));
        check(`${name}: objects refer to each other correctly`, () =>
            wiringProblems(objs, { expectServiceAccount: !name.includes('service account') }));
        if (!name.includes('leader election off'))
            check(`${name}: Deployment has leader election, probes, resources, restricted securityContext`,
                  () => deploymentProblems(objs));
    }

    const byName = n => renders.find(r => r.name === n)?.objs ?? [];
    const kdef = byName('overlay default'), hdef = byName('chart (default values)');
    check('the chart and the default overlay grant the same RBAC rules', () => {
        const rules = (objs, kind) => find(objs, kind).map(r => r.rules);
        const p = [];
        for (const k of ['ClusterRole', 'Role'])
            if (!equal(rules(kdef, k), rules(hdef, k))) p.push(`${k} rules differ`);
        return p;
    });
    check('the chart and the default overlay run the manager with the same args', () =>
        same(argsOf(kdef), argsOf(hdef)) ? [] : [`${JSON.stringify(argsOf(kdef))} vs ${JSON.stringify(argsOf(hdef))}`]);
    check('with-metrics adds a ServiceMonitor that the default overlay lacks', () => {
        const wm = byName('overlay with-metrics');
        return find(wm, 'ServiceMonitor').length === 1 && find(kdef, 'ServiceMonitor').length === 0
            ? [] : ['ServiceMonitor count is wrong'];
    });
    check('chart crds/ holds byte-identical copies of crds/*.yaml', () => {
        const a = fs.readdirSync(path.join(ROOT, 'crds')).filter(f => f.endsWith('.yaml')).sort();
        const b = fs.readdirSync(path.join(CHART, 'crds')).filter(f => f.endsWith('.yaml')).sort();
        if (!same(a, b)) return [`file lists differ: ${a.length} vs ${b.length}`];
        return a.filter(f => !fs.readFileSync(path.join(ROOT, 'crds', f)).equals(fs.readFileSync(path.join(CHART, 'crds', f))))
            .map(f => `${f} differs (run deploy/sync-crds.sh)`);
    });

    // Every leaf of values.yaml: changing it changes the render, with the
    // defaults or with every optional object on.
    const values = chartValues(CHART);
    const dead = [];
    let n = 0;
    for (const [keys, v] of leaves(values)) {
        n++;
        const m = mutate(v);
        const changed = [{}, ALL_ON].some(base => {
            const full = deepMerge(values, base);
            const before = renderChart(CHART, full).text;
            let after;
            try { after = renderChart(CHART, setAt(full, keys, m)).text; } catch { return true; }
            return after !== before;
        });
        if (!changed) dead.push(`${keys.join('.')} (set to ${JSON.stringify(m)}) changes nothing`);
    }
    if (dead.length) fail('every value in values.yaml changes the render', dead[0], dead.slice(1));
    else pass(`every value in values.yaml changes the render (${n} values)`);

    // For run.sh: the args each Deployment gives the manager.
    for (const r of renders) {
        const a = argsOf(r.objs);
        if (a.length)
            fs.writeFileSync(path.join(outDir, `args-${r.slug}.txt`), a.join('\n') + '\n');
    }
    done();
}

// ---- RBAC replay -------------------------------------------------------------

// "/apis/G/V/namespaces/NS/R/NAME/SUB" or "/api/v1/..." -> request attributes
export function attributes(method, url) {
    const u = new URL(url, 'http://x');
    const parts = u.pathname.split('/').filter(Boolean);
    let group, rest;
    if (parts[0] === 'api') { group = ''; rest = parts.slice(2); }
    else if (parts[0] === 'apis') { group = parts[1]; rest = parts.slice(3); }
    else return null; // /healthz, /version, discovery: not resource requests
    if (!rest.length) return null;
    let ns = null;
    if (rest[0] === 'namespaces' && rest.length >= 3) { ns = rest[1]; rest = rest.slice(2); }
    else if (rest[0] === 'namespaces') return null;
    const [resource, name, sub] = rest;
    const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
    const verb = { GET: name ? 'get' : watch ? 'watch' : 'list', POST: 'create', PUT: 'update',
                   PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' }[method];
    return { verb, group, resource: sub ? `${resource}/${sub}` : resource, ns, name: name ?? null };
}

function allowed(a, objs) {
    const ok = (rule) => rule.verbs.includes(a.verb) && rule.apiGroups.includes(a.group) &&
        rule.resources.includes(a.resource) &&
        (!rule.resourceNames || (a.name && rule.resourceNames.includes(a.name)));
    if (find(objs, 'ClusterRole').some(r => r.rules.some(ok))) return true;
    return a.ns !== null && find(objs, 'Role', r => r.metadata.namespace === a.ns).some(r => r.rules.some(ok));
}

function rbacReplay(logFile, renderFile) {
    const objs = YAML.parseAllDocuments(fs.readFileSync(renderFile, 'utf8')).map(d => d.toJS()).filter(Boolean);
    const seen = new Map();
    for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
        const m = /\b(GET|POST|PUT|PATCH|DELETE) (\/\S+) -> (\d+)/.exec(line);
        if (!m) continue;
        const a = attributes(m[1], m[2]);
        if (!a) continue;
        const key = `${a.verb} ${a.group || 'core'}/${a.resource}${a.ns ? ` in ${a.ns}` : ''}${a.name && a.resource === 'leases' ? ` (${a.name})` : ''}`;
        seen.set(key, a);
    }
    for (const k of [...seen.keys()].sort()) console.log(`# request: ${k}`);
    check(`the manager made resource requests to replay (${seen.size} kinds of request)`,
          () => seen.size ? [] : ['no requests found in the API server log']);
    // The log shows paths without their query, so a watch reads as a list
    // (one rule grants both).
    for (const want of ['list', 'get', 'patch', 'create'])
        check(`the replay includes a "${want}" request`, () =>
            [...seen.values()].some(a => a.verb === want) ? [] : [`no ${want} request in the log`]);
    const denied = [...seen.entries()].filter(([, a]) => !allowed(a, objs)).map(([k]) => k);
    check(`RBAC of ${path.basename(renderFile)} allows every request the manager made`, () =>
        denied.length ? [`${denied.length} request kinds denied: ${denied[0]}`, ...denied.slice(1)] : []);
    // The replay can fail: without the Secret rule, the credentials read
    // made for the Provider is denied.
    check('the replay notices a missing rule (Secrets get removed -> denied)', () => {
        const cut = objs.map(o => o.kind !== 'ClusterRole' ? o
            : { ...o, rules: o.rules.filter(r => !(r.resources || []).includes('secrets')) });
        return [...seen.values()].some(a => a.resource === 'secrets' && !allowed(a, cut))
            ? [] : ['no Secret read was denied without the rule (was a Secret read at all?)'];
    });
    // And the rules are not too wide for what the replay shows: a request
    // the manager never makes stays denied.
    const never = [{ verb: 'list', group: '', resource: 'secrets', ns: 'default', name: null },
                   { verb: 'delete', group: 'infra.virtrigaud.io', resource: 'providers', ns: 'default', name: 'x' },
                   { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', ns: NS, name: 'someone-else' }];
    check('RBAC denies what the manager never does (list secrets, delete Providers, other Leases)', () =>
        never.filter(a => allowed(a, objs)).map(a => `${a.verb} ${a.resource} is allowed`));
    done();
}

if (process.argv[2] === 'rbac') rbacReplay(process.argv[3], process.argv[4]);
else if (process.argv[2]) await main(process.argv[2]);
else { console.error('usage: validate.mjs OUTDIR | validate.mjs rbac LOG RENDER'); process.exit(2); }
