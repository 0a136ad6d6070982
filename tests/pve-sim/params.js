'use strict';
// params.js - parameter declarations and checks of the Proxmox VE API
// simulator.  Each route declares the parameters it accepts with their
// types as PVE's schema does; a request with an unknown parameter or a value
// of the wrong type is refused with 400 "Parameter verification failed.",
// listing one message per parameter, as pve-http-server answers.
//
// A SIMULATOR: no Proxmox VE server can run in this project's CI.  The
// declarations are checked against the official API schema by
// schema-check.js (tests/proxmox/run.sh runs it).

const str = (extra = {}) => ({ type: 'string', ...extra });
const int = (extra = {}) => ({ type: 'integer', ...extra });
const bool = (extra = {}) => ({ type: 'boolean', ...extra });
const num = (extra = {}) => ({ type: 'number', ...extra });

// PVE's "urlencoded" format: only unreserved characters and %XX escapes.
const URLENCODED = /^[%a-zA-Z0-9\-_.!~*'()]*$/;
const CONFIGID = /^[a-zA-Z][a-zA-Z0-9_-]{1,39}$/;

function indexed(prefix, count, spec) {
    const out = {};
    for (let i = 0; i < count; i++) out[prefix + i] = spec;
    return out;
}

// The VM configuration keys the simulator understands (a subset of PVE's).
const VM_CONFIG = {
    name: str({ maxLength: 128 }),
    description: str({ maxLength: 8192 }),
    tags: str(),
    cores: int({ minimum: 1 }),
    sockets: int({ minimum: 1 }),
    memory: str(),
    balloon: int({ minimum: 0 }),
    cpu: str(),
    bios: str({ enum: ['seabios', 'ovmf'] }),
    machine: str(),
    scsihw: str({ enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] }),
    ostype: str(),
    agent: str(),
    boot: str(),
    onboot: bool(),
    efidisk0: str(),
    tpmstate0: str(),
    ciuser: str(),
    cipassword: str(),
    citype: str({ enum: ['configdrive2', 'nocloud', 'opennebula'] }),
    cicustom: str(),
    nameserver: str(),
    searchdomain: str(),
    sshkeys: str({ format: 'urlencoded' }),
    ...indexed('net', 4, str()),
    ...indexed('ipconfig', 4, str()),
    ...indexed('scsi', 4, str()),
    ...indexed('virtio', 4, str()),
    ...indexed('sata', 4, str()),
    ...indexed('ide', 4, str()),
};

const ROUTE_PARAMS = {
    ticket: { username: str({ required: true }), password: str({ required: true }), realm: str() },
    nextid: { vmid: int({ minimum: 100 }) },
    resources: { type: str({ enum: ['vm', 'storage', 'node', 'sdn'] }) },
    qemuList: { full: bool() },
    qemuCreate: { vmid: int({ required: true, minimum: 100 }), start: bool(), ...VM_CONFIG },
    configGet: { current: bool(), snapshot: str() },
    configSet: { delete: str(), digest: str(), revert: str(), skiplock: bool(), ...VM_CONFIG },
    start: { skiplock: bool(), timeout: int({ minimum: 0 }) },
    stop: { skiplock: bool(), timeout: int({ minimum: 0 }), keepActive: bool() },
    shutdown: { forceStop: bool(), keepActive: bool(), skiplock: bool(), timeout: int({ minimum: 0 }) },
    reboot: { timeout: int({ minimum: 0 }) },
    clone: {
        newid: int({ required: true, minimum: 100 }), name: str(), description: str(),
        full: bool(), target: str(), storage: str(), format: str({ enum: ['raw', 'qcow2', 'vmdk'] }),
        snapname: str(), pool: str(), bwlimit: int({ minimum: 0 }),
    },
    resize: { disk: str({ required: true }), size: str({ required: true, pattern: /^\+?\d+(\.\d+)?[KMGT]?$/ }), digest: str(), skiplock: bool() },
    snapList: {},
    snapCreate: { snapname: str({ required: true, pattern: CONFIGID }), description: str(), vmstate: bool() },
    snapDelete: { force: bool() },
    rollback: { start: bool() },
    destroy: { purge: bool(), 'destroy-unreferenced-disks': bool(), skiplock: bool() },
    template: { disk: str() },
    none: {},
};

function typeError(spec, raw) {
    switch (spec.type) {
    case 'integer':
        if (typeof raw === 'number' && Number.isInteger(raw)) return null;
        if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return null;
        return `type check ('integer') failed - got '${raw}'`;
    case 'number':
        if (typeof raw === 'number' || (typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw))) return null;
        return `type check ('number') failed - got '${raw}'`;
    case 'boolean':
        if (typeof raw === 'boolean' || /^(0|1|on|off|yes|no|true|false)$/i.test(String(raw))) return null;
        return `type check ('boolean') failed - got '${raw}'`;
    default:
        if (typeof raw !== 'string') return `type check ('string') failed - got '${raw}'`;
        return null;
    }
}

function normalise(spec, raw) {
    if (spec.type === 'integer' || spec.type === 'number') return Number(raw);
    if (spec.type === 'boolean') return /^(1|on|yes|true)$/i.test(String(raw)) ? 1 : 0;
    return String(raw);
}

// Checks `params` (an object of strings) against `decl`; returns
// { values } or { errors } where errors maps a parameter to a message.
function check(decl, params) {
    const errors = {};
    const values = {};
    for (const [k, raw] of Object.entries(params)) {
        const spec = decl[k];
        if (!spec) {
            errors[k] = 'property is not defined in schema and the schema does not allow additional properties';
            continue;
        }
        const te = typeError(spec, raw);
        if (te) { errors[k] = te; continue; }
        const v = normalise(spec, raw);
        if (spec.minimum !== undefined && v < spec.minimum)
            errors[k] = `value must have a minimum value of ${spec.minimum}`;
        else if (spec.enum && !spec.enum.includes(v))
            errors[k] = `value '${v}' does not have a value in the enumeration '${spec.enum.join(', ')}'`;
        else if (spec.maxLength && v.length > spec.maxLength)
            errors[k] = `value may only be ${spec.maxLength} characters long`;
        else if (spec.pattern && !spec.pattern.test(v))
            errors[k] = `value does not match the regex pattern`;
        else if (spec.format === 'urlencoded' && !URLENCODED.test(v))
            errors[k] = 'invalid urlencoded string: ' + v;
        else values[k] = v;
    }
    for (const [k, spec] of Object.entries(decl))
        if (spec.required && params[k] === undefined && !errors[k])
            errors[k] = 'property is missing and it is not optional';
    return Object.keys(errors).length ? { errors } : { values };
}

module.exports = { ROUTE_PARAMS, VM_CONFIG, check };
