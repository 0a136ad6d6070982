// tests/deploy/lib/helm.mjs - renders deploy/helm/virtrigaud the way
// `helm template` would for the subset the chart uses (see gotemplate.mjs):
// values.yaml merged with overrides, every templates/*.yaml rendered with
// .Values, .Release and .Chart, then split into YAML documents.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

import { makeRenderer } from './gotemplate.mjs';

export function deepMerge(base, over) {
    if (over === null || typeof over !== 'object' || Array.isArray(over))
        return structuredClone(over);
    const out = structuredClone(base ?? {});
    for (const [k, v] of Object.entries(over))
        out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) &&
                 out[k] && typeof out[k] === 'object' && !Array.isArray(out[k])
            ? deepMerge(out[k], v) : structuredClone(v);
    return out;
}

export function chartValues(chartDir) {
    return YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
}

// Returns { text, docs: [{ source, doc }] }.
export function renderChart(chartDir, overrides = {}, release = {}) {
    const chart = YAML.parse(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8'));
    const values = deepMerge(chartValues(chartDir), overrides);
    const ctx = {
        Values: values,
        Release: { Name: release.name ?? 'virtrigaud',
                   Namespace: release.namespace ?? 'virtrigaud-system',
                   Service: 'Helm' },
        Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    };
    const r = makeRenderer();
    const tdir = path.join(chartDir, 'templates');
    const files = fs.readdirSync(tdir).sort();
    for (const f of files.filter(f => f.startsWith('_')))
        r.load(fs.readFileSync(path.join(tdir, f), 'utf8'), `templates/${f}`);
    let text = '';
    const docs = [];
    for (const f of files.filter(f => !f.startsWith('_') && f.endsWith('.yaml'))) {
        const tree = r.load(fs.readFileSync(path.join(tdir, f), 'utf8'), `templates/${f}`);
        const out = r.render(tree, ctx);
        if (out.trim() !== '')
            text += `---\n# Source: virtrigaud/templates/${f}\n${out.trim()}\n`;
        for (const d of YAML.parseAllDocuments(out)) {
            if (d.errors.length)
                throw new Error(`templates/${f} renders invalid YAML: ${d.errors[0].message}`);
            const doc = d.toJS();
            if (doc !== null && doc !== undefined)
                docs.push({ source: `templates/${f}`, doc });
        }
    }
    return { text, docs };
}
