// dsl.mjs - small helpers that build OpenAPI v3 structural schemas for the
// CRDs.  Each helper returns a plain schema object; keys starting with "$"
// carry documentation hints and are stripped before a CRD is written:
//   $required  the field is listed in its parent's `required`
//   $nyh       declared by the API but not yet honoured (docs only)
//   $docStop   docs describe this field but not its sub-fields
//   $docType   type shown in the docs instead of the one derived here

// Patterns are written in the subset that POSIX ERE (the standalone
// apiserver), RE2 (kube-apiserver) and JavaScript (tests) read alike: no
// \d or \w, no backslash inside brackets, "-" last in a bracket.
export const P = {
    dnsLabel: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    ipv4: String.raw`^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$`,
    cidr4: String.raw`^((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)/([0-9]|[1-2][0-9]|3[0-2])$`,
    mac: '^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$',
    // resource.Quantity, as Kubernetes publishes it.
    quantity: String.raw`^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`,
    // metav1.Duration as Go's time.ParseDuration reads it ("90s", "1h30m",
    // "1.5h"), without signs or the micro sign.
    duration: String.raw`^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|ms|s|m|h))+)$`,
};

function withOpts(base, opts) {
    const out = { ...base };
    for (const [k, v] of Object.entries(opts || {})) {
        if (v !== undefined)
            out[k] = v;
    }
    return out;
}

export const str = (description, opts) =>
    withOpts({ type: 'string', description }, opts);

export const enm = (description, values, opts) =>
    withOpts({ type: 'string', description, enum: values }, opts);

export const int32 = (description, opts) =>
    withOpts({ type: 'integer', format: 'int32', description }, opts);

export const int64 = (description, opts) =>
    withOpts({ type: 'integer', format: 'int64', description }, opts);

export const bool = (description, opts) =>
    withOpts({ type: 'boolean', description }, opts);

export const time = (description, opts) =>
    withOpts({ type: 'string', format: 'date-time', description,
               $docType: 'time' }, opts);

export const duration = (description, opts) =>
    withOpts({ type: 'string', description, pattern: P.duration,
               $docType: 'duration' }, opts);

// resource.Quantity: an integer or a string such as "4Gi" or "1.5".
export const quantity = (description, opts) =>
    withOpts({
        description,
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        pattern: P.quantity,
        'x-kubernetes-int-or-string': true,
        $docType: 'quantity',
    }, opts);

// intstr.IntOrString, e.g. "25%" or 2.
export const intOrString = (description, opts) =>
    withOpts({
        description,
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        'x-kubernetes-int-or-string': true,
        $docType: 'integer or string',
    }, opts);

// An object; fields wrapped in req() land in `required`.
export function obj(description, properties, opts) {
    const required = Object.entries(properties)
        .filter(([, v]) => v.$required)
        .map(([k]) => k);
    const o = withOpts({ type: 'object', description, properties }, opts);
    if (required.length)
        o.required = required;
    return o;
}

export const arr = (description, items, opts) =>
    withOpts({ type: 'array', description, items }, opts);

export const strList = (description, opts) =>
    arr(description, { type: 'string' }, opts);

// map[string]string
export const strMap = (description, opts) =>
    withOpts({ type: 'object', description,
               additionalProperties: { type: 'string' },
               $docType: 'map of string' }, opts);

// map[string]T
export const mapOf = (description, valueSchema, opts) =>
    withOpts({ type: 'object', description,
               additionalProperties: valueSchema }, opts);

export const req = (schema) => ({ ...schema, $required: true });
export const nyh = (schema) => ({ ...schema, $nyh: true });
export const docStop = (schema) => ({ ...schema, $docStop: true });
