// ajv.mjs - validating objects against a CRD schema with Ajv, reporting
// errors as the API server words them (field path, then the reason).
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

export function makeAjv() {
    const ajv = new Ajv({
        strict: true, strictTypes: false, strictRequired: false,
        allErrors: true, useDefaults: true, verbose: true,
    });
    addFormats(ajv, ['date-time', 'byte']);
    ajv.addFormat('int32', { type: 'number', validate: (n) =>
        Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 });
    ajv.addFormat('int64', { type: 'number', validate: (n) =>
        Number.isInteger(n) });
    ajv.addKeyword({
        keyword: 'x-kubernetes-int-or-string',
        schemaType: 'boolean',
        validate: (on, data) => !on || typeof data === 'string' ||
            Number.isInteger(data),
    });
    for (const k of ['x-kubernetes-preserve-unknown-fields',
                     'x-kubernetes-embedded-resource']) {
        ajv.addKeyword({ keyword: k, schemaType: 'boolean' });
    }
    ajv.addKeyword({ keyword: 'x-kubernetes-map-type', schemaType: 'string' });
    ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys',
                     schemaType: 'array' });
    // map: items unique by their keys; set: unique scalars.
    ajv.addKeyword({
        keyword: 'x-kubernetes-list-type',
        schemaType: 'string',
        errors: true,
        validate: function listType(kind, data, parentSchema) {
            if (!Array.isArray(data) || kind === 'atomic')
                return true;
            const keys = parentSchema['x-kubernetes-list-map-keys'] || [];
            const seen = new Set();
            for (const item of data) {
                const id = kind === 'map'
                    ? JSON.stringify(keys.map((k) => item && item[k]))
                    : JSON.stringify(item);
                if (seen.has(id)) {
                    listType.errors = [{
                        keyword: 'x-kubernetes-list-type',
                        message: `must not have two entries with ${kind ===
                            'map' ? keys.join(', ') : 'value'} ${id}`,
                        params: {},
                    }];
                    return false;
                }
                seen.add(id);
            }
            return true;
        },
    });
    return ajv;
}

// A copy in which every object with declared properties rejects undeclared
// ones (kubectl's strict field validation; the API server would prune
// them, silently losing the user's intent).
export function strictCopy(schema) {
    if (Array.isArray(schema))
        return schema.map(strictCopy);
    if (!schema || typeof schema !== 'object')
        return schema;
    const out = {};
    for (const [k, v] of Object.entries(schema)) {
        if (k === 'enum' || k === 'default' || k === 'required' ||
            k === 'x-kubernetes-list-map-keys')
            out[k] = v;
        else if (k === 'properties')
            out[k] = Object.fromEntries(Object.entries(v)
                .map(([n, s]) => [n, strictCopy(s)]));
        else
            out[k] = strictCopy(v);
    }
    if (out.properties && out.additionalProperties === undefined &&
        !out['x-kubernetes-preserve-unknown-fields'])
        out.additionalProperties = false;
    return out;
}

function fieldPath(e) {
    let s = '';
    for (const raw of e.instancePath.split('/').slice(1)) {
        const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
        s += /^[0-9]+$/.test(seg) ? `[${seg}]` : (s ? '.' : '') + seg;
    }
    const add = e.keyword === 'required' ? e.params.missingProperty
        : e.keyword === 'additionalProperties' ? e.params.additionalProperty
            : null;
    if (add)
        s += (s ? '.' : '') + add;
    return s || '(root)';
}

const KEYWORD_NAMES = { additionalProperties: 'unknown', required: 'required' };

function describeError(e) {
    const p = fieldPath(e);
    if (e.keyword === 'required')
        return `${p}: Required value`;
    if (e.keyword === 'additionalProperties')
        return `${p}: unknown field`;
    if (e.keyword === 'enum')
        return `${p}: Unsupported value ${JSON.stringify(e.data)}: supported ` +
            `values: ${e.schema.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'not' && e.schema && e.schema.required)
        return `${p}: Invalid value: must not set all of ` +
            e.schema.required.join(', ');
    const val = e.data !== undefined && typeof e.data !== 'object'
        ? ` ${JSON.stringify(e.data)}` : '';
    return `${p}: Invalid value${val}: ${e.message}`;
}

export function validateWith(validator, obj) {
    const copy = structuredClone(obj);
    if (validator(copy))
        return [];
    const seen = new Set();
    const out = [];
    for (const e of validator.errors) {
        // anyOf repeats its branches' errors at the same path; keep those.
        if (e.keyword === 'anyOf')
            continue;
        const d = describeError(e);
        if (!seen.has(d)) {
            seen.add(d);
            out.push({ path: fieldPath(e),
                       keyword: KEYWORD_NAMES[e.keyword] || e.keyword,
                       text: d });
        }
    }
    return out;
}

