#!/usr/bin/env node
'use strict';
// pvectl.js - a small PVE API client for test scripts: sends one request to
// the simulator (or any PVE) and prints {"status":N,"data":...} as JSON.
// Usage: node pvectl.js URL AUTH CAFILE METHOD PATH [key=value]...
//   URL is https://host:port; AUTH is an API token 'user@realm!id=secret',
//   or 'ticket:user@realm:password' (log in, then cookie + CSRF token), or
//   'ticket-nocsrf:user@realm:password' (the same without the CSRF header).
const https = require('node:https');
const fs = require('node:fs');

const [url, token, ca, method, path, ...kv] = process.argv.slice(2);

function call(m, p, body, headers, done) {
    const r = https.request(new URL('/api2/json' + p, url), { method: m, ca: fs.readFileSync(ca), headers: {
        'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
            let j = {};
            try { j = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { /* not JSON */ }
            done({ status: res.statusCode, reason: res.statusMessage, ...j });
        });
    });
    r.on('error', (e) => { console.error(e.message); process.exit(2); });
    r.end(body);
}

const tm = /^(ticket|ticket-nocsrf):(.+):([^:]*)$/.exec(token);
if (tm) {
    call('POST', '/access/ticket', new URLSearchParams({ username: tm[2], password: tm[3] }).toString(), {}, (a) => {
        if (a.status !== 200) { console.log(JSON.stringify(a)); return; }
        const h = { Cookie: 'PVEAuthCookie=' + encodeURIComponent(a.data.ticket) };
        if (tm[1] === 'ticket') h.CSRFPreventionToken = a.data.CSRFPreventionToken;
        send(h);
    });
} else {
    send({ Authorization: 'PVEAPIToken=' + token });
}

function send(headers) {
    const form = new URLSearchParams(kv.map((s) => { const i = s.indexOf('='); return [s.slice(0, i), s.slice(i + 1)]; }));
    const q = method === 'GET' || method === 'DELETE';
    const u = new URL('/api2/json' + path + (q && kv.length ? '?' + form : ''), url);
    const body = q ? '' : form.toString();
    call(method, u.pathname.slice('/api2/json'.length) + u.search, body, headers, (a) => console.log(JSON.stringify(a)));
}
