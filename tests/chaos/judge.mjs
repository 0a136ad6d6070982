// argv: vms.json mock-state.json "off names" "deleted names"
// Prints one "PASS x" / "FAIL x: why" line per check: the VirtualMachine
// objects against the mock hypervisor's state after the kills.
import { readFileSync } from 'node:fs';

const [vmsPath, statePath, offText, goneText] = process.argv.slice(2);
const out = (ok, name, why) => console.log(ok ? `PASS ${name}` : `FAIL ${name}: ${why}`);
const off = new Set(offText.split(' ').filter(Boolean));
const gone = new Set(goneText.split(' ').filter(Boolean));
const objs = JSON.parse(readFileSync(vmsPath, 'utf8')).items;
const mock = JSON.parse(readFileSync(statePath, 'utf8')).vms || [];

const byName = new Map();
const dups = [];
for (const m of mock) {
    if (byName.has(m.name)) dups.push(m.name);
    byName.set(m.name, m);
}
out(dups.length === 0, 'no VM was made twice on the hypervisor', `twice: ${dups.slice(0, 5).join(', ')}`);
const names = new Set(objs.map((o) => o.metadata.name));
const orphans = mock.filter((m) => !names.has(m.name)).map((m) => m.name);
out(orphans.length === 0, 'no orphan on the hypervisor (every delete reached it)',
    `${orphans.length} left, e.g. ${orphans.slice(0, 5).join(', ')}`);
const revived = objs.filter((o) => gone.has(o.metadata.name)).map((o) => o.metadata.name);
out(revived.length === 0, 'no deleted VirtualMachine came back', revived.join(', '));
const wrong = [];
for (const o of objs) {
    const m = byName.get(o.metadata.name);
    const want = off.has(o.metadata.name) ? 2 : 1; // VRT_POWER_OFF / ON
    if (!m) wrong.push(`${o.metadata.name}: missing on the hypervisor`);
    else if (o.status?.id !== m.id) wrong.push(`${o.metadata.name}: status.id ${o.status?.id} != ${m.id}`);
    else if (m.power !== want) wrong.push(`${o.metadata.name}: power ${m.power}, want ${want}`);
}
out(wrong.length === 0, 'every VM exists once with its id and the power state asked for',
    `${wrong.length} wrong, e.g. ${wrong.slice(0, 3).join('; ')}`);
