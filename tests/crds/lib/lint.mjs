// lint.mjs - structural-schema and convention checks of a CRD's
// openAPIV3Schema, limited to the keywords the standalone API server
// implements (include/vrt/schema.h).
import { PRESERVE_OK } from './common.mjs';

const KEYWORDS = new Set([
    'description', 'type', 'format', 'properties', 'additionalProperties',
    'items', 'required', 'enum', 'default', 'minimum', 'maximum',
    'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
    'pattern', 'minItems', 'maxItems', 'uniqueItems', 'minProperties',
    'maxProperties', 'nullable', 'oneOf', 'anyOf', 'allOf', 'not',
    'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number',
                       'boolean']);
const FORMATS = new Set(['int32', 'int64', 'date-time', 'byte']);
// Not allowed inside anyOf/allOf/oneOf/not (structural schema rule).
const JUNCTOR_FORBIDDEN = ['description', 'default', 'additionalProperties',
                           'nullable', 'x-kubernetes-preserve-unknown-fields'];

function typeOf(v) {
    if (v === null)
        return 'null';
    if (Array.isArray(v))
        return 'array';
    if (typeof v === 'number')
        return Number.isInteger(v) ? 'integer' : 'number';
    return typeof v;
}

const isIntOrString = (s) => s['x-kubernetes-int-or-string'] === true;

// Portable regular expressions: what POSIX ERE (glibc regcomp, used by the
// standalone API server), RE2 and JavaScript all read the same way.
export function patternProblems(p) {
    const out = [];
    try {
        new RegExp(p, 'u');
    } catch (e) {
        out.push(`does not compile in JavaScript: ${e.message}`);
    }
    if (/\\[dDwWsSbB]/.test(p))
        out.push('uses \\d, \\w, \\s or \\b, which POSIX ERE lacks');
    if (/\(\?/.test(p))
        out.push('uses a (?...) group, which POSIX ERE lacks');
    // Backslashes inside bracket expressions are literal in POSIX.
    let inBracket = false;
    for (let i = 0; i < p.length; i++) {
        const c = p[i];
        if (!inBracket && c === '\\') {
            i++;
            continue;
        }
        if (!inBracket && c === '[') {
            inBracket = true;
            if (p[i + 1] === '^')
                i++;
            if (p[i + 1] === ']')
                i++;
            continue;
        }
        if (inBracket && c === '\\')
            out.push('has a backslash inside [...], literal in POSIX ERE');
        if (inBracket && c === ']')
            inBracket = false;
    }
    return out;
}

// Walks a schema; `at` is the field path ("spec.networks[].name").
export function lintSchema(kind, schema, at, problems, patterns, defaults,
                    inJunctor = false) {
    const where = at || '(root)';
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
        problems.push(`${where}: schema is not an object`);
        return;
    }
    for (const k of Object.keys(schema)) {
        if (!KEYWORDS.has(k))
            problems.push(`${where}: keyword "${k}" is not supported`);
    }
    if (inJunctor) {
        for (const k of JUNCTOR_FORBIDDEN) {
            if (k in schema)
                problems.push(`${where}: "${k}" inside anyOf/allOf/oneOf/not`);
        }
    }
    if (schema['x-kubernetes-preserve-unknown-fields'] &&
        !PRESERVE_OK.has(`${kind}:${at}`))
        problems.push(`${where}: x-kubernetes-preserve-unknown-fields is ` +
                      'only allowed where the reference uses it');
    if (isIntOrString(schema)) {
        if ('type' in schema)
            problems.push(`${where}: int-or-string must not set type`);
        const any = schema.anyOf;
        if (!Array.isArray(any) || any.length !== 2 ||
            any[0].type !== 'integer' || any[1].type !== 'string')
            problems.push(`${where}: int-or-string needs anyOf ` +
                          '[{type: integer}, {type: string}]');
    } else if (!inJunctor && !TYPES.has(schema.type)) {
        problems.push(`${where}: no valid type (got ${JSON.stringify(schema.type)})`);
    }
    if (schema.format !== undefined && !FORMATS.has(schema.format))
        problems.push(`${where}: format "${schema.format}" is not supported`);
    if (schema.type === 'object') {
        if (schema.properties && schema.additionalProperties !== undefined)
            problems.push(`${where}: both properties and additionalProperties`);
        for (const r of schema.required || []) {
            if (!schema.properties || !(r in schema.properties))
                problems.push(`${where}: required "${r}" is not a property`);
        }
    }
    if (schema.type === 'array' && !schema.items)
        problems.push(`${where}: array without items`);
    if (schema['x-kubernetes-list-type'] === 'map') {
        const keys = schema['x-kubernetes-list-map-keys'] || [];
        const req = new Set((schema.items && schema.items.required) || []);
        if (!keys.length || keys.some((k) => !req.has(k)))
            problems.push(`${where}: a map list needs list-map-keys that ` +
                          'are required in its items');
    }
    if (schema.enum) {
        const want = schema.type || null;
        for (const v of schema.enum) {
            const t = typeOf(v);
            if (want && t !== want && !(want === 'number' && t === 'integer'))
                problems.push(`${where}: enum value ${JSON.stringify(v)} ` +
                              `is not a ${want}`);
        }
    }
    if (schema.pattern !== undefined) {
        for (const p of patternProblems(schema.pattern))
            problems.push(`${where}: pattern ${JSON.stringify(schema.pattern)} ${p}`);
        patterns.add(schema.pattern);
    }
    if (schema.default !== undefined)
        defaults.push({ at: where, schema });
    for (const [name, sub] of Object.entries(schema.properties || {}))
        lintSchema(kind, sub, at ? `${at}.${name}` : name, problems, patterns,
                   defaults);
    if (schema.items)
        lintSchema(kind, schema.items, `${at}[]`, problems, patterns, defaults);
    if (schema.additionalProperties && typeof schema.additionalProperties ===
        'object')
        lintSchema(kind, schema.additionalProperties, `${at}.<key>`, problems,
                   patterns, defaults);
    for (const j of ['anyOf', 'allOf', 'oneOf', 'not']) {
        for (const sub of j === 'not' ? [schema.not].filter(Boolean)
            : schema[j] || []) {
            lintSchema(kind, sub, at, problems, patterns, defaults, true);
            for (const r of (sub && sub.required) || []) {
                if (!schema.properties || !(r in schema.properties))
                    problems.push(`${where}: ${j} requires "${r}", which is ` +
                                  'not a property');
            }
        }
    }
}

// The schema node at a JSONPath such as .status.ips[*] or
// .metadata.creationTimestamp; null when it does not exist.
export function resolvePath(root, jsonPath) {
    if (!/^(\.[A-Za-z][A-Za-z0-9]*(\[\*\])?)+$/.test(jsonPath))
        return null;
    let node = root;
    for (const seg of jsonPath.slice(1).split('.')) {
        const m = /^([A-Za-z0-9]+)(\[\*\])?$/.exec(seg);
        if (node === root && m[1] === 'metadata')
            return { type: 'object', metadata: true };
        node = node && node.properties && node.properties[m[1]];
        if (!node)
            return null;
        if (m[2]) {
            if (node.type !== 'array')
                return null;
            node = node.items;
        }
    }
    return node;
}

export function columnProblems(root, columns) {
    const out = [];
    const okTypes = new Set(['integer', 'number', 'string', 'boolean', 'date']);
    for (const c of columns || []) {
        if (!okTypes.has(c.type))
            out.push(`column "${c.name}": type "${c.type}" is not valid`);
        if (c.jsonPath === '.metadata.creationTimestamp') {
            if (c.type !== 'date')
                out.push(`column "${c.name}": creationTimestamp needs type date`);
            continue;
        }
        const node = resolvePath(root, c.jsonPath);
        if (!node || node.metadata) {
            out.push(`column "${c.name}": ${c.jsonPath} is not a field of ` +
                     'the schema');
            continue;
        }
        const want = { integer: ['integer'], number: ['integer', 'number'],
                       boolean: ['boolean'] }[c.type];
        if (want && !want.includes(node.type))
            out.push(`column "${c.name}": ${c.jsonPath} is ${node.type}, ` +
                     `not ${c.type}`);
        if (c.type === 'date' && node.format !== 'date-time')
            out.push(`column "${c.name}": ${c.jsonPath} is not a date-time`);
    }
    return out;
}

export function scaleProblems(root, scale) {
    const out = [];
    const want = [['specReplicasPath', '.spec.', 'integer'],
                  ['statusReplicasPath', '.status.', 'integer'],
                  ['labelSelectorPath', '.status.', 'string']];
    for (const [key, prefix, type] of want) {
        const p = scale[key];
        if (p === undefined && key === 'labelSelectorPath')
            continue;
        const node = p && p.startsWith(prefix) ? resolvePath(root, p) : null;
        if (!node || node.type !== type)
            out.push(`scale ${key} ${p} is not a ${type} field under ${prefix}`);
    }
    return out;
}

