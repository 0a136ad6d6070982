#!/usr/bin/env node
'use strict';
// server.js - a Proxmox VE API SIMULATOR for tests (no Proxmox VE server can
// run in this project's CI).  Serves /api2/json over HTTPS on loopback with
// PVE's authentication (API token header, or ticket cookie plus
// CSRFPreventionToken on writes), answers and errors shaped as PVE's, tasks
// that take time, and config and storage locks.
//
// Usage: node server.js --port N --cert FILE --key FILE
//          [--token 'user@realm!id=secret']... [--readonly-token ...]...
//          [--user 'user@realm:password']... [--nodes pve1,pve2]
//          [--task-ms 200] [--clone-ms 600] [--lock-wait-ms 1000]
//          [--alloc-ms 50] [--agent-delay-ms 300] [--trace FILE]
//          [--template 'VMID:NAME']...
// The trace file gets one JSON line per request (method, route, params,
// status, data), read by schema-check.js.

const https = require('node:https');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { State, PveError } = require('./state');
const { ROUTE_PARAMS, check } = require('./params');
const { makeHandlers } = require('./qemu');

function parseArgs(argv) {
    const o = { tokens: [], rotokens: [], users: [], templates: [], nodes: ['pve1', 'pve2'],
                taskMs: 200, cloneMs: 600, lockWaitMs: 1000, allocMs: 50, agentDelayMs: 300 };
    const num = { '--task-ms': 'taskMs', '--clone-ms': 'cloneMs', '--lock-wait-ms': 'lockWaitMs',
                  '--alloc-ms': 'allocMs', '--agent-delay-ms': 'agentDelayMs', '--port': 'port' };
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[++i];
        if (v === undefined) throw new Error(`${a} needs a value`);
        if (num[a]) o[num[a]] = Number(v);
        else if (a === '--cert') o.cert = v;
        else if (a === '--key') o.key = v;
        else if (a === '--token') o.tokens.push(v);
        else if (a === '--readonly-token') o.rotokens.push(v);
        else if (a === '--user') o.users.push(v);
        else if (a === '--nodes') o.nodes = v.split(',');
        else if (a === '--trace') o.trace = v;
        else if (a === '--template') o.templates.push(v);
        else throw new Error(`unknown option ${a}`);
    }
    if (!o.port || !o.cert || !o.key) throw new Error('--port, --cert and --key are required');
    return o;
}

const opts = parseArgs(process.argv);
const st = new State(opts);
const h = makeHandlers(st, opts);
const tickets = new Map(); // ticket -> { user, csrf }

for (const t of opts.templates) {
    const [vmid, name] = t.split(':');
    st.vms.set(Number(vmid), { vmid: Number(vmid), node: opts.nodes[0], status: 'stopped', snapshots: [],
        conf: { name, template: 1, cores: 1, sockets: 1, memory: '1024', scsihw: 'virtio-scsi-single',
                scsi0: `local-lvm:base-${vmid}-disk-0,size=2G`, ide2: `local-lvm:vm-${vmid}-cloudinit,media=cdrom`,
                boot: 'order=scsi0', agent: '1', ostype: 'l26', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' } });
}

function parseToken(s) {
    const m = /^([^!]+@[^!]+)!([A-Za-z][A-Za-z0-9._-]*)=(.+)$/.exec(s);
    if (!m) throw new Error(`bad token ${s}`);
    return { user: m[1], id: `${m[1]}!${m[2]}`, secret: m[3] };
}
const tokens = [...opts.tokens.map((t) => ({ ...parseToken(t), ro: false })),
                ...opts.rotokens.map((t) => ({ ...parseToken(t), ro: true }))];
const users = opts.users.map((u) => { const i = u.lastIndexOf(':'); return { user: u.slice(0, i), password: u.slice(i + 1) }; });

const ro = (req) => req.pveReadonly;

// The route table: method, path pattern, parameter declaration, handler,
// whether the call changes something (needs CSRF and write privileges).
const routes = [
    ['POST', '/access/ticket', 'ticket', null],
    ['GET', '/version', 'none', () => ({ version: '8.2.4', release: '8.2', repoid: 'faa83925c9641325' })],
    ['GET', '/cluster/nextid', 'nextid', (req, p) => {
        if (p.vmid !== undefined) {
            if (st.vms.has(p.vmid)) throw new PveError(400, 'Parameter verification failed.', { vmid: `VM ${p.vmid} already exists` });
            return String(p.vmid);
        }
        return String(st.nextid());
    }],
    ['GET', '/cluster/resources', 'resources', (req, p) => {
        const out = [];
        if (!p.type || p.type === 'vm')
            for (const vm of st.vms.values())
                out.push({ id: `qemu/${vm.vmid}`, type: 'qemu', node: vm.node, vmid: vm.vmid, name: vm.conf.name || '',
                           status: vm.status, template: vm.conf.template ? 1 : 0, maxmem: 0, maxcpu: vm.conf.cores || 1,
                           ...(vm.conf.tags ? { tags: vm.conf.tags } : {}) });
        if (!p.type || p.type === 'node')
            for (const n of st.nodes) out.push({ id: `node/${n}`, type: 'node', node: n, status: 'online', maxcpu: 16, maxmem: 68719476736, mem: 8589934592 });
        return out;
    }],
    ['GET', '/nodes', 'none', () => st.nodes.map((n) => ({
        node: n, status: 'online', cpu: 0.02, maxcpu: 16, mem: 8589934592, maxmem: 68719476736,
        uptime: Math.floor(process.uptime()), id: `node/${n}`, type: 'node', level: '', ssl_fingerprint: 'AA:BB' }))],
    ['GET', '/nodes/{node}/qemu', 'qemuList', h.qemuList],
    ['POST', '/nodes/{node}/qemu', 'qemuCreate', h.qemuCreate],
    ['DELETE', '/nodes/{node}/qemu/{vmid}', 'destroy', h.destroy],
    ['GET', '/nodes/{node}/qemu/{vmid}/config', 'configGet', h.configGet],
    ['POST', '/nodes/{node}/qemu/{vmid}/config', 'configSet', h.configPost],
    ['PUT', '/nodes/{node}/qemu/{vmid}/config', 'configSet', h.configPut],
    ['GET', '/nodes/{node}/qemu/{vmid}/status/current', 'none', h.statusCurrent],
    ['POST', '/nodes/{node}/qemu/{vmid}/status/start', 'start', h.start],
    ['POST', '/nodes/{node}/qemu/{vmid}/status/stop', 'stop', h.stop],
    ['POST', '/nodes/{node}/qemu/{vmid}/status/shutdown', 'shutdown', h.shutdown],
    ['POST', '/nodes/{node}/qemu/{vmid}/status/reboot', 'reboot', h.reboot],
    ['POST', '/nodes/{node}/qemu/{vmid}/clone', 'clone', h.clone],
    ['PUT', '/nodes/{node}/qemu/{vmid}/resize', 'resize', h.resize],
    ['POST', '/nodes/{node}/qemu/{vmid}/template', 'template', h.template],
    ['GET', '/nodes/{node}/qemu/{vmid}/snapshot', 'snapList', h.snapList],
    ['POST', '/nodes/{node}/qemu/{vmid}/snapshot', 'snapCreate', h.snapCreate],
    ['DELETE', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}', 'snapDelete', h.snapDelete],
    ['POST', '/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback', 'rollback', h.rollback],
    ['GET', '/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces', 'none', h.agentIfaces],
    ['GET', '/nodes/{node}/tasks/{upid}/status', 'none', (req) => {
        st.checkNode(req.params.node);
        const t = st.tasks.get(req.params.upid);
        if (!t || t.node !== req.params.node) throw new PveError(500, `unable to parse worker upid '${req.params.upid}'`);
        const out = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime,
                      type: t.type, id: t.id, user: t.user, status: t.status };
        if (t.status === 'stopped') out.exitstatus = t.exitstatus;
        return out;
    }],
].map(([method, path, decl, fn]) => ({
    method, path, decl, fn,
    re: new RegExp('^' + path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)') + '$'),
}));

function login(p) {
    const u = users.find((x) => x.user === p.username && x.password === p.password);
    if (!u) throw new PveError(401, 'authentication failure');
    const now = Math.floor(Date.now() / 1000).toString(16).toUpperCase();
    const sig = crypto.randomBytes(24).toString('base64');
    const ticket = `PVE:${u.user}:${now}::${sig}`;
    const csrf = `${now}:${crypto.randomBytes(20).toString('base64').replace(/=+$/, '')}`;
    tickets.set(ticket, { user: u.user, csrf });
    return { username: u.user, ticket, CSRFPreventionToken: csrf, clustername: 'simcluster' };
}

// Sets req.pveUser, or throws 401 as PVE does.
function authenticate(req, write) {
    const a = req.headers.authorization;
    if (a) {
        const m = /^PVEAPIToken=(.+)$/.exec(a);
        if (!m) throw new PveError(401, 'No ticket');
        const given = /^([^!]+@[^!]+![^=:]+)[=:](.+)$/.exec(m[1]);
        const t = given && tokens.find((x) => x.id === given[1] &&
            x.secret.length === given[2].length && crypto.timingSafeEqual(Buffer.from(x.secret), Buffer.from(given[2])));
        if (!t) throw new PveError(401, 'authentication failure');
        req.pveUser = t.id;
        req.pveReadonly = t.ro;
        return;
    }
    const c = /(?:^|;\s*)PVEAuthCookie=([^;]+)/.exec(req.headers.cookie || '');
    const ticket = c && tickets.get(decodeURIComponent(c[1]));
    if (!ticket) throw new PveError(401, 'No ticket');
    if (write && req.headers.csrfpreventiontoken !== ticket.csrf)
        throw new PveError(401, 'Permission denied - invalid csrf token');
    req.pveUser = ticket.user;
}

function send(res, status, reason, body) {
    const text = JSON.stringify(body);
    res.writeHead(status, reason.replace(/[^\x20-\x7e]/g, ' '), {
        'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'max-age=0', Pragma: 'no-cache', Server: 'pve-api-daemon/3.0 (simulator)' });
    res.end(text);
}

function trace(rec) {
    if (opts.trace) fs.appendFileSync(opts.trace, JSON.stringify(rec) + '\n');
}

function parseBody(req, raw) {
    const ct = req.headers['content-type'] || '';
    if (!raw) return {};
    if (ct.startsWith('application/json')) {
        const j = JSON.parse(raw);
        return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
    }
    return Object.fromEntries(new URLSearchParams(raw));
}

async function handle(req, res, raw) {
    const url = new URL(req.url, 'https://sim');
    const base = '/api2/json';
    let route;
    let params = {};
    const rec = { method: req.method, path: url.pathname };
    try {
        if (!url.pathname.startsWith(base + '/')) throw new PveError(501, `Method '${req.method} ${url.pathname}' not implemented`);
        const sub = url.pathname.slice(base.length);
        let m;
        route = routes.find((r) => r.method === req.method && (m = r.re.exec(sub)));
        if (!route) throw new PveError(501, `Method '${req.method} ${base}${sub}' not implemented`);
        req.params = Object.fromEntries(Object.entries(m.groups || {}).map(([k, v]) => [k, decodeURIComponent(v)]));
        rec.route = route.path;
        params = req.method === 'GET' || req.method === 'DELETE'
            ? Object.fromEntries(url.searchParams) : parseBody(req, raw);
        rec.params = Object.keys(params);
        if (route.path === '/access/ticket') {
            const c = check(ROUTE_PARAMS.ticket, params);
            if (c.errors) throw new PveError(400, 'Parameter verification failed.', c.errors);
            const data = login(c.values);
            rec.status = 200; rec.data = data;
            return send(res, 200, 'OK', { data });
        }
        const write = req.method !== 'GET';
        authenticate(req, write);
        const c = check(ROUTE_PARAMS[route.decl], params);
        if (c.errors) throw new PveError(400, 'Parameter verification failed.', c.errors);
        if (write && ro(req)) {
            const path = req.params.vmid ? `/vms/${req.params.vmid}` : '/vms';
            throw new PveError(403, `Permission check failed (${path}, VM.PowerMgmt)`);
        }
        const data = await route.fn(req, c.values);
        rec.status = 200; rec.data = data === undefined ? null : data;
        send(res, 200, 'OK', { data: rec.data });
    } catch (e) {
        if (!(e instanceof PveError)) {
            if (e instanceof SyntaxError) e = new PveError(400, 'Parameter verification failed.', { body: 'invalid JSON' });
            else { console.error(e); e = new PveError(500, String(e.message || e)); }
        }
        rec.status = e.status; rec.message = e.message; rec.data = null;
        const body = { data: null };
        if (e.errors) body.errors = e.errors;
        if (e.status !== 401) body.message = e.message + '\n';
        send(res, e.status, e.message, body);
    } finally {
        trace(rec);
    }
}

const server = https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { handle(req, res, Buffer.concat(chunks).toString('utf8')); });
});
server.keepAliveTimeout = 5000;
server.listen(opts.port, '127.0.0.1', () => {
    console.log(`pve-sim (a Proxmox VE API simulator) listening on https://127.0.0.1:${opts.port}/api2/json`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
